package controller

import (
	"testing"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
	"github.com/modelgate/modelgate/internal/checklist"
	"github.com/modelgate/modelgate/internal/rollout"
)

// The checklist in status is judged against what the decision leaves, so a
// promotion or a retired Deployment is told in the decision's own status write.
func TestJudgeWhatTheDecisionLeaves(t *testing.T) {
	deployment := func(name string) appsv1.Deployment {
		return appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: name}}
	}
	tests := []struct {
		name     string
		decision rollout.Decision
		// rejudged: the checklist was judged again; semver and deployments
		// are then what it read.
		rejudged    bool
		semver      string
		deployments []string
	}{
		{
			name:     "a decision that changes neither the stable version nor the Deployments keeps the judgement",
			decision: rollout.Decision{Stable: &servingv1alpha1.VersionStatus{Version: "1.0.0"}},
		},
		{
			name:     "a promotion judges the version against itself as stable",
			decision: rollout.Decision{Stable: &servingv1alpha1.VersionStatus{Version: "2.0.0"}},
			rejudged: true, semver: "Version 2.0.0 is a semantic version equal to the stable version 2.0.0",
			deployments: []string{"fraud-scorer-v1-0-0", "fraud-scorer-v2-0-0"},
		},
		{
			name: "a Deployment the decision deletes no longer counts",
			decision: rollout.Decision{Stable: &servingv1alpha1.VersionStatus{Version: "1.0.0"},
				Delete: []string{"fraud-scorer-v1-0-0"}},
			rejudged: true, semver: "Version 2.0.0 is a semantic version above the stable version 1.0.0",
			deployments: []string{"fraud-scorer-v2-0-0"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			md := newMD(func(md *servingv1alpha1.ModelDeployment) {
				md.Spec.Model.Version = "2.0.0"
				md.Status.Stable = &servingv1alpha1.VersionStatus{Version: "1.0.0"}
			})
			in, err := checklist.NewInputs(md)
			g.Expect(err).NotTo(HaveOccurred())
			in.Deployments = []appsv1.Deployment{deployment("fraud-scorer-v1-0-0"), deployment("fraud-scorer-v2-0-0")}
			s := &scope{md: md, checklistInputs: in, decision: tt.decision}
			judgeChecklist(s)
			before := s.checklist.Status.DeepCopy()
			judgeWhatTheDecisionLeaves(s)
			if !tt.rejudged {
				g.Expect(&s.checklist.Status).To(Equal(before))
				return
			}
			g.Expect(checklistItem(s.checklist.Status, "model-version-semver").Message).To(Equal(tt.semver))
			var names []string
			for _, d := range s.checklistInputs.Deployments {
				names = append(names, d.Name)
			}
			g.Expect(names).To(Equal(tt.deployments))
		})
	}
}

func checklistItem(st servingv1alpha1.ChecklistStatus, id string) servingv1alpha1.ChecklistItemStatus {
	for _, it := range st.Items {
		if it.ID == id {
			return it
		}
	}
	return servingv1alpha1.ChecklistItemStatus{}
}

// A Deployment's rollout state, as kstatus reads it; a write its controller
// has not seen yet says nothing more than the counts.
func TestObserve(t *testing.T) {
	dep := func(generation, observed int64, available int32) *appsv1.Deployment {
		d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "scorer-v2", Generation: generation}}
		d.Spec.Replicas = ptr.To[int32](4)
		d.Status = appsv1.DeploymentStatus{ObservedGeneration: observed, Replicas: available, UpdatedReplicas: available,
			ReadyReplicas: available, AvailableReplicas: available}
		if available == 4 {
			d.Status.Conditions = []appsv1.DeploymentCondition{{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue}}
		}
		return d
	}
	tests := []struct {
		name    string
		dep     *appsv1.Deployment
		health  rollout.Health
		message string
	}{
		{name: "all pods available", dep: dep(2, 2, 4), health: rollout.HealthCurrent, message: "Deployment is available. Replicas: 4"},
		{name: "pods starting", dep: dep(2, 2, 2), health: rollout.HealthInProgress, message: "Replicas: 2/4"},
		{name: "a resize its controller has not seen", dep: dep(2, 1, 2), health: rollout.HealthInProgress},
		{name: "a new Deployment without status", dep: dep(1, 0, 0), health: rollout.HealthInProgress, message: "Replicas: 0/4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			obs, err := observe(tt.dep)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(obs.Health).To(Equal(tt.health))
			g.Expect(obs.Message).To(Equal(tt.message))
			g.Expect(obs.AvailableReplicas).To(Equal(tt.dep.Status.AvailableReplicas))
		})
	}
}
