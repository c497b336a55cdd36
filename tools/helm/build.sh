#!/usr/bin/env bash
# Builds helm from its Go module (go.mod here pins the release) into the cache
# outside the checkout, and takes the monitoring.coreos.com CRDs (ServiceMonitor,
# PrometheusRule) from the prometheus-operator module, so the chart's optional
# monitoring objects can be dry-run on a cluster without the Prometheus Operator.
# The cache layout, Go environment and stamp are tools/lib/go-build.sh's.
#
# Prints the output directory (bin/helm, monitoring-crds/*.yaml) on stdout;
# progress goes to stderr.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../lib/go-build.sh
. "$here/../lib/go-build.sh"
helm_version=$(awk '$1=="helm.sh/helm/v4"{print $2}' "$here/go.mod")
# The CRDs travel in the module's zip; its checksum is pinned here as go.sum would.
promop_module=github.com/prometheus-operator/prometheus-operator
promop_version=v0.85.0
promop_sum="h1:M5xLCLEoaW2IJfnuCwFzzpL+jSVQu3KGT84Pye+fW8s="

go_build_begin helm
go_build helm.sh/helm/v4/cmd/helm "$out/bin/helm" -ldflags "-s -w -X helm.sh/helm/v4/internal/version.version=$helm_version"

mkdir -p "$out/monitoring-crds"
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

go_build_end "$("$out/bin/helm" version --short)"
