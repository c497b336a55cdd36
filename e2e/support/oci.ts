// Reads an OCI image layout (what `make image` writes) and unpacks an image's
// layers into a root filesystem the way a container runtime does: bottom layer
// first, each blob checked against its digest, whiteouts applied — `.wh.NAME`
// deletes NAME from the layers below, `.wh..wh..opq` empties its directory of
// what the layers below put there. No Docker engine involved.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { basename, dirname, join, posix } from "node:path";

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}

export interface ImageConfig {
  architecture: string;
  os: string;
  config: {
    Entrypoint?: string[];
    Cmd?: string[];
    User?: string;
    WorkingDir?: string;
    Env?: string[];
    ExposedPorts?: Record<string, object>;
    Labels?: Record<string, string>;
  };
  rootfs: { type: string; diff_ids: string[] };
}

export interface Image {
  manifest: { mediaType?: string; config: Descriptor; layers: Descriptor[] };
  config: ImageConfig;
  /** The layout's directory. */
  layout: string;
}

const OPAQUE = ".wh..wh..opq";
const WHITEOUT = ".wh.";

function blobPath(layout: string, digest: string): string {
  const [algorithm, hex] = digest.split(":");
  if (algorithm !== "sha256" || !/^[0-9a-f]{64}$/.test(hex ?? "")) throw new Error(`unsupported digest ${digest}`);
  return join(layout, "blobs", algorithm, hex!);
}

/** A blob's bytes, after checking them against the descriptor's digest and size. */
function verifiedBlob(layout: string, d: Descriptor): Buffer {
  const data = readFileSync(blobPath(layout, d.digest));
  const got = `sha256:${createHash("sha256").update(data).digest("hex")}`;
  if (got !== d.digest) throw new Error(`blob ${d.digest} has digest ${got}`);
  if (data.length !== d.size) throw new Error(`blob ${d.digest} is ${data.length} bytes, its descriptor says ${d.size}`);
  return data;
}

/** The image of the layout's index; `ref` picks one by its org.opencontainers.image.ref.name. */
export function readImage(layout: string, ref?: string): Image {
  const index = JSON.parse(readFileSync(join(layout, "index.json"), "utf8")) as { manifests: Descriptor[] };
  const found = index.manifests.filter((m) => ref === undefined || m.annotations?.["org.opencontainers.image.ref.name"] === ref);
  if (found.length !== 1) throw new Error(`${layout}: ${found.length} manifests match ${ref ?? "(any)"}, want exactly one`);
  const manifest = JSON.parse(verifiedBlob(layout, found[0]!).toString("utf8")) as Image["manifest"];
  const config = JSON.parse(verifiedBlob(layout, manifest.config).toString("utf8")) as ImageConfig;
  if (config.rootfs.diff_ids.length !== manifest.layers.length) throw new Error("the config's diff_ids do not match the manifest's layers");
  return { manifest, config, layout };
}

/** Unpacks every layer into rootfs (which must exist and be empty); needs root to keep owners. */
export function unpack(image: Image, rootfs: string): void {
  chmodSync(rootfs, 0o755);
  image.manifest.layers.forEach((layer, i) => {
    if (!/^application\/vnd\.(oci\.image\.layer\.v1\.tar\+gzip|docker\.image\.rootfs\.diff\.tar\.gzip)$/.test(layer.mediaType)) {
      throw new Error(`layer ${i}: media type ${layer.mediaType} is not a gzip tar`);
    }
    verifiedBlob(image.layout, layer);
    applyLayer(blobPath(image.layout, layer.digest), rootfs);
  });
}

function applyLayer(file: string, rootfs: string): void {
  const entries = execFileSync("tar", ["-tzf", file], { encoding: "utf8", maxBuffer: 256 * 1024 * 1024 }).split("\n").filter(Boolean);
  for (const entry of entries) {
    const path = posix.normalize(entry.replace(/^\/+/, ""));
    if (path.startsWith("..")) throw new Error(`layer entry ${entry} leaves the root`);
    const name = basename(path);
    if (name === OPAQUE) {
      const dir = join(rootfs, dirname(path));
      for (const child of safeReaddir(dir)) rmSync(join(dir, child), { recursive: true, force: true });
    } else if (name.startsWith(WHITEOUT)) {
      rmSync(join(rootfs, dirname(path), name.slice(WHITEOUT.length)), { recursive: true, force: true });
    }
  }
  // Owners and modes as the layer says (numeric ids: the image's /etc/passwd, not the host's).
  execFileSync("tar", ["-xzf", file, "-C", rootfs, "--numeric-owner", "--same-owner", "--same-permissions", `--exclude=${WHITEOUT}*`]);
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
