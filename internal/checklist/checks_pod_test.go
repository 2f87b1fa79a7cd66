package checklist

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
)

const (
	podTestDigest = "@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	// podTestLiteral is a credential written into the template; no message may show it.
	podTestLiteral = "hunter2-do-not-print"
)

// podTestResources are cpu and memory requests and limits.
func podTestResources() corev1.ResourceRequirements {
	return corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m"), corev1.ResourceMemory: resource.MustParse("1Gi")},
		Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2"), corev1.ResourceMemory: resource.MustParse("2Gi")},
	}
}

// podTestSecurityContext is a container security context that passes.
func podTestSecurityContext() *corev1.SecurityContext {
	return &corev1.SecurityContext{AllowPrivilegeEscalation: ptr.To(false), ReadOnlyRootFilesystem: ptr.To(true)}
}

// podTestInputs passes every pod check: an init container and two
// containers with pinned images, probes, resources and a security context;
// Secrets referenced every way the template can, all present; 3 replicas
// spread across zones; triggers and a metrics port.
func podTestInputs() *Inputs {
	probe := &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz"}}}
	md := &servingv1alpha1.ModelDeployment{
		ObjectMeta: metav1.ObjectMeta{Name: "fraud-scorer", Namespace: "risk"},
		Spec: servingv1alpha1.ModelDeploymentSpec{
			Model:   servingv1alpha1.ModelSpec{Name: "fraud-scorer", Version: "2.3.0", URI: "oci://registry.example/models/fraud-scorer:2.3.0"},
			Service: servingv1alpha1.ServiceSpec{Port: 8080, MetricsPort: ptr.To[int32](9090)},
			Analysis: &servingv1alpha1.AnalysisSpec{
				Prometheus: &servingv1alpha1.PrometheusSpec{Address: "http://prometheus.monitoring:9090"},
				Triggers:   &servingv1alpha1.TriggersSpec{ErrorRate: &servingv1alpha1.ErrorRateTrigger{MaxPercent: "5"}},
			},
		},
	}
	tpl := corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{
			"app.kubernetes.io/name": "fraud-scorer", "app.kubernetes.io/managed-by": "modelgate", "serving.modelgate.dev/version": "2.3.0",
		}},
		Spec: corev1.PodSpec{
			SecurityContext: &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true)},
			InitContainers: []corev1.Container{{
				Name: "fetch-model", Image: "registry.example/ml/fetcher" + podTestDigest,
				Resources: podTestResources(), SecurityContext: podTestSecurityContext(),
				EnvFrom: []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "s3-access"}}}},
			}},
			Containers: []corev1.Container{
				{
					Name: "server", Image: "registry.example/ml/server" + podTestDigest,
					Ports:          []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}, {Name: "metrics", ContainerPort: 9090}},
					ReadinessProbe: probe, LivenessProbe: probe,
					Resources: podTestResources(), SecurityContext: podTestSecurityContext(),
					Env: []corev1.EnvVar{
						{Name: "MODEL_NAME", Value: "fraud-scorer"},
						{Name: "DB_PASSWORD", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
							LocalObjectReference: corev1.LocalObjectReference{Name: "db-creds"}, Key: "password"}}},
						{Name: "TOKEN_TTL", Value: "3600"},
					},
				},
				{
					Name: "proxy", Image: "registry.example/ml/proxy" + podTestDigest,
					Resources: podTestResources(), SecurityContext: podTestSecurityContext(),
				},
			},
			Volumes: []corev1.Volume{
				{Name: "tls", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
					SecretName: "fraud-scorer-tls", Items: []corev1.KeyToPath{{Key: "tls.crt", Path: "tls.crt"}, {Key: "tls.key", Path: "tls.key"}}}}},
				{Name: "bundle", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
					{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "ca"}}},
					{Secret: &corev1.SecretProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "registry-token"}, Items: []corev1.KeyToPath{{Key: "token", Path: "token"}}}},
				}}}},
				{Name: "scratch", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
			},
			ImagePullSecrets: []corev1.LocalObjectReference{{Name: "regcred"}},
			TopologySpreadConstraints: []corev1.TopologySpreadConstraint{{
				MaxSkew: 1, TopologyKey: "topology.kubernetes.io/zone", WhenUnsatisfiable: corev1.ScheduleAnyway,
				LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app.kubernetes.io/name": "fraud-scorer"}},
			}},
		},
	}
	keys := func(k ...string) SecretKeys {
		out := SecretKeys{}
		for _, s := range k {
			out[s] = struct{}{}
		}
		return out
	}
	return &Inputs{
		MD: md, Template: tpl, ServingContainer: 0, Replicas: 3,
		Secrets: map[string]SecretKeys{
			"s3-access":        keys("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"),
			"db-creds":         keys("username", "password"),
			"fraud-scorer-tls": keys("tls.crt", "tls.key"),
			"registry-token":   keys("token"),
			"regcred":          keys(".dockerconfigjson"),
		},
	}
}

func podServer(in *Inputs) *corev1.Container { return &in.Template.Spec.Containers[0] }

