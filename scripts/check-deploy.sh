#!/usr/bin/env bash
# Checks the Helm chart without a cluster: `helm lint`, `helm template` with the
# default values, the production example and the TLS example, then a strict
# schema check of every rendered manifest against the Kubernetes versions we
# target, offline; then what the rendered chart says (TLS wiring, null config
# sections) and the values it must refuse with a clear message, by its templates
# or by values.schema.json.
#
# Tools (installed on first use, then cached):
#   - helm and kubeconform, built from the Go module proxy into
#     ~/.cache/switchboard (helm takes a minute or two to build) and linked
#     into .tools/bin;
#   - the Kubernetes JSON schemas from PyPI's kubernetes-validate, in .venv.
#     Its schemas name their shared definitions by absolute kubernetes.io URLs,
#     which kubeconform would fetch; a copy with relative references is made
#     once per version under ~/.cache/switchboard.
# The ServiceMonitor (a Prometheus-operator CRD; no schema ships offline) is
# rendered and linted, and skipped by kubeconform (-skip ServiceMonitor).
set -euo pipefail
cd "$(dirname "$0")/.."

HELM_VERSION=v3.22.0
KUBECONFORM_VERSION=v0.8.0
KUBERNETES_VALIDATE_VERSION=1.37.0
# The oldest Kubernetes the chart supports (Chart.yaml kubeVersion) and a current one.
KUBERNETES_VERSIONS=(1.29.0 1.33.0)
CHART=deploy/helm/switchboard

log() { printf '[check-deploy] %s\n' "$*" >&2; }
cache="${SWITCHBOARD_CACHE_DIR:-$HOME/.cache/switchboard}"
bin="$PWD/.tools/bin"
mkdir -p "$bin"

# go install into a versioned cache directory once; link the binary into .tools/bin.
install_go_tool() {
  local name=$1 module=$2 version=$3
  local dir="$cache/$name-$version"
  if [[ ! -x "$dir/$name" ]]; then
    command -v go >/dev/null || { log "go is not on PATH: install Go 1.26+ to build $name"; exit 1; }
    log "building $name $version (once; cached in $dir)"
    mkdir -p "$dir"
    GOBIN="$dir" go install "$module@$version"
  fi
  ln -sf "$dir/$name" "$bin/$name"
}
install_go_tool helm helm.sh/helm/v3/cmd/helm "$HELM_VERSION"
install_go_tool kubeconform github.com/yannh/kubeconform/cmd/kubeconform "$KUBECONFORM_VERSION"

python=.venv/bin/python
[[ -x $python ]] || "${PYTHON:-python3}" -m venv .venv
if ! $python -c "import kubernetes_validate.version as v, sys; sys.exit(v.__version__ != '$KUBERNETES_VALIDATE_VERSION')" 2>/dev/null; then
  log "pip install kubernetes-validate==$KUBERNETES_VALIDATE_VERSION (the Kubernetes JSON schemas)"
  $python -m pip install -q --disable-pip-version-check "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION"
fi
shipped="$($python -c 'import kubernetes_validate, os; print(os.path.join(os.path.dirname(kubernetes_validate.__file__), "kubernetes-json-schema"))')"
schemas="$cache/kubernetes-json-schema-$KUBERNETES_VALIDATE_VERSION"
for version in "${KUBERNETES_VERSIONS[@]}"; do
  flavour="v$version-local-strict"
  [[ -d "$shipped/$flavour" ]] || { log "kubernetes-validate $KUBERNETES_VALIDATE_VERSION has no schemas for Kubernetes $version"; exit 1; }
  [[ -f "$schemas/$flavour/.complete" ]] && continue
  log "schemas for Kubernetes $version: a copy with relative references in $schemas"
  $python - "$shipped/$flavour" "$schemas/$flavour" <<'PY'
import json, os, sys
source, target = sys.argv[1], sys.argv[2]
os.makedirs(target, exist_ok=True)
def relative(node):
    # "$id": "https://kubernetes.io/api/..." and "$ref": "/api/_definitions.json#/..." resolve to
    # kubernetes.io; without the ids, "_definitions.json#/..." resolves next to the file instead.
    if isinstance(node, dict):
        if str(node.get("$id", "")).startswith("https://kubernetes.io/api/"):
            del node["$id"]
        if str(node.get("$ref", "")).startswith("/api/_definitions.json"):
            node["$ref"] = node["$ref"][len("/api/"):]
        for value in node.values():
            relative(value)
    elif isinstance(node, list):
        for value in node:
            relative(value)
