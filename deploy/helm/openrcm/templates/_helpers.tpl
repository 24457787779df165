{{/* Names: Kubernetes wants DNS labels, the services are Python packages (ar_followup). */}}
{{- define "openrcm.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}{{ .Release.Name | trunc 40 | trimSuffix "-" }}{{- else -}}{{ printf "%s-%s" .Release.Name .Chart.Name | trunc 40 | trimSuffix "-" }}{{- end -}}
{{- end -}}

{{- define "openrcm.component" -}}
{{ include "openrcm.fullname" .root }}-{{ .name | replace "_" "-" }}
{{- end -}}

{{- define "openrcm.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/part-of: openrcm
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "openrcm.selector" -}}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .name | replace "_" "-" }}
{{- end -}}

{{/* topology.yaml: the topics and each service's consumes/publishes, generated from the code. */}}
{{- define "openrcm.topology" -}}
{{ .Files.Get "topology.yaml" }}
{{- end -}}

{{- define "openrcm.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{/* The Kafka user (Strimzi KafkaUser name = SCRAM user name) of a service. */}}
{{- define "openrcm.kafkaUser" -}}
{{ include "openrcm.component" . }}
{{- end -}}

{{/* Who may call: the OpenID Connect provider the services trust, and the API key only as a fallback. */}}
{{- define "openrcm.identityEnv" -}}
{{- $v := .Values -}}
{{- if not (or $v.oidc.issuer $v.apiKey.fallback) }}
{{- fail "oidc.issuer is required: your OpenID Connect provider (deploy/keycloak/README.md), or apiKey.fallback for a test install" }}
{{- end -}}
- name: RCM_OIDC_ISSUER
  value: {{ $v.oidc.issuer | quote }}
- name: RCM_OIDC_AUDIENCE
  value: {{ $v.oidc.audience | quote }}
{{- with $v.oidc.jwksUrl }}
- name: RCM_OIDC_JWKS_URL
  value: {{ . | quote }}
{{- end }}
{{- with $v.oidc.rolesClaims }}
- name: RCM_OIDC_ROLES_CLAIMS
  value: {{ . | quote }}
{{- end }}
- name: RCM_OIDC_LEEWAY_SECONDS
  value: {{ $v.oidc.leewaySeconds | quote }}
- name: RCM_OIDC_ALLOW_HTTP
  value: {{ $v.oidc.allowHttp | quote }}
- name: RCM_OIDC_API_KEY_FALLBACK
  value: {{ $v.apiKey.fallback | quote }}
{{- if $v.apiKey.fallback }}
- name: RCM_API_KEY
  valueFrom:
    secretKeyRef:
      name: {{ include "openrcm.apiKeySecret" . }}
      key: api-key
{{- end }}
{{- end -}}

{{- define "openrcm.apiKeySecret" -}}
{{ .Values.apiKey.existingSecret | default (printf "%s-api-key" (include "openrcm.fullname" .)) }}
{{- end -}}

{{- define "openrcm.databaseSecret" -}}
{{ .Values.database.external.existingSecret | default (printf "%s-database" (include "openrcm.fullname" .)) }}
{{- end -}}

{{/* CloudNativePG cluster of a service; the operator writes <cluster>-app (username, password). */}}
{{- define "openrcm.pgCluster" -}}
{{ include "openrcm.component" . }}-pg
{{- end -}}

{{- define "openrcm.statementsClaim" -}}
{{ .Values.statements.persistence.existingClaim | default (printf "%s-statements" (include "openrcm.fullname" .)) }}
{{- end -}}

{{- define "openrcm.clearinghouseClaim" -}}
{{ .Values.clearinghouse.persistence.existingClaim | default (printf "%s-clearinghouse" (include "openrcm.fullname" .)) }}
{{- end -}}

{{/* Environment shared by a service's init and main containers: database, Kafka, tracing. */}}
{{- define "openrcm.env" -}}
{{- $root := .root -}}
{{- $v := $root.Values -}}
- name: RCM_SERVICE_NAME
  value: {{ .name | quote }}
- name: RCM_KAFKA_BOOTSTRAP
  value: {{ $v.kafka.bootstrap | quote }}
- name: RCM_TOPIC_PREFIX
  value: {{ $v.topicPrefix | quote }}
- name: RCM_KAFKA_SECURITY_PROTOCOL
  value: {{ $v.kafka.securityProtocol | quote }}
- name: RCM_KAFKA_MAX_MESSAGE_BYTES
  value: {{ $v.kafka.maxMessageBytes | int | quote }}
{{- if $v.kafka.saslMechanism }}
- name: RCM_KAFKA_SASL_MECHANISM
  value: {{ $v.kafka.saslMechanism | quote }}
- name: RCM_KAFKA_SASL_USERNAME
  value: {{ include "openrcm.kafkaUser" . | quote }}
- name: RCM_KAFKA_SASL_PASSWORD
  valueFrom:
    secretKeyRef:
      {{- if $v.kafka.strimzi.users }}
      name: {{ include "openrcm.kafkaUser" . }}
      key: password
      {{- else }}
      name: {{ required "kafka.credentials.existingSecret is required with SASL unless kafka.strimzi.users" $v.kafka.credentials.existingSecret }}
      key: {{ printf "%s-password" .name }}
      {{- end }}
{{- end }}
{{- if $v.kafka.tls.caSecret }}
- name: RCM_KAFKA_SSL_CAFILE
  value: /etc/openrcm/kafka-ca/{{ $v.kafka.tls.caKey }}
{{- end }}
{{- if eq $v.database.mode "cnpg" }}
- name: RCM_DB_USER
  valueFrom:
    secretKeyRef:
      name: {{ include "openrcm.pgCluster" . }}-app
      key: username
- name: RCM_DB_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "openrcm.pgCluster" . }}-app
      key: password
- name: RCM_DATABASE_URL
  value: "postgresql+asyncpg://$(RCM_DB_USER):$(RCM_DB_PASSWORD)@{{ include "openrcm.pgCluster" . }}-rw:5432/{{ .name }}"
{{- else }}
- name: RCM_DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "openrcm.databaseSecret" $root }}
      key: {{ .name }}
{{- end }}
- name: RCM_MIGRATE_ON_START
  value: "false"
- name: RCM_LOG_LEVEL
  value: {{ $v.logLevel | quote }}
- name: OTEL_SERVICE_NAME
  value: {{ .name | quote }}
{{- if $v.tracing.otlpEndpoint }}
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ $v.tracing.otlpEndpoint | quote }}
{{- end }}
{{- end -}}