func TestPodProbes(t *testing.T) {
	noStartup := func(change func(in *Inputs)) func(in *Inputs) {
		return func(in *Inputs) {
			podServer(in).StartupProbe = nil
			change(in)
		}
	}
	startup := &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz"}}, FailureThreshold: 60}
	modelRunTable(t, checkPodProbes, podTestInputs, []modelCase{
		{name: "readiness and liveness, small model", want: servingv1alpha1.CheckPass, msg: []string{`"server"`, "no startup probe needed"}},
		{name: "no readiness probe", change: func(in *Inputs) { podServer(in).ReadinessProbe = nil },
			want: servingv1alpha1.CheckFail, msg: []string{`"server" has no readinessProbe`}, notMsg: []string{"liveness"},
			fix: []string{"readinessProbe", "spec.template.spec.containers[0]"}},
		{name: "no liveness probe", change: func(in *Inputs) { podServer(in).LivenessProbe = nil },
			want: servingv1alpha1.CheckFail, msg: []string{"no livenessProbe"}, notMsg: []string{"readiness"}},
		{name: "neither", change: func(in *Inputs) { podServer(in).ReadinessProbe, podServer(in).LivenessProbe = nil, nil },
			want: servingv1alpha1.CheckFail, msg: []string{"no readinessProbe and no livenessProbe"}},
		{name: "serving container is the second", change: func(in *Inputs) {
			in.ServingContainer = 1
		}, want: servingv1alpha1.CheckFail, msg: []string{`"proxy"`}, fix: []string{"spec.template.spec.containers[1]"}},
		{name: "only the serving container counts", change: func(in *Inputs) {
			in.Template.Spec.Containers[1].ReadinessProbe = nil
		}, want: servingv1alpha1.CheckPass},
		{name: "slow-start annotation without startup probe", change: noStartup(func(in *Inputs) {
			in.Template.Annotations = map[string]string{"serving.modelgate.dev/slow-start": "true"}
		}), want: servingv1alpha1.CheckWarn, msg: []string{"no startup probe", "serving.modelgate.dev/slow-start"}, fix: []string{"startupProbe", "spec.template.spec.containers[0]"}},
		{name: "slow-start annotation false", change: func(in *Inputs) {
			in.Template.Annotations = map[string]string{"serving.modelgate.dev/slow-start": "false"}
		}, want: servingv1alpha1.CheckPass},
		{name: "large memory request without startup probe", change: func(in *Inputs) {
			podServer(in).Resources.Requests[corev1.ResourceMemory] = resource.MustParse("16Gi")
		}, want: servingv1alpha1.CheckWarn, msg: []string{"16Gi", "more than 8Gi"}},
		{name: "exactly 8Gi is not large", change: func(in *Inputs) {
			podServer(in).Resources.Requests[corev1.ResourceMemory] = resource.MustParse("8Gi")
		}, want: servingv1alpha1.CheckPass},
		{name: "large memory limit without request", change: func(in *Inputs) {
			delete(podServer(in).Resources.Requests, corev1.ResourceMemory)
			podServer(in).Resources.Limits[corev1.ResourceMemory] = resource.MustParse("9G")
		}, want: servingv1alpha1.CheckWarn, msg: []string{"9G"}},
		{name: "GPU without startup probe", change: func(in *Inputs) {
			podServer(in).Resources.Limits["nvidia.com/gpu"] = resource.MustParse("1")
		}, want: servingv1alpha1.CheckWarn, msg: []string{"nvidia.com/gpu"}},
		{name: "AMD GPU without startup probe", change: func(in *Inputs) {
			podServer(in).Resources.Limits["amd.com/gpu"] = resource.MustParse("2")
		}, want: servingv1alpha1.CheckWarn, msg: []string{"2 amd.com/gpu"}},
		{name: "GPU on another container does not count", change: func(in *Inputs) {
			in.Template.Spec.Containers[1].Resources.Limits["nvidia.com/gpu"] = resource.MustParse("1")
		}, want: servingv1alpha1.CheckPass},
		{name: "GPU with startup probe", change: func(in *Inputs) {
			podServer(in).Resources.Limits["nvidia.com/gpu"] = resource.MustParse("1")
			podServer(in).StartupProbe = startup
		}, want: servingv1alpha1.CheckPass, msg: []string{"readiness, liveness and startup probes"}},
		{name: "missing liveness fails even where a startup probe is recommended", change: func(in *Inputs) {
			podServer(in).Resources.Limits["nvidia.com/gpu"] = resource.MustParse("1")
			podServer(in).LivenessProbe = nil
		}, want: servingv1alpha1.CheckFail},
		{name: "no containers", change: func(in *Inputs) { in.Template.Spec.Containers = nil },
			want: servingv1alpha1.CheckFail, msg: []string{"no containers"}},
		{name: "serving container named but absent", change: func(in *Inputs) {
			in.ServingContainer = -1
			in.MD.Spec.ServingContainer = "triton"
		}, want: servingv1alpha1.CheckFail, msg: []string{`"triton" names no container`, "server, proxy"}, fix: []string{"spec.servingContainer"}},
	})
}

