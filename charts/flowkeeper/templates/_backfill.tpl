{{/*
Arguments of flowkeeper-backfill, built from .Values.backfill.
*/}}
{{- define "flowkeeper.backfill.args" -}}
{{- $b := .Values.backfill -}}
{{- if $b.dryRun }}
- --dry-run
{{- else }}
- {{ printf "--remote-write-url=%s" (required "backfill.remoteWriteUrl is required when backfill.enabled is true (or set backfill.dryRun)" $b.remoteWriteUrl) | quote }}
{{- end }}
{{- with $b.kinds }}
- {{ printf "--resources=%s" (join "," .) | quote }}
{{- end }}
{{- /* "" means no labels, as in the program (passed as such); the program's default is not
repeated. */}}
{{- if not (or $b.metricLabelsAllowlist $b.metricAnnotationsAllowlist) }}
{{- fail "backfill.metricLabelsAllowlist and backfill.metricAnnotationsAllowlist are both empty: the backfill would export nothing (the labels default is \"*=[*]\")" }}
{{- end }}
{{- if ne $b.metricLabelsAllowlist "*=[*]" }}
- {{ printf "--metric-labels-allowlist=%s" $b.metricLabelsAllowlist | quote }}
{{- end }}
{{- with $b.metricAnnotationsAllowlist }}
- {{ printf "--metric-annotations-allowlist=%s" . | quote }}
{{- end }}
- {{ printf "--metric-prefix=%s" $b.metricPrefix | quote }}
- {{ printf "--batch-size=%d" (int $b.batchSize) | quote }}
- {{ printf "--page-size=%d" (int $b.pageSize) | quote }}
{{- if gt (int $b.shards) 1 }}
{{- /* The index comes from JOB_COMPLETION_INDEX, set by Kubernetes in each pod. */}}
- {{ printf "--shard-count=%d" (int $b.shards) | quote }}
{{- end }}
{{- range $k, $v := $b.externalLabels }}
- {{ printf "--external-label=%s=%s" $k $v | quote }}
{{- end }}
{{- range $k, $v := $b.headers }}
- {{ printf "--header=%s=%s" $k $v | quote }}
{{- end }}
{{- if $b.auth.bearerToken.secretName }}
- --bearer-token-file=/var/run/secrets/flowkeeper/bearer-token/token
{{- end }}
{{- if $b.auth.basicAuth.passwordSecretName }}
- {{ printf "--basic-auth-username=%s" (required "backfill.auth.basicAuth.username is required with backfill.auth.basicAuth.passwordSecretName" $b.auth.basicAuth.username) | quote }}
- --basic-auth-password-file=/var/run/secrets/flowkeeper/basic-auth/password
{{- end }}
{{- if or $b.tls.caSecretName $b.tls.caConfigMapName }}
- --ca-file=/etc/flowkeeper/ca/ca.crt
{{- end }}
{{- if not (kindIs "invalid" $b.requestTimeoutSeconds) }}
- {{ printf "--timeout=%v" $b.requestTimeoutSeconds | quote }}
{{- end }}
{{- if not (kindIs "invalid" $b.maxRetrySeconds) }}
- {{ printf "--max-retry-seconds=%v" $b.maxRetrySeconds | quote }}
{{- end }}
- {{ printf "--log-format=%s" .Values.logFormat | quote }}
{{- with $b.extraArgs }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
Job spec shared by the CronJob's template and the install-time Job.
*/}}
{{- define "flowkeeper.backfill.jobSpec" -}}
{{- $b := .Values.backfill -}}
{{- if and $b.auth.bearerToken.secretName $b.auth.basicAuth.passwordSecretName }}
{{- fail "backfill.auth: set either bearerToken.secretName or basicAuth.passwordSecretName, not both" }}
{{- end }}
{{- if and $b.tls.caSecretName $b.tls.caConfigMapName }}
{{- fail "backfill.tls: set either caSecretName or caConfigMapName, not both" }}
{{- end }}
{{- if and $b.auth.basicAuth.username (not $b.auth.basicAuth.passwordSecretName) }}
{{- fail "backfill.auth.basicAuth.username needs backfill.auth.basicAuth.passwordSecretName" }}
{{- end }}
backoffLimit: {{ int $b.backoffLimit }}
activeDeadlineSeconds: {{ int $b.activeDeadlineSeconds }}
{{- if gt (int $b.shards) 1 }}
# One pod per shard, all at once: each completion index is a shard index, so the Job
# succeeds only when every shard has sent its objects.
completionMode: Indexed
completions: {{ int $b.shards }}
parallelism: {{ int $b.shards }}
{{- end }}
template:
  metadata:
    labels:
      {{- include "flowkeeper.backfill.labels" . | nindent 6 }}
      {{- with $b.podLabels }}
      {{- toYaml . | nindent 6 }}
      {{- end }}
    {{- with $b.podAnnotations }}
    annotations:
      {{- toYaml . | nindent 6 }}
    {{- end }}
  spec:
    restartPolicy: Never
    serviceAccountName: {{ include "flowkeeper.backfill.serviceAccountName" . }}
    automountServiceAccountToken: true
    # No Service variables: with release name flowkeeper-backfill, the operator's metrics
    # Service would surface as FLOWKEEPER_BACKFILL_METRICS_SERVICE_HOST, an unknown variable
    # that the backfill refuses.
    enableServiceLinks: false
    {{- with .Values.imagePullSecrets }}
    imagePullSecrets:
      {{- toYaml . | nindent 6 }}
    {{- end }}
    securityContext:
      {{- include "flowkeeper.podSecurityContext" . | nindent 6 }}
    containers:
      - name: backfill
        image: {{ include "flowkeeper.image" . | quote }}
        imagePullPolicy: {{ .Values.image.pullPolicy }}
        command:
          - flowkeeper-backfill
        args:
          {{- include "flowkeeper.backfill.args" . | trim | nindent 10 }}
        {{- with $b.extraEnv }}
        env:
          {{- toYaml . | nindent 10 }}
        {{- end }}
        securityContext:
          {{- include "flowkeeper.containerSecurityContext" . | nindent 10 }}
        {{- with $b.resources }}
        resources:
          {{- toYaml . | nindent 10 }}
        {{- end }}
        volumeMounts:
          - name: tmp
            mountPath: /tmp
          {{- if $b.auth.bearerToken.secretName }}
          - name: bearer-token
            mountPath: /var/run/secrets/flowkeeper/bearer-token
            readOnly: true
          {{- end }}
          {{- if $b.auth.basicAuth.passwordSecretName }}
          - name: basic-auth
            mountPath: /var/run/secrets/flowkeeper/basic-auth
            readOnly: true
          {{- end }}
          {{- if or $b.tls.caSecretName $b.tls.caConfigMapName }}
          - name: ca
            mountPath: /etc/flowkeeper/ca
            readOnly: true
          {{- end }}
    volumes:
      - name: tmp
        emptyDir:
          sizeLimit: 64Mi
      {{- with $b.auth.bearerToken.secretName }}
      - name: bearer-token
        secret:
          secretName: {{ . }}
          items:
            - key: {{ $b.auth.bearerToken.secretKey }}
              path: token
      {{- end }}
      {{- with $b.auth.basicAuth.passwordSecretName }}
      - name: basic-auth
        secret:
          secretName: {{ . }}
          items:
            - key: {{ $b.auth.basicAuth.passwordSecretKey }}
              path: password
      {{- end }}
      {{- with $b.tls.caSecretName }}
      - name: ca
        secret:
          secretName: {{ . }}
          items:
            - key: {{ $b.tls.caKey }}
              path: ca.crt
      {{- end }}
      {{- with $b.tls.caConfigMapName }}
      - name: ca
        configMap:
          name: {{ . }}
          items:
            - key: {{ $b.tls.caKey }}
              path: ca.crt
      {{- end }}
    {{- with $b.nodeSelector }}
    nodeSelector:
      {{- toYaml . | nindent 6 }}
    {{- end }}
    {{- with $b.tolerations }}
    tolerations:
      {{- toYaml . | nindent 6 }}
    {{- end }}
    {{- with $b.affinity }}
    affinity:
      {{- toYaml . | nindent 6 }}
    {{- end }}
{{- end }}
