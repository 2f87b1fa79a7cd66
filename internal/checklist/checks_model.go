package checklist

import (
	"fmt"
	"math/big"
	"net"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/Masterminds/semver/v3"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
)

// modelRunners judge the model itself: version, artifact, registry,
// performance, card and documentation links.
var modelRunners = map[string]func(*Inputs) Finding{
	"model-version-semver": checkModelVersion,
	"model-artifact":       checkModelArtifact,
	"model-registry":       checkModelRegistry,
	"model-performance":    checkModelPerformance,
	"model-card":           checkModelCard,
	"runbook":              checkRunbook,
	"rollback-procedure":   checkRollbackProcedure,
}

// RequiredModelCardSections are the sections a model card must have, each
// with a non-blank body: the checklist asks for a complete model card, training
// data documentation and known limitations.
var RequiredModelCardSections = []string{
	"Model Details",
	"Intended Use",
	"Training Data",
	"Evaluation",
	"Limitations",
}

// checkModelVersion: spec.model.version is a semantic version and is not below
// the stable version, unless it is a rollback to a version promoted before.
func checkModelVersion(in *Inputs) Finding {
	raw := in.MD.Spec.Model.Version
	v, err := semver.StrictNewVersion(raw)
	if err != nil {
		return Fail("Set spec.model.version to a semantic version MAJOR.MINOR.PATCH such as 2.3.0 or 2.3.0-rc.1, without a leading v.",
			"spec.model.version %q is not a semantic version: %v", raw, err)
	}
	if in.StableVersion == "" {
		return Pass("Version %s is a semantic version; no version is stable yet", v.Original())
	}
	stable, err := semver.StrictNewVersion(in.StableVersion)
	if err != nil {
		return Unknown("Check status.stable.version: it must be the semantic version of the version serving traffic.",
			"Version %s could not be compared with the stable version %q, which is not a semantic version: %v", raw, in.StableVersion, err)
	}
	switch c := v.Compare(stable); {
	case c > 0:
		return Pass("Version %s is a semantic version above the stable version %s", raw, in.StableVersion)
	case c == 0:
		return Pass("Version %s is a semantic version equal to the stable version %s", raw, in.StableVersion)
	}
	if slices.Contains(in.PromotedVersions, raw) {
		return Pass("Version %s is below the stable version %s: a rollback to a version promoted before", raw, in.StableVersion)
	}
	for _, h := range in.MD.Status.History {
		if h.Version == raw && h.Outcome == servingv1alpha1.OutcomePromoted {
			return Pass("Version %s is below the stable version %s: a rollback to a version promoted before", raw, in.StableVersion)
		}
	}
	return Fail(fmt.Sprintf("Set spec.model.version above %s, or to a version the ModelDeployment's revisions (or status.history) record as promoted, to roll back to it.", in.StableVersion),
		"Version %s is below the stable version %s and no revision records it as promoted before, so it is not a rollback", raw, in.StableVersion)
}

// checkModelArtifact judges the network probe of spec.model.uri when it ran,
// and otherwise the form of the URI.
func checkModelArtifact(in *Inputs) Finding {
	uri := in.MD.Spec.Model.URI
	if f := in.Remote.Artifact; f != nil {
		return modelWithRemediation(*f, fmt.Sprintf("Make sure the artifact at spec.model.uri (%s) exists and that the operator can reach it, or correct spec.model.uri.", uri))
	}
	scheme, rest, ok := strings.Cut(uri, "://")
	remediation := "Set spec.model.uri to https://host/path, oci://registry/repository:tag (or @sha256:digest), s3://bucket/key, gs://bucket/key or pvc://claim-name/path."
	if uri == "" {
		return Fail(remediation, "spec.model.uri is empty")
	}
	if !ok {
		return Fail(remediation, "spec.model.uri %q has no scheme", uri)
	}
	switch scheme {
	case "https", "oci":
		return Skip("Network checks were not run, so the artifact %s was not probed", uri)
	case "s3", "gs", "pvc":
	default:
		return Fail(remediation, "spec.model.uri %q has the scheme %q; modelgate knows https, oci, s3, gs and pvc", uri, scheme)
	}
	if problem := modelStorageURIProblem(scheme, rest); problem != "" {
		return Fail(remediation, "spec.model.uri %q is malformed: %s", uri, problem)
	}
	return Skip("spec.model.uri %s is well-formed; %s:// artifacts are not verifiable over the network by modelgate, so their existence was not checked", uri, scheme)
}