func TestPodResources(t *testing.T) {
	modelRunTable(t, checkPodResources, podTestInputs, []modelCase{
		{name: "all set", want: servingv1alpha1.CheckPass, msg: []string{"All 3 containers"}},
		{name: "serving container without cpu limit", change: func(in *Inputs) {
			delete(podServer(in).Resources.Limits, corev1.ResourceCPU)
		}, want: servingv1alpha1.CheckFail, msg: []string{"server/limits/cpu"}, notMsg: []string{"memory", "proxy"},
			fix: []string{"resources.requests and resources.limits"}},
		{name: "init container without anything", change: func(in *Inputs) {
			in.Template.Spec.InitContainers[0].Resources = corev1.ResourceRequirements{}
		}, want: servingv1alpha1.CheckFail, msg: []string{"fetch-model/requests/cpu, fetch-model/requests/memory, fetch-model/limits/cpu, fetch-model/limits/memory"}},
		{name: "several containers listed", change: func(in *Inputs) {
			delete(podServer(in).Resources.Requests, corev1.ResourceMemory)
			delete(in.Template.Spec.Containers[1].Resources.Limits, corev1.ResourceMemory)
		}, want: servingv1alpha1.CheckFail, msg: []string{"server/requests/memory, proxy/limits/memory"}},
		{name: "GPU in limits", change: func(in *Inputs) {
			podServer(in).Resources.Limits["nvidia.com/gpu"] = resource.MustParse("1")
		}, want: servingv1alpha1.CheckPass},
		{name: "GPU in requests and limits alike", change: func(in *Inputs) {
			podServer(in).Resources.Requests["nvidia.com/gpu"] = resource.MustParse("1")
			podServer(in).Resources.Limits["nvidia.com/gpu"] = resource.MustParse("1")
		}, want: servingv1alpha1.CheckPass},
		{name: "GPU requested without limit", change: func(in *Inputs) {
			podServer(in).Resources.Requests["nvidia.com/gpu"] = resource.MustParse("1")
		}, want: servingv1alpha1.CheckFail, msg: []string{`container "server" requests 1 nvidia.com/gpu without a limit`}, fix: []string{"resources.limits", "nvidia.com/gpu"}},
		{name: "GPU request differs from limit", change: func(in *Inputs) {
			podServer(in).Resources.Requests["amd.com/gpu"] = resource.MustParse("2")
			podServer(in).Resources.Limits["amd.com/gpu"] = resource.MustParse("1")
		}, want: servingv1alpha1.CheckFail, msg: []string{"requests 2 amd.com/gpu but limits it to 1"}},
		{name: "GPU requested by an init container", change: func(in *Inputs) {
			in.Template.Spec.InitContainers[0].Resources.Requests["nvidia.com/gpu"] = resource.MustParse("1")
		}, want: servingv1alpha1.CheckFail, msg: []string{`init container "fetch-model"`}},
		{name: "pod-level resources cover the containers", change: func(in *Inputs) {
			for i := range in.Template.Spec.Containers {
				in.Template.Spec.Containers[i].Resources = corev1.ResourceRequirements{}
			}
			in.Template.Spec.InitContainers[0].Resources = corev1.ResourceRequirements{}
			r := podTestResources()
			in.Template.Spec.Resources = &r
		}, want: servingv1alpha1.CheckPass, msg: []string{"spec.template.spec.resources"}},
		{name: "pod-level requests only", change: func(in *Inputs) {
			podServer(in).Resources = corev1.ResourceRequirements{}
			in.Template.Spec.Resources = &corev1.ResourceRequirements{Requests: podTestResources().Requests}
		}, want: servingv1alpha1.CheckFail, msg: []string{"server/limits/cpu, server/limits/memory"}, notMsg: []string{"requests"}},
		{name: "no containers", change: func(in *Inputs) { in.Template.Spec.Containers, in.Template.Spec.InitContainers = nil, nil },
			want: servingv1alpha1.CheckFail},
	})
}

