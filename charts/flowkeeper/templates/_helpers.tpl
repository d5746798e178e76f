{{/*
Chart name, cut to 63 characters (the limit of a label value and of most object names).
*/}}
{{- define "flowkeeper.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Full name: release name, plus the chart name unless the release name already contains it.
*/}}
{{- define "flowkeeper.fullname" -}}
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

{{/*
Chart name and version, for the helm.sh/chart label.
*/}}
{{- define "flowkeeper.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Selector labels: stable for the life of a release (no version), so upgrades keep their pods.
*/}}
{{- define "flowkeeper.selectorLabels" -}}
app.kubernetes.io/name: {{ include "flowkeeper.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
Common labels on every object.
*/}}
{{- define "flowkeeper.labels" -}}
helm.sh/chart: {{ include "flowkeeper.chart" . }}
{{ include "flowkeeper.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | trunc 63 | trimSuffix "-" | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: flowkeeper
{{- end }}

{{/*
Operator objects: common labels plus the component.
*/}}
{{- define "flowkeeper.operator.labels" -}}
{{ include "flowkeeper.labels" . }}
app.kubernetes.io/component: operator
{{- end }}

{{- define "flowkeeper.operator.selectorLabels" -}}
{{ include "flowkeeper.selectorLabels" . }}
app.kubernetes.io/component: operator
{{- end }}

{{/*
Operator metrics Service name (suffix kept whole by cutting the prefix).
*/}}
{{- define "flowkeeper.metricsServiceName" -}}
{{- printf "%s-metrics" (include "flowkeeper.fullname" . | trunc 55 | trimSuffix "-") }}
{{- end }}

{{/*
Operator ServiceAccount name.
*/}}
{{- define "flowkeeper.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "flowkeeper.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
Image reference shared by the operator and the backfill.
*/}}
{{- define "flowkeeper.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}
{{- end }}

{{/*
Pod-level security context of every pod in the chart (Pod Security Standard "restricted").
*/}}
{{- define "flowkeeper.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/*
Container-level security context of every container in the chart.
*/}}
{{- define "flowkeeper.containerSecurityContext" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
allowPrivilegeEscalation: false
privileged: false
readOnlyRootFilesystem: true
capabilities:
  drop:
    - ALL
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/*
Backfill name: the CronJob controller appends 11 characters to Job names, so this stays
within 52 characters.
*/}}
{{- define "flowkeeper.backfill.fullname" -}}
{{- printf "%s-backfill" (include "flowkeeper.fullname" . | trunc 43 | trimSuffix "-") }}
{{- end }}

{{- define "flowkeeper.backfill.labels" -}}
{{ include "flowkeeper.labels" . }}
app.kubernetes.io/component: backfill
{{- end }}

{{- define "flowkeeper.backfill.selectorLabels" -}}
{{ include "flowkeeper.selectorLabels" . }}
app.kubernetes.io/component: backfill
{{- end }}

{{/*
Backfill ServiceAccount name.
*/}}
{{- define "flowkeeper.backfill.serviceAccountName" -}}
{{- if .Values.backfill.serviceAccount.create }}
{{- default (include "flowkeeper.backfill.fullname" .) .Values.backfill.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.backfill.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
API group of every kind the chart lets the backfill enumerate (the keys are values of
--resources). Secrets are left out on purpose: the chart never grants read access to them.
*/}}
{{- define "flowkeeper.backfill.kindGroups" -}}
namespaces: ""
pods: ""
nodes: ""
services: ""
persistentvolumeclaims: ""
persistentvolumes: ""
configmaps: ""
serviceaccounts: ""
deployments: apps
statefulsets: apps
daemonsets: apps
replicasets: apps
jobs: batch
cronjobs: batch
ingresses: networking.k8s.io
networkpolicies: networking.k8s.io
poddisruptionbudgets: policy
horizontalpodautoscalers: autoscaling
storageclasses: storage.k8s.io
{{- end }}

{{/*
Kinds flowkeeper-backfill enumerates when --resources is not given.
*/}}
{{- define "flowkeeper.backfill.defaultKinds" -}}
- namespaces
- pods
- nodes
- deployments
- statefulsets
- daemonsets
- replicasets
- jobs
- cronjobs
- services
- persistentvolumeclaims
- persistentvolumes
- ingresses
{{- end }}
