package desiredstate

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
	"github.com/modelgate/modelgate/internal/configrollout"
)

// AnnotationPromoted marks the ControllerRevision of a revision that served
// as the stable version: the semver check lets a spec go back to its version.
const AnnotationPromoted = "serving.modelgate.dev/promoted"

// DefaultRevisionHistoryLimit is how many ControllerRevisions are kept
// without spec.revisionHistoryLimit, beside those of the revisions that run.
const DefaultRevisionHistoryLimit = 10

// RevisionData is what a ControllerRevision keeps of one revision: enough to
// write its Deployment again after the spec moved on.
type RevisionData struct {
	Version      string                 `json:"version"`
	URI          string                 `json:"uri"`
	TemplateHash string                 `json:"templateHash"`
	Template     corev1.PodTemplateSpec `json:"template"`
	// Copies are the config copies the template reads, checked and made
	// again while the revision is in use (none for a revision kept before
	// modelgate recorded them).
	Copies []configrollout.Record `json:"copies,omitempty"`
}

// NewRevisionData is the revision the spec asks for, from its pod template
// (PodTemplate) and that template's hash.
func NewRevisionData(md *servingv1alpha1.ModelDeployment, tpl corev1.PodTemplateSpec, hash string) RevisionData {
	return RevisionData{Version: md.Spec.Model.Version, URI: md.Spec.Model.URI, TemplateHash: hash, Template: tpl}
}

// RevisionDataOf is the revision a Deployment runs, read from the
// Deployment itself: for one that modelgate wrote before it kept revisions,
// so that it can be written again too. Its template is the one the API
// server holds (with its defaults), its URI the MODEL_URI modelgate gave the
// serving container.
func RevisionDataOf(dep *appsv1.Deployment, servingContainer string) RevisionData {
	tpl := *dep.Spec.Template.DeepCopy()
	var uri string
	if i := ServingContainerIndex(&tpl.Spec, servingContainer); i >= 0 {
		for _, e := range tpl.Spec.Containers[i].Env {
			if e.Name == EnvModelURI {
				uri = e.Value
			}
		}
	}
	return RevisionData{
		Version: dep.Annotations[AnnotationModelVersion], URI: uri,
		TemplateHash: dep.Annotations[AnnotationTemplateHash], Template: tpl,
	}
}

// ControllerRevision keeps a revision under the name of its Deployment, as
// StatefulSets and DaemonSets keep theirs: number orders the revisions, the
// newest highest.
func ControllerRevision(md *servingv1alpha1.ModelDeployment, deployment string, number int64, data RevisionData) (*appsv1.ControllerRevision, error) {
	raw, err := json.Marshal(data)
	if err != nil {
		return nil, fmt.Errorf("encoding revision %s: %w", deployment, err)
	}
	return &appsv1.ControllerRevision{
		ObjectMeta: metav1.ObjectMeta{Name: deployment, Namespace: md.Namespace, Labels: SelectorLabels(md),
			Annotations: map[string]string{AnnotationModelVersion: data.Version, AnnotationTemplateHash: data.TemplateHash}},
		Data:     runtime.RawExtension{Raw: raw},
		Revision: number,
	}, nil
}

// ReadRevision is the revision a ControllerRevision keeps.
func ReadRevision(cr *appsv1.ControllerRevision) (RevisionData, error) {
	var data RevisionData
	if err := json.Unmarshal(cr.Data.Raw, &data); err != nil {
		return data, fmt.Errorf("reading ControllerRevision %s: %w", cr.Name, err)
	}
	return data, nil
}

// RevisionHistoryLimit is how many revisions that do not run are kept.
func RevisionHistoryLimit(md *servingv1alpha1.ModelDeployment) int {
	return int(ptr.Deref(md.Spec.RevisionHistoryLimit, DefaultRevisionHistoryLimit))
}

// PruneRevisions names the ControllerRevisions to delete: beyond those in
// use (the revisions that run, serve or are kept out as rejected), the limit
// newest are kept.
func PruneRevisions(revisions []appsv1.ControllerRevision, inUse map[string]bool, limit int) []string {
	idle := make([]appsv1.ControllerRevision, 0, len(revisions))
	for _, cr := range revisions {
		if !inUse[cr.Name] {
			idle = append(idle, cr)
		}
	}
	slices.SortFunc(idle, func(a, b appsv1.ControllerRevision) int { return cmp.Compare(b.Revision, a.Revision) })
	var out []string
	for i := max(limit, 0); i < len(idle); i++ {
		out = append(out, idle[i].Name)
	}
	slices.Sort(out)
	return out
}

// PromotedVersions are the versions of the revisions that served as stable.
func PromotedVersions(revisions []appsv1.ControllerRevision) []string {
	var out []string
	for _, cr := range revisions {
		if cr.Annotations[AnnotationPromoted] == "true" {
			out = append(out, cr.Annotations[AnnotationModelVersion])
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}