func TestPodSecrets(t *testing.T) {
	server := func(in *Inputs) *corev1.Container { return podServer(in) }
	literal := func(name string) func(*Inputs) {
		return func(in *Inputs) {
			server(in).Env = append(server(in).Env, corev1.EnvVar{Name: name, Value: podTestLiteral})
		}
	}
	modelRunTable(t, checkPodSecrets, podTestInputs, []modelCase{
		{name: "every reference resolves", want: servingv1alpha1.CheckPass,
			msg: []string{"All 5 Secrets", "db-creds, fraud-scorer-tls, regcred, registry-token, s3-access"}},
		{name: "no references", change: func(in *Inputs) {
			in.Template.Spec = corev1.PodSpec{Containers: []corev1.Container{{Name: "server"}}}
		}, want: servingv1alpha1.CheckPass, msg: []string{"references no Secret"}},
		{name: "Secrets config rollout leaves out are named, passing", change: func(in *Inputs) {
			in.ConfigNotCovered = map[string]string{"s3-access": "not labelled", "db-creds": "not labelled"}
		}, want: servingv1alpha1.CheckPass,
			msg: []string{"; config rollout does not cover Secrets db-creds (not labelled), s3-access (not labelled): a change of them reaches every pod at once"}},
		{name: "Secrets config rollout leaves out are named, failing", change: func(in *Inputs) {
			delete(in.Secrets, "regcred")
			in.ConfigNotCovered = map[string]string{"db-creds": "not labelled"}
		}, want: servingv1alpha1.CheckFail, msg: []string{"was not found; config rollout does not cover Secrets db-creds"}},
		{name: "env secretKeyRef to a missing Secret", change: func(in *Inputs) { delete(in.Secrets, "db-creds") },
			want: servingv1alpha1.CheckFail, msg: []string{`Secret "db-creds" referenced by env DB_PASSWORD of container "server" was not found`},
			fix: []string{"namespace risk", "optional: true"}},
		{name: "env secretKeyRef to a missing key", change: func(in *Inputs) { in.Secrets["db-creds"] = SecretKeys{"username": {}} },
			want: servingv1alpha1.CheckFail, msg: []string{`Secret "db-creds" has no key "password" referenced by env DB_PASSWORD`}},
		{name: "optional env reference may be missing", change: func(in *Inputs) {
			delete(in.Secrets, "db-creds")
			server(in).Env[1].ValueFrom.SecretKeyRef.Optional = ptr.To(true)
		}, want: servingv1alpha1.CheckPass},
		{name: "envFrom of an init container", change: func(in *Inputs) { delete(in.Secrets, "s3-access") },
			want: servingv1alpha1.CheckFail, msg: []string{`Secret "s3-access" referenced by envFrom of init container "fetch-model" was not found`}},
		{name: "optional envFrom may be missing", change: func(in *Inputs) {
			delete(in.Secrets, "s3-access")
			in.Template.Spec.InitContainers[0].EnvFrom[0].SecretRef.Optional = ptr.To(true)
		}, want: servingv1alpha1.CheckPass},
		{name: "secret volume missing", change: func(in *Inputs) { delete(in.Secrets, "fraud-scorer-tls") },
			want: servingv1alpha1.CheckFail, msg: []string{`Secret "fraud-scorer-tls" referenced by volume "tls" was not found`}, notMsg: []string{"no key"}},
		{name: "secret volume item key missing", change: func(in *Inputs) { in.Secrets["fraud-scorer-tls"] = SecretKeys{"tls.crt": {}} },
			want: servingv1alpha1.CheckFail, msg: []string{`Secret "fraud-scorer-tls" has no key "tls.key" referenced by volume "tls"`}, notMsg: []string{"tls.crt"}},
		{name: "optional secret volume may lack keys", change: func(in *Inputs) {
			in.Secrets["fraud-scorer-tls"] = SecretKeys{}
			in.Template.Spec.Volumes[0].Secret.Optional = ptr.To(true)
		}, want: servingv1alpha1.CheckPass},
		{name: "projected secret key missing", change: func(in *Inputs) { in.Secrets["registry-token"] = SecretKeys{} },
			want: servingv1alpha1.CheckFail, msg: []string{`Secret "registry-token" has no key "token" referenced by projected volume "bundle"`}},
		{name: "the Prometheus token the analysis reads, missing", change: func(in *Inputs) {
			in.MD.Spec.Analysis = &servingv1alpha1.AnalysisSpec{Prometheus: &servingv1alpha1.PrometheusSpec{
				Address: "https://prometheus.example", BearerTokenSecretRef: &servingv1alpha1.SecretKeyReference{Name: "prom-token", Key: "token"}}}
		}, want: servingv1alpha1.CheckFail, msg: []string{`Secret "prom-token" referenced by spec.analysis.prometheus.bearerTokenSecretRef was not found`}},
		{name: "the Prometheus token the analysis reads, present but not opened to modelgate", change: func(in *Inputs) {
			in.Secrets["prom-token"] = SecretKeys{"token": {}}
			in.MD.Spec.Analysis = &servingv1alpha1.AnalysisSpec{Prometheus: &servingv1alpha1.PrometheusSpec{
				Address: "https://prometheus.example", BearerTokenSecretRef: &servingv1alpha1.SecretKeyReference{Name: "prom-token", Key: "token"}}}
		}, want: servingv1alpha1.CheckFail, msg: []string{`Secret "prom-token" referenced by spec.analysis.prometheus.bearerTokenSecretRef is not labelled serving.modelgate.dev/manager-readable=true`},
			fix: []string{"serving.modelgate.dev/manager-readable=true"}},
		{name: "the Prometheus token the analysis reads, present", change: func(in *Inputs) {
			in.Secrets["prom-token"] = SecretKeys{"token": {}}
			in.ManagerReadable = map[string]bool{"prom-token": true}
			in.MD.Spec.Analysis = &servingv1alpha1.AnalysisSpec{Prometheus: &servingv1alpha1.PrometheusSpec{
				Address: "https://prometheus.example", BearerTokenSecretRef: &servingv1alpha1.SecretKeyReference{Name: "prom-token", Key: "token"}}}
		}, want: servingv1alpha1.CheckPass, msg: []string{"All 6 Secrets the pod template and the spec reference", "prom-token"}},
		{name: "a notification receiver's URL key missing", change: func(in *Inputs) {
			in.Secrets["hooks"] = SecretKeys{"slack": {}}
			in.ManagerReadable = map[string]bool{"hooks": true}
			in.MD.Spec.Notifications = []servingv1alpha1.Notification{
				{Name: "team", Slack: &servingv1alpha1.WebhookReceiver{URLSecretRef: servingv1alpha1.SecretKeyReference{Name: "hooks", Key: "slack"}}},
				{Name: "audit", Webhook: &servingv1alpha1.WebhookReceiver{URLSecretRef: servingv1alpha1.SecretKeyReference{Name: "hooks", Key: "audit"}}},
			}
		}, want: servingv1alpha1.CheckFail, msg: []string{`Secret "hooks" has no key "audit" referenced by spec.notifications[1].webhook.urlSecretRef (receiver audit)`},
			notMsg: []string{"slack"}},
		{name: "imagePullSecret missing", change: func(in *Inputs) { delete(in.Secrets, "regcred") },
			want: servingv1alpha1.CheckFail, msg: []string{`Secret "regcred" referenced by imagePullSecrets was not found`}},
		{name: "every problem listed once, sorted", change: func(in *Inputs) {
			in.Secrets = map[string]SecretKeys{"registry-token": {"token": {}}}
			in.Template.Spec.Containers[1].Env = append(in.Template.Spec.Containers[1].Env, server(in).Env[1])
		}, want: servingv1alpha1.CheckFail,
			msg: []string{`Secret "db-creds" referenced by env DB_PASSWORD of container "proxy" was not found; Secret "db-creds" referenced by env DB_PASSWORD of container "server" was not found; Secret "fraud-scorer-tls" referenced by volume "tls" was not found; Secret "regcred"`}},
		{name: "literal password", change: literal("DB_PASSWORD"),
			want: servingv1alpha1.CheckFail, msg: []string{`env DB_PASSWORD of container "server" is set as a literal value`}, notMsg: []string{podTestLiteral},
			fix: []string{"secretKeyRef"}},
		{name: "literal API key in lower case", change: literal("openai_api_key"), want: servingv1alpha1.CheckFail, msg: []string{"openai_api_key"}},
		{name: "literal AWS secret access key", change: literal("AWS_SECRET_ACCESS_KEY"), want: servingv1alpha1.CheckFail},
		{name: "literal TOKEN", change: literal("TOKEN"), want: servingv1alpha1.CheckFail},
		{name: "literal SECRET", change: literal("Secret"), want: servingv1alpha1.CheckFail},
		{name: "literal _PASSWD, _APIKEY, _SECRET_KEY", change: func(in *Inputs) {
			literal("SMTP_PASSWD")(in)
			literal("MAPS_APIKEY")(in)
			literal("DJANGO_SECRET_KEY")(in)
		}, want: servingv1alpha1.CheckFail, msg: []string{"SMTP_PASSWD", "MAPS_APIKEY", "DJANGO_SECRET_KEY"}, notMsg: []string{podTestLiteral}},
		{name: "names that only look alike are fine", change: func(in *Inputs) {
			literal("TOKEN_TTL")(in)
			literal("PASSWORD_MIN_LENGTH")(in)
			literal("SECRETS_DIR")(in)
			literal("MAX_TOKENS")(in)
		}, want: servingv1alpha1.CheckPass},
		{name: "empty literal is not a credential", change: func(in *Inputs) {
			server(in).Env = append(server(in).Env, corev1.EnvVar{Name: "API_TOKEN"})
		}, want: servingv1alpha1.CheckPass},
		{name: "literal in an init container", change: func(in *Inputs) {
			in.Template.Spec.InitContainers[0].Env = []corev1.EnvVar{{Name: "HF_TOKEN", Value: podTestLiteral}}
		}, want: servingv1alpha1.CheckFail, msg: []string{`env HF_TOKEN of init container "fetch-model"`}},
		{name: "missing Secret and literal together", change: func(in *Inputs) {
			delete(in.Secrets, "regcred")
			literal("API_KEY")(in)
		}, want: servingv1alpha1.CheckFail, msg: []string{"regcred", "API_KEY"}, fix: []string{"Create the missing Secrets", "secretKeyRef"}},
		{name: "Secrets could not be read", change: func(in *Inputs) {
			in.Secrets = nil
			in.Unavailable = map[string]string{"Secret": `secrets is forbidden: User "system:serviceaccount:modelgate:manager" cannot list resource "secrets"`}
		}, want: servingv1alpha1.CheckUnknown, msg: []string{"could not be read", "forbidden"}, fix: []string{"namespace risk"}},
		{name: "Secrets could not be read but a literal is plain", change: func(in *Inputs) {
			in.Secrets = nil
			in.Unavailable = map[string]string{"Secret": "forbidden"}
			literal("DB_PASSWORD")(in)
		}, want: servingv1alpha1.CheckFail, msg: []string{"DB_PASSWORD", "could not be read: forbidden"}, notMsg: []string{podTestLiteral}},
	})
}

