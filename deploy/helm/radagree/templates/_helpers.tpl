{{- define "radagree.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "radagree.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name (include "radagree.name" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "radagree.labels" -}}
app.kubernetes.io/name: {{ include "radagree.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "radagree.selector" -}}
app.kubernetes.io/name: {{ include "radagree.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: daemon
{{- end -}}

{{- define "radagree.webSelector" -}}
app.kubernetes.io/name: {{ include "radagree.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: web
{{- end -}}

{{/* SQLite lives on the data volume; the review app reads the same file, so the volume is a
PersistentVolumeClaim whenever the web app shares a SQLite store (or persistence is on). */}}
{{- define "radagree.dataClaim" -}}
{{- if or .Values.persistence.enabled (and .Values.web.enabled (not .Values.store.urlSecret)) -}}
true
{{- end -}}
{{- end -}}

{{- define "radagree.vllmSelector" -}}
app.kubernetes.io/name: {{ include "radagree.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: vllm
{{- end -}}

{{/* The daemon's TOML: the user's `config` with what the chart must own layered on top. */}}
{{- define "radagree.config" -}}
{{- $owned := dict
  "mllp" (dict "host" "0.0.0.0" "port" (int .Values.mllp.port))
  "http" (dict "host" "0.0.0.0" "port" 8080)
  "store" (dict "url" "sqlite:////data/radagree.db")
  "fhir" (dict "folder" "/data/fhir-out")
-}}
{{- if .Values.mllp.tlsSecret }}
{{- $_ := set $owned.mllp "tls_cert" "/etc/radagree/mllp-tls/tls.crt" }}
{{- $_ := set $owned.mllp "tls_key" "/etc/radagree/mllp-tls/tls.key" }}
{{- if .Values.mllp.mutualTls }}
{{- $_ := set $owned.mllp "tls_client_ca" "/etc/radagree/mllp-tls/ca.crt" }}
{{- end }}
{{- end }}
{{- if .Values.mllp.allowNetworks }}
{{- $_ := set $owned.mllp "allow_networks" .Values.mllp.allowNetworks }}
{{- end }}
{{- if .Values.fhir.tokenSecret }}
{{- $_ := set $owned.fhir "token_file" "/etc/radagree/fhir-token/token" }}
{{- end }}
{{- if .Values.fhir.clientSecretSecret }}
{{- $_ := set $owned.fhir "client_secret_file" "/etc/radagree/fhir-client-secret/client-secret" }}
{{- end }}
{{- if .Values.fhir.tlsSecret }}
{{- $_ := set $owned.fhir "client_cert" "/etc/radagree/fhir-tls/tls.crt" }}
{{- $_ := set $owned.fhir "client_key" "/etc/radagree/fhir-tls/tls.key" }}
{{- $_ := set $owned.fhir "ca_bundle" "/etc/radagree/fhir-tls/ca.crt" }}
{{- end }}
{{- if .Values.web.enabled }}
{{- $_ := set $owned "web" (dict "host" "0.0.0.0" "port" 8081 "public_url" .Values.web.publicUrl "forwarded_allow_ips" .Values.web.forwardedAllowIps) }}
{{- if .Values.web.secretKeySecret }}
{{- $_ := set $owned.web "secret_key_file" "/etc/radagree/web-secret/secret-key" }}
{{- else if not .Values.store.urlSecret }}
{{- $_ := set $owned.web "secret_key_file" "/data/radagree-web.key" }}
{{- else }}
{{- $_ := set $owned.web "secret_key_file" "/tmp/radagree-web.key" }}
{{- end }}
{{- if .Values.web.oidc.clientSecretSecret }}
{{- $_ := set $owned "oidc" (dict "client_secret_file" "/etc/radagree/oidc/client-secret") }}
{{- end }}
{{- if .Values.web.smtp.passwordSecret }}
{{- $_ := set $owned "smtp" (dict "password_file" "/etc/radagree/smtp/password") }}
{{- end }}
{{- end }}
{{- if .Values.vllm.enabled }}
{{- $_ := set $owned "llm" (dict "base_url" (printf "http://%s-vllm:8000/v1" (include "radagree.fullname" .)) "model" .Values.vllm.servedModelName) }}
{{- end }}
{{- $config := mustMergeOverwrite (deepCopy .Values.config) $owned -}}
{{- toToml $config -}}
{{- end -}}
