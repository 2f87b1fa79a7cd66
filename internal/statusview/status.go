package statusview

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/duration"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
)

// Status writes what `kubectl modelgate status` shows: the version asked
// for and the phase, the checklist by the seed's sections, then the rollout
// (stable, candidate, weight, step), the conditions and the last
// measurements. now dates the ages shown.
func Status(w io.Writer, md *servingv1alpha1.ModelDeployment, now time.Time, style Style) error {
	var b strings.Builder
	st := &md.Status
	fmt.Fprintf(&b, "%s %s/%s\n", style.Bold("ModelDeployment"), md.Namespace, md.Name)
	kv := newFields(&b, "  ")
	kv.add("Version", fmt.Sprintf("%s (model %s, %s)", md.Spec.Model.Version, md.Spec.Model.Name, md.Spec.Model.URI))
	phase := string(st.Phase)
	if phase == "" {
		phase = "(none yet: the operator has not reconciled it)"
	}
	kv.add("Phase", phase)
	kv.add("Strategy", Strategy(&md.Spec.Strategy))
	if md.Spec.Paused {
		kv.add("Paused", "yes, by spec.paused (kubectl modelgate resume "+md.Name+")")
	}
	if st.ObservedGeneration != md.Generation {
		kv.add("Generation", fmt.Sprintf("%d, but status is of generation %d: the operator has not finished handling the latest change", md.Generation, st.ObservedGeneration))
	}
	kv.flush()

	b.WriteString("\n")
	writeStatusChecklist(&b, md, style)
	writePolicy(&b, st.Policy, style)
	b.WriteString("\n")
	writeRollout(&b, md, now, style)
	writeConditions(&b, st.Conditions, now, style)
	writeMeasurements(&b, st, now, style)
	_, err := io.WriteString(w, b.String())
	return err
}

func writeStatusChecklist(b *strings.Builder, md *servingv1alpha1.ModelDeployment, style Style) {
	cl := md.Status.Checklist
	if cl == nil {
		fmt.Fprintf(b, "%s: not judged yet\n", style.Bold("Checklist"))
		return
	}
	fmt.Fprintf(b, "%s of version %s (%s profile): %s\n", style.Bold("Checklist"), cl.Version, Profile(md), Counts(cl))
	WriteChecklist(b, cl.Items, "", style)
	if c := cl.Capacity; c != nil {
		fmt.Fprintf(b, "  Footprint: steady %s, peak %s\n", resources(c.Steady), resources(c.Peak))
	}
}

// writePolicy names the ModelDeploymentPolicies that select the
// ModelDeployment and where its spec asks for less than they allow; nothing
// when none selects it.
func writePolicy(b *strings.Builder, p *servingv1alpha1.PolicyStatus, style Style) {
	if p == nil || len(p.Policies) == 0 {
		return
	}
	fmt.Fprintf(b, "%s: %s\n", style.Bold("Policies"), strings.Join(p.Policies, ", "))
	for _, v := range p.Violations {
		fmt.Fprintf(b, "  %s %s: %s (policy %s)\n", style.Result(servingv1alpha1.CheckFail), v.Field, v.Message, v.Policy)
	}
}

// Profile is the checklist profile a ModelDeployment is judged by.
func Profile(md *servingv1alpha1.ModelDeployment) servingv1alpha1.ChecklistProfile {
	if p := md.Spec.Checklist.Profile; p != "" {
		return p
	}
	return servingv1alpha1.ProfileProduction
}

func writeRollout(b *strings.Builder, md *servingv1alpha1.ModelDeployment, now time.Time, style Style) {
	st := &md.Status
	fmt.Fprintf(b, "%s\n", style.Bold("Rollout"))
	kv := newFields(b, "  ")
	if s := st.Stable; s != nil {
		kv.add("Stable", fmt.Sprintf("%s (%s)", s.Version, versionDetail(s, "stable since", now)))
	} else {
		kv.add("Stable", "none: no version serves traffic yet")
	}
	if c := st.Candidate; c != nil {
		text := fmt.Sprintf("%s (%s)", c.Version, versionDetail(&c.VersionStatus, "", now))
		kv.add("Candidate", text)
		kv.add("Weight", fmt.Sprintf("%d%%", c.Weight))
		if step := stepText(md, c, now); step != "" {
			kv.add("Step", step)
		}
		if c.StartedAt != nil {
			kv.add("Started", at(*c.StartedAt, now))
		}
	} else {
		kv.add("Candidate", "none: no rollout in flight")
	}
	if p := st.Previous; p != nil {
		kv.add("Previous", fmt.Sprintf("%s (%s), kept warm for an instant rollback", p.Version, versionDetail(p, "replaced", now)))
	}
	if r := st.Rejected; r != nil {
		kv.add("Rejected", fmt.Sprintf("%s (%s), not tried again until the spec changes or: kubectl modelgate retry %s",
			r.Version, versionDetail(r, "rolled back", now), md.Name))
	}
	kv.add("Pods", fmt.Sprintf("%d of %d available", st.AvailableReplicas, st.Replicas))
	if req := requestsText(&st.Requests); req != "" {
		kv.add("Handled", req)
	}
	kv.flush()
}

