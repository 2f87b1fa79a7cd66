package statusview

import (
	"fmt"
	"io"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
)

// blank is the seed's line for a hand-written name or date.
const (
	blankName = "_________________"
	blankDate = "_______"
	// notDeployed fills a seed blank that no deployment has answered yet.
	notDeployed = "[not deployed yet]"
)

// seedApprovers are the seed's "Pre-Deployment Approval" roles.
var seedApprovers = []string{"Data Scientist", "ML Engineer", "DevOps Engineer", "Security Engineer", "Product Owner"}

// Report writes the deployment record of the version the spec asks for, in
// Markdown for a change ticket: the seed's "Notes" section (deployment
// details, the checklist, load-test figures, measurements, the rollout
// history with its rollbacks and reasons) and its "Sign-Off" section, filled
// in from status and history where they tell, left blank for people where
// they cannot. now is the time the record is made.
func Report(w io.Writer, md *servingv1alpha1.ModelDeployment, now time.Time) error {
	var b strings.Builder
	r := reportOf(md)
	fmt.Fprintf(&b, "# Deployment record: %s %s\n\n", md.Name, md.Spec.Model.Version)
	fmt.Fprintf(&b, "ModelDeployment `%s/%s` (generation %d, status of generation %d), recorded %s by kubectl-modelgate from its status and history.\n\n",
		md.Namespace, md.Name, md.Generation, md.Status.ObservedGeneration, utc(now))

	b.WriteString("## Notes\n\n### Deployment Details\n\n")
	r.details(&b)
	b.WriteString("\n### Checklist\n\n")
	reportChecklist(&b, md)
	b.WriteString("\n### Performance Testing\n\n")
	reportLoadTest(&b, md)
	b.WriteString("\n### Rollback Triggers and Measurements\n\n")
	reportAnalysis(&b, md)
	b.WriteString("\n### Rollout History\n\n")
	reportHistory(&b, md)
	b.WriteString("\n### Issues and Resolutions\n\n")
	reportIssues(&b, md)
	b.WriteString("\n### Lessons Learned\n\n[Document key learnings from this deployment for future reference]\n")

	b.WriteString("\n## Sign-Off\n\n### Pre-Deployment Approval\n\n")
	r.approvals(&b)
	b.WriteString("\n### Post-Deployment Confirmation\n\n")
	fmt.Fprintf(&b, "- **Deployment Lead**: %s Date: %s\n", blankName, blankDate)
	fmt.Fprintf(&b, "- **Verification**: %s\n", verification(md))
	fmt.Fprintf(&b, "- **Operations Handoff**: %s Date: %s\n", blankName, blankDate)
	_, err := io.WriteString(w, b.String())
	return err
}

// rolloutRecord is what status and history tell of the rollout of the
// version the spec asks for.
type rolloutRecord struct {
	md *servingv1alpha1.ModelDeployment
	// entry is the newest history entry of the version, if it finished.
	entry *servingv1alpha1.HistoryEntry
	// candidate is the version's rollout in flight, if any.
	candidate *servingv1alpha1.CandidateStatus
}

func reportOf(md *servingv1alpha1.ModelDeployment) rolloutRecord {
	r := rolloutRecord{md: md}
	want := md.Spec.Model.Version
	if c := md.Status.Candidate; c != nil && c.Version == want {
		r.candidate = c
		return r
	}
	for i := range md.Status.History {
		if md.Status.History[i].Version == want {
			r.entry = &md.Status.History[i]
			break
		}
	}
	return r
}

func (r rolloutRecord) details(b *strings.Builder) {
	md := r.md
	var started, finished *metav1.Time
	previous := ""
	if md.Status.Stable != nil && md.Status.Stable.Version != md.Spec.Model.Version {
		previous = md.Status.Stable.Version
	}
	switch {
	case r.entry != nil:
		started, finished, previous = r.entry.StartedAt, r.entry.FinishedAt, r.entry.Previous
	case r.candidate != nil:
		started = r.candidate.StartedAt
	}
	when := finished
	if when == nil {
		when = started
	}
	date, clock := notDeployed, notDeployed
	if when != nil {
		date, clock = when.UTC().Format(time.DateOnly), when.UTC().Format("15:04")+" UTC"
	}
	fmt.Fprintf(b, "- **Deployment Date**: %s\n", date)
	fmt.Fprintf(b, "- **Deployment Time**: %s\n", clock)
	fmt.Fprintf(b, "- **Deployment Window**: %s\n", window(md, started, finished))
	version := md.Spec.Model.Version
	if previous != "" {
		version += ", replacing " + previous
	}
	fmt.Fprintf(b, "- **Model Version**: %s\n", version)
	fmt.Fprintf(b, "- **Environment**: %s (checklist profile `%s`), namespace `%s`\n", environment(Profile(md)), Profile(md), md.Namespace)
	fmt.Fprintf(b, "- **Outcome**: %s\n", r.outcome())
	fmt.Fprintf(b, "- **Strategy**: %s\n", Strategy(&md.Spec.Strategy))
	fmt.Fprintf(b, "- **Model**: `%s`, artifact `%s`", md.Spec.Model.Name, md.Spec.Model.URI)
	if reg := md.Spec.Model.Registry; reg != nil {
		fmt.Fprintf(b, ", registry %s version %s", reg.URL, reg.Version)
	}
	b.WriteString("\n")
	if d := md.Spec.Documentation; d != nil {
		for _, l := range []struct{ name, url string }{
			{"Runbook", string(d.Runbook)}, {"Rollback procedure", string(d.RollbackProcedure)},
			{"API documentation", string(d.APIDocs)}, {"Architecture diagram", string(d.Architecture)},
		} {
			if l.url != "" {
				fmt.Fprintf(b, "- **%s**: %s\n", l.name, l.url)
			}
		}
	}
}

