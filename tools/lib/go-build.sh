# Shared by every tools/<tool>/build.sh that builds a Go tool from a small
# wrapper module (go.mod + go.sum pin the release) into the cache outside the
# checkout. Source it from the tool's build.sh, then:
#
#   go_build_begin <name> [extra stamp input files…]
#       Go environment (toolchain on PATH only, module and build caches under
#       the cache), the output directory $out = <cache>/<name>/<stamp>. The
#       stamp hashes go.mod, go.sum, the tool's build.sh, this file, any extra
#       inputs and `go version`: when $out/.complete exists it prints $out and
#       exits 0 — nothing to do. Otherwise it creates $out/bin and starts the clock.
#   go_build <package> <output file> [go build flags…]
#       go build -trimpath in the wrapper module (module graph read-only).
#   go_build_end <summary>
#       Records build-seconds, marks $out complete, prints $out on stdout.
#
# Progress goes to stderr; stdout carries only the output directory, so callers
# use `dir=$(tools/<tool>/build.sh)`.

go_build_begin() {
  go_build_name=$1
  shift
  go_build_here=$(cd "$(dirname "${BASH_SOURCE[1]}")" && pwd)
  local cache=${SMARTOPS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/smartops}
  export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=readonly
  export GOMODCACHE=${GOMODCACHE:-$cache/go/mod}
  export GOCACHE=${GOCACHE:-$cache/go/build}
  local stamp
  stamp=$(
    {
      cat "$go_build_here/go.mod" "$go_build_here/go.sum" "${BASH_SOURCE[1]}" "${BASH_SOURCE[0]}" "$@"
      go version
    } | sha256sum | cut -c1-16
  )
  out="$cache/$go_build_name/$stamp"
  if [ -f "$out/.complete" ]; then
    echo "$out"
    exit 0
  fi
  mkdir -p "$out/bin"
  go_build_start=$(date +%s)
  echo "building $go_build_name into $out (cold: minutes on 2 cores)" >&2
}

go_build() {
  local pkg=$1 dest=$2
  shift 2
  (cd "$go_build_here" && go build -trimpath "$@" -o "$dest" "$pkg")
}

go_build_end() {
  local seconds=$(($(date +%s) - go_build_start))
  echo "$seconds" >"$out/build-seconds"
  touch "$out/.complete"
  echo "$go_build_name built in $seconds s: $1" >&2
  echo "$out"
}
