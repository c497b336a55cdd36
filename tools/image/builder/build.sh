#!/usr/bin/env bash
# Builds the image builder (main.go here, go-containerregistry) from its wrapper
# module into the cache, on the pattern every Go tool of tools/ shares
# (tools/lib/go-build.sh). Prints the output directory (bin/image-build).
set -euo pipefail
# shellcheck source=../../lib/go-build.sh
source "$(dirname "$0")/../../lib/go-build.sh"

go_build_begin image-builder "$(dirname "$0")/main.go"
go_build . "$out/bin/image-build" -ldflags "-s -w"
go_build_end "go-containerregistry $(awk '/github.com\/google\/go-containerregistry /{print $NF; exit}' "$(dirname "$0")/go.mod")"
