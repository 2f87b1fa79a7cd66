package checklist

// podRunners judge the pod template: probes, resources, secrets, security
// context, images, redundancy and monitoring.
var podRunners = map[string]func(*Inputs) Finding{}
