#!/usr/bin/env bash
# `make chart-lint`: helm lint (values checked against values.schema.json) and
# helm template of charts/smartops-operator in each shape it is installed in.
# helm comes from tools/helm/build.sh (built into the cache once).
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
chart="$root/charts/smartops-operator"
helm="$("$root/tools/helm/build.sh")/bin/helm"
export HELM_CACHE_HOME HELM_CONFIG_HOME HELM_DATA_HOME
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
HELM_CACHE_HOME=$tmp/cache HELM_CONFIG_HOME=$tmp/config HELM_DATA_HOME=$tmp/data

shapes=(
  "defaults|"
  "namespaced|--set rbac.scope=namespace --set watchNamespace=team-a"
  "everything on|--set networkPolicy.enabled=true --set notifications.secretName=smartops-notify --set serviceMonitor.enabled=true --set prometheusRule.enabled=true --set dashboard.enabled=true --set shim.alertmanager.serviceLabels={app}"
  "minimal|--set crd.enabled=false --set shim.enabled=false --set guardrailPolicy.enabled=false --set admissionPolicy.enabled=false --set rbac.approverRole=false --set operator.replicas=1 --set operator.leaderElection.enabled=false"
)
for shape in "${shapes[@]}"; do
  name=${shape%%|*}
  read -r -a args <<<"${shape#*|}"
  "$helm" lint --strict "$chart" --namespace smartops-system "${args[@]}" >"$tmp/lint.log" 2>&1 || { cat "$tmp/lint.log"; echo "helm lint failed: $name" >&2; exit 1; }
  "$helm" template smartops-operator "$chart" --namespace smartops-system "${args[@]}" >"$tmp/out.yaml"
  echo "chart $name: lint ok, $(grep -c '^kind:' "$tmp/out.yaml") objects"
done
