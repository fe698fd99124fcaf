#!/usr/bin/env bash
# Build (once) and cache the OpenBao server binary (`bao`), then print its path.
#
#   bao="$(scripts/openbao.sh)"
#   "$bao" server -dev -dev-root-token-id=root -dev-listen-address=127.0.0.1:8200
#
# OpenBao is the open-source fork of HashiCorp Vault (same HTTP API). It is
# built from source fetched through the Go module proxy (no Docker, no GitHub
# access needed). Only the final path goes to stdout; progress goes to stderr.
#
# Why not `go install github.com/openbao/openbao@v2.x.y`:
#   * the root module path has no /v2 suffix, so v2.x.y tags are not valid
#     versions of it; it must be fetched by commit (pseudo-version);
#   * its go.mod has `replace` directives pointing at nested modules (./api,
#     ./sdk, ./api/auth/*) that the module zip leaves out. We drop them and
#     require the published api/v2, sdk/v2 and api/auth/*/v2 modules instead.
#
# Environment:
#   SWITCHBOARD_CACHE_DIR  cache root (default: $HOME/.cache/switchboard)
#   OPENBAO_FORCE_REBUILD  set to 1 to ignore an existing cached binary
#
# Options:
#   --cached-only          print the cached binary's path, or exit 1 without building
set -euo pipefail

# --- Pinned release ----------------------------------------------------------
# OpenBao v2.4.0 (git tag v2.4.0, commit f9407a27fbee, 2025-08-28).
# The root module is fetched by the pseudo-version of that commit. Newer
# releases (2.4.1 ... 2.6.2) were tried: the module proxy reachable from CI
# answers 403 "This module version is not available" for their commits' pseudo-
# versions, so check before bumping (pseudo = v0.0.0-<UTC commit time>-<sha12>):
#   curl -s https://proxy.golang.org/github.com/openbao/openbao/@v/<pseudo>.info
OPENBAO_VERSION="2.4.0"
OPENBAO_COMMIT="f9407a27fbee45f62ba521bba2bf1e2360c61031"
OPENBAO_COMMIT_DATE="2025-08-28T20:23:15Z"
OPENBAO_MODULE="github.com/openbao/openbao"
OPENBAO_PSEUDO_VERSION="v0.0.0-20250828202315-f9407a27fbee"
# Published nested modules replacing the in-repo `replace` targets. The Go
# sources of api/v2 and sdk/v2 v2.4.0 are identical to ./api and ./sdk at the
# release commit (tagged on slightly earlier commits the same day). The
# api/auth/* client helpers have no v2.4.0 on the proxy; these are the newest
# published versions <= 2.4.0, whose Go sources are also identical (only their
# go.mod differs).
OPENBAO_NESTED_MODULES=(
	"github.com/openbao/openbao/api/v2@v2.4.0"
	"github.com/openbao/openbao/sdk/v2@v2.4.0"
	"github.com/openbao/openbao/api/auth/approle/v2@v2.3.1"
	"github.com/openbao/openbao/api/auth/userpass/v2@v2.2.0"
	"github.com/openbao/openbao/api/auth/kubernetes/v2@v2.0.1"
)
# -----------------------------------------------------------------------------

log() { printf '[openbao.sh] %s\n' "$*" >&2; }
die() {
	log "error: $*"
	exit 1
}

cache_root="${SWITCHBOARD_CACHE_DIR:-$HOME/.cache/switchboard}"
dest_dir="${cache_root}/openbao-${OPENBAO_VERSION}"
dest="${dest_dir}/bao"

# Succeeds if $1 is an executable bao binary that runs.
bao_ok() {
	[[ -f "$1" && -x "$1" ]] && "$1" version >/dev/null 2>&1
}

# Fast path: already built.
if [[ "${OPENBAO_FORCE_REBUILD:-0}" != 1 ]] && bao_ok "$dest"; then
	printf '%s\n' "$dest"
	exit 0
fi
# `--cached-only`: report whether a build exists, never start one (the tests use this).
if [[ "${1:-}" == "--cached-only" ]]; then
	exit 1
fi

command -v go >/dev/null 2>&1 || die "go is not installed (need Go >= 1.24.6)"
mkdir -p "$dest_dir"

# Serialize concurrent builds (e.g. parallel CI steps) on the same cache.
locked=0
if command -v flock >/dev/null 2>&1; then
	locked=1
	exec 9>"${dest_dir}/.lock"
	if ! flock -n 9; then
		log "another build of OpenBao holds ${dest_dir}/.lock; waiting for it to finish (a first build takes about 4 minutes)..."
		flock 9
	fi
	# Someone else may have finished the build while we waited.
	if [[ "${OPENBAO_FORCE_REBUILD:-0}" != 1 ]] && bao_ok "$dest"; then
		printf '%s\n' "$dest"
		exit 0
	fi
