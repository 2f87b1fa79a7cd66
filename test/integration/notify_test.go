package integration

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
)

// receiver records the JSON documents a webhook receiver is sent.
type receiver struct {
	mu   sync.Mutex
	docs []map[string]any
	srv  *httptest.Server
}

func newReceiver() *receiver {
	r := &receiver{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		var doc map[string]any
		_ = json.Unmarshal(b, &doc)
		r.mu.Lock()
		r.docs = append(r.docs, doc)
		r.mu.Unlock()
	}))
	DeferCleanup(r.srv.Close)
	return r
}

// types are the "type" of every document received, in order.
func (r *receiver) types() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, d := range r.docs {
		t, _ := d["type"].(string)
		out = append(out, t)
	}
	return out
}

func (r *receiver) last() map[string]any {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.docs[len(r.docs)-1]
}

var _ = Describe("Notifications", func() {
	It("tells a webhook about promotions and rollbacks, while a receiver that hangs delays nothing and one that is down shows in a condition", func() {
		ns := newNamespace()
		ok := newReceiver()
		hang := make(chan struct{})
		hanging := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-hang:
			case <-r.Context().Done():
			}
		}))
		DeferCleanup(func() { close(hang); hanging.Close() })
		down := httptest.NewServer(http.NotFoundHandler())
		downURL := down.URL
		down.Close()
		Expect(k8sClient.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "hooks",
			Labels: map[string]string{servingv1alpha1.LabelManagerReadable: "true"}},
			StringData: map[string]string{"ok": ok.srv.URL + "/hooks/T0/secret", "slow": hanging.URL, "down": downURL}})).To(Succeed())
		hook := func(key string) *servingv1alpha1.WebhookReceiver {
			return &servingv1alpha1.WebhookReceiver{URLSecretRef: servingv1alpha1.SecretKeyReference{Name: "hooks", Key: key}}
		}

		md := newModelDeployment(ns, "1.0.0", 2)
		md.Spec.Strategy = servingv1alpha1.StrategySpec{Type: servingv1alpha1.StrategyCanary, Canary: &servingv1alpha1.CanaryStrategy{
			Steps: []servingv1alpha1.CanaryStep{{Weight: 50, Pause: &servingv1alpha1.Pause{}}},
		}}
		md.Spec.Notifications = []servingv1alpha1.Notification{
			{Name: "platform", Webhook: hook("ok")}, {Name: "chat", Slack: hook("slow")}, {Name: "pager", Webhook: hook("down")},
		}
		Expect(k8sClient.Create(ctx, md)).To(Succeed())
		key := objectKey(md)
		playDeploymentController(deploymentOf(ns, md.Name, "1.0.0"))
		Eventually(ok.types).Should(ContainElement("Promoted"))
		Expect(ok.last()["version"]).To(Equal("1.0.0"))

		By("rolling back at once, the hanging receiver notwithstanding")
		updateMD(key, func(cur *servingv1alpha1.ModelDeployment) { cur.Spec.Model.Version = "1.1.0" })
		candidate := deploymentOf(ns, md.Name, "1.1.0")
		Eventually(replicasOf(candidate)).Should(BeEquivalentTo(1))
		playDeploymentController(candidate)
		Eventually(readyReason(key)).Should(Equal("WaitingForPromote"))
		start := time.Now()
		updateMD(key, func(cur *servingv1alpha1.ModelDeployment) {
			metav1.SetMetaDataAnnotation(&cur.ObjectMeta, servingv1alpha1.AnnotationAbort, "latency on the dashboard")
		})
		Eventually(func() servingv1alpha1.Phase { return getMD(key).Status.Phase }).Should(Equal(servingv1alpha1.PhaseRolledBack))
		Expect(time.Since(start)).To(BeNumerically("<", 5*time.Second), "the rollback does not wait for any receiver")
		Eventually(ok.types).Should(ContainElement("RolledBack"))
		doc := ok.last()
		Expect(doc["reason"]).To(Equal("Aborted"))
		Expect(doc["version"]).To(Equal("1.1.0"))

		By("showing the receiver that is down in a condition, its URL redacted")
		updateMD(key, func(cur *servingv1alpha1.ModelDeployment) { cur.Spec.Model.Version = "1.0.0" }) // any change reconciles
		Eventually(condition(key, servingv1alpha1.ConditionNotified)).Should(HavePrefix("False/DeliveryFailing: notifications failing: pager since"))
		Expect(condition(key, servingv1alpha1.ConditionNotified)()).NotTo(ContainSubstring("/hooks/T0/secret"))
	})

	It("shows a failing receiver by its status code alone, never what it answered", func() {
		ns := newNamespace()
		const said = "upstream 10.0.3.7:6379 said: NOAUTH internal-redis"
		refusing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, said, http.StatusForbidden)
		}))
		DeferCleanup(refusing.Close)
		Expect(k8sClient.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "hooks",
			Labels: map[string]string{servingv1alpha1.LabelManagerReadable: "true"}},
			StringData: map[string]string{"audit": refusing.URL + "/hook"}})).To(Succeed())
		md := newModelDeployment(ns, "1.0.0", 1)
		md.Spec.Notifications = []servingv1alpha1.Notification{{Name: "audit", Webhook: &servingv1alpha1.WebhookReceiver{
			URLSecretRef: servingv1alpha1.SecretKeyReference{Name: "hooks", Key: "audit"}}}}
		Expect(k8sClient.Create(ctx, md)).To(Succeed())
		key := objectKey(md)
		playDeploymentController(deploymentOf(ns, md.Name, "1.0.0"))
		Eventually(func() servingv1alpha1.Phase { return getMD(key).Status.Phase }).Should(Equal(servingv1alpha1.PhaseSucceeded))
		updateMD(key, func(cur *servingv1alpha1.ModelDeployment) { cur.Spec.Replicas = ptr.To[int32](2) }) // any change reconciles
		Eventually(condition(key, servingv1alpha1.ConditionNotified)).Should(And(
			HavePrefix("False/DeliveryFailing: notifications failing: audit since"), HaveSuffix("HTTP 403 Forbidden")))
		Expect(condition(key, servingv1alpha1.ConditionNotified)()).NotTo(Or(ContainSubstring("NOAUTH"), ContainSubstring("10.0.3.7")))
	})
})