// outcome says how the rollout ended, or where it is.
func (r rolloutRecord) outcome() string {
	md := r.md
	switch {
	case r.entry != nil:
		s := string(r.entry.Outcome)
		if r.entry.Reason != "" && r.entry.Reason != s {
			s += " (" + r.entry.Reason + ")"
		}
		if r.entry.Message != "" {
			s += ": " + r.entry.Message
		}
		return s
	case r.candidate != nil:
		return fmt.Sprintf("in progress: phase %s, %d%% of traffic on %s", md.Status.Phase, r.candidate.Weight, r.candidate.Version)
	case md.Status.Phase != "":
		s := "not rolled out: phase " + string(md.Status.Phase)
		if c := meta.FindStatusCondition(md.Status.Conditions, servingv1alpha1.ConditionReady); c != nil && c.Message != "" {
			s += ": " + c.Message
		}
		return s
	}
	return "not reconciled by the operator yet"
}

// window is how long the rollout took, and the windows the spec allows.
func window(md *servingv1alpha1.ModelDeployment, started, finished *metav1.Time) string {
	var s string
	switch {
	case started != nil && finished != nil:
		s = fmt.Sprintf("%s, from %s to %s", finished.Sub(started.Time).Round(time.Second), utc(started.Time), utc(finished.Time))
	case started != nil:
		s = "started " + utc(started.Time) + ", not finished"
	default:
		s = notDeployed
	}
	if len(md.Spec.DeploymentWindows) == 0 {
		return s + "; no deployment window declared (any time)"
	}
	ws := make([]string, len(md.Spec.DeploymentWindows))
	for i, w := range md.Spec.DeploymentWindows {
		days := "every day"
		if len(w.Days) > 0 {
			ds := make([]string, len(w.Days))
			for j, d := range w.Days {
				ds[j] = string(d)
			}
			days = strings.Join(ds, ", ")
		}
		tz := w.TimeZone
		if tz == "" {
			tz = "UTC"
		}
		ws[i] = fmt.Sprintf("%s %s-%s %s", days, w.Start, w.End, tz)
	}
	return s + "; allowed windows: " + strings.Join(ws, "; ")
}

func environment(p servingv1alpha1.ChecklistProfile) string {
	switch p {
	case servingv1alpha1.ProfileStaging:
		return "Staging"
	case servingv1alpha1.ProfileDevelopment:
		return "Development"
	}
	return "Production"
}

func reportChecklist(b *strings.Builder, md *servingv1alpha1.ModelDeployment) {
	cl := md.Status.Checklist
	if cl == nil {
		b.WriteString("The operator has not judged the checklist yet.\n")
		return
	}
	fmt.Fprintf(b, "Version %s, %s profile: %s.\n", cl.Version, Profile(md), Counts(cl))
	part := ""
	for _, g := range Groups(cl.Items) {
		if g.Part != part {
			part = g.Part
			fmt.Fprintf(b, "\n#### %s\n", g.Part)
		}
		if g.Section != "" {
			fmt.Fprintf(b, "\n##### %s\n", g.Section)
		}
		b.WriteString("\n")
		for _, it := range g.Items {
			box := boxOpen
			if it.Result == servingv1alpha1.CheckPass {
				box = boxTicked
			}
			if title := Title(it.ID); title != "" {
				fmt.Fprintf(b, "- %s %s (`%s`)", box, title, it.ID)
			} else {
				fmt.Fprintf(b, "- %s `%s`", box, it.ID)
			}
			if it.Result != servingv1alpha1.CheckPass {
				fmt.Fprintf(b, ": **%s**", it.Result)
				if note := severityNote(it); note != "" {
					fmt.Fprintf(b, " (%s)", note)
				}
			}
			b.WriteString("\n")
			if it.Message != "" {
				fmt.Fprintf(b, "  - %s\n", oneLine(it.Message))
			}
			if it.Result != servingv1alpha1.CheckPass && it.Remediation != "" {
				fmt.Fprintf(b, "  - Fix: %s\n", oneLine(it.Remediation))
			}
			if it.OverrideReason != "" {
				fmt.Fprintf(b, "  - Override: %s\n", oneLine(it.OverrideReason))
			}
			if it.AttestedBy != "" {
				fmt.Fprintf(b, "  - Attested by %s\n", it.AttestedBy)
			}
		}
	}
}