fi

# Everything below logs to stderr; the final path goes to the saved stdout (fd 3).
exec 3>&1 1>&2

# Build in a scratch dir next to the destination (same filesystem, so the final
# mv is an atomic rename). Leftovers of interrupted builds are removed (only
# when we hold the lock, so a concurrent build's scratch dir is never touched).
if ((locked)); then
	chmod -R u+w "${dest_dir}"/build.* 2>/dev/null || true
	rm -rf "${dest_dir}"/build.*
fi
work="$(mktemp -d "${dest_dir}/build.XXXXXX")"
heartbeat=""
cleanup() {
	if [[ -n "$heartbeat" ]]; then kill "$heartbeat" 2>/dev/null || true; fi
	chmod -R u+w "$work" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

export GOWORK=off GOFLAGS="-mod=mod" CGO_ENABLED=0
export GOPROXY="${GOPROXY:-https://proxy.golang.org,direct}"

start=$SECONDS
log "building OpenBao ${OPENBAO_VERSION} (${OPENBAO_COMMIT}) with $(go version)"
log "a one-time build: usually about 4 minutes on two cores (download, then compile); cached in ${dest}"
# A line every 30 s, so a long quiet compile is not mistaken for a hang. Killed on exit;
# it holds neither the lock (fd 9) nor the caller's stdout (fd 3).
(
	trap 'kill "$nap" 2>/dev/null; exit 0' TERM
	while :; do
		sleep 30 &
		nap=$!
		wait "$nap"
		elapsed=$((SECONDS - start))
		log "still building OpenBao: $((elapsed / 60))m$((elapsed % 60))s so far (usually about 4 minutes)"
	done
) 3>&- 9>&- &
heartbeat=$!
log "step 1 of 2: downloading ${OPENBAO_MODULE}@${OPENBAO_PSEUDO_VERSION}"
dl_json="$(go mod download -json "${OPENBAO_MODULE}@${OPENBAO_PSEUDO_VERSION}")" ||
	die "go mod download failed: ${dl_json}"
mod_dir="$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p' <<<"$dl_json")"
[[ -n "$mod_dir" && -f "$mod_dir/go.mod" ]] || die "no module Dir in: ${dl_json}"
grep -q "\"Hash\": \"${OPENBAO_COMMIT}\"" <<<"$dl_json" ||
	log "warning: module origin hash not reported as ${OPENBAO_COMMIT} (cached download?)"

src="${work}/src"
mkdir -p "$src"
cp -R "${mod_dir}/." "$src/"
chmod -R u+w "$src"
cd "$src"

edit_args=()
for m in "${OPENBAO_NESTED_MODULES[@]}"; do
	edit_args+=("-dropreplace=${m%@*}" "-require=${m}")
done
go mod edit "${edit_args[@]}"
if grep -q '^replace[[:space:]].*=>[[:space:]]*\./' go.mod; then
	die "go.mod still has local replace directives: $(grep '^replace' go.mod)"
fi

# `go build` (with -mod=mod) fetches what it needs and fills in go.sum for the
# newly required modules; no separate `go mod tidy`/`go mod download` needed.
# Expect ~2.6 GB in the Go module cache and ~1.3 GB in the build cache.
log "step 2 of 2: fetching its dependencies and compiling (the long part: a few minutes)..."
ldflags="-s -w"
ldflags+=" -X ${OPENBAO_MODULE}/version.fullVersion=${OPENBAO_VERSION}"
ldflags+=" -X ${OPENBAO_MODULE}/version.GitCommit=${OPENBAO_COMMIT}"
ldflags+=" -X ${OPENBAO_MODULE}/version.BuildDate=${OPENBAO_COMMIT_DATE}"
go build -trimpath -buildvcs=false -ldflags "$ldflags" -o "${work}/bao" .

version_out="$("${work}/bao" version)" || die "built binary does not run"
log "built: ${version_out} in $((SECONDS - start))s, $(du -h "${work}/bao" | cut -f1)"
case "$version_out" in
*"v${OPENBAO_VERSION}"*) ;;
*) die "unexpected version output: ${version_out}" ;;
esac

# Atomic install: $work is inside $dest_dir, so this is a same-directory rename.
chmod 755 "${work}/bao"
mv -f "${work}/bao" "$dest"
bao_ok "$dest" || die "installed binary ${dest} does not run"

printf '%s\n' "$dest" >&3
