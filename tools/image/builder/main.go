// Command image-build assembles the operator's container image without a
// container engine: each layer is a directory staged by build.sh, written as a
// reproducible tar (sorted entries, one fixed time, owners from the spec, not
// from the build machine), and the image config (entrypoint, command, user,
// environment, working directory, ports) comes from image.json. It writes an OCI
// image layout and a docker-archive tarball (`docker load -i`) of the same image.
package main

import (
	"archive/tar"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Spec is image.json: the image config, and who owns what. Everything not
// listed under owners belongs to root, so the program cannot rewrite itself.
type Spec struct {
	Architecture string            `json:"architecture"`
	OS           string            `json:"os"`
	Entrypoint   []string          `json:"entrypoint"`
	Cmd          []string          `json:"cmd"`
	User         string            `json:"user"`
	WorkingDir   string            `json:"workingDir"`
	Env          []string          `json:"env"`
	ExposedPorts []string          `json:"exposedPorts"`
	Labels       map[string]string `json:"labels"`
	Owners       map[string]string `json:"owners"`
	Files        []string          `json:"files"`
}

type layerFlag []string

func (l *layerFlag) String() string     { return strings.Join(*l, ",") }
func (l *layerFlag) Set(v string) error { *l = append(*l, v); return nil }

func main() {
	var layers layerFlag
	specPath := flag.String("spec", "", "image.json")
	outLayout := flag.String("layout", "", "directory to write the OCI image layout into (replaced)")
	outTar := flag.String("tarball", "", "file to write the docker-archive tarball into")
	tag := flag.String("tag", "smartops-operator:dev", "name the tarball and the layout's ref.name carry")
	epoch := flag.Int64("created", 0, "creation time, seconds since the epoch (file times and config)")
	flag.Var(&layers, "layer", "name=directory, one per layer, bottom first")
	flag.Parse()
	if err := run(*specPath, layers, *outLayout, *outTar, *tag, time.Unix(*epoch, 0).UTC()); err != nil {
		fmt.Fprintln(os.Stderr, "image-build:", err)
		os.Exit(1)
	}
}

func run(specPath string, layers []string, outLayout, outTar, tag string, created time.Time) error {
	if specPath == "" || outLayout == "" || outTar == "" || len(layers) == 0 {
		return errors.New("need -spec, -layout, -tarball and at least one -layer")
	}
	raw, err := os.ReadFile(specPath)
	if err != nil {
		return err
	}
	var spec Spec
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&spec); err != nil {
		return fmt.Errorf("%s: %w", specPath, err)
	}
	owners, err := parseOwners(spec.Owners)
	if err != nil {
		return err
	}

	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	tmp, err := os.MkdirTemp(filepath.Dir(outTar), ".layers-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	var adds []mutate.Addendum
	present := map[string]bool{}
	for _, l := range layers {
		layerName, dir, ok := strings.Cut(l, "=")
		if !ok {
			return fmt.Errorf("-layer %q: want name=directory", l)
		}
		file := filepath.Join(tmp, layerName+".tar")
		if err := writeLayerTar(dir, file, owners, created, present); err != nil {
			return fmt.Errorf("layer %s: %w", layerName, err)
		}
		layer, err := tarball.LayerFromFile(file, tarball.WithMediaType(types.OCILayer), tarball.WithCompressedCaching)
		if err != nil {
			return fmt.Errorf("layer %s: %w", layerName, err)
		}
		adds = append(adds, mutate.Addendum{
			Layer:   layer,
			History: v1.History{Created: v1.Time{Time: created}, CreatedBy: "tools/image: " + layerName, Comment: "staged by tools/image/build.sh"},
		})
	}
	for _, f := range spec.Files {
		if !present[strings.TrimPrefix(f, "/")] {
			return fmt.Errorf("%s lists %s, which no layer contains", specPath, f)
		}
	}
	if img, err = mutate.Append(img, adds...); err != nil {
		return err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return err
	}
	cf = cf.DeepCopy()
	cf.Architecture, cf.OS, cf.Created = spec.Architecture, spec.OS, v1.Time{Time: created}
	cf.Config.Entrypoint = spec.Entrypoint
	cf.Config.Cmd = spec.Cmd
	cf.Config.User = spec.User
	cf.Config.WorkingDir = spec.WorkingDir
	cf.Config.Env = spec.Env
	cf.Config.Labels = spec.Labels
	cf.Config.ExposedPorts = map[string]struct{}{}
	for _, p := range spec.ExposedPorts {
		cf.Config.ExposedPorts[p] = struct{}{}
	}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		return err
	}

	ref, err := name.NewTag(tag)
	if err != nil {
		return err
	}
	if err := os.RemoveAll(outLayout); err != nil {
		return err
	}
	p, err := layout.Write(outLayout, empty.Index)
	if err != nil {
		return err
	}
	if err := p.AppendImage(img, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": ref.TagStr()})); err != nil {
		return err
	}
	if err := tarball.WriteToFile(outTar, ref, img); err != nil {
		return err
	}
	digest, err := img.Digest()
	if err != nil {
		return err
	}
	fmt.Println(digest.String())
	return nil
}

type owner struct{ uid, gid int }

func parseOwners(in map[string]string) (map[string]owner, error) {
	out := map[string]owner{}
	for path, ids := range in {
		u, g, ok := strings.Cut(ids, ":")
		uid, err1 := strconv.Atoi(u)
		gid, err2 := strconv.Atoi(g)
		if !ok || err1 != nil || err2 != nil {
			return nil, fmt.Errorf("owners[%q] = %q: want uid:gid", path, ids)
		}
		out[strings.TrimPrefix(path, "/")] = owner{uid, gid}
	}
	return out, nil
}

// writeLayerTar writes dir's tree as a tar rooted at /: entries in lexical
// order, every time set to created, root-owned unless owners names the path,
// no user or group names — so the same inputs give the same layer digest.
func writeLayerTar(dir, file string, owners map[string]owner, created time.Time, present map[string]bool) error {
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	defer f.Close()
	tw := tar.NewWriter(f)
	var paths []string
	err = filepath.WalkDir(dir, func(path string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if path != dir {
			paths = append(paths, path)
		}
		return nil
	})
	if err != nil {
		return err
	}
	sort.Strings(paths)
	for _, path := range paths {
		info, err := os.Lstat(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		rel = filepath.ToSlash(rel)
		present[rel] = true
		link := ""
		if info.Mode()&fs.ModeSymlink != 0 {
			if link, err = os.Readlink(path); err != nil {
				return err
			}
		}
		hdr, err := tar.FileInfoHeader(info, link)
		if err != nil {
			return fmt.Errorf("%s: %w", rel, err)
		}
		hdr.Format = tar.FormatPAX
		hdr.Name = rel
		if info.IsDir() {
			hdr.Name += "/"
		}
		hdr.ModTime, hdr.AccessTime, hdr.ChangeTime = created, time.Time{}, time.Time{}
		hdr.Uname, hdr.Gname = "", ""
		hdr.Uid, hdr.Gid = 0, 0
		if o, ok := owners[rel]; ok {
			hdr.Uid, hdr.Gid = o.uid, o.gid
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if info.Mode().IsRegular() {
			src, err := os.Open(path)
			if err != nil {
				return err
			}
			_, err = io.Copy(tw, src)
			src.Close()
			if err != nil {
				return err
			}
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return f.Close()
}
