package webhook

import (
	"k8s.io/apimachinery/pkg/util/validation/field"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
	"github.com/modelgate/modelgate/internal/analysis"
)

// validateQueries refuses a query template that holds anything but text and
// the documented placeholders (analysis.CheckTemplate), naming the field: the
// renderer refuses it too, but only when a round runs, long after the user
// has gone.
func validateQueries(md *servingv1alpha1.ModelDeployment) field.ErrorList {
	a := md.Spec.Analysis
	if a == nil {
		return nil
	}
	var errs field.ErrorList
	check := func(path *field.Path, text string, extra ...string) {
		if text == "" {
			return
		}
		if err := analysis.CheckTemplate(text, extra...); err != nil {
			errs = append(errs, field.Invalid(path, text, err.Error()))
		}
	}
	if p := a.Prometheus; p != nil && p.Queries != nil {
		q, path := p.Queries, field.NewPath("spec", "analysis", "prometheus", "queries")
		check(path.Child("errorRate"), q.ErrorRate)
		check(path.Child("latencyP95"), q.LatencyP95)
		check(path.Child("accuracy"), q.Accuracy)
		check(path.Child("requestCount"), q.RequestCount)
		check(path.Child("errorCount"), q.ErrorCount)
		check(path.Child("predictionScore"), q.PredictionScore)
		check(path.Child("featureValue"), q.FeatureValue, "Feature")
	}
	for i, m := range a.Metrics {
		check(field.NewPath("spec", "analysis", "metrics").Index(i).Child("query"), m.Query)
	}
	return errs
}
