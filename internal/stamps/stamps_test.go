package stamps

import (
	"bytes"
	"errors"
	"io"
	"os"
	"testing"

	. "github.com/onsi/gomega"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/utils/ptr"
)

// deployed is the MutatingWebhookConfiguration config/ deploys.
func deployed(t *testing.T) admissionregistrationv1.MutatingWebhookConfiguration {
	t.Helper()
	raw, err := os.ReadFile("../../config/webhook/manifests.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewYAMLOrJSONDecoder(bytes.NewReader(raw), 4096)
	for {
		var c admissionregistrationv1.MutatingWebhookConfiguration
		err := dec.Decode(&c)
		if errors.Is(err, io.EOF) {
			t.Fatal("config/webhook/manifests.yaml holds no MutatingWebhookConfiguration")
		}
		if err != nil {
			t.Fatal(err)
		}
		if c.Kind == "MutatingWebhookConfiguration" {
			return c
		}
	}
}

func TestJudge(t *testing.T) {
	base := deployed(t)
	with := func(mut func(*admissionregistrationv1.MutatingWebhookConfiguration)) []admissionregistrationv1.MutatingWebhookConfiguration {
		c := *base.DeepCopy()
		mut(&c)
		return []admissionregistrationv1.MutatingWebhookConfiguration{c}
	}
	tests := []struct {
		name    string
		configs []admissionregistrationv1.MutatingWebhookConfiguration
		want    string
	}{
		{name: "as config/ deploys it", configs: with(func(*admissionregistrationv1.MutatingWebhookConfiguration) {})},
		{name: "served by URL, as hack/local-webhooks does", configs: with(func(c *admissionregistrationv1.MutatingWebhookConfiguration) {
			for i := range c.Webhooks {
				c.Webhooks[i].ClientConfig = admissionregistrationv1.WebhookClientConfig{URL: ptr.To("https://127.0.0.1:9443" + *c.Webhooks[i].ClientConfig.Service.Path)}
			}
		})},
		{name: "served by URL, as envtest writes it (two slashes)", configs: with(func(c *admissionregistrationv1.MutatingWebhookConfiguration) {
			for i := range c.Webhooks {
				c.Webhooks[i].ClientConfig = admissionregistrationv1.WebhookClientConfig{URL: ptr.To("https://127.0.0.1:9443/" + *c.Webhooks[i].ClientConfig.Service.Path)}
			}
		})},
		{name: "none: make run, --enable-webhooks=false", want: "no MutatingWebhookConfiguration sends every CREATE of modelapprovals"},
		{name: "the ModelDeployment stamper missing", configs: with(func(c *admissionregistrationv1.MutatingWebhookConfiguration) {
			c.Webhooks = c.Webhooks[:1]
		}), want: "every CREATE and UPDATE of modeldeployments"},
		{name: "failing open", configs: with(func(c *admissionregistrationv1.MutatingWebhookConfiguration) {
			c.Webhooks[0].FailurePolicy = ptr.To(admissionregistrationv1.Ignore)
		}), want: "modelapprovals"},
		{name: "a namespace selector", configs: with(func(c *admissionregistrationv1.MutatingWebhookConfiguration) {
			c.Webhooks[1].NamespaceSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"webhooks": "on"}}
		}), want: "modeldeployments"},
		{name: "updates left out", configs: with(func(c *admissionregistrationv1.MutatingWebhookConfiguration) {
			c.Webhooks[1].Rules[0].Operations = []admissionregistrationv1.OperationType{admissionregistrationv1.Create}
		}), want: "modeldeployments"},
		{name: "another path", configs: with(func(c *admissionregistrationv1.MutatingWebhookConfiguration) {
			c.Webhooks[0].ClientConfig.Service.Path = ptr.To("/elsewhere")
		}), want: "modelapprovals"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			got := Judge(tt.configs)
			if tt.want == "" {
				g.Expect(got).To(BeEmpty())
				return
			}
			g.Expect(got).To(ContainSubstring(tt.want))
		})
	}
}
