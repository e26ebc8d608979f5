{{- define "app.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "app.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else if contains (include "app.name" .) .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name (include "app.name" .) | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{- define "app.selectorLabels" -}}
app.kubernetes.io/name: {{ include "app.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "app.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "app.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "app.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "app.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "app.image" -}}
{{- $repo := default (printf "registry.example.com/%s" .Chart.Name) .Values.image.repository -}}
{{- printf "%s:%s" $repo (default .Chart.AppVersion .Values.image.tag) -}}
{{- end }}

{{/* API choice by resource-level capability, as many charts do it. */}}
{{- define "app.pdb.apiVersion" -}}
{{- if .Values.apiVersions.podDisruptionBudget -}}
{{- .Values.apiVersions.podDisruptionBudget -}}
{{- else if .Capabilities.APIVersions.Has "policy/v1/PodDisruptionBudget" -}}
policy/v1
{{- else -}}
policy/v1beta1
{{- end -}}
{{- end }}

{{- define "app.hpa.apiVersion" -}}
{{- if .Values.apiVersions.horizontalPodAutoscaler -}}
{{- .Values.apiVersions.horizontalPodAutoscaler -}}
{{- else if .Capabilities.APIVersions.Has "autoscaling/v2/HorizontalPodAutoscaler" -}}
autoscaling/v2
{{- else -}}
autoscaling/v2beta2
{{- end -}}
{{- end }}

{{/* API choice by Kubernetes version, the other common pattern. */}}
{{- define "app.ingress.apiVersion" -}}
{{- if .Values.apiVersions.ingress -}}
{{- .Values.apiVersions.ingress -}}
{{- else if semverCompare ">=1.19-0" .Capabilities.KubeVersion.GitVersion -}}
networking.k8s.io/v1
{{- else -}}
networking.k8s.io/v1beta1
{{- end -}}
{{- end }}

{{- define "app.cronjob.apiVersion" -}}
{{- if .Values.apiVersions.cronJob -}}
{{- .Values.apiVersions.cronJob -}}
{{- else if semverCompare ">=1.21-0" .Capabilities.KubeVersion.GitVersion -}}
batch/v1
{{- else -}}
batch/v1beta1
{{- end -}}
{{- end }}

{{- define "app.podSpec" -}}
serviceAccountName: {{ include "app.serviceAccountName" . }}
containers:
  - name: {{ .Chart.Name }}
    image: {{ include "app.image" . | quote }}
    imagePullPolicy: {{ .Values.image.pullPolicy }}
    {{- with .Values.args }}
    args:
      {{- toYaml . | nindent 6 }}
    {{- end }}
    ports:
      - name: http
        containerPort: {{ .Values.containerPort }}
        protocol: TCP
    {{- if or .Values.env .Values.secret.enabled }}
    env:
      {{- range $name, $value := .Values.env }}
      - name: {{ $name }}
        value: {{ $value | quote }}
      {{- end }}
      {{- if .Values.secret.enabled }}
      - name: APP_PASSWORD
        valueFrom:
          secretKeyRef:
            name: {{ include "app.fullname" . }}
            key: password
      {{- end }}
    {{- end }}
    {{- if .Values.config.enabled }}
    envFrom:
      - configMapRef:
          name: {{ include "app.fullname" . }}
    {{- end }}
    readinessProbe:
      httpGet:
        path: /healthz
        port: http
    resources:
      {{- toYaml .Values.resources | nindent 6 }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}
