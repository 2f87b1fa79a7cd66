package desiredstate

import (
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
)

func TestTemplateDrift(t *testing.T) {
	md := newMD(func(md *servingv1alpha1.ModelDeployment) {
		c := &md.Spec.Template.Spec.Containers[0]
		c.Ports = []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}}
		c.Resources = corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m"), corev1.ResourceMemory: resource.MustParse("1Gi")},
			Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("1Gi")},
		}
		c.ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Port: intstr.FromString("http")}}}
		c.VolumeMounts = []corev1.VolumeMount{{Name: "features", MountPath: "/etc/features"}}
		md.Spec.Template.Spec.Volumes = []corev1.Volume{{Name: "features", VolumeSource: corev1.VolumeSource{
			ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "features"}},
		}}}
	})
	want := mustTemplate(t, md, "2.3.0")
	// defaulted is want as the API server keeps it: its defaults filled in.
	defaulted := func() *corev1.PodTemplateSpec {
		d := served(newDeployment(md, "2.3.0", want, 3)).Spec.Template
		c := &d.Spec.Containers[0]
		c.Ports[0].Protocol = corev1.ProtocolTCP
		p := c.ReadinessProbe
		p.TimeoutSeconds, p.PeriodSeconds, p.SuccessThreshold, p.FailureThreshold = 1, 10, 1, 3
		p.HTTPGet.Path, p.HTTPGet.Scheme = "/", corev1.URISchemeHTTP
		d.Spec.Volumes[0].ConfigMap.DefaultMode = ptr.To[int32](0o644)
		return &d
	}

	tests := []struct {
		name string
		edit func(*corev1.PodTemplateSpec)
		want string
	}{
		{name: "the API server's defaults are no drift", edit: func(*corev1.PodTemplateSpec) {}},
		{name: "a quantity written another way is the same quantity", edit: func(d *corev1.PodTemplateSpec) {
			d.Spec.Containers[0].Resources.Requests[corev1.ResourceCPU] = resource.MustParse("0.5")
		}},
		{name: "a restart's mark on the template is left alone", edit: func(d *corev1.PodTemplateSpec) {
			d.Annotations = map[string]string{"kubectl.kubernetes.io/restartedAt": "2026-12-04T10:00:00Z"}
		}},
		{name: "kubectl set image", want: "spec.containers[server].image", edit: func(d *corev1.PodTemplateSpec) {
			d.Spec.Containers[0].Image = "registry.example/ml/server:9.9"
		}},
		{name: "an env variable changed", want: "spec.containers[server].env[LOG_LEVEL].value", edit: func(d *corev1.PodTemplateSpec) {
			d.Spec.Containers[0].Env[0].Value = "debug"
		}},
		{name: "an env variable added (kubectl set env)", want: "spec.containers[server].env", edit: func(d *corev1.PodTemplateSpec) {
			d.Spec.Containers[0].Env = append(d.Spec.Containers[0].Env, corev1.EnvVar{Name: "DEBUG", Value: "1"})
		}},
		{name: "modelgate's environment removed", want: "spec.containers[server].env", edit: func(d *corev1.PodTemplateSpec) {
			d.Spec.Containers[0].Env = d.Spec.Containers[0].Env[:1]
		}},
		{name: "a container added", want: "spec.containers", edit: func(d *corev1.PodTemplateSpec) {
			d.Spec.Containers = append(d.Spec.Containers, corev1.Container{Name: "debug", Image: "busybox"})
		}},
		{name: "a limit added", want: "spec.containers[server].resources.limits", edit: func(d *corev1.PodTemplateSpec) {
			d.Spec.Containers[0].Resources.Limits[corev1.ResourceCPU] = resource.MustParse("2")
		}},
		{name: "a request changed", want: "spec.containers[server].resources.requests.cpu", edit: func(d *corev1.PodTemplateSpec) {
			d.Spec.Containers[0].Resources.Requests[corev1.ResourceCPU] = resource.MustParse("4")
		}},
		{name: "a node selector added", want: "spec.nodeSelector", edit: func(d *corev1.PodTemplateSpec) {
			d.Spec.NodeSelector = map[string]string{"pool": "spot"}
		}},
		{name: "the probe taken out", want: "spec.containers[server].readinessProbe", edit: func(d *corev1.PodTemplateSpec) {
			d.Spec.Containers[0].ReadinessProbe = nil
		}},
		{name: "a volume pointed elsewhere", want: "spec.volumes[features].configMap.name", edit: func(d *corev1.PodTemplateSpec) {
			d.Spec.Volumes[0].ConfigMap.Name = "other"
		}},
		{name: "the version label changed, so the Services lose the pods", want: "metadata.labels." + LabelVersion, edit: func(d *corev1.PodTemplateSpec) {
			d.Labels[LabelVersion] = "9.9.9"
		}},
		{name: "a field modelgate leaves unset cannot be told from a default", edit: func(d *corev1.PodTemplateSpec) {
			d.Spec.HostNetwork = true
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			have := defaulted()
			tt.edit(have)
			NewWithT(t).Expect(TemplateDrift(&want, have)).To(Equal(tt.want))
		})
	}
}
