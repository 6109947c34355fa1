{{/*
Names, labels and small predicates shared by every template. The names and labels are Bifrost's
chart's, so the troubleshooting commands (kubectl logs -l app.kubernetes.io/name=bifrost, ...) work.
*/}}

{{- define "bifrost.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "bifrost.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "bifrost.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels on every object. Sub-components (PostgreSQL) use bifrost.componentLabels instead. */}}
{{- define "bifrost.labels" -}}
helm.sh/chart: {{ include "bifrost.chart" . }}
{{ include "bifrost.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "bifrost.selectorLabels" -}}
app.kubernetes.io/name: {{ include "bifrost.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "bifrost.serverSelectorLabels" -}}
{{ include "bifrost.selectorLabels" . }}
app.kubernetes.io/component: server
{{- end }}

{{/* PostgreSQL objects: name <fullname>-postgresql so `-l app.kubernetes.io/name=bifrost` selects gateway pods only. */}}
{{- define "bifrost.postgresql.selectorLabels" -}}
app.kubernetes.io/name: {{ include "bifrost.fullname" . }}-postgresql
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: database
{{- end }}

{{- define "bifrost.postgresql.labels" -}}
helm.sh/chart: {{ include "bifrost.chart" . }}
{{ include "bifrost.postgresql.selectorLabels" . }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: {{ include "bifrost.name" . }}
{{- end }}

{{- define "bifrost.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "bifrost.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* "true" when the gateway is a StatefulSet: cluster mode, or SQLite with persistence and no existingClaim. */}}
{{- define "bifrost.useStatefulSet" -}}
{{- $p := .Values.storage.persistence -}}
{{- if or .Values.bifrost.cluster.enabled (and (eq .Values.storage.mode "sqlite") $p.enabled (not $p.existingClaim)) -}}
true
{{- end -}}
{{- end }}

{{/* "true" when the gateway keeps SQLite files on a per-pod volume claim template. */}}
{{- define "bifrost.useVolumeClaimTemplate" -}}
{{- $p := .Values.storage.persistence -}}
{{- if and (include "bifrost.usesSqlite" .) $p.enabled (not $p.existingClaim) -}}
true
{{- end -}}
{{- end }}

{{- define "bifrost.configStoreType" -}}
{{- default .Values.storage.mode .Values.storage.configStore.type -}}
{{- end }}

{{- define "bifrost.logsStoreType" -}}
{{- default .Values.storage.mode .Values.storage.logsStore.type -}}
{{- end }}

{{/* "true" when a store writes SQLite files in the app dir. */}}
{{- define "bifrost.usesSqlite" -}}
{{- $s := .Values.storage -}}
{{- if or (and $s.configStore.enabled (eq (include "bifrost.configStoreType" .) "sqlite")) (and $s.logsStore.enabled (eq (include "bifrost.logsStoreType" .) "sqlite")) -}}
true
{{- end -}}
{{- end }}

{{- define "bifrost.usesPostgres" -}}
{{- $s := .Values.storage -}}
{{- if or (eq $s.mode "postgres") (and $s.configStore.enabled (eq (include "bifrost.configStoreType" .) "postgres")) (and $s.logsStore.enabled (eq (include "bifrost.logsStoreType" .) "postgres")) -}}
true
{{- end -}}
{{- end }}

{{- define "bifrost.embeddedPostgres" -}}
{{- if and (include "bifrost.usesPostgres" .) .Values.postgresql.enabled (not .Values.postgresql.external.enabled) -}}
true
{{- end -}}
{{- end }}

{{- define "bifrost.externalPostgres" -}}
{{- if and (include "bifrost.usesPostgres" .) .Values.postgresql.external.enabled -}}
true
{{- end -}}
{{- end }}

{{/* Secret and key holding the PostgreSQL password, as "name/key"; empty when there is none. */}}
{{- define "bifrost.postgresPasswordRef" -}}
{{- $pg := .Values.postgresql -}}
{{- if include "bifrost.externalPostgres" . -}}
{{- if $pg.external.existingSecret -}}
{{ $pg.external.existingSecret }}/{{ default "password" $pg.external.passwordKey }}
{{- else if $pg.external.password -}}
{{ include "bifrost.fullname" . }}-postgresql/password
{{- end -}}
{{- else if include "bifrost.embeddedPostgres" . -}}
{{- if $pg.auth.existingSecret -}}
{{ $pg.auth.existingSecret }}/{{ default "password" $pg.auth.passwordKey }}
{{- else -}}
{{ include "bifrost.fullname" . }}-postgresql/password
{{- end -}}
{{- end -}}
{{- end }}

{{/* The admin-credential settings in force: governance.authConfig wins over authConfig when it sets anything. */}}
{{- define "bifrost.authValues" -}}
{{- $g := (.Values.bifrost.governance | default dict).authConfig | default dict -}}
{{- $t := .Values.bifrost.authConfig | default dict -}}
{{- if or $g.existingSecret $g.adminUsername $g.adminPassword $g.isEnabled $g.disableAuthOnInference -}}
{{- toJson $g -}}
{{- else -}}
{{- toJson $t -}}
{{- end -}}
{{- end }}

{{/* Env var name for a literal provider secret moved out of config.json: list provider index field. */}}
{{- define "bifrost.providerEnvName" -}}
{{- $p := regexReplaceAll "[^A-Z0-9]+" (upper (index . 0)) "_" -}}
{{- $f := "" -}}
{{- if index . 2 }}{{ $f = printf "_%s" (regexReplaceAll "[^A-Z0-9]+" (upper (index . 2)) "_") }}{{ end -}}
BIFROST_PROVIDER_{{ $p }}_KEY{{ index . 1 }}{{ $f }}
{{- end }}

{{/*
Literal secrets found in bifrost.providers (key "value" and the credential fields of the Azure,
Bedrock and Vertex key configs), as JSON {envVarName: literal}. config.json gets env.<name> instead.
*/}}
{{- define "bifrost.providerLiterals" -}}
{{- $out := dict -}}
{{- $nested := dict "bedrock_key_config" (list "access_key" "secret_key" "session_token") "azure_key_config" (list "client_secret") "vertex_key_config" (list "auth_credentials") -}}
{{- range $pname, $p := (.Values.bifrost.providers | default dict) -}}
{{- if and (kindIs "map" $p) (kindIs "slice" $p.keys) -}}
{{- range $i, $k := $p.keys -}}
{{- if kindIs "map" $k -}}
{{- if and (kindIs "string" $k.value) $k.value (not (hasPrefix "env." $k.value)) -}}
{{- $_ := set $out (include "bifrost.providerEnvName" (list $pname $i "")) $k.value -}}
{{- end -}}
{{- range $cfgName, $fields := $nested -}}
{{- $kc := index $k $cfgName -}}
{{- if kindIs "map" $kc -}}
{{- range $f := $fields -}}
{{- $v := index $kc $f -}}
{{- if and (kindIs "string" $v) $v (not (hasPrefix "env." $v)) -}}
{{- $_ := set $out (include "bifrost.providerEnvName" (list $pname $i $f)) $v -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- $m := (.Values.bifrost.plugins | default dict).maxim | default dict -}}
{{- if and $m.enabled (not ($m.secretRef | default dict).name) ($m.config | default dict).api_key (not (hasPrefix "env." (toString $m.config.api_key))) -}}
{{- $_ := set $out "BIFROST_MAXIM_API_KEY" $m.config.api_key -}}
{{- end -}}
{{- toJson $out -}}
{{- end }}

{{/* The container image reference; fails with an example when image.tag is missing. */}}
{{- define "bifrost.image" -}}
{{- if not .Values.image.tag -}}
{{- fail "ERROR: image.tag is required. Please specify the Bifrost image version (e.g., --set image.tag=0.1.0); build and push the image with: docker build -f deploy/docker/Dockerfile -t <registry>/bifrost-gateway:0.1.0 ." -}}
{{- end -}}
{{ .Values.image.repository }}:{{ .Values.image.tag }}
{{- end }}