func TestPodSecurityContext(t *testing.T) {
	sc := func(i int) func(in *Inputs) *corev1.SecurityContext {
		return func(in *Inputs) *corev1.SecurityContext { return in.Template.Spec.Containers[i].SecurityContext }
	}
	server := sc(0)
	modelRunTable(t, checkPodSecurityContext, podTestInputs, []modelCase{
		{name: "all hardened", want: servingv1alpha1.CheckPass, msg: []string{"All 3 containers"}},
		{name: "runAsUser on the container instead of runAsNonRoot", change: func(in *Inputs) {
			in.Template.Spec.SecurityContext = nil
			for i := range in.Template.Spec.Containers {
				in.Template.Spec.Containers[i].SecurityContext.RunAsUser = ptr.To[int64](1000)
			}
			in.Template.Spec.InitContainers[0].SecurityContext.RunAsNonRoot = ptr.To(true)
		}, want: servingv1alpha1.CheckPass},
		{name: "runAsUser on the pod", change: func(in *Inputs) {
			in.Template.Spec.SecurityContext = &corev1.PodSecurityContext{RunAsUser: ptr.To[int64](65532)}
		}, want: servingv1alpha1.CheckPass},
		{name: "no runAsNonRoot anywhere", change: func(in *Inputs) { in.Template.Spec.SecurityContext = nil },
			want: servingv1alpha1.CheckFail, msg: []string{`init container "fetch-model": may run as root`, `container "server": may run as root`, `container "proxy": may run as root`},
			fix: []string{"runAsNonRoot: true"}},
		{name: "container overrides the pod with runAsNonRoot false", change: func(in *Inputs) { server(in).RunAsNonRoot = ptr.To(false) },
			want: servingv1alpha1.CheckFail, msg: []string{`container "server": may run as root`}, notMsg: []string{"proxy", "fetch-model"}},
		{name: "runAsUser 0 is root even with runAsNonRoot", change: func(in *Inputs) { server(in).RunAsUser = ptr.To[int64](0) },
			want: servingv1alpha1.CheckFail, msg: []string{"runs as root (runAsUser 0)"}},
		{name: "privilege escalation not set", change: func(in *Inputs) { server(in).AllowPrivilegeEscalation = nil },
			want: servingv1alpha1.CheckFail, msg: []string{`container "server": allowPrivilegeEscalation is not false`}, fix: []string{"allowPrivilegeEscalation: false"}},
		{name: "privilege escalation true", change: func(in *Inputs) { server(in).AllowPrivilegeEscalation = ptr.To(true) },
			want: servingv1alpha1.CheckFail, msg: []string{"allowPrivilegeEscalation is not false"}},
		{name: "writable root filesystem", change: func(in *Inputs) { sc(1)(in).ReadOnlyRootFilesystem = ptr.To(false) },
			want: servingv1alpha1.CheckFail, msg: []string{`container "proxy": readOnlyRootFilesystem is not true`}, fix: []string{"readOnlyRootFilesystem: true"}},
		{name: "privileged", change: func(in *Inputs) { server(in).Privileged = ptr.To(true) },
			want: servingv1alpha1.CheckFail, msg: []string{`container "server": privileged is true`}},
		{name: "privileged false is fine", change: func(in *Inputs) { server(in).Privileged = ptr.To(false) }, want: servingv1alpha1.CheckPass},
		{name: "init container without security context", change: func(in *Inputs) { in.Template.Spec.InitContainers[0].SecurityContext = nil },
			want: servingv1alpha1.CheckFail, msg: []string{`Containers are not hardened: init container "fetch-model": allowPrivilegeEscalation is not false, readOnlyRootFilesystem is not true`}, notMsg: []string{"root (", `container "server"`}},
		{name: "no containers", change: func(in *Inputs) { in.Template.Spec.Containers, in.Template.Spec.InitContainers = nil, nil },
			want: servingv1alpha1.CheckFail},
	})
}

