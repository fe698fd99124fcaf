{{/* The release's full name, at most 63 characters (a DNS label). */}}
{{- define "switchboard.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "switchboard.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* On the main Service only: what the ServiceMonitor selects, so that the headless Service's endpoints (the same pods) are not scraped twice. */}}
{{- define "switchboard.metricsServiceLabel" -}}
switchboard.io/metrics: "true"
{{- end -}}

{{- define "switchboard.labels" -}}
{{ include "switchboard.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "switchboard.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "switchboard.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* Where tls.secretName's certificate and key are mounted. */}}
{{- define "switchboard.tlsDir" -}}/etc/switchboard-tls{{- end -}}

{{/*
The gateway's configuration file as the ConfigMap holds it: `config:` with an
empty or null `server` made a map, and server.tls pointed at the mounted
Secret when tls.secretName is set. Every template reads the configuration
through this, so none trips on a null section.
*/}}
{{- define "switchboard.config" -}}
{{- $config := deepCopy (.Values.config | default dict) -}}
{{- $server := get $config "server" | default dict -}}
{{- if .Values.tls.secretName -}}
{{- if $server.tls -}}
{{- fail "tls.secretName and config.server.tls are both set: set tls.secretName (the chart mounts the Secret and points server.tls at it), or config.server.tls with files you mount yourself (extraVolumes), not both" -}}
{{- end -}}
{{- $dir := include "switchboard.tlsDir" . -}}
{{- $_ := set $server "tls" (dict "cert_file" (printf "%s/tls.crt" $dir) "key_file" (printf "%s/tls.key" $dir)) -}}
{{- end -}}
{{- $_ := set $config "server" $server -}}
{{- toYaml $config -}}
{{- end -}}

{{/* config.server, defaults and all, as a map. */}}
{{- define "switchboard.server" -}}
{{- toYaml (get (include "switchboard.config" . | fromYaml) "server") -}}
{{- end -}}

{{/* The one port the gateway listens on (config.server.port, 8080 by default). */}}
{{- define "switchboard.port" -}}
{{- $server := include "switchboard.server" . | fromYaml -}}
{{- int (default 8080 $server.port) -}}
{{- end -}}

{{/* Whether the gateway's port speaks TLS (server.tls, set by hand or from tls.secretName), as "true" or "false". */}}
{{- define "switchboard.tlsOn" -}}
{{- $server := include "switchboard.server" . | fromYaml -}}
{{- not (empty $server.tls) -}}
{{- end -}}

{{/* The drain the gateway is given after SIGTERM, in whole seconds (rounded up). */}}
{{- define "switchboard.drainSeconds" -}}
{{- $server := include "switchboard.server" . | fromYaml -}}
{{- $graceMs := int (default 10000 $server.shutdown_grace_ms) -}}
{{- div (add $graceMs 999) 1000 -}}
{{- end -}}

{{/*
Refuses `env:` entries the chart cannot render safely:
  - variables the chart sets itself: a second entry would win over the chart's
    (the last one does), so the gateway would listen, read its configuration or
    fork where the container port, the probes and the mounts do not point;
  - secrets: values end up in the Deployment, in Helm's release history and in
    `helm get values`, so names that hold a secret, and URLs that carry a
    password, belong in the Secret the pods load (secrets.existingSecret).
*/}}
{{- define "switchboard.checkEnv" -}}
{{- $owned := dict
  "PORT" "set config.server.port: the container port and the probes follow it"
  "SWITCHBOARD_CONFIG" "put the configuration in config: (mounted at /etc/switchboard/switchboard.yaml)"
  "SWITCHBOARD_DATA_DIR" "the data volume is mounted at /data: choose it with dataVolume"
  "SWITCHBOARD_WORKERS" "set workers:" -}}
{{- /* *_API_KEY and every other *_KEY, *_SECRET*, *PASSWORD*, *_TOKEN, *MASTER_KEY*, *PEPPER*, a vendor's *_SK, OTLP headers (they carry the collector's credentials). */ -}}
{{- $secretName := "_KEY$|(^|_)SECRET|PASSWORD|PASSWD|_TOKEN$|MASTER_KEY|PEPPER|(^|_)SK$|_HEADERS$" -}}
{{- /* Paths to secrets, and the name of the key-encryption key's kind, are not secrets. */ -}}
{{- $notSecret := "_FILE$|^SWITCHBOARD_SECRET_KEK$" -}}
{{- $where := printf "put it in the Secret named by secrets.existingSecret (%q), or one listed in secrets.extraEnvFrom: the pods load those whole, and values are never secret (they are stored in the Deployment and in Helm's release history)" (toString .Values.secrets.existingSecret) -}}
{{- range $name, $value := .Values.env -}}
{{- if hasKey $owned $name -}}
{{- fail (printf "env.%s: the chart sets %s itself, and a second entry would override it; %s" $name $name (get $owned $name)) -}}
{{- end -}}
{{- if and (regexMatch $secretName (upper $name)) (not (regexMatch $notSecret (upper $name))) -}}
{{- fail (printf "env.%s looks like a secret: %s" $name $where) -}}
{{- end -}}
{{- if regexMatch `^[A-Za-z][A-Za-z0-9+.-]*://[^/@\s]*:[^/@\s]+@` (toString $value) -}}
{{- fail (printf "env.%s is a URL with a password in it: %s" $name $where) -}}
{{- end -}}
{{- /* The same in the query: Postgres's ?password= and ?sslpassword=, the Sentinels' ?sentinel_password=, any *pass*, *secret* or *token* parameter. */ -}}
{{- $queryParameter := regexFind `(?i)^[a-z][a-z0-9+.-]*://[^?#]*\?([^#]*&)?[^=&#]*(pass|secret|token)[^=&#]*=` (toString $value) -}}
{{- if $queryParameter -}}
{{- fail (printf "env.%s is a URL with a password in its query (%s…): %s" $name (regexFind `[^?&]*=$` $queryParameter) $where) -}}
{{- end -}}
{{- end -}}
{{- end -}}
