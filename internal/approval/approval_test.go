package approval

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
)

var t0 = time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)

func md() *servingv1alpha1.ModelDeployment {
	m := &servingv1alpha1.ModelDeployment{ObjectMeta: metav1.ObjectMeta{Name: "fraud-scorer", Namespace: "risk", UID: "uid-1"}}
	m.Spec.Model = servingv1alpha1.ModelSpec{Name: "fraud", Version: "2.4.0", URI: "s3://models/fraud/2.4.0"}
	m.Spec.Template.Spec.Containers = []corev1.Container{{Name: "server", Image: "registry.example/fraud:2.4.0"}}
	m.Spec.Approvals = &servingv1alpha1.ApprovalsSpec{Required: []servingv1alpha1.RequiredApproval{
		{Role: "security", Groups: []string{"sec-team"}},
		{Role: "product-owner", Groups: []string{"po", "leads"}},
	}}
	m.Spec.Checklist.Attestations = []servingv1alpha1.Attestation{{ID: "security-scan", Section: "Vulnerability Assessment", Role: "security"}}
	return m
}

func approval(name, version, role, user string, minutes int, groups ...string) servingv1alpha1.ModelApproval {
	return servingv1alpha1.ModelApproval{
		ObjectMeta: metav1.ObjectMeta{Name: name, CreationTimestamp: metav1.NewTime(t0.Add(time.Duration(minutes) * time.Minute))},
		Spec: servingv1alpha1.ModelApprovalSpec{ModelDeployment: "fraud-scorer", Version: version, Role: role,
			Approver:           &servingv1alpha1.Approver{Username: user, Groups: groups, ApprovedAt: metav1.NewTime(t0.Add(time.Duration(minutes) * time.Minute))},
			ModelDeploymentUID: "uid-1", Digest: Digest(md())},
	}
}

// of is an approval stamped from another spec or object than md().
func of(a servingv1alpha1.ModelApproval, change func(*servingv1alpha1.ModelDeployment)) servingv1alpha1.ModelApproval {
	m := md()
	change(m)
	a.Spec.ModelDeploymentUID, a.Spec.Digest = string(m.UID), Digest(m)
	return a
}

func attest(name, version, item, role, user string, groups ...string) servingv1alpha1.ModelApproval {
	a := approval(name, version, role, user, 0, groups...)
	a.Spec.Item = item
	return a
}

