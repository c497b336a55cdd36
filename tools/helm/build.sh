#!/usr/bin/env bash
# Builds helm from its Go module (go.mod here pins the release) into the cache
# outside the checkout, and takes the monitoring.coreos.com CRDs (ServiceMonitor,
# PrometheusRule) from the prometheus-operator module, so the chart's optional
# monitoring objects can be dry-run on a cluster without the Prometheus Operator.
# A stamp of every input decides whether anything needs doing.
#
# Prints the output directory (bin/helm, monitoring-crds/*.yaml) on stdout;
# progress goes to stderr.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cache=${SMARTOPS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/smartops}
helm_version=$(awk '$1=="helm.sh/helm/v4"{print $2}' "$here/go.mod")
# The CRDs travel in the module's zip; its checksum is pinned here as go.sum would.
promop_module=github.com/prometheus-operator/prometheus-operator
promop_version=v0.85.0
promop_sum="h1:M5xLCLEoaW2IJfnuCwFzzpL+jSVQu3KGT84Pye+fW8s="

export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=readonly
export GOMODCACHE=${GOMODCACHE:-$cache/go/mod}
export GOCACHE=${GOCACHE:-$cache/go/build}

ldflags="-s -w -X helm.sh/helm/v4/internal/version.version=$helm_version"
stamp=$(
  {
    cat "$here/go.mod" "$here/go.sum" "$here/build.sh"
    go version
  } | sha256sum | cut -c1-16
)
out="$cache/helm/$stamp"
if [ -f "$out/.complete" ]; then
  echo "$out"
  exit 0
fi

mkdir -p "$out/bin" "$out/monitoring-crds"
start=$(date +%s)
echo "building helm $helm_version into $out (cold: a few minutes on 2 cores)" >&2
(cd "$here" && go build -trimpath -ldflags "$ldflags" -o "$out/bin/helm" helm.sh/helm/v4/cmd/helm)

sum=$(cd "$here" && go mod download -json "$promop_module@$promop_version" | awk -F'"' '$2=="Sum"{print $4}')
if [ "$sum" != "$promop_sum" ]; then
  echo "$promop_module@$promop_version: checksum $sum, expected $promop_sum" >&2
  exit 1
fi
dir=$(cd "$here" && go mod download -json "$promop_module@$promop_version" | awk -F'"' '$2=="Dir"{print $4}')
for kind in servicemonitors prometheusrules; do
  cp "$dir/example/prometheus-operator-crd/monitoring.coreos.com_$kind.yaml" "$out/monitoring-crds/"
done
chmod u+w "$out/monitoring-crds/"*

echo "$(($(date +%s) - start))" >"$out/build-seconds"
touch "$out/.complete"
echo "helm built in $(($(date +%s) - start)) s: $("$out/bin/helm" version --short)" >&2
echo "$out"