func TestPodImagePinned(t *testing.T) {
	image := func(i int, img string) func(*Inputs) {
		return func(in *Inputs) { in.Template.Spec.Containers[i].Image = img }
	}
	allowed := func(prefixes ...string) func(*Inputs) {
		return func(in *Inputs) { in.MD.Spec.Checklist.AllowedRegistries = prefixes }
	}
	both := func(fs ...func(*Inputs)) func(*Inputs) {
		return func(in *Inputs) {
			for _, f := range fs {
				f(in)
			}
		}
	}
	modelRunTable(t, checkPodImagePinned, podTestInputs, []modelCase{
		{name: "all pinned by digest", want: servingv1alpha1.CheckPass, msg: []string{"All 3 images"}},
		{name: "tag and digest", change: image(0, "registry.example/ml/server:1.4"+podTestDigest), want: servingv1alpha1.CheckPass},
		{name: "tag only", change: image(0, "registry.example/ml/server:1.4"),
			want: servingv1alpha1.CheckFail, msg: []string{`registry.example/ml/server:1.4 (container "server")`}, notMsg: []string{"proxy"},
			fix: []string{"@sha256:", "spec.checklist.allowedRegistries"}},
		{name: "no tag", change: image(1, "nginx"), want: servingv1alpha1.CheckFail, msg: []string{`nginx (container "proxy")`}},
		{name: "short digest", change: image(0, "registry.example/ml/server@sha256:0123456789abcdef"), want: servingv1alpha1.CheckFail},
		{name: "upper-case digest", change: image(0, "registry.example/ml/server"+strings.ToUpper(podTestDigest)), want: servingv1alpha1.CheckFail},
		{name: "other digest algorithm", change: image(0, "registry.example/ml/server@sha512:"+strings.Repeat("a", 128)), want: servingv1alpha1.CheckFail},
		{name: "init container unpinned", change: func(in *Inputs) { in.Template.Spec.InitContainers[0].Image = "busybox:1.36" },
			want: servingv1alpha1.CheckFail, msg: []string{`busybox:1.36 (init container "fetch-model")`}},
		{name: "empty image", change: image(1, ""), want: servingv1alpha1.CheckFail, msg: []string{`container "proxy" has no image`}},
		{name: "allowed registry", change: both(image(0, "registry.example/ml/server:1.4"), allowed("registry.example/ml/")),
			want: servingv1alpha1.CheckPass, msg: []string{"1 from an allowed registry"}},
		{name: "allowed registry without trailing slash", change: both(image(0, "registry.example/ml/server:1.4"), allowed("registry.example")),
			want: servingv1alpha1.CheckPass},
		{name: "allowed prefix does not extend to another host", change: both(image(0, "registry.example.attacker.io/ml/server:1.4"), allowed("registry.example")),
			want: servingv1alpha1.CheckFail, msg: []string{"registry.example.attacker.io"}, fix: []string{"registry.example"}},
		{name: "allowed prefix does not extend to another repository", change: both(image(0, "registry.example/ml-untrusted/server:1.4"), allowed("registry.example/ml")),
			want: servingv1alpha1.CheckFail},
		{name: "other registry not allowed", change: both(image(0, "docker.io/library/python:3.12"), allowed("registry.example/ml/")),
			want: servingv1alpha1.CheckFail, msg: []string{"docker.io/library/python:3.12"}},
		{name: "empty prefix allows nothing", change: both(image(0, "python:3.12"), allowed("")), want: servingv1alpha1.CheckFail},
		{name: "every unpinned image listed", change: both(image(0, "a/server:1"), image(1, "b/proxy:2")),
			want: servingv1alpha1.CheckFail, msg: []string{`a/server:1 (container "server"), b/proxy:2 (container "proxy")`}},
		{name: "no containers", change: func(in *Inputs) { in.Template.Spec.Containers, in.Template.Spec.InitContainers = nil, nil },
			want: servingv1alpha1.CheckFail},
	})
}

