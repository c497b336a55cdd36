#!/usr/bin/env bash
# Prints the path of KEDA's ScaledObject CRD (keda.sh/v1alpha1), taken from the
# KEDA Go module in the module cache (`go mod download`, nothing is built): the
# e2e of autoscaled Deployments installs it into the test cluster to show that a
# scale of a Deployment a ScaledObject scales is blocked naming the ScaledObject,
# and that AdjustAutoscaler patches its minReplicaCount. No KEDA controller runs.
set -euo pipefail

version=v2.16.1
cache=${SMARTOPS_CACHE:-$HOME/.cache/smartops}
export GOTOOLCHAIN=local GOFLAGS=-mod=mod GOMODCACHE=${GOMODCACHE:-$cache/go/mod}
dir=$(cd "${TMPDIR:-/tmp}" && go mod download -json "github.com/kedacore/keda/v2@$version" | awk -F'"' '$2=="Dir"{print $4}')
crd="$dir/config/crd/bases/keda.sh_scaledobjects.yaml"
[ -f "$crd" ] || { echo "tools/keda/crd.sh: $crd not found in the KEDA module $version" >&2; exit 1; }
echo "$crd"
