#!/usr/bin/env bash
# Build (once) and cache the Jaeger binary (`jaeger`, Jaeger v2: an
# OpenTelemetry-collector build with an OTLP receiver, in-memory storage and the
# query API), then print its path. The trace tests (test/observability/) send
# the gateway's spans to it over OTLP and read them back through its query API.
#
#   jaeger="$(scripts/jaeger.sh)"
#   "$jaeger" --config file:jaeger.yaml
#
# Built from the Go module proxy (no Docker, no GitHub access). Only the final
# path goes to stdout; progress goes to stderr.
#
# Why not `go install github.com/jaegertracing/jaeger/cmd/jaeger@v1.76.0`: the
# module's go.mod has a `replace` directive (sarama), which `go install
# pkg@version` refuses. Building inside a copy of the module honours it.
# The module path has no /v2 suffix, so Jaeger v2's releases are published as
# v1.x module versions; cmd/jaeger is the v2 binary.
#
# Environment:
#   SWITCHBOARD_CACHE_DIR  cache root (default: $HOME/.cache/switchboard)
#   JAEGER_FORCE_REBUILD   set to 1 to ignore an existing cached binary
#
# Options:
#   --cached-only          print the cached binary's path, or exit 1 without building
set -euo pipefail

JAEGER_MODULE="github.com/jaegertracing/jaeger"
JAEGER_VERSION="v1.76.0"

log() { printf '[jaeger.sh] %s\n' "$*" >&2; }
die() {
	log "error: $*"
	exit 1
}

cache_root="${SWITCHBOARD_CACHE_DIR:-$HOME/.cache/switchboard}"
dest_dir="${cache_root}/jaeger-${JAEGER_VERSION}"
dest="${dest_dir}/jaeger"

jaeger_ok() {
	[[ -f "$1" && -x "$1" ]] && "$1" version >/dev/null 2>&1
}

if [[ "${JAEGER_FORCE_REBUILD:-0}" != 1 ]] && jaeger_ok "$dest"; then
	printf '%s\n' "$dest"
	exit 0
fi
if [[ "${1:-}" == "--cached-only" ]]; then
	exit 1
fi

command -v go >/dev/null 2>&1 || die "go is not installed (need Go >= 1.24.6)"
mkdir -p "$dest_dir"

# One build at a time on the same cache (parallel CI steps).
exec 9>"${dest_dir}/.lock"
if ! flock -n 9; then
	log "another build of Jaeger holds ${dest_dir}/.lock; waiting for it"
	flock 9
fi
if [[ "${JAEGER_FORCE_REBUILD:-0}" != 1 ]] && jaeger_ok "$dest"; then
	printf '%s\n' "$dest"
	exit 0
fi

exec 3>&1 1>&2
chmod -R u+w "${dest_dir}"/build.* 2>/dev/null || true
rm -rf "${dest_dir}"/build.*
work="$(mktemp -d "${dest_dir}/build.XXXXXX")"
cleanup() {
	chmod -R u+w "$work" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

export GOWORK=off GOFLAGS="-mod=mod" CGO_ENABLED=0
export GOPROXY="${GOPROXY:-https://proxy.golang.org,direct}"

start=$SECONDS
log "building Jaeger ${JAEGER_VERSION} with $(go version) (once: a few minutes on two cores; cached in ${dest})"
dl_json="$(go mod download -json "${JAEGER_MODULE}@${JAEGER_VERSION}")" || die "go mod download failed: ${dl_json}"
mod_dir="$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p' <<<"$dl_json")"
[[ -n "$mod_dir" && -f "$mod_dir/go.mod" ]] || die "no module Dir in: ${dl_json}"

src="${work}/src"
mkdir -p "$src"
cp -R "${mod_dir}/." "$src/"
chmod -R u+w "$src"
cd "$src"
# Without the `ui` build tag the query service serves a placeholder page: the tests need only its API.
go build -trimpath -buildvcs=false -ldflags "-s -w -X ${JAEGER_MODULE}/internal/version.latestVersion=${JAEGER_VERSION}" -o "${work}/jaeger" ./cmd/jaeger
jaeger_ok "${work}/jaeger" || die "the built binary does not run"
log "built in $((SECONDS - start))s, $(du -h "${work}/jaeger" | cut -f1)"

chmod 755 "${work}/jaeger"
mv -f "${work}/jaeger" "$dest"
printf '%s\n' "$dest" >&3