// stepText says which canary step the candidate is at, counting from 1.
func stepText(md *servingv1alpha1.ModelDeployment, c *servingv1alpha1.CandidateStatus, now time.Time) string {
	can := md.Spec.Strategy.Canary
	if md.Spec.Strategy.Type != servingv1alpha1.StrategyCanary || can == nil {
		return ""
	}
	n := int32(len(can.Steps)) //nolint:gosec // the API allows at most 20 steps
	if c.Step >= n {
		return fmt.Sprintf("past the last of %d steps: promoting", n)
	}
	s := fmt.Sprintf("%d of %d", c.Step+1, n)
	if p := can.Steps[c.Step].Pause; p != nil {
		if p.Duration == nil {
			s += ", paused until promoted (kubectl modelgate promote " + md.Name + ")"
		} else {
			s += ", pause " + p.Duration.Duration.String()
		}
	}
	if c.StepStartedAt != nil {
		s += ", began " + ago(c.StepStartedAt.Time, now)
	}
	return s
}

func versionDetail(v *servingv1alpha1.VersionStatus, sinceWord string, now time.Time) string {
	var parts []string
	if v.Deployment != "" {
		parts = append(parts, "Deployment "+v.Deployment)
	}
	if v.Since != nil && sinceWord != "" {
		parts = append(parts, sinceWord+" "+at(*v.Since, now))
	}
	if len(parts) == 0 {
		return "no Deployment yet"
	}
	return strings.Join(parts, ", ")
}

func requestsText(r *servingv1alpha1.HandledRequests) string {
	var parts []string
	for _, p := range []struct{ name, value string }{
		{"promote", r.Promote}, {"promote-full", r.PromoteFull}, {"abort", r.Abort}, {"retry", r.Retry},
	} {
		if p.value != "" {
			parts = append(parts, fmt.Sprintf("%s %q", p.name, p.value))
		}
	}
	return strings.Join(parts, ", ")
}

func writeConditions(b *strings.Builder, conds []metav1.Condition, now time.Time, style Style) {
	if len(conds) == 0 {
		return
	}
	fmt.Fprintf(b, "\n%s\n", style.Bold("Conditions"))
	rows := [][]string{{"TYPE", "STATUS", "REASON", "AGE", "MESSAGE"}}
	for _, c := range conds {
		rows = append(rows, []string{c.Type, string(c.Status), c.Reason, age(c.LastTransitionTime.Time, now), c.Message})
	}
	table(b, "  ", rows)
}

// ofRevision names a later revision under analysis (a changed template
// under the same version), whose measurements carry only its version.
func ofRevision(a *servingv1alpha1.AnalysisStatus) string {
	if a.Revision == "" {
		return ""
	}
	return " of revision " + a.Revision
}