func TestJudge(t *testing.T) {
	tests := []struct {
		name      string
		approvals []servingv1alpha1.ModelApproval
		approvers []string
		missing   []string
		ignored   []string
		attested  []string
	}{
		{name: "nothing given", missing: []string{"security", "product-owner"}},
		{
			name:      "both roles from allowed groups",
			approvals: []servingv1alpha1.ModelApproval{approval("a1", "2.4.0", "security", "alice", 1, "sec-team"), approval("a2", "2.4.0", "product-owner", "bob", 2, "leads")},
			approvers: []string{"security=alice", "product-owner=bob"},
		},
		{
			name:      "an approval of 2.3.0 does not count for 2.4.0",
			approvals: []servingv1alpha1.ModelApproval{approval("old", "2.3.0", "security", "alice", 1, "sec-team")},
			missing:   []string{"security", "product-owner"},
		},
		{
			name:      "a group not allowed for the role is ignored, saying why",
			approvals: []servingv1alpha1.ModelApproval{approval("a1", "2.4.0", "security", "mallory", 1, "dev", "po")},
			missing:   []string{"security", "product-owner"},
			ignored:   []string{"a1 by mallory is for role security, but mallory is in none of its groups (sec-team)"},
		},
		{
			name:      "a role the spec does not require",
			approvals: []servingv1alpha1.ModelApproval{approval("a1", "2.4.0", "legal", "carol", 1, "legal")},
			missing:   []string{"security", "product-owner"},
			ignored:   []string{"a1 by carol is for role legal, which spec.approvals does not require"},
		},
		{
			name:      "two approvals of a role: the first counts",
			approvals: []servingv1alpha1.ModelApproval{approval("later", "2.4.0", "security", "dave", 5, "sec-team"), approval("first", "2.4.0", "security", "alice", 1, "sec-team")},
			approvers: []string{"security=alice"},
			missing:   []string{"product-owner"},
		},
		{
			name:      "an approval without a stamped approver never counts",
			approvals: []servingv1alpha1.ModelApproval{{ObjectMeta: metav1.ObjectMeta{Name: "forged"}, Spec: servingv1alpha1.ModelApprovalSpec{ModelDeployment: "fraud-scorer", Version: "2.4.0", Role: "security"}}},
			missing:   []string{"security", "product-owner"},
			ignored:   []string{"forged carries no approver stamped at admission (is modelgate's webhook installed?)"},
		},
		{
			name: "an approval of 2.4.0 with another image does not count for 2.4.0 now",
			approvals: []servingv1alpha1.ModelApproval{
				of(approval("old-image", "2.4.0", "security", "alice", 1, "sec-team"), func(m *servingv1alpha1.ModelDeployment) {
					m.Spec.Template.Spec.Containers[0].Image = "registry.example/fraud:2.4.0-old"
				}),
				approval("a2", "2.4.0", "product-owner", "bob", 2, "leads"),
			},
			approvers: []string{"product-owner=bob"},
			missing:   []string{"security"},
			ignored:   []string{"old-image approved " + short(Digest(withImage("registry.example/fraud:2.4.0-old"))) + ", but the model, its template or the config it reads changed since (now " + short(Digest(md())) + "): approve again"},
		},
		{
			name: "an approval of 2.4.0 with another URI does not count",
			approvals: []servingv1alpha1.ModelApproval{of(approval("old-uri", "2.4.0", "security", "alice", 1, "sec-team"), func(m *servingv1alpha1.ModelDeployment) {
				m.Spec.Model.URI = "s3://models/fraud/2.4.0-retrained"
			})},
			missing: []string{"security", "product-owner"},
			ignored: []string{"old-uri approved " + short(Digest(withURI("s3://models/fraud/2.4.0-retrained"))) + ", but the model, its template or the config it reads changed since (now " + short(Digest(md())) + "): approve again"},
		},
		{
			name: "an approval of an earlier ModelDeployment of the same name does not count",
			approvals: []servingv1alpha1.ModelApproval{of(approval("before", "2.4.0", "security", "alice", 1, "sec-team"), func(m *servingv1alpha1.ModelDeployment) {
				m.UID = "uid-0"
			})},
			missing: []string{"security", "product-owner"},
			ignored: []string{"before was given for an earlier ModelDeployment named fraud-scorer (uid uid-0)"},
		},
		{
			name: "an approval without a stamped digest does not count",
			approvals: []servingv1alpha1.ModelApproval{of(approval("undigested", "2.4.0", "security", "alice", 1, "sec-team"), func(m *servingv1alpha1.ModelDeployment) {
				m.UID = ""
			})},
			missing: []string{"security", "product-owner"},
			ignored: []string{"undigested carries no digest of what it approves (was fraud-scorer created before the ModelApproval, and is modelgate's webhook installed?)"},
		},
		{
			name:      "an attestation ticks its item, not the role's sign-off",
			approvals: []servingv1alpha1.ModelApproval{attest("scan", "2.4.0", "security-scan", "security", "alice", "sec-team")},
			missing:   []string{"security", "product-owner"},
			attested:  []string{"security-scan"},
		},
		{
			name:      "an attestation by the wrong role",
			approvals: []servingv1alpha1.ModelApproval{attest("scan", "2.4.0", "security-scan", "product-owner", "bob", "po")},
			missing:   []string{"security", "product-owner"},
			ignored:   []string{`scan by bob attests item "security-scan" as product-owner, but the item is attested by role security`},
		},
		{
			name:      "an attestation of an undeclared item",
			approvals: []servingv1alpha1.ModelApproval{attest("x", "2.4.0", "legal-review", "security", "alice", "sec-team")},
			missing:   []string{"security", "product-owner"},
			ignored:   []string{`x by alice attests item "legal-review", which spec.checklist.attestations does not declare`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			res := Judge(md(), "2.4.0", tt.approvals)
			g.Expect(res.Required).To(BeTrue())
			g.Expect(res.Approvers()).To(Equal(append([]string{}, tt.approvers...)))
			g.Expect(res.Missing).To(Equal(tt.missing))
			g.Expect(res.Approved()).To(Equal(len(tt.missing) == 0))
			g.Expect(res.Ignored).To(Equal(tt.ignored))
			var attested []string
			for id := range res.Attested {
				attested = append(attested, id)
			}
			g.Expect(attested).To(Equal(tt.attested))
		})
	}
}

func withImage(image string) *servingv1alpha1.ModelDeployment {
	m := md()
	m.Spec.Template.Spec.Containers[0].Image = image
	return m
}

func withURI(uri string) *servingv1alpha1.ModelDeployment {
	m := md()
	m.Spec.Model.URI = uri
	return m
}

func TestDigest(t *testing.T) {
	g := NewWithT(t)
	g.Expect(Digest(md())).To(Equal(Digest(md())))
	g.Expect(Digest(md())).To(HavePrefix("sha256:"))
	for name, m := range map[string]*servingv1alpha1.ModelDeployment{
		"image": withImage("registry.example/fraud:evil"), "uri": withURI("s3://elsewhere"),
	} {
		g.Expect(Digest(m)).NotTo(Equal(Digest(md())), name)
	}
	scaled := md()
	scaled.Spec.Replicas = ptr.To[int32](9)
	g.Expect(Digest(scaled)).To(Equal(Digest(md())), "the size is not what was approved")
	g.Expect(Digest(md(), []string{}...)).To(Equal(Digest(md())), "no config copies: the digest of before config rollouts")
	withConfig := Digest(md(), "ConfigMap/thresholds-0a1b2c3d")
	g.Expect(withConfig).NotTo(Equal(Digest(md())))
	g.Expect(Digest(md(), "ConfigMap/thresholds-ffffffff")).NotTo(Equal(withConfig), "new config data is not what was approved")
}