for name in os.listdir(source):
    with open(os.path.join(source, name)) as f:
        schema = json.load(f)
    relative(schema)
    with open(os.path.join(target, name), "w") as f:
        json.dump(schema, f)
open(os.path.join(target, ".complete"), "w").close()
PY
done

log "helm $HELM_VERSION, kubeconform $KUBECONFORM_VERSION, schemas from kubernetes-validate $KUBERNETES_VALIDATE_VERSION"
rendered="$(mktemp -d)"
trap 'rm -rf "$rendered"' EXIT

production=(-f "$CHART/examples/production-values.yaml")
tls=(-f "$CHART/examples/production-values.yaml" -f "$CHART/examples/tls-values.yaml")
log "helm lint (default values, the production example, the TLS example)"
"$bin/helm" lint --strict --kube-version "${KUBERNETES_VERSIONS[-1]}" "$CHART"
"$bin/helm" lint --strict --kube-version "${KUBERNETES_VERSIONS[-1]}" "$CHART" "${production[@]}"
"$bin/helm" lint --strict --kube-version "${KUBERNETES_VERSIONS[-1]}" "$CHART" "${tls[@]}"

for version in "${KUBERNETES_VERSIONS[@]}"; do
  "$bin/helm" template switchboard "$CHART" --kube-version "$version" >"$rendered/default-$version.yaml"
  "$bin/helm" template switchboard "$CHART" --kube-version "$version" "${production[@]}" >"$rendered/production-$version.yaml"
  "$bin/helm" template switchboard "$CHART" --kube-version "$version" "${tls[@]}" >"$rendered/tls-$version.yaml"
  "$bin/helm" template switchboard "$CHART" --kube-version "$version" --set config.server=null >"$rendered/server-null-$version.yaml"
  log "kubeconform -strict, Kubernetes $version: default values, the production and TLS examples, config.server: null"
  "$bin/kubeconform" -strict -summary -kubernetes-version "$version" -skip ServiceMonitor \
    -schema-location "$schemas/{{ .NormalizedKubernetesVersion }}-local{{ .StrictSuffix }}/{{ .ResourceKind }}{{ .KindSuffix }}.json" \
    "$rendered/default-$version.yaml" "$rendered/production-$version.yaml" "$rendered/tls-$version.yaml" "$rendered/server-null-$version.yaml"
done
latest="${KUBERNETES_VERSIONS[-1]}"
# The production example turns the ServiceMonitor on: it must be there, skipped above for want of its CRD's schema.
grep -q '^kind: ServiceMonitor$' "$rendered/production-$latest.yaml" || { log "the production example renders no ServiceMonitor"; exit 1; }

# What the rendered chart must say. expect FILE PATTERN COUNT WHY: grep -c finds PATTERN COUNT times.
expect() {
  local found
  found=$(grep -cE -- "$2" "$rendered/$1-$latest.yaml" || true)
  [[ $found == "$3" ]] || { log "$1: expected $3 lines matching '$2', found $found: $4"; exit 1; }
}
log "the rendered chart: probes, TLS wiring, the production example's Vault and metrics"
expect default 'scheme: HTTPS' 0 "no HTTPS probe without TLS"
expect tls 'scheme: HTTPS \}' 3 "the probes speak TLS to a TLS port"
expect tls 'cert_file: /etc/switchboard-tls/tls.crt' 1 "server.tls points at the mounted Secret"
expect tls 'key_file: /etc/switchboard-tls/tls.key' 1 "server.tls points at the mounted Secret"
expect tls 'mountPath: /etc/switchboard-tls$' 1 "the TLS Secret is mounted where server.tls points"
expect tls 'secretName: switchboard-tls$' 1 "the TLS volume is tls.secretName's Secret"
expect tls 'appProtocol: https$' 4 "both ports of both Services (the example adds the headless one) say TLS"
expect tls '^      scheme: https$' 1 "the ServiceMonitor scrapes over https"
expect server-null '^    server: \{\}$' 1 "config.server: null renders an empty server section"
expect server-null 'value: "8080"' 1 "config.server: null listens on the default port"
expect production 'vault\.hashicorp\.com/' 0 "the gateway logs in to Vault with AppRole: no injector annotations"
expect production 'automountServiceAccountToken: false' 2 "no service-account token in the pods"
expect production 'key: SWITCHBOARD_METRICS_TOKEN' 1 "the ServiceMonitor sends the gateways' metrics token"
expect production '^    switchboard\.io/metrics: "true"$|^      switchboard\.io/metrics: "true"$' 2 "the ServiceMonitor selects the main Service only, not the headless one (each pod scraped once)"
# Each variable once: a second entry (env: overriding the chart's own) would win over the chart's.
names=$(grep -oE '^            - name: [A-Z_]+$' "$rendered/default-$latest.yaml" | sort)
[[ -z $(uniq -d <<<"$names") ]] || { log "an environment variable is set twice: $(uniq -d <<<"$names")"; exit 1; }

