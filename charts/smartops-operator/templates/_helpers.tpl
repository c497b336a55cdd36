{{/* Names, labels and the derived settings every template shares. */}}

{{- define "smartops-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Release-scoped base name; "smartops-operator" for `helm install smartops-operator`. */}}
{{- define "smartops-operator.fullname" -}}
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

{{- define "smartops-operator.shimName" -}}
{{- printf "%s-shim" (include "smartops-operator.fullname" .) }}
{{- end }}

{{- define "smartops-operator.approverName" -}}
{{- printf "%s-approver" (include "smartops-operator.fullname" .) }}
{{- end }}

{{- define "smartops-operator.approvalPolicyName" -}}
{{- printf "%s-approval" (include "smartops-operator.fullname" .) }}
{{- end }}

{{- define "smartops-operator.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "smartops-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: smartops
{{- end }}

{{/* Selector labels of one component: operator or shim. */}}
{{- define "smartops-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "smartops-operator.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "smartops-operator.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/* The one namespace the operator watches when rbac.scope=namespace. */}}
{{- define "smartops-operator.watchNamespace" -}}
{{- if eq .Values.rbac.scope "namespace" }}
{{- default .Release.Namespace .Values.watchNamespace }}
{{- end }}
{{- end }}

{{/* Where the default GuardrailPolicy lives: the watched namespace, or the operator's. */}}
{{- define "smartops-operator.policyNamespace" -}}
{{- default .Release.Namespace (include "smartops-operator.watchNamespace" .) }}
{{- end }}

{{- define "smartops-operator.shimDefaultNamespace" -}}
{{- default (include "smartops-operator.policyNamespace" .) .Values.shim.defaultNamespace }}
{{- end }}

{{/* Restricted Pod Security Standard, for every pod and container. */}}
{{- define "smartops-operator.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
fsGroup: 65532
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{- define "smartops-operator.containerSecurityContext" -}}
runAsNonRoot: true
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end }}
