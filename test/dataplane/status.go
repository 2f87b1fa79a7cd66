package dataplane

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// state is what the data plane knows of a pod's process, and writes into the
// pod's status the way a kubelet would.
type state struct {
	Ready    bool
	Restarts int32
	// Reason and Message explain a pod that is not Ready.
	Reason  string
	Message string
}

// Reasons of a Ready=False condition the data plane writes.
const (
	ReasonProcessNotReady = "ProcessNotReady"
	ReasonProcessExited   = "ProcessExited"
	ReasonDataPlaneGone   = "DataPlaneStopped"
)

// applyState writes st into the pod's Ready and ContainersReady conditions and
// its containers' readiness and restart count, and says whether anything
// changed. The data plane cannot run the other containers of a pod, so they
// are as ready as the model server is.
func applyState(pod *corev1.Pod, container string, st state, now metav1.Time) bool {
	changed := false
	status := corev1.ConditionFalse
	reason, message := st.Reason, st.Message
	if st.Ready {
		status, reason, message = corev1.ConditionTrue, "", ""
	}
	for _, t := range []corev1.PodConditionType{corev1.PodReady, corev1.ContainersReady} {
		changed = setCondition(&pod.Status, corev1.PodCondition{Type: t, Status: status, Reason: reason, Message: message}, now) || changed
	}
	for i := range pod.Status.ContainerStatuses {
		cs := &pod.Status.ContainerStatuses[i]
		if cs.Ready != st.Ready {
			cs.Ready, changed = st.Ready, true
		}
		if cs.Name == container && cs.RestartCount != st.Restarts {
			cs.RestartCount, changed = st.Restarts, true
		}
	}
	return changed
}

// setCondition sets one condition, moving its transition time only when its
// status changes.
func setCondition(s *corev1.PodStatus, c corev1.PodCondition, now metav1.Time) bool {
	for i := range s.Conditions {
		cur := &s.Conditions[i]
		if cur.Type != c.Type {
			continue
		}
		if cur.Status == c.Status && cur.Reason == c.Reason && cur.Message == c.Message {
			return false
		}
		if cur.Status != c.Status {
			cur.LastTransitionTime = now
		}
		cur.Status, cur.Reason, cur.Message = c.Status, c.Reason, c.Message
		return true
	}
	c.LastTransitionTime = now
	s.Conditions = append(s.Conditions, c)
	return true
}