// reportLoadTest fills the seed's Performance Testing figures.
func reportLoadTest(b *strings.Builder, md *servingv1alpha1.ModelDeployment) {
	lt := md.Status.LoadTest
	var spec *servingv1alpha1.LoadTestSpec
	if a := md.Spec.Analysis; a != nil {
		spec = a.LoadTest
	}
	if lt == nil {
		if spec == nil {
			b.WriteString("No load test is declared (spec.analysis.loadTest) and none is recorded in status.\n")
		} else {
			fmt.Fprintf(b, "A load test of %d requests/second is declared, but no figures are recorded in status yet.\n", spec.RPS)
		}
		return
	}
	box := boxOpen
	if lt.Verdict == servingv1alpha1.VerdictPass {
		box = boxTicked
	}
	fmt.Fprintf(b, "- %s Load testing completed: version %s, %s, verdict **%s**\n", box, dash(lt.Version), utc(lt.Time.Time), lt.Verdict)
	fmt.Fprintf(b, "  - Target RPS: %d requests/second\n", lt.TargetRPS)
	fmt.Fprintf(b, "  - Achieved RPS: %s requests/second\n", lt.AchievedRPS)
	fmt.Fprintf(b, "  - Requests: %d, errors %s%%\n", lt.Requests, lt.ErrorPercent)
	fmt.Fprintf(b, "- %s Latency requirements met\n", box)
	p95, p99 := "", ""
	if v := spec.P95Bound(); v != nil {
		p95 = fmt.Sprintf(" (bound %d ms)", *v)
	}
	if v := spec.P99Bound(); v != nil {
		p99 = fmt.Sprintf(" (bound %d ms)", *v)
	}
	fmt.Fprintf(b, "  - P50: %s ms\n  - P95: %s ms%s\n  - P99: %s ms%s\n", lt.P50Ms, lt.P95Ms, p95, lt.P99Ms, p99)
	if lt.Message != "" {
		fmt.Fprintf(b, "- %s\n", oneLine(lt.Message))
	}
}

// reportAnalysis fills the seed's Rollback Triggers and lists the last measurements.
func reportAnalysis(b *strings.Builder, md *servingv1alpha1.ModelDeployment) {
	var t *servingv1alpha1.TriggersSpec
	if a := md.Spec.Analysis; a != nil {
		t = a.Triggers
	}
	if t == nil {
		b.WriteString("No rollback triggers are declared (spec.analysis.triggers).\n")
	} else {
		if t.ErrorRate != nil {
			fmt.Fprintf(b, "- [x] Error rate > %s%%\n", t.ErrorRate.MaxPercent)
		}
		if t.LatencyP95 != nil {
			fmt.Fprintf(b, "- [x] Latency P95 > %d ms\n", t.LatencyP95.MaxMilliseconds)
		}
		if t.AccuracyDrop != nil {
			fmt.Fprintf(b, "- [x] Accuracy drop > %s%%\n", t.AccuracyDrop.MaxPercent)
		}
	}
	a := md.Status.Analysis
	if a == nil || len(a.Measurements) == 0 {
		b.WriteString("\nNo measurements are recorded in status.\n")
		return
	}
	fmt.Fprintf(b, "\nLast measurements%s (%d %s):\n\n", ofRevision(a), a.Breaches, plural(int(a.Breaches), "breach", "breaches"))
	b.WriteString("| Metric | Version | Verdict | Value | Bound | Time | Message |\n|---|---|---|---|---|---|---|\n")
	for _, m := range a.Measurements {
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | %s |\n", cell(m.Metric), cell(m.Version), m.Verdict,
			cell(m.Value), cell(m.Bound), utc(m.Time.Time), cell(m.Message))
	}
}