func TestPodRedundancy(t *testing.T) {
	spread := func(key string, sel *metav1.LabelSelector) func(*Inputs) {
		return func(in *Inputs) {
			in.Template.Spec.TopologySpreadConstraints = []corev1.TopologySpreadConstraint{{MaxSkew: 1, TopologyKey: key, WhenUnsatisfiable: corev1.DoNotSchedule, LabelSelector: sel}}
		}
	}
	ours := &metav1.LabelSelector{MatchLabels: map[string]string{"app.kubernetes.io/name": "fraud-scorer"}}
	term := func(key string) corev1.PodAffinityTerm {
		return corev1.PodAffinityTerm{TopologyKey: key, LabelSelector: ours}
	}
	antiAffinity := func(aa *corev1.PodAntiAffinity) func(*Inputs) {
		return func(in *Inputs) {
			in.Template.Spec.TopologySpreadConstraints = nil
			in.Template.Spec.Affinity = &corev1.Affinity{PodAntiAffinity: aa}
		}
	}
	modelRunTable(t, checkPodRedundancy, podTestInputs, []modelCase{
		{name: "3 replicas spread across zones", want: servingv1alpha1.CheckPass, msg: []string{"3 replicas", "topology.kubernetes.io/zone"}},
		{name: "spread across nodes", change: spread("kubernetes.io/hostname", ours), want: servingv1alpha1.CheckPass, msg: []string{"kubernetes.io/hostname"}},
		{name: "2 replicas is enough", change: func(in *Inputs) { in.Replicas = 2 }, want: servingv1alpha1.CheckPass},
		{name: "1 replica", change: func(in *Inputs) { in.Replicas = 1 },
			want: servingv1alpha1.CheckFail, msg: []string{"only 1 replica (at least 2 are needed)"}, notMsg: []string{"topologySpreadConstraint"}, fix: []string{"spec.replicas"}},
		{name: "0 replicas", change: func(in *Inputs) { in.Replicas = 0 }, want: servingv1alpha1.CheckFail, msg: []string{"only 0 replicas"}},
		{name: "no spread", change: func(in *Inputs) { in.Template.Spec.TopologySpreadConstraints = nil },
			want: servingv1alpha1.CheckFail, msg: []string{"no topologySpreadConstraint or pod anti-affinity"}, notMsg: []string{"replicas"},
			fix: []string{"topologySpreadConstraints", "app.kubernetes.io/name: fraud-scorer"}},
		{name: "neither replicas nor spread", change: func(in *Inputs) {
			in.Replicas = 1
			in.Template.Spec.TopologySpreadConstraints = nil
		}, want: servingv1alpha1.CheckFail, msg: []string{"only 1 replica", "no topologySpreadConstraint"}, fix: []string{"spec.replicas", "topologySpreadConstraints"}},
		{name: "spread on another key", change: spread("node.kubernetes.io/instance-type", ours), want: servingv1alpha1.CheckFail},
		{name: "spread selecting other pods", change: spread("topology.kubernetes.io/zone", &metav1.LabelSelector{MatchLabels: map[string]string{"app.kubernetes.io/name": "other"}}),
			want: servingv1alpha1.CheckFail, msg: []string{"topologySpreadConstraints[0] on topology.kubernetes.io/zone", "does not match the pod labels"}},
		{name: "spread with an invalid selector", change: spread("topology.kubernetes.io/zone", &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
			{Key: "app.kubernetes.io/name", Operator: "Like", Values: []string{"fraud"}},
		}}), want: servingv1alpha1.CheckFail},
		{name: "spread without selector", change: spread("topology.kubernetes.io/zone", nil), want: servingv1alpha1.CheckFail},
		{name: "spread with an empty selector selects every pod", change: spread("topology.kubernetes.io/zone", &metav1.LabelSelector{}), want: servingv1alpha1.CheckPass},
		{name: "spread by match expressions", change: spread("kubernetes.io/hostname", &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
			{Key: "serving.modelgate.dev/version", Operator: metav1.LabelSelectorOpExists},
		}}), want: servingv1alpha1.CheckPass},
		{name: "required anti-affinity on nodes", change: antiAffinity(&corev1.PodAntiAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{term("kubernetes.io/hostname")},
		}), want: servingv1alpha1.CheckPass, msg: []string{"required pod anti-affinity[0] on kubernetes.io/hostname"}},
		{name: "preferred anti-affinity on zones", change: antiAffinity(&corev1.PodAntiAffinity{
			PreferredDuringSchedulingIgnoredDuringExecution: []corev1.WeightedPodAffinityTerm{{Weight: 100, PodAffinityTerm: term("topology.kubernetes.io/zone")}},
		}), want: servingv1alpha1.CheckPass, msg: []string{"preferred pod anti-affinity[0]"}},
		{name: "anti-affinity on another key", change: antiAffinity(&corev1.PodAntiAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{term("topology.kubernetes.io/region")},
		}), want: servingv1alpha1.CheckFail},
		{name: "pod affinity is not anti-affinity", change: func(in *Inputs) {
			in.Template.Spec.TopologySpreadConstraints = nil
			in.Template.Spec.Affinity = &corev1.Affinity{PodAffinity: &corev1.PodAffinity{
				RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{term("kubernetes.io/hostname")},
			}}
		}, want: servingv1alpha1.CheckFail},
	})
}