// modelStorageURIProblem says what is wrong with the part after "scheme://" of
// an s3, gs or pvc URI, or "" when it is well-formed.
func modelStorageURIProblem(scheme, rest string) string {
	bucket, key, _ := strings.Cut(rest, "/")
	switch scheme {
	case "s3":
		if p := modelS3BucketProblem(bucket); p != "" {
			return p
		}
		if key == "" {
			return "it names no object key after the bucket (s3://bucket/key)"
		}
	case "gs":
		if p := modelGCSBucketProblem(bucket); p != "" {
			return p
		}
		if key == "" {
			return "it names no object after the bucket (gs://bucket/key)"
		}
	case "pvc":
		if bucket == "" {
			return "it names no PersistentVolumeClaim (pvc://claim-name/path)"
		}
		if errs := validation.IsDNS1123Subdomain(bucket); len(errs) > 0 {
			return fmt.Sprintf("the claim name %q is not a DNS-1123 name: %s", bucket, strings.Join(errs, "; "))
		}
		if strings.Trim(key, "/") == "" {
			return "it names no path inside the claim (pvc://claim-name/path)"
		}
		for _, seg := range strings.Split(key, "/") {
			if seg == ".." {
				return fmt.Sprintf("the path %q leaves the claim with ..", key)
			}
		}
	}
	return ""
}

