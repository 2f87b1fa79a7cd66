{{- /*
The admission webhooks' serving certificate. With webhook.certificate.source
"cert-manager", cert-manager issues it (the Issuer and Certificate templates)
and injects its CA into the configurations below. With "helm", the chart makes
a CA and a certificate for the webhook Service, keeps them in the Secret the
manager mounts, and reuses that Secret on upgrades so that the CA stays put.
*/ -}}
{{- $source := .Values.webhook.certificate.source }}
{{- if not (has $source (list "helm" "cert-manager")) }}
{{- fail (printf "webhook.certificate.source is %q: use helm or cert-manager" $source) }}
{{- end }}
{{- $caBundle := "" }}
{{- if eq $source "helm" }}
{{- $secretName := "webhook-server-cert" }}
{{- $service := printf "%s-webhook-service.%s.svc" (include "modelgate.fullname" .) .Release.Namespace }}
{{- $crt := "" }}
{{- $key := "" }}
{{- $existing := lookup "v1" "Secret" .Release.Namespace $secretName }}
{{- if and $existing (index ($existing.data | default dict) "ca.crt") }}
{{- $crt = index $existing.data "tls.crt" }}
{{- $key = index $existing.data "tls.key" }}
{{- $caBundle = index $existing.data "ca.crt" }}
{{- else }}
{{- $days := int .Values.webhook.certificate.validityDays }}
{{- $ca := genCA (printf "%s-webhook-ca" (include "modelgate.fullname" .)) $days }}
{{- $cert := genSignedCert $service nil (list $service (printf "%s.cluster.local" $service)) $days $ca }}
{{- $crt = b64enc $cert.Cert }}
{{- $key = b64enc $cert.Key }}
{{- $caBundle = b64enc $ca.Cert }}
{{- end }}
apiVersion: v1
kind: Secret
type: kubernetes.io/tls
metadata:
  name: {{ $secretName }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "modelgate.labels" . | nindent 4 }}
data:
  tls.crt: {{ $crt }}
  tls.key: {{ $key }}
  ca.crt: {{ $caBundle }}
{{- end }}