func TestPodMonitoring(t *testing.T) {
	noMetricsPort := func(in *Inputs) {
		in.MD.Spec.Service.MetricsPort = nil
		podServer(in).Ports = []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}}
	}
	modelRunTable(t, checkPodMonitoring, podTestInputs, []modelCase{
		{name: "trigger and metrics port", want: servingv1alpha1.CheckPass, msg: []string{"errorRate", "measured on http://prometheus.monitoring:9090", "spec.service.metricsPort 9090"}},
		{name: "triggers no Prometheus measures: a warning", change: func(in *Inputs) { in.MD.Spec.Analysis.Prometheus = nil },
			want: servingv1alpha1.CheckWarn, msg: []string{"but not measured: spec.analysis.prometheus is not set"}, fix: []string{"spec.analysis.prometheus.address"}},
		{name: "container port named metrics", change: func(in *Inputs) { in.MD.Spec.Service.MetricsPort = nil },
			want: servingv1alpha1.CheckPass, msg: []string{`port "metrics" (9090) of container "server"`}},
		{name: "metrics port on a sidecar", change: func(in *Inputs) {
			noMetricsPort(in)
			in.Template.Spec.Containers[1].Ports = []corev1.ContainerPort{{Name: "metrics", ContainerPort: 9102}}
		}, want: servingv1alpha1.CheckPass, msg: []string{`container "proxy"`}},
		{name: "scrape annotation", change: func(in *Inputs) {
			noMetricsPort(in)
			in.Template.Annotations = map[string]string{"prometheus.io/scrape": "true"}
		}, want: servingv1alpha1.CheckPass, msg: []string{"prometheus.io/scrape"}},
		{name: "scrape annotation false", change: func(in *Inputs) {
			noMetricsPort(in)
			in.Template.Annotations = map[string]string{"prometheus.io/scrape": "false"}
		}, want: servingv1alpha1.CheckFail, msg: []string{"no metrics endpoint"}},
		{name: "no metrics endpoint", change: noMetricsPort,
			want: servingv1alpha1.CheckFail, msg: []string{"no metrics endpoint is declared"}, notMsg: []string{"trigger"},
			fix: []string{"spec.service.metricsPort", `"metrics"`, "prometheus.io/scrape"}},
		{name: "latency and accuracy triggers", change: func(in *Inputs) {
			in.MD.Spec.Analysis.Triggers = &servingv1alpha1.TriggersSpec{
				LatencyP95:   &servingv1alpha1.LatencyTrigger{MaxMilliseconds: 300},
				AccuracyDrop: &servingv1alpha1.AccuracyDropTrigger{MaxPercent: "2"},
			}
		}, want: servingv1alpha1.CheckPass, msg: []string{"latencyP95, accuracyDrop"}},
		{name: "empty triggers", change: func(in *Inputs) { in.MD.Spec.Analysis.Triggers = &servingv1alpha1.TriggersSpec{} },
			want: servingv1alpha1.CheckFail, msg: []string{"no rollback trigger is declared in spec.analysis.triggers"}, notMsg: []string{"metrics endpoint"},
			fix: []string{"spec.analysis.triggers", "errorRate"}},
		{name: "custom metrics are not triggers", change: func(in *Inputs) {
			in.MD.Spec.Analysis = &servingv1alpha1.AnalysisSpec{Metrics: []servingv1alpha1.CustomMetric{{Name: "p99", Query: "x"}}}
		}, want: servingv1alpha1.CheckFail, msg: []string{"no rollback trigger"}},
		{name: "no analysis, no metrics", change: func(in *Inputs) {
			noMetricsPort(in)
			in.MD.Spec.Analysis = nil
		}, want: servingv1alpha1.CheckFail, msg: []string{"no rollback trigger", "no metrics endpoint"}, fix: []string{"spec.analysis.triggers", "spec.service.metricsPort"}},
	})
}
