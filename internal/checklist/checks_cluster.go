package checklist

import corev1 "k8s.io/api/core/v1"

// clusterRunners judge the objects around the pods: HPA, PDB, NetworkPolicy,
// TLS on what exposes the model, and capacity.
var clusterRunners = map[string]func(*Inputs) Finding{}

// Footprint is the resource requests of the version at full size (steady) and
// of the rollout's peak, when both versions run at once.
func Footprint(in *Inputs) (steady, peak corev1.ResourceList) {
	return nil, nil
}
