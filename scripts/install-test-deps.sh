#!/usr/bin/env bash
# Installs what the full test suite needs beyond npm, skipping what is already
# there: Redis, PostgreSQL and Chromium (Debian packages), the OpenBao server (built once
# from the Go module proxy and cached), grpcurl, and the Go and Python client
# tool chains (through `npm run generate`'s installers). Needs root for apt.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[install-test-deps] %s\n' "$*" >&2; }

missing=()
command -v redis-server >/dev/null || missing+=(redis-server)
compgen -G "/usr/lib/postgresql/*/bin/postgres" >/dev/null || missing+=(postgresql)
# The browser test drives Debian's Chromium with playwright-core (no browser download).
[[ -x /usr/bin/chromium ]] || missing+=(chromium)
if ((${#missing[@]} > 0)); then
  log "apt-get install ${missing[*]}"
  if [[ $(id -u) -ne 0 ]]; then
    log "not root: install ${missing[*]} yourself (sudo apt-get install ${missing[*]})"
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # The packages start system-wide servers; the tests run their own on free ports.
  service redis-server stop >/dev/null 2>&1 || true
  service postgresql stop >/dev/null 2>&1 || true
fi

log "OpenBao: $(bash scripts/openbao.sh)"
bash scripts/install-grpcurl.sh
log "grpcurl: $(.tools/bin/grpcurl -version 2>&1)"
