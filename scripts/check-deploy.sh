#!/usr/bin/env bash
# Checks the Helm chart without a cluster: `helm lint`, `helm template` with the
# default values and with the production example, then a strict schema check
# of every rendered manifest against the Kubernetes versions we target, offline.
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

log "helm lint (default values, then the production example)"
"$bin/helm" lint --strict --kube-version "${KUBERNETES_VERSIONS[-1]}" "$CHART"
"$bin/helm" lint --strict --kube-version "${KUBERNETES_VERSIONS[-1]}" "$CHART" -f "$CHART/examples/production-values.yaml"

for version in "${KUBERNETES_VERSIONS[@]}"; do
  "$bin/helm" template switchboard "$CHART" --kube-version "$version" >"$rendered/default-$version.yaml"
  "$bin/helm" template switchboard "$CHART" --kube-version "$version" -f "$CHART/examples/production-values.yaml" >"$rendered/production-$version.yaml"
  log "kubeconform -strict, Kubernetes $version: default values and the production example"
  "$bin/kubeconform" -strict -summary -kubernetes-version "$version" -skip ServiceMonitor \
    -schema-location "$schemas/{{ .NormalizedKubernetesVersion }}-local{{ .StrictSuffix }}/{{ .ResourceKind }}{{ .KindSuffix }}.json" \
    "$rendered/default-$version.yaml" "$rendered/production-$version.yaml"
done
# The production example turns the ServiceMonitor on: it must be there, skipped above for want of its CRD's schema.
grep -q '^kind: ServiceMonitor$' "$rendered/production-${KUBERNETES_VERSIONS[-1]}.yaml" || { log "the production example renders no ServiceMonitor"; exit 1; }
log "ok"
