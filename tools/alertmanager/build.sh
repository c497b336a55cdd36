#!/usr/bin/env bash
# Builds alertmanager from the Alertmanager Go module (go.mod here pins the
# release) into the cache outside the checkout, for the e2e that routes a real
# Alertmanager's webhook to the shim's /v1/alertmanager. A no-op when the cached
# build matches go.mod, go.sum, this script and `go version`; the cache layout,
# Go environment and stamp are tools/lib/go-build.sh's.
#
# The module as published leaves out its web UI's build output (ui/app/dist, an
# npm build) although ui/web.go embeds it, and files in the module cache cannot
# be overlaid: the build copies the module's source next to the binary, adds one
# placeholder page per UI root, and builds with a copy of go.mod that replaces
# the module by that copy (every other dependency as go.sum pins it). The HTTP
# API (/api/v2), routing and the webhook notifier, all the tests use, are the
# release's own code.
#
# Prints the output directory (bin/alertmanager) on stdout; progress goes to stderr.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../lib/go-build.sh
. "$here/../lib/go-build.sh"
version=$(awk '$1=="github.com/prometheus/alertmanager"{print $2}' "$here/go.mod")

go_build_begin alertmanager
module_dir=$(cd "$here" && go list -m -f '{{.Dir}}' github.com/prometheus/alertmanager)
rm -rf "$out/src"
cp -r "$module_dir" "$out/src"
chmod -R u+w "$out/src"
for root in elm mantine; do
  mkdir -p "$out/src/ui/app/dist/$root"
  echo '<!doctype html><title>Alertmanager</title><p>Built without the web UI; the API is at /api/v2.</p>' >"$out/src/ui/app/dist/$root/index.html"
done
cp "$here/go.mod" "$out/go.mod"
cp "$here/go.sum" "$out/go.sum"
echo "replace github.com/prometheus/alertmanager => $out/src" >>"$out/go.mod"
flags=(-modfile "$out/go.mod" -tags netgo -ldflags "-s -w -X github.com/prometheus/common/version.Version=${version#v} -X github.com/prometheus/common/version.Branch=module -X github.com/prometheus/common/version.Revision=$version")
go_build github.com/prometheus/alertmanager/cmd/alertmanager "$out/bin/alertmanager" "${flags[@]}"
go_build_end "$("$out/bin/alertmanager" --version 2>&1 | head -1)"
