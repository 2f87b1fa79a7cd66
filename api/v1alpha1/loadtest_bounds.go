package v1alpha1

// P95Bound is the 95th percentile bound of a load test in milliseconds,
// from maxP95Milliseconds or its deprecated spelling p95Milliseconds; nil
// when neither is set or l is nil.
func (l *LoadTestSpec) P95Bound() *int32 {
	if l == nil {
		return nil
	}
	if l.MaxP95Milliseconds != nil {
		return l.MaxP95Milliseconds
	}
	return l.P95Milliseconds
}

// P99Bound is the 99th percentile bound, as P95Bound.
func (l *LoadTestSpec) P99Bound() *int32 {
	if l == nil {
		return nil
	}
	if l.MaxP99Milliseconds != nil {
		return l.MaxP99Milliseconds
	}
	return l.P99Milliseconds
}
