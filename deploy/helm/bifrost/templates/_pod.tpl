{{/*
The gateway's environment: Bifrost's container variable names (cli.py reads them as fallbacks for
BIFROST_*), then every Secret-backed variable config.json references as env.VAR, then env/extraEnv.
*/}}
{{- define "bifrost.env" -}}
{{- $v := .Values -}}
{{- $b := $v.bifrost -}}
{{- $fullname := include "bifrost.fullname" . -}}
- name: APP_DIR
  value: {{ $b.appDir | quote }}
- name: APP_PORT
  value: {{ $b.port | toString | quote }}
- name: APP_HOST
  value: {{ $b.host | quote }}
- name: LOG_LEVEL
  value: {{ $b.logLevel | quote }}
- name: LOG_STYLE
  value: {{ $b.logStyle | quote }}
{{- if ($b.encryptionKeySecret | default dict).name }}
- name: BIFROST_ENCRYPTION_KEY
  valueFrom:
    secretKeyRef:
      name: {{ $b.encryptionKeySecret.name }}
      key: {{ default "encryption-key" $b.encryptionKeySecret.key }}
{{- else if $b.encryptionKey }}
- name: BIFROST_ENCRYPTION_KEY
  valueFrom:
    secretKeyRef:
      name: {{ $fullname }}-encryption
      key: encryption-key
{{- end }}
{{- with include "bifrost.postgresPasswordRef" . }}
{{- $ref := splitList "/" . }}
- name: BIFROST_POSTGRES_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ index $ref 0 }}
      key: {{ index $ref 1 }}
{{- end }}
{{- $a := include "bifrost.authValues" . | fromJson }}
{{- if or $a.existingSecret (and $a.adminUsername $a.adminPassword) }}
- name: BIFROST_ADMIN_USERNAME
  valueFrom:
    secretKeyRef:
      name: {{ default (printf "%s-auth" $fullname) $a.existingSecret }}
      key: {{ ternary (default "username" $a.usernameKey) "username" (not (empty $a.existingSecret)) }}
- name: BIFROST_ADMIN_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ default (printf "%s-auth" $fullname) $a.existingSecret }}
      key: {{ ternary (default "password" $a.passwordKey) "password" (not (empty $a.existingSecret)) }}
{{- end }}
{{- $m := ($b.plugins | default dict).maxim | default dict }}
{{- if and $m.enabled (($m.secretRef | default dict).name) }}
- name: BIFROST_MAXIM_API_KEY
  valueFrom:
    secretKeyRef:
      name: {{ $m.secretRef.name }}
      key: {{ default "api-key" $m.secretRef.key }}
{{- end }}
{{- range $envName, $_ := (include "bifrost.providerLiterals" . | fromJson) }}
- name: {{ $envName }}
  valueFrom:
    secretKeyRef:
      name: {{ $fullname }}-provider-keys
      key: {{ $envName }}
{{- end }}
{{- range $name, $s := ($b.providerSecrets | default dict) }}
{{- if and (kindIs "map" $s) $s.existingSecret $s.envVar }}
- name: {{ $s.envVar }}
  valueFrom:
    secretKeyRef:
      name: {{ $s.existingSecret }}
      key: {{ default "api-key" $s.key }}
{{- end }}
{{- end }}
{{- with $v.env }}
{{ toYaml . }}
{{- end }}
{{- range $k := keys ($v.extraEnv | default dict) | sortAlpha }}
- name: {{ $k }}
  value: {{ index $v.extraEnv $k | toString | quote }}
{{- end }}
{{- end }}

{{/* Pod template shared by the StatefulSet and the Deployment. */}}
{{- define "bifrost.podTemplate" -}}
{{- $v := .Values -}}
{{- $b := $v.bifrost -}}
{{- $fullname := include "bifrost.fullname" . -}}
metadata:
  annotations:
    checksum/config: {{ include (print $.Template.BasePath "/configmap.yaml") . | sha256sum }}
    checksum/secrets: {{ include (print $.Template.BasePath "/secrets.yaml") . | sha256sum }}
    {{- with $v.podAnnotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  labels:
    {{- include "bifrost.labels" . | nindent 4 }}
    app.kubernetes.io/component: server
    {{- with $v.podLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  {{- with $v.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  serviceAccountName: {{ include "bifrost.serviceAccountName" . }}
  automountServiceAccountToken: {{ or $v.serviceAccount.automount (and $b.cluster.enabled (eq (toString ($b.cluster.discovery | default dict).type) "kubernetes")) }}
  {{- with $v.podSecurityContext }}
  securityContext:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $v.priorityClassName }}
  priorityClassName: {{ . }}
  {{- end }}
  {{- with $v.terminationGracePeriodSeconds }}
  terminationGracePeriodSeconds: {{ . }}
  {{- end }}
  {{- with $v.initContainers }}
  initContainers:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  containers:
    - name: {{ .Chart.Name }}
      image: {{ include "bifrost.image" . | quote }}
      imagePullPolicy: {{ $v.image.pullPolicy }}
      # The image's ENTRYPOINT (tini -- bifrost) stays in charge of signals; only the subcommand is given.
      args: ["serve"]
      {{- with $v.securityContext }}
      securityContext:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      ports:
        - name: http
          containerPort: {{ $b.port }}
          protocol: TCP
        {{- if $b.cluster.enabled }}
        - name: gossip
          containerPort: {{ $b.cluster.gossip.port }}
          protocol: TCP
        - name: gossip-udp
          containerPort: {{ $b.cluster.gossip.port }}
          protocol: UDP
        {{- if $b.cluster.grpc }}
        - name: grpc
          containerPort: {{ default 10102 $b.cluster.grpc.port }}
          protocol: TCP
        {{- end }}
        {{- end }}
      env:
        {{- include "bifrost.env" . | nindent 8 }}
      {{- with $v.envFrom }}
      envFrom:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $v.livenessProbe }}
      livenessProbe:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $v.readinessProbe }}
      readinessProbe:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $v.startupProbe }}
      startupProbe:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $v.lifecycle }}
      lifecycle:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $v.resources }}
      resources:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      volumeMounts:
        - name: config
          mountPath: {{ trimSuffix "/" $b.appDir }}/config.json
          subPath: config.json
          readOnly: true
        - name: data
          mountPath: {{ $b.appDir }}
        {{- with $v.volumeMounts }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
  volumes:
    - name: config
      configMap:
        name: {{ $fullname }}-config
    {{- if not (include "bifrost.useVolumeClaimTemplate" .) }}
    {{- if and (include "bifrost.usesSqlite" .) $v.storage.persistence.enabled $v.storage.persistence.existingClaim }}
    - name: data
      persistentVolumeClaim:
        claimName: {{ $v.storage.persistence.existingClaim }}
    {{- else }}
    # No SQLite volume: the app dir only holds config.json (read-only mount) and scratch files.
    - name: data
      emptyDir: {}
    {{- end }}
    {{- end }}
    {{- with $v.volumes }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- with $v.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $v.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $v.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $v.topologySpreadConstraints }}
  topologySpreadConstraints:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}