# Values the chart must refuse: refuse MESSAGE-PATTERN HELM-ARGS...
refuse() {
  local want=$1 out
  shift
  if out=$("$bin/helm" template switchboard "$CHART" --kube-version "$latest" "$@" 2>&1 >/dev/null); then
    log "helm rendered $* where it must refuse it"
    exit 1
  fi
  grep -qE -- "$want" <<<"$out" || { log "helm refused $* without saying '$want': $out"; exit 1; }
  ! grep -q 'sk-live-check' <<<"$out" || { log "helm's refusal of $* repeats the secret: $out"; exit 1; }
}
log "values the chart refuses, each with a message that says what to do"
refuse 'env.PORT: the chart sets PORT itself.*config.server.port' --set env.PORT=9999
refuse 'env.SWITCHBOARD_CONFIG: the chart sets' --set env.SWITCHBOARD_CONFIG=/tmp/other.yaml
refuse 'env.SWITCHBOARD_WORKERS: the chart sets.*workers' --set env.SWITCHBOARD_WORKERS=4
refuse 'env.SWITCHBOARD_DATA_DIR: the chart sets.*dataVolume' --set env.SWITCHBOARD_DATA_DIR=/tmp
for name in OPENAI_API_KEY SWITCHBOARD_MASTER_KEY SWITCHBOARD_PEPPER VAULT_TOKEN VAULT_SECRET_ID AWS_SECRET_ACCESS_KEY PG_PASSWORD SWITCHBOARD_METRICS_TOKEN QIANFAN_SK; do
  refuse "env.$name looks like a secret: put it in the Secret named by secrets.existingSecret" --set "env.$name=sk-live-check"
done
refuse 'env.DATABASE_URL is a URL with a password in it: put it in the Secret' --set 'env.DATABASE_URL=postgres://app:sk-live-check@db/switchboard'
refuse 'env.REDIS_URL is a URL with a password in its query \(sentinel_password=…\): put it in the Secret' --set-string 'env.REDIS_URL=redis+sentinel://s1:26379/mymaster?sentinel_password=sk-live-check'
refuse 'env.DATABASE_URL is a URL with a password in its query \(password=…\): put it in the Secret' --set-string 'env.DATABASE_URL=postgres://app@db:5432/switchboard?sslmode=require&password=sk-live-check'
refuse 'tls.secretName and config.server.tls are both set' --set tls.secretName=x --set config.server.tls.cert_file=/a --set config.server.tls.key_file=/b
# values.schema.json: a wrong type or a misspelt key fails lint and render, rather than a pod that exits 78 or a setting ignored.
refuse "at '/workers'" --set-string workers=two
refuse "at '/autoscaling': additional properties 'enable' not allowed" --set autoscaling.enable=false
refuse "additional properties 'replicas' not allowed" --set replicas=2
refuse "at '/service/headless'" --set-string service.headless=yes
! "$bin/helm" lint --strict --kube-version "$latest" "$CHART" --set-string workers=two >/dev/null 2>&1 || { log "helm lint --strict passed workers=two"; exit 1; }
# ...and what it must take: paths to secrets and the plain settings the docs name.
"$bin/helm" template switchboard "$CHART" --kube-version "$latest" --set env.SWITCHBOARD_SECRET_KEY_FILE=/vault/secrets/key \
  --set env.SWITCHBOARD_SECRET_KEK=local --set env.VAULT_ADDR=https://vault:8200 --set env.LOG_LEVEL=info \
  --set 'env.REDIS_URL=redis+cluster://redis-0:6379\,redis-1:6379' --set-string 'env.SOME_URL=postgres://db/switchboard?sslmode=require' \
  --set workers=4 --set podDisruptionBudget.maxUnavailable=25% >/dev/null
log "ok"