func writeMeasurements(b *strings.Builder, st *servingv1alpha1.ModelDeploymentStatus, now time.Time, style Style) {
	if a := st.Analysis; a != nil {
		fmt.Fprintf(b, "\n%s%s: %d %s, %d failed queries in a row\n", style.Bold("Measurements"), ofRevision(a),
			a.Breaches, plural(int(a.Breaches), "breach", "breaches"), a.ConsecutiveErrors)
		if len(a.Measurements) > 0 {
			rows := make([][]string, 0, 1+len(a.Measurements))
			rows = append(rows, []string{"METRIC", "VERSION", "VERDICT", "VALUE", "BOUND", "AGE", "MESSAGE"})
			for _, m := range a.Measurements {
				rows = append(rows, []string{m.Metric, dash(m.Version), string(m.Verdict), dash(m.Value), dash(m.Bound), age(m.Time.Time, now), m.Message})
			}
			table(b, "  ", rows)
		}
		if j := a.Judge; j != nil {
			fmt.Fprintf(b, "  Sequential judge, %s: %s\n", ago(j.Time.Time, now), j.Message)
		}
	}
	if lt := st.LoadTest; lt != nil {
		fmt.Fprintf(b, "\n%s of version %s: %s, %s\n", style.Bold("Load test"), dash(lt.Version), lt.Verdict, at(lt.Time, now))
		fmt.Fprintf(b, "  target %d RPS, achieved %s RPS, %d requests, %s%% errors, p50 %s ms, p95 %s ms, p99 %s ms\n",
			lt.TargetRPS, lt.AchievedRPS, lt.Requests, lt.ErrorPercent, lt.P50Ms, lt.P95Ms, lt.P99Ms)
		if lt.Message != "" {
			fmt.Fprintf(b, "  %s\n", lt.Message)
		}
	}
}

// Strategy describes a strategy in a line, such as "Canary: 34%, 67% (pause 5s)".
func Strategy(s *servingv1alpha1.StrategySpec) string {
	t := s.Type
	if t == "" {
		t = servingv1alpha1.StrategyRolling
	}
	out := string(t)
	switch {
	case t == servingv1alpha1.StrategyCanary && s.Canary != nil:
		steps := make([]string, len(s.Canary.Steps))
		for i, st := range s.Canary.Steps {
			steps[i] = fmt.Sprintf("%d%%", st.Weight)
			if p := st.Pause; p != nil {
				if p.Duration == nil {
					steps[i] += " (until promoted)"
				} else {
					steps[i] += " (pause " + p.Duration.Duration.String() + ")"
				}
			}
		}
		out += ": " + strings.Join(steps, ", ")
	case t == servingv1alpha1.StrategyBlueGreen && s.BlueGreen != nil:
		if s.BlueGreen.AutoPromotion != nil && !*s.BlueGreen.AutoPromotion {
			out += ": switches on a promote"
		} else {
			out += ": switches once the preview is available"
		}
	}
	if r := s.TrafficRouting; r != nil && r.GatewayAPI != nil {
		out += ", routed by HTTPRoute " + r.GatewayAPI.HTTPRoute
	}
	return out
}

// table writes rows in aligned columns, as kubectl get does, without
// trailing blanks when the last column is empty.
func table(b *strings.Builder, indent string, rows [][]string) {
	var buf strings.Builder
	tw := tabwriter.NewWriter(&buf, 0, 0, 2, ' ', 0)
	for _, r := range rows {
		fmt.Fprintln(tw, indent+strings.Join(r, "\t"))
	}
	_ = tw.Flush()
	for _, line := range strings.SplitAfter(buf.String(), "\n") {
		if line != "" {
			b.WriteString(strings.TrimRight(line, " \n") + "\n")
		}
	}
}

// fields writes "Name: value" lines with the values aligned.
type fields struct {
	b      *strings.Builder
	indent string
	rows   [][2]string
}

func newFields(b *strings.Builder, indent string) *fields { return &fields{b: b, indent: indent} }

func (f *fields) add(name, value string) { f.rows = append(f.rows, [2]string{name, value}) }

func (f *fields) flush() {
	width := 0
	for _, r := range f.rows {
		width = max(width, len(r[0])+1)
	}
	for _, r := range f.rows {
		fmt.Fprintf(f.b, "%s%-*s %s\n", f.indent, width, r[0]+":", r[1])
	}
	f.rows = nil
}

// at is a time in UTC with its age, such as "2026-07-01T10:00:00Z, 5m ago".
func at(t metav1.Time, now time.Time) string {
	return ago(t.Time, now)
}

func ago(t, now time.Time) string {
	return fmt.Sprintf("%s, %s ago", t.UTC().Format(time.RFC3339), age(t, now))
}

// age is kubectl's short age of a time, such as 5m or 3h10m.
func age(t, now time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return duration.HumanDuration(now.Sub(t))
}

// resources writes a resource list in a stable order, such as "cpu 300m, memory 384Mi".
func resources(l corev1.ResourceList) string {
	if len(l) == 0 {
		return "-"
	}
	names := slices.Sorted(maps.Keys(l))
	parts := make([]string, len(names))
	for i, n := range names {
		q := l[n]
		parts[i] = string(n) + " " + q.String()
	}
	return strings.Join(parts, ", ")
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
