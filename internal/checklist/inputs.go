package checklist

import (
	"context"
	"sync"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
	"github.com/modelgate/modelgate/internal/desiredstate"
)

// NewInputs starts the Inputs of the version a ModelDeployment's spec asks
// for, from the spec alone: the pod template its Deployment would run (with
// modelgate's labels and environment, as desiredstate writes it), the serving
// container, the replicas asked for and the stable version in status. The
// objects around the pods are for the caller to gather: the operator reads
// them from its cache, the offline check from the manifests beside the
// ModelDeployment. Unavailable starts empty, not nil, for the caller to fill.
//
// The error is desiredstate's: a template without the serving container,
// which no check can judge and the operator stalls on.
func NewInputs(md *servingv1alpha1.ModelDeployment) (*Inputs, error) {
	tpl, err := desiredstate.PodTemplate(md, md.Spec.Model.Version)
	if err != nil {
		return nil, err
	}
	in := &Inputs{
		MD:               md,
		Template:         tpl,
		ServingContainer: desiredstate.ServingContainerIndex(&tpl.Spec, md.Spec.ServingContainer),
		Replicas:         desiredstate.Replicas(md),
		Unavailable:      map[string]string{},
	}
	if md.Status.Stable != nil {
		in.StableVersion = md.Status.Stable.Version
	}
	return in, nil
}

// ownDeployment is the Deployment of the revision under check.
func ownDeployment(in *Inputs) string {
	if in.Deployment != "" {
		return in.Deployment
	}
	return desiredstate.DeploymentName(in.MD, in.MD.Spec.Model.Version)
}

// RemoteProber answers the checklist's network-backed questions;
// internal/probe implements it with timeouts and a cache.
type RemoteProber interface {
	Artifact(ctx context.Context, uri string) *Finding
	Registry(ctx context.Context, ref servingv1alpha1.ModelRegistryRef, modelName string) *Finding
	Document(ctx context.Context, url string) *ModelCardDocument
}

// ProbeRemote fills in.Remote by asking p about the artifact, the registry
// entry and a model card URL, side by side since each may wait for its
// timeout. An item that is off for in.MD asks nothing of the network, and a
// question with nothing to ask (no registry, a card in a ConfigMap) is not
// sent, so its check reports what the spec alone shows.
func ProbeRemote(ctx context.Context, p RemoteProber, in *Inputs) {
	md := in.MD
	on := func(id string) bool { return in.Severity(id) != servingv1alpha1.SeverityOff }
	var wg sync.WaitGroup
	if on("model-artifact") {
		wg.Go(func() { in.Remote.Artifact = p.Artifact(ctx, md.Spec.Model.URI) })
	}
	if reg := md.Spec.Model.Registry; reg != nil && on("model-registry") {
		wg.Go(func() { in.Remote.Registry = p.Registry(ctx, *reg, md.Spec.Model.Name) })
	}
	if card := md.Spec.Model.ModelCard; card != nil && card.URL != "" && on("model-card") {
		wg.Go(func() { in.Remote.ModelCard = p.Document(ctx, string(card.URL)) })
	}
	wg.Wait()
}
