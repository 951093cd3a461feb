{{/* Name of the chart's objects: <release>-orderflow, or the release name if it already says orderflow. */}}
{{- define "orderflow.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "orderflow.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* Selector labels of one role; call with (dict "root" $ "role" "api"). */}}
{{- define "orderflow.selectorLabels" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .role }}
{{- end -}}

{{- define "orderflow.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{/* The Secret holding jwt-secret and the database URLs. */}}
{{- define "orderflow.secretName" -}}
{{- .Values.existingSecret | default (include "orderflow.fullname" .) -}}
{{- end -}}

{{/* Plain (non-secret) settings, as a ConfigMap's data. */}}
{{- define "orderflow.configData" -}}
ORDERFLOW_HTTP_ADDR: ":8080"
ORDERFLOW_KAFKA_BROKERS: {{ required "kafka.brokers is required" .Values.kafka.brokers | quote }}
ORDERFLOW_ELASTICSEARCH_URL: {{ required "elasticsearch.url is required" .Values.elasticsearch.url | quote }}
ORDERFLOW_NAMESPACE: {{ .Values.config.namespace | quote }}
ORDERFLOW_LOG_LEVEL: {{ .Values.config.logLevel | quote }}
ORDERFLOW_SHUTDOWN_TIMEOUT: {{ .Values.config.shutdownTimeout | quote }}
ORDERFLOW_RECONCILE_INTERVAL: {{ .Values.config.reconcileInterval | quote }}
ORDERFLOW_RECONCILE_FULL_INTERVAL: {{ .Values.config.reconcileFullInterval | quote }}
ORDERFLOW_MAX_PENDING_COMMANDS: {{ .Values.config.maxPendingCommands | quote }}
ORDERFLOW_DEV: "false"
{{- range $k, $v := .Values.config.extraEnv }}
{{ $k }}: {{ $v | quote }}
{{- end }}
{{- end -}}

{{/* Environment from the Secret; call with (dict "root" $ "secret" NAME). */}}
{{- define "orderflow.secretEnv" -}}
- name: ORDERFLOW_JWT_SECRET
  valueFrom: { secretKeyRef: { name: {{ .secret }}, key: jwt-secret } }
- name: ORDERFLOW_POSTGRES_URL
  valueFrom: { secretKeyRef: { name: {{ .secret }}, key: postgres-url } }
- name: ORDERFLOW_ORDERING_POSTGRES_URL
  valueFrom: { secretKeyRef: { name: {{ .secret }}, key: ordering-postgres-url, optional: true } }
- name: ORDERFLOW_INVENTORY_POSTGRES_URL
  valueFrom: { secretKeyRef: { name: {{ .secret }}, key: inventory-postgres-url, optional: true } }
- name: ORDERFLOW_PAYMENTS_POSTGRES_URL
  valueFrom: { secretKeyRef: { name: {{ .secret }}, key: payments-postgres-url, optional: true } }
{{- end -}}

{{/* The Secret's data, from values. */}}
{{- define "orderflow.secretData" -}}
jwt-secret: {{ required "auth.jwtSecret (or existingSecret) is required" .Values.auth.jwtSecret | b64enc | quote }}
postgres-url: {{ required "postgres.url (or existingSecret) is required" .Values.postgres.url | b64enc | quote }}
{{- with .Values.postgres.orderingUrl }}
ordering-postgres-url: {{ . | b64enc | quote }}
{{- end }}
{{- with .Values.postgres.inventoryUrl }}
inventory-postgres-url: {{ . | b64enc | quote }}
{{- end }}
{{- with .Values.postgres.paymentsUrl }}
payments-postgres-url: {{ . | b64enc | quote }}
{{- end }}
{{- end -}}