func TestJudgeBindsToConfig(t *testing.T) {
	g := NewWithT(t)
	m := md()
	a := approval("a1", "2.4.0", "security", "alice", 1, "sec-team")
	a.Spec.ModelDeploymentUID, a.Spec.Digest = string(m.UID), Digest(m, "ConfigMap/thresholds-0a1b2c3d")
	g.Expect(Judge(m, "2.4.0", []servingv1alpha1.ModelApproval{a}, "ConfigMap/thresholds-0a1b2c3d").Given).To(HaveLen(1))
	res := Judge(m, "2.4.0", []servingv1alpha1.ModelApproval{a}, "ConfigMap/thresholds-ffffffff")
	g.Expect(res.Given).To(BeEmpty())
	g.Expect(res.Ignored).To(ConsistOf(ContainSubstring("the config it reads changed since")))
}

func TestGivenCarriesDigest(t *testing.T) {
	g := NewWithT(t)
	res := Judge(md(), "2.4.0", []servingv1alpha1.ModelApproval{approval("a1", "2.4.0", "security", "alice", 1, "sec-team")})
	g.Expect(res.Given).To(HaveLen(1))
	g.Expect(res.Given[0].Digest).To(Equal(Digest(md())))
}

func TestMessage(t *testing.T) {
	g := NewWithT(t)
	res := Judge(md(), "2.4.0", []servingv1alpha1.ModelApproval{approval("a1", "2.4.0", "security", "alice", 1, "sec-team"), approval("a2", "2.4.0", "product-owner", "eve", 2, "dev")})
	g.Expect(res.Message("2.4.0")).To(Equal("Version 2.4.0 waits for the approval of product-owner (create a ModelApproval for version 2.4.0 with that role); " +
		"not counted: a2 by eve is for role product-owner, but eve is in none of its groups (po, leads)"))
	none := &servingv1alpha1.ModelDeployment{}
	g.Expect(Judge(none, "1.0.0", nil).Required).To(BeFalse())
	g.Expect(Judge(none, "1.0.0", nil).Approved()).To(BeTrue())
}

func TestWithoutSelfApprovals(t *testing.T) {
	alice := approval("a1", "2.4.0", "security", "alice", 1, "sec-team")
	bob := approval("a2", "2.4.0", "product-owner", "bob", 2, "leads")
	aliceItem := attest("a3", "2.4.0", "security-scan", "security", "alice", "sec-team")
	unstamped := servingv1alpha1.ModelApproval{ObjectMeta: metav1.ObjectMeta{Name: "a4"}}
	all := []servingv1alpha1.ModelApproval{alice, bob, aliceItem, unstamped}
	tests := []struct {
		name      string
		changedBy string
		policy    string
		kept      []string
		ignored   []string
	}{
		{name: "no policy requires it: every approval stays", changedBy: "alice", kept: []string{"a1", "a2", "a3", "a4"}},
		{name: "nobody recorded as the author: every approval stays", policy: "prod", kept: []string{"a1", "a2", "a3", "a4"}},
		{
			name: "the author's approvals, of roles and items, do not count", changedBy: "alice", policy: "prod",
			kept: []string{"a2", "a4"},
			ignored: []string{
				"a1 by alice does not count: alice last changed the model or its template, and policy prod requires an approval by someone else (separation of duties)",
				"a3 by alice does not count: alice last changed the model or its template, and policy prod requires an approval by someone else (separation of duties)",
			},
		},
		{name: "an author who approved nothing drops nothing", changedBy: "carol", policy: "prod", kept: []string{"a1", "a2", "a3", "a4"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			kept, ignored := WithoutSelfApprovals(all, tt.changedBy, tt.policy)
			var names []string
			for _, k := range kept {
				names = append(names, k.Name)
			}
			g.Expect(names).To(Equal(tt.kept))
			g.Expect(ignored).To(Equal(tt.ignored))
		})
	}

	t.Run("the second user's approval counts where the author's does not", func(t *testing.T) {
		g := NewWithT(t)
		m := md()
		m.Spec.Approvals.Required = m.Spec.Approvals.Required[:1] // security only
		kept, ignored := WithoutSelfApprovals([]servingv1alpha1.ModelApproval{alice}, "alice", "prod")
		res := Judge(m, "2.4.0", kept)
		g.Expect(res.Approved()).To(BeFalse())
		g.Expect(ignored).To(HaveLen(1))
		carol := approval("a5", "2.4.0", "security", "carol", 3, "sec-team")
		kept, _ = WithoutSelfApprovals([]servingv1alpha1.ModelApproval{alice, carol}, "alice", "prod")
		g.Expect(Judge(m, "2.4.0", kept).Approvers()).To(Equal([]string{"security=carol"}))
	})
}
