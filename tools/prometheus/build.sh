#!/usr/bin/env bash
# Builds prometheus and promtool from the Prometheus Go module (go.mod here pins
# the release; `go install …@version` is not usable for it) into the cache
# outside the checkout, for the chart's alert unit tests (promtool test rules)
# and the e2e that scrapes the operator and shim with a real Prometheus.
# The cache layout, Go environment and stamp are tools/lib/go-build.sh's.
#
# Built without the embedded web UI (no `builtinassets` tag: the HTTP API is all
# the tests use) and without service discovery beyond static, file and HTTP
# (`remove_all_sd`): a third of the code to compile, same rule and query engine.
#
# Prints the output directory (bin/prometheus, bin/promtool) on stdout;
# progress goes to stderr.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../lib/go-build.sh
. "$here/../lib/go-build.sh"
module_version=$(awk '$1=="github.com/prometheus/prometheus"{print $2}' "$here/go.mod")
# Module v0.315.1 is Prometheus 3.15.1 (the newest whose go.mod asks for no more than Go 1.26.0).
version=$(echo "$module_version" | awk -F. '{printf "%d.%d.%d", substr($2, 1, 1), substr($2, 2), $3}')

go_build_begin prometheus
flags=(-tags netgo,remove_all_sd -ldflags "-s -w -X github.com/prometheus/common/version.Version=$version -X github.com/prometheus/common/version.Branch=module -X github.com/prometheus/common/version.Revision=$module_version")
go_build github.com/prometheus/prometheus/cmd/prometheus "$out/bin/prometheus" "${flags[@]}"
go_build github.com/prometheus/prometheus/cmd/promtool "$out/bin/promtool" "${flags[@]}"
go_build_end "$("$out/bin/prometheus" --version | head -1)"
