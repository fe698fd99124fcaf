#!/usr/bin/env bash
# The observability files, checked with Prometheus's own tool (promtool, from
# Debian's `prometheus` package; scripts/install-test-deps.sh installs it):
#   1. the alert rules are valid, and their unit tests pass
#      (deploy/prometheus/alerts.yml, deploy/prometheus/alerts.test.yml);
#   2. the Prometheus configuration is valid (deploy/prometheus.yml);
#   3. a live gateway's /metrics, after calls on every surface, passes
#      `promtool check metrics` (names, units, suffixes, help texts);
#   4. the Grafana dashboard is JSON whose every panel has a query.
# test/observability/dashboard.test.ts goes further: every panel's query runs
# against a real Prometheus scraping two gateways under load.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[check-observability] %s\n' "$*" >&2; }
command -v promtool >/dev/null || {
  log "promtool is not installed: apt-get install prometheus (bash scripts/install-test-deps.sh does)"
  exit 1
}

log "alert rules: promtool check rules, promtool test rules"
promtool check rules deploy/prometheus/alerts.yml
(cd deploy/prometheus && promtool test rules alerts.test.yml)

log "Prometheus configuration: promtool check config"
promtool check config --syntax-only deploy/prometheus.yml

log "a live gateway's /metrics: promtool check metrics"
work="$(mktemp -d)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# Waits for a child's first JSON line naming its port; prints the port.
port_of() {
  local file=$1 pid=$2
  for _ in $(seq 1 600); do
    if port=$(grep -o '"port":[0-9]*' "$file" 2>/dev/null | head -1 | cut -d: -f2) && [[ -n "$port" ]]; then
      echo "$port"
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  log "no port from $file:"
  cat "$file" >&2
  return 1
}

node --import tsx bench/instant-vendor.ts >"$work/vendor.out" &
pids+=($!)
vendor_port=$(port_of "$work/vendor.out" "${pids[-1]}")
HOST=127.0.0.1 PORT=0 SWITCHBOARD_MASTER_KEY=sk-check-observability SWITCHBOARD_DATA_DIR="$work/data" \
  OPENAI_API_KEY=sk-check-upstream OPENAI_BASE_URL="http://127.0.0.1:$vendor_port/v1" \
  node --import tsx src/main.ts serve >"$work/gateway.out" 2>&1 &
pids+=($!)
gateway="http://127.0.0.1:$(port_of "$work/gateway.out" "${pids[-1]}")"

auth=(-H 'authorization: Bearer sk-check-observability' -H 'content-type: application/json')
curl -sf "${auth[@]}" "$gateway/v1/chat/completions" -d '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}' >/dev/null
curl -sf "${auth[@]}" "$gateway/v1/chat/completions" -d '{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}' >/dev/null
curl -sf "${auth[@]}" "$gateway/switchboard.v1.AIService/Chat" -d '{"model":"gpt-4o-mini","messages":[{"role":"ROLE_USER","content":"hi"}]}' >/dev/null
curl -s -H 'content-type: application/json' "$gateway/switchboard.v1.AIService/Chat" -d '{}' >/dev/null # unauthenticated: an error code
curl -sf "$gateway/metrics" >"$work/metrics.txt"
grep -q '^switchboard_time_to_first_token_seconds_bucket' "$work/metrics.txt" || {
  log "the gateway's /metrics lacks switchboard_time_to_first_token_seconds after a stream"
  exit 1
}
promtool check metrics <"$work/metrics.txt"
log "/metrics: $(grep -c '^switchboard_' "$work/metrics.txt") switchboard_* samples, promtool clean"

log "Grafana dashboard: every panel has a query"
node -e '
  const dashboard = JSON.parse(require("fs").readFileSync("deploy/grafana/dashboards/switchboard.json", "utf8"));
  const panels = dashboard.panels.filter((p) => p.type !== "row");
  const empty = panels.filter((p) => !(p.targets ?? []).some((t) => t.expr));
  if (empty.length) { console.error("panels without a query:", empty.map((p) => p.title)); process.exit(1); }
  console.error(`[check-observability] ${panels.length} panels, ${panels.flatMap((p) => p.targets).length} queries`);
'
log "ok"