var (
	modelS3BucketRE  = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
	modelGCSBucketRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$`)
)

// modelS3BucketProblem applies the S3 bucket naming rules.
func modelS3BucketProblem(b string) string {
	switch {
	case b == "":
		return "it names no bucket (s3://bucket/key)"
	case !modelS3BucketRE.MatchString(b):
		return fmt.Sprintf("the bucket name %q is not valid: 3 to 63 lower-case letters, digits, dots and hyphens, beginning and ending with a letter or digit", b)
	case strings.Contains(b, ".."):
		return fmt.Sprintf("the bucket name %q has two dots in a row", b)
	case net.ParseIP(b) != nil:
		return fmt.Sprintf("the bucket name %q is an IP address", b)
	}
	return ""
}

// modelGCSBucketProblem applies the Cloud Storage bucket naming rules.
func modelGCSBucketProblem(b string) string {
	switch {
	case b == "":
		return "it names no bucket (gs://bucket/key)"
	case !modelGCSBucketRE.MatchString(b):
		return fmt.Sprintf("the bucket name %q is not valid: lower-case letters, digits, dashes, underscores and dots, beginning and ending with a letter or digit", b)
	case !strings.Contains(b, ".") && len(b) > 63:
		return fmt.Sprintf("the bucket name %q is longer than 63 characters", b)
	case strings.Contains(b, ".."):
		return fmt.Sprintf("the bucket name %q has two dots in a row", b)
	case net.ParseIP(b) != nil:
		return fmt.Sprintf("the bucket name %q is an IP address", b)
	case strings.HasPrefix(b, "goog") || strings.Contains(b, "google"):
		return fmt.Sprintf("the bucket name %q begins with goog or contains google, which Cloud Storage refuses", b)
	}
	for _, part := range strings.Split(b, ".") {
		if len(part) > 63 {
			return fmt.Sprintf("the bucket name %q has a dot-separated part longer than 63 characters", b)
		}
	}
	return ""
}

// checkModelRegistry: the model is registered; the probe of the registry
// says whether the entry exists and is ready.
func checkModelRegistry(in *Inputs) Finding {
	reg := in.MD.Spec.Model.Registry
	if reg == nil {
		return Fail("Declare spec.model.registry with url (the MLflow-compatible registry's REST API) and version (the registered model version), and name when it differs from spec.model.name.",
			"spec.model.registry is not declared, so the model's registration cannot be verified")
	}
	name := reg.Name
	if name == "" {
		name = in.MD.Spec.Model.Name
	}
	if f := in.Remote.Registry; f != nil {
		return modelWithRemediation(*f, fmt.Sprintf("Register model %q version %s at %s and make sure it is ready and the operator can reach the registry, or correct spec.model.registry.", name, reg.Version, RedactURL(string(reg.URL))))
	}
	return Skip("Network checks were not run, so model %q version %s was not looked up in the registry at %s", name, reg.Version, RedactURL(string(reg.URL)))
}

// modelWithRemediation returns a probe's Finding, with a remediation added
// when it reports a problem without one.
func modelWithRemediation(f Finding, remediation string) Finding {
	switch f.Result {
	case servingv1alpha1.CheckFail, servingv1alpha1.CheckUnknown, servingv1alpha1.CheckWarn:
		if f.Remediation == "" {
			f.Remediation = remediation
		}
	}
	return f
}

var modelDecimalRE = regexp.MustCompile(`^-?[0-9]+(\.[0-9]+)?$`)

// modelParseDecimal reads a decimal string exactly.
func modelParseDecimal(s servingv1alpha1.Decimal) (*big.Rat, bool) {
	if !modelDecimalRE.MatchString(string(s)) {
		return nil, false
	}
	return new(big.Rat).SetString(string(s))
}

// checkModelPerformance: every declared minimum is met by the declared
// evaluation results.
func checkModelPerformance(in *Inputs) Finding {
	mins := in.MD.Spec.Checklist.MinimumEvaluation
	eval := in.MD.Spec.Model.Evaluation
	if len(mins) == 0 {
		if len(eval) == 0 {
			return Fail(`Declare the validation results in spec.model.evaluation (for example accuracy: "0.94") and the least acceptable values in spec.checklist.minimumEvaluation (for example accuracy: "0.9").`,
				"No validation results are declared in spec.model.evaluation, so the model's performance cannot be judged")
		}
		return Pass("%d evaluation results declared (%s); no minimums are declared in spec.checklist.minimumEvaluation, so none were compared",
			len(eval), modelJoinMetrics(eval))
	}

	var problems, met []string
	var missing, below bool
	for _, metric := range modelSortedKeys(mins) {
		minimum := mins[metric]
		lo, ok := modelParseDecimal(minimum)
		if !ok {
			problems = append(problems, fmt.Sprintf("the minimum of %s, %q, is not a decimal number", metric, minimum))
			below = true
			continue
		}
		value, declared := eval[metric]
		if !declared {
			problems = append(problems, fmt.Sprintf("%s has no value in spec.model.evaluation (minimum %s)", metric, minimum))
			missing = true
			continue
		}
		got, ok := modelParseDecimal(value)
		if !ok {
			problems = append(problems, fmt.Sprintf("%s is %q, not a decimal number (minimum %s)", metric, value, minimum))
			below = true
			continue
		}
		if got.Cmp(lo) < 0 {
			problems = append(problems, fmt.Sprintf("%s is %s, below the minimum %s", metric, value, minimum))
			below = true
			continue
		}
		met = append(met, fmt.Sprintf("%s %s >= %s", metric, value, minimum))
	}
	if len(problems) == 0 {
		return Pass("All %d minimums are met: %s", len(met), strings.Join(met, ", "))
	}
	var fixes []string
	if missing {
		fixes = append(fixes, "Add each missing metric's validation result to spec.model.evaluation.")
	}
	if below {
		fixes = append(fixes, "Ship a model version whose spec.model.evaluation meets spec.checklist.minimumEvaluation, with both written as decimals such as 0.94.")
	}
	return Fail(strings.Join(fixes, " "), "%d of %d minimums are not met: %s", len(problems), len(mins), strings.Join(problems, "; "))
}

func modelSortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func modelJoinMetrics(m map[string]servingv1alpha1.Decimal) string {
	parts := make([]string, 0, len(m))
	for _, k := range modelSortedKeys(m) {
		parts = append(parts, fmt.Sprintf("%s=%s", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

// checkModelCard: the model card is declared, can be read, and has every
// required section with a non-blank body.
func checkModelCard(in *Inputs) Finding {
	card := in.MD.Spec.Model.ModelCard
	if card == nil {
		return Fail("Declare spec.model.modelCard with configMapRef: {name: <ConfigMap>, key: <key holding the card as Markdown>} or url: <link to the card>, with the sections "+strings.Join(RequiredModelCardSections, ", ")+".",
			"spec.model.modelCard is not declared")
	}
	if ref := card.ConfigMapRef; ref != nil {
		return modelCardFromConfigMap(in, ref)
	}
	if card.URL == "" {
		return Fail("Set spec.model.modelCard.configMapRef or spec.model.modelCard.url.", "spec.model.modelCard names neither a ConfigMap nor a URL")
	}
	where := fmt.Sprintf("the model card at %s", RedactURL(string(card.URL)))
	doc := in.Remote.ModelCard
	switch {
	case doc == nil:
		return Skip("Network checks were not run, so %s was not fetched", where)
	case doc.NotFound:
		return Fail(fmt.Sprintf("Publish the model card at %s, fix spec.model.modelCard.url, or keep the card in a ConfigMap with spec.model.modelCard.configMapRef.", RedactURL(string(card.URL))),
			"%s was not found: %s", modelCapitalize(where), doc.Err)
	case doc.Err != "":
		return Unknown(fmt.Sprintf("Make %s reachable from the operator, or keep the card in a ConfigMap with spec.model.modelCard.configMapRef.", RedactURL(string(card.URL))),
			"%s could not be fetched: %s", modelCapitalize(where), doc.Err)
	}
	return modelCardMarkdownFinding(where, "the document at "+RedactURL(string(card.URL)), doc.Body)
}

func modelCardFromConfigMap(in *Inputs, ref *servingv1alpha1.ConfigMapKeyReference) Finding {
	ns := in.MD.Namespace
	cm, found := in.ConfigMaps[ref.Name]
	if !found || cm == nil {
		if reason, ok := in.Unavailable[KindConfigMap]; ok {
			return Unknown(fmt.Sprintf("Let the operator read ConfigMaps in namespace %s.", ns),
				"The model card ConfigMap %q could not be read: %s", ref.Name, reason)
		}
		return Fail(fmt.Sprintf("Create ConfigMap %q in namespace %s holding the model card, or correct spec.model.modelCard.configMapRef.name.", ref.Name, ns),
			"The model card ConfigMap %q named by spec.model.modelCard.configMapRef was not found", ref.Name)
	}
	if ref.Key != "" {
		where := fmt.Sprintf("the model card in ConfigMap %q key %q", ref.Name, ref.Key)
		body, ok := modelConfigMapValue(cm, ref.Key)
		if !ok {
			return Fail(fmt.Sprintf("Add the key %q holding the card as Markdown to ConfigMap %q, or set spec.model.modelCard.configMapRef.key to one of its keys.", ref.Key, ref.Name),
				"ConfigMap %q has no key %q (keys: %s)", ref.Name, ref.Key, modelConfigMapKeys(cm))
		}
		return modelCardMarkdownFinding(where, fmt.Sprintf("key %q of ConfigMap %q", ref.Key, ref.Name), body)
	}

	// Without a key, each section is a key of its own; a key may also hold
	// Markdown whose headings answer sections.
	var headings []modelMarkdownSection
	values := map[string]string{}
	for k, v := range cm.BinaryData {
		values[k] = string(v)
	}
	for k, v := range cm.Data {
		values[k] = v
	}
	for _, k := range modelSortedKeys(values) {
		headings = append(headings, modelMarkdownSections(values[k])...)
	}
	var missing, empty []string
	for _, section := range RequiredModelCardSections {
		want := modelNormalizeKey(section)
		present, filled := modelMatchHeadings(headings, section)
		for k, v := range values {
			if modelNormalizeKey(k) == want {
				present = true
				filled = filled || !modelBlank(v)
			}
		}
		switch {
		case !present:
			missing = append(missing, section)
		case !filled:
			empty = append(empty, section)
		}
	}
	if len(missing)+len(empty) == 0 {
		return Pass("The model card in ConfigMap %q has every required section: %s", ref.Name, strings.Join(RequiredModelCardSections, ", "))
	}
	keys := make([]string, 0, len(missing)+len(empty))
	for _, s := range append(append([]string{}, missing...), empty...) {
		keys = append(keys, strings.ToLower(strings.ReplaceAll(s, " ", "-")))
	}
	return Fail(fmt.Sprintf("Add the keys %s with the section's text to ConfigMap %q, or put the whole card as Markdown in one key and name it in spec.model.modelCard.configMapRef.key.", strings.Join(keys, ", "), ref.Name),
		"The model card in ConfigMap %q is incomplete: %s", ref.Name, modelCardGapText(missing, empty))
}

// modelCardMarkdownFinding judges the sections of a card written in Markdown.
func modelCardMarkdownFinding(where, fixWhere, body string) Finding {
	missing, empty := modelCardSectionGaps(body)
	if len(missing)+len(empty) == 0 {
		return Pass("%s has every required section: %s", modelCapitalize(where), strings.Join(RequiredModelCardSections, ", "))
	}
	headings := make([]string, 0, len(missing)+len(empty))
	for _, s := range append(append([]string{}, missing...), empty...) {
		headings = append(headings, "## "+s)
	}
	return Fail(fmt.Sprintf("Write the sections %s, each with text under its heading, in %s.", strings.Join(headings, ", "), fixWhere),
		"%s is incomplete: %s", modelCapitalize(where), modelCardGapText(missing, empty))
}

func modelCardGapText(missing, empty []string) string {
	var parts []string
	if len(missing) > 0 {
		parts = append(parts, "missing sections "+strings.Join(missing, ", "))
	}
	if len(empty) > 0 {
		parts = append(parts, "empty sections "+strings.Join(empty, ", "))
	}
	return strings.Join(parts, "; ")
}

// modelCardSectionGaps reads a model card written in Markdown and returns the
// required sections it lacks and those whose body is blank. A section is a
// heading (ATX "#" to "######" or Setext) whose text, compared case-insensitively
// and ignoring spaces and punctuation, contains the section's name ("Known
// Limitations" answers "Limitations"); its body runs to the next heading of
// the same or a higher level. Blank lines, HTML comments and the template
// placeholder "[More Information Needed]" do not count as a body.
func modelCardSectionGaps(markdown string) (missing, empty []string) {
	sections := modelMarkdownSections(markdown)
	for _, want := range RequiredModelCardSections {
		switch present, filled := modelMatchHeadings(sections, want); {
		case !present:
			missing = append(missing, want)
		case !filled:
			empty = append(empty, want)
		}
	}
	return missing, empty
}

// modelMatchHeadings says whether a required section is among the headings,
// and whether one of them has a body.
func modelMatchHeadings(sections []modelMarkdownSection, section string) (present, filled bool) {
	w := modelNormalizeHeading(section)
	for _, s := range sections {
		if strings.Contains(modelNormalizeHeading(s.heading), w) {
			present = true
			filled = filled || s.hasBody
		}
	}
	return present, filled
}

type modelMarkdownSection struct {
	heading string
	level   int
	hasBody bool
}

var (
	modelATXHeadingRE    = regexp.MustCompile(`^ {0,3}(#{1,6})(?:[ \t]+(.*?))?[ \t]*$`)
	modelATXClosingRE    = regexp.MustCompile(`(?:^|[ \t]+)#+$`)
	modelSetextUnderline = regexp.MustCompile(`^ {0,3}(=+|-+)[ \t]*$`)
	modelFenceRE         = regexp.MustCompile("^ {0,3}(`{3,}|~{3,})")
	modelThematicBreakRE = regexp.MustCompile(`^ {0,3}(?:(?:-[ \t]*){3,}|(?:\*[ \t]*){3,}|(?:_[ \t]*){3,})$`)
)

// modelMarkdownSections splits Markdown into its headings, in order, noting
// whether each has a non-blank body. Code fences are body text, never headings.
func modelMarkdownSections(markdown string) []modelMarkdownSection {
	lines := strings.Split(strings.ReplaceAll(markdown, "\r\n", "\n"), "\n")
	var sections []modelMarkdownSection
	var open []int // indexes into sections of the headings whose body we are in
	fence, inComment := "", false

	heading := func(level int, text string) {
		for len(open) > 0 && sections[open[len(open)-1]].level >= level {
			open = open[:len(open)-1]
		}
		sections = append(sections, modelMarkdownSection{heading: text, level: level})
		open = append(open, len(sections)-1)
	}
	body := func() {
		for _, i := range open {
			sections[i].hasBody = true
		}
	}

	for i := 0; i < len(lines); i++ {
		line := lines[i]
		if fence != "" {
			if strings.HasPrefix(strings.TrimSpace(line), fence) && strings.Trim(strings.TrimSpace(line), fence[:1]) == "" {
				fence = ""
			} else if strings.TrimSpace(line) != "" {
				body()
			}
			continue
		}
		if m := modelFenceRE.FindStringSubmatch(line); m != nil {
			fence = m[1]
			continue
		}
		text, inComment2 := modelStripComments(line, inComment)
		inComment = inComment2
		if modelBlankLine(text) {
			continue
		}
		if modelThematicBreakRE.MatchString(text) {
			continue
		}
		if m := modelATXHeadingRE.FindStringSubmatch(text); m != nil {
			heading(len(m[1]), strings.TrimSpace(modelATXClosingRE.ReplaceAllString(m[2], "")))
			continue
		}
		if i+1 < len(lines) && !strings.HasPrefix(text, "    ") {
			if m := modelSetextUnderline.FindStringSubmatch(lines[i+1]); m != nil {
				level := 2
				if m[1][0] == '=' {
					level = 1
				}
				heading(level, strings.TrimSpace(text))
				i++
				continue
			}
		}
		body()
	}
	return sections
}

// modelStripComments removes HTML comments from a line, carrying an open
// comment over to the next line.
func modelStripComments(line string, inComment bool) (string, bool) {
	var out strings.Builder
	for line != "" {
		if inComment {
			end := strings.Index(line, "-->")
			if end < 0 {
				return out.String(), true
			}
			line, inComment = line[end+3:], false
			continue
		}
		start := strings.Index(line, "<!--")
		if start < 0 {
			out.WriteString(line)
			break
		}
		out.WriteString(line[:start])
		line, inComment = line[start+4:], true
	}
	return out.String(), inComment
}

// modelBlankLine is true for a line that carries no content of its own.
func modelBlankLine(s string) bool {
	s = strings.TrimSpace(s)
	return s == "" || strings.EqualFold(s, "[More Information Needed]")
}

// modelBlank is true for a text with no content (a ConfigMap key's value).
func modelBlank(s string) bool {
	for _, line := range strings.Split(s, "\n") {
		if !modelBlankLine(line) {
			return false
		}
	}
	return true
}

// modelNormalizeHeading lower-cases a heading and keeps only its letters and
// digits, so that "Intended use:" and "**Intended Use**" compare equal.
func modelNormalizeHeading(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') || r > 127 {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// modelNormalizeKey compares ConfigMap keys with section names: case is
// ignored, and so are spaces, dashes, underscores and a Markdown extension.
func modelNormalizeKey(s string) string {
	s = strings.ToLower(s)
	for _, ext := range []string{".md", ".markdown"} {
		s = strings.TrimSuffix(s, ext)
	}
	return strings.NewReplacer(" ", "", "-", "", "_", "").Replace(s)
}

func modelConfigMapValue(cm *corev1.ConfigMap, key string) (string, bool) {
	if v, ok := cm.Data[key]; ok {
		return v, true
	}
	if v, ok := cm.BinaryData[key]; ok {
		return string(v), true
	}
	return "", false
}

func modelConfigMapKeys(cm *corev1.ConfigMap) string {
	keys := modelSortedKeys(cm.Data)
	keys = append(keys, modelSortedKeys(cm.BinaryData)...)
	if len(keys) == 0 {
		return "none"
	}
	sort.Strings(keys)
	return strings.Join(keys, ", ")
}

func modelCapitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// checkRunbook: a runbook for the operations team is linked.
func checkRunbook(in *Inputs) Finding {
	var link servingv1alpha1.URL
	if d := in.MD.Spec.Documentation; d != nil {
		link = d.Runbook
	}
	if link == "" {
		return Fail("Set spec.documentation.runbook to the link of the runbook for the operations team.",
			"No runbook is linked: spec.documentation.runbook is not set")
	}
	return Pass("Runbook linked: %s", link)
}

// checkRollbackProcedure: the step-by-step rollback procedure is linked.
func checkRollbackProcedure(in *Inputs) Finding {
	var link servingv1alpha1.URL
	if d := in.MD.Spec.Documentation; d != nil {
		link = d.RollbackProcedure
	}
	if link == "" {
		return Fail("Set spec.documentation.rollbackProcedure to the link of the step-by-step rollback procedure.",
			"No rollback procedure is linked: spec.documentation.rollbackProcedure is not set")
	}
	return Pass("Rollback procedure linked: %s", link)
}