func reportHistory(b *strings.Builder, md *servingv1alpha1.ModelDeployment) {
	h := md.Status.History
	if len(h) == 0 {
		b.WriteString("No rollout has finished yet.\n")
		return
	}
	b.WriteString("| Version | Previous | Strategy | Outcome | Reason | Started | Finished | Checklist | Approvers |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|\n")
	for _, e := range h {
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", cell(e.Version), cell(e.Previous), cell(string(e.Strategy)),
			e.Outcome, cell(e.Reason), timeCell(e.StartedAt), timeCell(e.FinishedAt), cell(e.Checklist), cell(strings.Join(e.Approvers, ", ")))
	}
}

// reportIssues lists the rollbacks and failures of the history with their
// reasons, and what holds the version now.
func reportIssues(b *strings.Builder, md *servingv1alpha1.ModelDeployment) {
	n := 0
	for _, e := range md.Status.History {
		if e.Outcome != servingv1alpha1.OutcomeRolledBack && e.Outcome != servingv1alpha1.OutcomeFailed {
			continue
		}
		n++
		when := "-"
		if e.FinishedAt != nil {
			when = utc(e.FinishedAt.Time)
		}
		fmt.Fprintf(b, "- %s: version %s %s", when, e.Version, strings.ToLower(splitCamel(string(e.Outcome))))
		if e.Previous != "" {
			fmt.Fprintf(b, " to %s", e.Previous)
		}
		if e.Reason != "" {
			fmt.Fprintf(b, " (%s)", e.Reason)
		}
		if e.Message != "" {
			fmt.Fprintf(b, ": %s", oneLine(e.Message))
		}
		b.WriteString("\n")
	}
	if c := meta.FindStatusCondition(md.Status.Conditions, servingv1alpha1.ConditionStalled); c != nil && c.Status == metav1.ConditionTrue {
		n++
		fmt.Fprintf(b, "- Now stalled (%s): %s\n", c.Reason, oneLine(c.Message))
	}
	if n == 0 {
		fmt.Fprintf(b, "None recorded: no rollback or failure in the last %d %s of the history.\n", len(md.Status.History), plural(len(md.Status.History), "rollout", "rollouts"))
	}
}

// approvals fills the Pre-Deployment Approval: sign-offs recorded in the
// version's history entry, the roles the spec requires, and the seed's roles
// left for hand-written names.
func (r rolloutRecord) approvals(b *strings.Builder) {
	signed := map[string]bool{}
	if r.entry != nil {
		for _, a := range r.entry.Approvers {
			role, user, ok := strings.Cut(a, "=")
			if !ok {
				role, user = a, ""
			}
			signed[role] = true
			date := blankDate
			if r.entry.FinishedAt != nil {
				date = r.entry.FinishedAt.UTC().Format(time.DateOnly)
			}
			fmt.Fprintf(b, "- **%s**: %s Date: %s (recorded by modelgate)\n", role, user, date)
		}
	}
	if ap := r.md.Spec.Approvals; ap != nil {
		for _, req := range ap.Required {
			if !signed[req.Role] {
				fmt.Fprintf(b, "- **%s** (required by spec.approvals, groups %s): %s Date: %s\n", req.Role, strings.Join(req.Groups, ", "), blankName, blankDate)
			}
		}
	}
	for _, role := range seedApprovers {
		fmt.Fprintf(b, "- **%s**: %s Date: %s\n", role, blankName, blankDate)
	}
}

// verification is what modelgate verified after the deployment: Ready and since when.
func verification(md *servingv1alpha1.ModelDeployment) string {
	c := meta.FindStatusCondition(md.Status.Conditions, servingv1alpha1.ConditionReady)
	if c == nil {
		return blankName + " Date: " + blankDate + " (modelgate has not reported Ready yet)"
	}
	if c.Status == metav1.ConditionTrue {
		return fmt.Sprintf("modelgate, Ready since %s: %s", utc(c.LastTransitionTime.Time), oneLine(c.Message))
	}
	return fmt.Sprintf("%s Date: %s (modelgate reports Ready %s since %s, %s: %s)", blankName, blankDate, c.Status, utc(c.LastTransitionTime.Time), c.Reason, oneLine(c.Message))
}

func utc(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func timeCell(t *metav1.Time) string {
	if t == nil {
		return "-"
	}
	return utc(t.Time)
}

// cell escapes text for a Markdown table cell.
func cell(s string) string {
	if s == "" {
		return "-"
	}
	return strings.ReplaceAll(oneLine(s), "|", `\|`)
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// splitCamel writes RolledBack as "Rolled Back".
func splitCamel(s string) string {
	var out strings.Builder
	for i, r := range s {
		if i > 0 && r >= 'A' && r <= 'Z' {
			out.WriteByte(' ')
		}
		out.WriteRune(r)
	}
	return out.String()
}
