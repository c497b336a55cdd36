#!/usr/bin/env bash
# Builds the local control plane (kube-apiserver, kube-controller-manager,
# kube-scheduler, kubectl, etcd, kwok) from the Go modules in this folder into a
# cache outside the checkout. A stamp of every input decides whether anything
# needs building: an unchanged control plane is never rebuilt.
#
# Prints the bin directory on stdout; progress goes to stderr.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cache=${SMARTOPS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/smartops}
k8s_version=$(awk '$1=="k8s.io/kubernetes"{print $2}' "$here/go.mod")
kwok_version=$(awk '$1=="sigs.k8s.io/kwok"{print $2}' "$here/kwok/go.mod")

export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=readonly
export GOMODCACHE=${GOMODCACHE:-$cache/go/mod}
export GOCACHE=${GOCACHE:-$cache/go/build}

ldflags_k8s() {
  local major minor
  major=$(echo "${k8s_version#v}" | cut -d. -f1)
  minor=$(echo "${k8s_version#v}" | cut -d. -f2)
  local kv
  for pkg in k8s.io/client-go/pkg/version k8s.io/component-base/version; do
    for kv in "gitVersion=$k8s_version" "gitMajor=$major" "gitMinor=$minor" \
      "gitTreeState=clean" "gitCommit=module-$k8s_version" "buildDate=1970-01-01T00:00:00Z"; do
      printf -- "-X '%s.%s' " "$pkg" "$kv"
    done
  done
}
ldflags="-s -w $(ldflags_k8s)"

stamp=$(
  {
    cat "$here/go.mod" "$here/go.sum" "$here/kube/main.go" "$here/etcd/main.go" \
      "$here/kwok/go.mod" "$here/kwok/go.sum" "$here/build.sh"
    go version
    echo "$ldflags"
  } | sha256sum | cut -c1-16
)
out="$cache/controlplane/$stamp"
if [ -f "$out/.complete" ]; then
  echo "$out/bin"
  exit 0
fi

# Ask df about the nearest directory that exists: on a fresh account neither the
# cache nor ~/.cache exists yet, and df on a missing path fails (which must not
# read as "0 bytes free").
probe=$cache
while [ ! -d "$probe" ] && [ "$probe" != / ]; do probe=$(dirname "$probe"); done
avail_kb=$(df -Pk "$probe" 2>/dev/null | awk 'NR==2{print $4}')
if [ -z "$avail_kb" ]; then
  echo "could not tell the free space under $cache (df $probe failed); building anyway" >&2
elif [ "$avail_kb" -lt $((8 * 1024 * 1024)) ]; then
  echo "control plane build needs about 8 GiB free under $cache; only $((avail_kb / 1024)) MiB left" >&2
  exit 1
fi

mkdir -p "$out/bin" "$out/stages"
start=$(date +%s)
echo "building control plane $k8s_version + kwok $kwok_version into $out (cold: ~20 min on 2 cores)" >&2
(cd "$here" && go build -trimpath -ldflags "$ldflags" -o "$out/bin/kube" ./kube)
(cd "$here" && go build -trimpath -ldflags "-s -w" -o "$out/bin/etcd" ./etcd)
for c in kube-apiserver kube-controller-manager kube-scheduler kubectl; do
  ln -sf kube "$out/bin/$c"
done
(cd "$here/kwok" && go build -trimpath -ldflags "-s -w" -o "$out/bin/kwok" sigs.k8s.io/kwok/cmd/kwok)

# Plain kwok ships no stages (only kwokctl injects them): take the upstream ones.
stage_src="$(cd "$here/kwok" && go list -m -f '{{.Dir}}' sigs.k8s.io/kwok)/kustomize/stage"
cp "$stage_src/node/fast/node-initialize.yaml" \
  "$stage_src/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml" \
  "$stage_src/pod/fast/pod-ready.yaml" \
  "$stage_src/pod/fast/pod-delete.yaml" \
  "$stage_src/pod/fast/pod-complete.yaml" "$out/stages/"
chmod u+w "$out/stages/"*

echo "$(( $(date +%s) - start ))" > "$out/build-seconds"
touch "$out/.complete"
echo "control plane built in $(( $(date +%s) - start )) s" >&2
echo "$out/bin"
