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

{{/*
"true" when the operator elects a leader: leaderElection.enabled, or when unset (null), as soon
as there is more than one replica. Several replicas without it would all reconcile: refused.
*/}}
{{- define "flowkeeper.leaderElection" -}}
{{- $enabled := .Values.leaderElection.enabled }}
{{- if kindIs "invalid" $enabled }}
{{- $enabled = gt (int .Values.replicaCount) 1 }}
{{- end }}
{{- if and (not $enabled) (gt (int .Values.replicaCount) 1) }}
{{- fail "replicaCount > 1 needs leaderElection.enabled (true or null): without it every replica would reconcile" }}
{{- end }}
{{- with .Values.leaderElection }}
{{- if and $enabled (not (and (lt (float64 .retryPeriod) (float64 .renewDeadline)) (lt (float64 .renewDeadline) (float64 .leaseDuration)))) }}
{{- fail (printf "leaderElection needs retryPeriod < renewDeadline < leaseDuration, got %v < %v < %v" .retryPeriod .renewDeadline .leaseDuration) }}
{{- end }}
{{- end }}
{{- if $enabled }}true{{ end }}
{{- end }}

{{/*
Operator pod affinity: .Values.affinity when set, otherwise the podAntiAffinityPreset (soft:
preferred, hard: required), which spreads the replicas over nodes so a node drain leaves one.
*/}}
{{- define "flowkeeper.operator.affinity" -}}
{{- if .Values.affinity }}
{{- toYaml .Values.affinity }}
{{- else if .Values.podAntiAffinityPreset }}
{{- $term := dict "topologyKey" "kubernetes.io/hostname" "labelSelector" (dict "matchLabels" (include "flowkeeper.operator.selectorLabels" . | fromYaml)) }}
podAntiAffinity:
  {{- if eq .Values.podAntiAffinityPreset "hard" }}
  requiredDuringSchedulingIgnoredDuringExecution:
    - {{- toYaml $term | nindent 6 }}
  {{- else }}
  preferredDuringSchedulingIgnoredDuringExecution:
    - weight: 100
      podAffinityTerm:
        {{- toYaml $term | nindent 8 }}
  {{- end }}
{{- end }}
{{- end }}

{{/*
Role and RoleBinding of the leader election Lease (suffix kept whole by cutting the prefix).
*/}}
{{- define "flowkeeper.leaderElectionRoleName" -}}
{{- printf "%s-leader-election" (include "flowkeeper.fullname" . | trunc 47 | trimSuffix "-") }}
{{- end }}

{{/*
A monitoring file of the chart (rules, dashboard) with the backfill's series renamed after
backfill.metricPrefix: the files are written for the default prefix `kube`.
*/}}
{{- define "flowkeeper.monitoringFile" -}}
{{- $context := .context }}
{{- $context.Files.Get .path | replace "kube_backfill_" (printf "%s_backfill_" $context.Values.backfill.metricPrefix) }}
{{- end }}

{{/*
Scrape options of a metrics endpoint, shared by the ServiceMonitor (operator) and the PodMonitor
(collectors); the context is metrics.serviceMonitor or metrics.podMonitor.
*/}}
{{- define "flowkeeper.scrapeOptions" -}}
{{- with .interval }}
interval: {{ . }}
{{- end }}
{{- with .scrapeTimeout }}
scrapeTimeout: {{ . }}
{{- end }}
{{- with .relabelings }}
relabelings:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .metricRelabelings }}
metricRelabelings:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/*
Relabelings the PodMonitor always applies to the collector pods: the collector's own series
carry only `protocol` and `listen_addr` (rust/flow-collector/src/metrics.rs at d8e67a9), so the
node the pod runs on and its FlowCollector (the pods' app.kubernetes.io/instance label, set by
operator/manifests.py) come from Kubernetes service discovery. The dashboard's Collectors row
and the collector alerts group by both.
*/}}
{{- define "flowkeeper.collectorRelabelings" -}}
- action: replace
  sourceLabels: [__meta_kubernetes_pod_node_name]
  targetLabel: node
- action: replace
  sourceLabels: [__meta_kubernetes_pod_label_app_kubernetes_io_instance]
  targetLabel: flowcollector
{{- end }}
