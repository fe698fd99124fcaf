#!/usr/bin/env bash
# The README's `npm start`, checked the way a newcomer meets it (CI runs this
# right after `npm ci` on a clean checkout):
#   1. `npm start` answers /healthz within FIRST_START_BOUND seconds (it builds
#      dist/ when missing or stale), and SIGTERM to the npm process stops the
#      gateway: npm exits 0 and no process of it is left behind;
#   2. a second `npm start` (dist/ current: no rebuild) answers within
#      SECOND_START_BOUND seconds, and SIGINT stops it the same way.
# Each start gets a free port and a fresh data directory (./data is not touched).
#
#   bash scripts/start-smoke.sh
set -euo pipefail
cd "$(dirname "$0")/.."

FIRST_START_BOUND="${FIRST_START_BOUND:-180}"
SECOND_START_BOUND="${SECOND_START_BOUND:-10}"

log() { printf '[start-smoke] %s\n' "$*" >&2; }
scratch="$(mktemp -d)"
npm_pid=""
cleanup() {
  if [[ -n "$npm_pid" ]] && kill -0 "$npm_pid" 2>/dev/null; then kill -KILL "$npm_pid" 2>/dev/null || true; fi
  rm -rf "$scratch"
}
trap cleanup EXIT

# Every process under $1 (children first listed after their parent).
descendants() {
  local child
  for child in $(pgrep -P "$1" || true); do
    echo "$child"
    descendants "$child"
  done
}

fail() {
  log "FAILED: $*"
  log "npm start's output:"
  sed 's/^/    /' "$scratch/out.log" >&2 || true
  exit 1
}

# start_and_stop LABEL BOUND SIGNAL
start_and_stop() {
  local label=$1 bound=$2 signal=$3 port data started elapsed
  port="$(node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })')"
  data="$scratch/data-$label"
  started="$(date +%s%N)"
  PORT="$port" SWITCHBOARD_DATA_DIR="$data" npm start >"$scratch/out.log" 2>&1 &
  npm_pid=$!
  until curl -sf -o /dev/null "http://127.0.0.1:$port/healthz"; do
    kill -0 "$npm_pid" 2>/dev/null || fail "$label: npm start exited before /healthz answered"
    elapsed=$((($(date +%s%N) - started) / 1000000))
    ((elapsed < bound * 1000)) || fail "$label: /healthz did not answer within ${bound} s"
    sleep 0.1
  done
  elapsed=$((($(date +%s%N) - started) / 1000000))
  local rebuilt="dist/ current, no build"
  grep -q '\[ensure-build\] built dist/' "$scratch/out.log" && rebuilt="built dist/ first"
  if [[ $label == second && $rebuilt != "dist/ current, no build" ]]; then fail "second: npm start rebuilt dist/ although nothing changed"; fi
  log "$label npm start: /healthz answered after $((elapsed / 1000)).$(printf '%03d' $((elapsed % 1000))) s ($rebuilt; bound ${bound} s)"

  local tree status=0
  tree="$(descendants "$npm_pid")"
  kill "-$signal" "$npm_pid"
  wait "$npm_pid" || status=$?
  npm_pid=""
  ((status == 0)) || fail "$label: npm exited $status after SIG$signal (the gateway should drain and exit 0)"
  local pid left=""
  for _ in $(seq 50); do
    left=""
    for pid in $tree; do kill -0 "$pid" 2>/dev/null && left+=" $pid"; done
    [[ -z "$left" ]] && break
    sleep 0.1
  done
  if [[ -n "$left" ]]; then
    ps -o pid,args -p "${left# }" >&2 || true
    for pid in $left; do kill -KILL "$pid" 2>/dev/null || true; done
    fail "$label: SIG$signal to npm left these running:$left"
  fi
  if curl -s -o /dev/null "http://127.0.0.1:$port/healthz"; then fail "$label: something still answers on port $port after SIG$signal"; fi
  grep -q '"msg":"stopped"' "$scratch/out.log" || fail "$label: the gateway did not log that it stopped"
  log "$label npm start: SIG$signal to npm stopped the gateway (drained, exit 0, nothing left running)"
}

start_and_stop first "$FIRST_START_BOUND" TERM
start_and_stop second "$SECOND_START_BOUND" INT
