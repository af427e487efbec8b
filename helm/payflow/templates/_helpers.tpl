{{/*
payflow chart helpers. Every Deployment, the Job and the Services share these names,
labels and the PAYFLOW_* environment, so that one values key maps to one variable in
every role that reads it (docs/deploy.md has the table).
*/}}

{{- define "payflow.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Fully qualified app name, at most 63 characters less room for a role suffix. */}}
{{- define "payflow.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 52 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "payflow.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Standard labels. Call with (dict "root" $ "component" "api"). */}}
{{- define "payflow.labels" -}}
helm.sh/chart: {{ include "payflow.chart" .root }}
{{ include "payflow.selectorLabels" . }}
app.kubernetes.io/version: {{ include "payflow.imageTag" .root | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: payflow
{{- end }}

{{/* Selector labels: stable across upgrades (a Deployment's selector is immutable). */}}
{{- define "payflow.selectorLabels" -}}
app.kubernetes.io/name: {{ include "payflow.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- if .component }}
app.kubernetes.io/component: {{ .component }}
{{- end }}
{{- end }}

{{- define "payflow.imageTag" -}}
{{- .Values.image.tag | default .Chart.AppVersion }}
{{- end }}

{{/* The one image every role runs. */}}
{{- define "payflow.image" -}}
{{- printf "%s:%s" .Values.image.repository (include "payflow.imageTag" .) }}
{{- end }}

{{- define "payflow.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "payflow.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The API's in-cluster URL: the default PAYFLOW_PUBLIC_URL, enough for the bank simulator's callbacks. */}}
{{- define "payflow.apiURL" -}}
{{- printf "http://%s-api.%s.svc:%v" (include "payflow.fullname" .) .Release.Namespace .Values.api.service.port }}
{{- end }}

{{- define "payflow.publicURL" -}}
{{- .Values.config.publicURL | default (include "payflow.apiURL" .) }}
{{- end }}

{{/*
The bank channels the chart enables (PAYFLOW_CHANNELS), comma-separated: banksim when
the chart deploys the simulator (banksim.enabled) or banksim.url names one elsewhere,
stripe when stripe.enabled. Rendering fails without any channel (the binary would
fall back to its local defaults, public callback secret included) and with a
config.defaultChannel that is neither an enabled channel nor auto.
*/}}
{{- define "payflow.channels" -}}
{{- $v := .Values -}}
{{- $channels := list -}}
{{- if or $v.banksim.enabled $v.banksim.url -}}
{{- $channels = append $channels "banksim" -}}
{{- end -}}
{{- if $v.stripe.enabled -}}
{{- $channels = append $channels "stripe" -}}
{{- end -}}
{{- if not $channels -}}
{{- fail "no bank channel is enabled: set stripe.enabled, banksim.enabled or banksim.url" -}}
{{- end -}}
{{- $default := $v.config.defaultChannel -}}
{{- if and (ne $default "auto") (not (has $default $channels)) -}}
{{- fail (printf "config.defaultChannel %q is neither an enabled channel (%s) nor auto" $default (join ", " $channels)) -}}
{{- end -}}
{{- join "," $channels -}}
{{- end }}

{{/* The Secret holding payflow's own secrets; installing without one is refused. */}}
{{- define "payflow.secretName" -}}
{{- required "secrets.existingSecret: name an existing Secret with payflow's keys (see values.yaml)" .Values.secrets.existingSecret }}
{{- end }}

{{/* One env entry from a key of an existing Secret: (dict "name" ENV "secret" NAME "key" KEY). */}}
{{- define "payflow.secretEnv" -}}
- name: {{ .name }}
  valueFrom:
    secretKeyRef:
      name: {{ .secret | quote }}
      key: {{ .key | quote }}
{{- end }}

{{/*
PAYFLOW_* environment by role: (dict "root" $ "role" "api"|"worker"|"migrate").
Secrets only ever come from secretKeyRef; values.yaml holds names of Secrets and keys,
never a secret itself.
*/}}
{{- define "payflow.env" -}}
{{- $v := .root.Values }}
{{- $role := .role }}
{{- $secret := include "payflow.secretName" .root }}
{{- /* Every role: the database, the merchant-secrets key, logging. */}}
{{- include "payflow.secretEnv" (dict "name" "PAYFLOW_DB_DSN" "secret" (required "database.existingSecret: name the Secret that holds the MySQL DSN" $v.database.existingSecret) "key" $v.database.dsnKey) }}
{{ include "payflow.secretEnv" (dict "name" "PAYFLOW_SECRETS_KEY" "secret" $secret "key" $v.secrets.keys.secretsKey) }}
{{- if $v.database.maxOpenConns }}
- name: PAYFLOW_DB_MAX_OPEN_CONNS
  value: {{ $v.database.maxOpenConns | quote }}
{{- end }}
- name: PAYFLOW_ENV
  value: {{ $v.config.env | quote }}
- name: PAYFLOW_LOG_LEVEL
  value: {{ $v.config.logLevel | quote }}
- name: PAYFLOW_LOG_FORMAT
  value: {{ $v.config.logFormat | quote }}
- name: PAYFLOW_PUBLIC_URL
  value: {{ include "payflow.publicURL" .root | quote }}
{{- /* The root filesystem is read-only: anything a default would write under ./.payflow goes to the /tmp emptyDir. */}}
- name: PAYFLOW_DATA_DIR
  value: /tmp/payflow
{{- if ne $role "migrate" }}
{{- /* Temporal and the payload codec: the API starts flows, the worker runs them. */}}
- name: PAYFLOW_TEMPORAL_ADDRESS
  value: {{ required "temporal.address is required" $v.temporal.address | quote }}
- name: PAYFLOW_TEMPORAL_NAMESPACE
  value: {{ required "temporal.namespace is required" $v.temporal.namespace | quote }}
- name: PAYFLOW_TASK_QUEUE
  value: {{ required "temporal.taskQueue is required" $v.temporal.taskQueue | quote }}
{{- with $v.temporal.tls }}
{{- if .enabled }}
{{- if .existingSecret }}
- name: PAYFLOW_TEMPORAL_TLS_CERT
  value: {{ printf "%s/%s" .mountPath .certKey | quote }}
- name: PAYFLOW_TEMPORAL_TLS_KEY
  value: {{ printf "%s/%s" .mountPath .keyKey | quote }}
{{- end }}
{{- if and .existingSecret .caKey }}
- name: PAYFLOW_TEMPORAL_TLS_CA
  value: {{ printf "%s/%s" .mountPath .caKey | quote }}
{{- end }}
{{- /* Without a client certificate, the server name is what turns TLS on: default it to the address's host. */}}
{{- $serverName := .serverName | default (ternary "" (regexReplaceAll ":[0-9]+$" $v.temporal.address "") (not (empty .existingSecret))) }}
{{- if $serverName }}
- name: PAYFLOW_TEMPORAL_TLS_SERVER_NAME
  value: {{ $serverName | quote }}
{{- end }}
{{- end }}
{{- end }}
{{ include "payflow.secretEnv" (dict "name" "PAYFLOW_PAYLOAD_KEYS" "secret" $secret "key" $v.secrets.keys.payloadKeys) }}
{{- /* Bank channels: the worker calls the banks, the API queries them (ops retry) and takes their callbacks. */}}
{{- $channels := include "payflow.channels" .root }}
- name: PAYFLOW_CHANNELS
  value: {{ $channels | quote }}
- name: PAYFLOW_DEFAULT_CHANNEL
  value: {{ $v.config.defaultChannel | quote }}
- name: PAYFLOW_BANK_TIMEOUT
  value: {{ $v.config.bankTimeout | quote }}
- name: PAYFLOW_BANK_POLL
  value: {{ $v.config.bankPoll | quote }}
- name: PAYFLOW_BANK_DEADLINE
  value: {{ $v.config.bankDeadline | quote }}
- name: PAYFLOW_APPROVAL_TIMEOUT
  value: {{ $v.config.approvalTimeout | quote }}
{{- if $v.config.autoRoutes }}
- name: PAYFLOW_AUTO_ROUTES
  value: {{ $v.config.autoRoutes | quote }}
{{- end }}
{{- if has "stripe" (splitList "," $channels) }}
- name: PAYFLOW_STRIPE_URL
  value: {{ $v.stripe.url | quote }}
{{ include "payflow.secretEnv" (dict "name" "PAYFLOW_STRIPE_API_KEY" "secret" $secret "key" $v.secrets.keys.stripeApiKey) }}
{{- if and (eq $role "api") $v.secrets.keys.stripeWebhookSecret }}
{{- /* Only the API verifies Stripe's webhooks. */}}
{{ include "payflow.secretEnv" (dict "name" "PAYFLOW_STRIPE_WEBHOOK_SECRET" "secret" $secret "key" $v.secrets.keys.stripeWebhookSecret) }}
{{- end }}
{{- end }}
{{- if has "banksim" (splitList "," $channels) }}
{{- /* Whenever the channel is enabled, deployed here or not: the binary refuses a named banksim channel without its own callback secret. */}}
- name: PAYFLOW_BANKSIM_URL
  value: {{ $v.banksim.url | default (printf "http://%s-banksim.%s.svc:%v" (include "payflow.fullname" .root) .root.Release.Namespace $v.banksim.port) | quote }}
{{ include "payflow.secretEnv" (dict "name" "PAYFLOW_BANKSIM_CALLBACK_SECRET" "secret" $secret "key" (required "secrets.keys.banksimCallbackSecret: the banksim channel needs its callback secret" $v.secrets.keys.banksimCallbackSecret)) }}
{{- end }}
{{- end }}
{{- with $v.redis.url }}
- name: PAYFLOW_REDIS_URL
  value: {{ . | quote }}
{{- end }}
{{- if eq $role "api" }}
- name: PAYFLOW_API_ADDR
  value: {{ printf "0.0.0.0:%v" $v.api.port | quote }}
- name: PAYFLOW_OPS_ADDR
  value: {{ printf "0.0.0.0:%v" $v.api.opsPort | quote }}
{{ include "payflow.secretEnv" (dict "name" "PAYFLOW_OPS_TOKENS" "secret" $secret "key" $v.secrets.keys.opsTokens) }}
- name: PAYFLOW_SIGNATURE_TOLERANCE
  value: {{ $v.config.signatureTolerance | quote }}
{{- with $v.api.trustedProxies }}
- name: PAYFLOW_TRUSTED_PROXIES
  value: {{ include "payflow.trustedProxies" $v | quote }}
{{- end }}
{{- end }}
{{- if eq $role "worker" }}
{{- /* Bound to all interfaces in the pod so that probes and Prometheus reach it. */}}
- name: PAYFLOW_WORKER_METRICS_ADDR
  value: {{ printf "0.0.0.0:%v" $v.worker.metricsPort | quote }}
- name: PAYFLOW_WEBHOOK_ALLOW_PRIVATE
  value: {{ $v.config.webhookAllowPrivate | quote }}
{{- /* The worker's purge schedule: the nonces' default retention, and its floor, follow the tolerance the API accepts. */}}
- name: PAYFLOW_SIGNATURE_TOLERANCE
  value: {{ $v.config.signatureTolerance | quote }}
{{- include "payflow.retentionEnv" $v }}
{{- end }}
{{- with $v.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Volumes every payflow container mounts: a writable /tmp and, when set, Temporal's TLS files. (dict "root" $ "role" ROLE) */}}
{{- define "payflow.volumes" -}}
{{- $v := .root.Values -}}
- name: tmp
  emptyDir:
    sizeLimit: {{ $v.tmpSizeLimit }}
{{- if and $v.temporal.tls.enabled $v.temporal.tls.existingSecret (ne .role "migrate") }}
- name: temporal-tls
  secret:
    secretName: {{ $v.temporal.tls.existingSecret | quote }}
    defaultMode: 0440
{{- end }}
{{- end }}

{{- define "payflow.volumeMounts" -}}
{{- $v := .root.Values -}}
- name: tmp
  mountPath: /tmp
{{- if and $v.temporal.tls.enabled $v.temporal.tls.existingSecret (ne .role "migrate") }}
- name: temporal-tls
  mountPath: {{ $v.temporal.tls.mountPath }}
  readOnly: true
{{- end }}
{{- end }}

{{/*
PAYFLOW_TRUSTED_PROXIES from api.trustedProxies: a list of addresses or CIDRs, or one
comma-separated string. The binary refuses an entry that is neither.
*/}}
{{- define "payflow.trustedProxies" -}}
{{- $p := .api.trustedProxies -}}
{{- if kindIs "slice" $p -}}
{{- join "," $p -}}
{{- else if kindIs "string" $p -}}
{{- $p -}}
{{- else -}}
{{- fail (printf "api.trustedProxies: a list of addresses or CIDRs (or one comma-separated string), not %v" $p) -}}
{{- end -}}
{{- end }}

{{/*
PAYFLOW_RETENTION_* from the retention map, for the worker (its purge schedule deletes
what is past them). A key left empty (or null) sets nothing: the binary's default
applies. 0 is a value (keep forever, for the kinds that allow it). An unknown key or
a value that is not a duration fails the render instead of being ignored.
*/}}
{{- define "payflow.retentionEnv" -}}
{{- $vars := dict "events" "PAYFLOW_RETENTION_EVENTS" "webhookAttempts" "PAYFLOW_RETENTION_WEBHOOK_ATTEMPTS" "audit" "PAYFLOW_RETENTION_AUDIT" "nonces" "PAYFLOW_RETENTION_NONCES" "idempotencyKeys" "PAYFLOW_RETENTION_IDEMPOTENCY_KEYS" "rateLimits" "PAYFLOW_RETENTION_RATE_LIMITS" "bankCallbacks" "PAYFLOW_RETENTION_BANK_CALLBACKS" "paymentCodes" "PAYFLOW_RETENTION_PAYMENT_CODES" -}}
{{- range $key, $val := (.retention | default dict) }}
{{- if not (hasKey $vars $key) }}
{{- fail (printf "retention.%s: no such kind (%s)" $key (keys $vars | sortAlpha | join ", ")) }}
{{- end }}
{{- if not (or (kindIs "invalid" $val) (and (kindIs "string" $val) (eq $val ""))) }}
{{- $d := toString $val }}
{{- if not (regexMatch "^(0|([0-9]+(\\.[0-9]+)?(ns|us|µs|ms|s|m|h))+)$" $d) }}
{{- fail (printf "retention.%s: %q is not a duration (like 2160h or 30m; 0 keeps forever where the kind allows it)" $key $d) }}
{{- end }}
- name: {{ index $vars $key }}
  value: {{ $d | quote }}
{{- end }}
{{- end }}
{{- end }}
