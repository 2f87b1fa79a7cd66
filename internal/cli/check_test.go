package cli

import (
	"encoding/json"
	"encoding/xml"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	. "github.com/onsi/gomega"

	"github.com/modelgate/modelgate/internal/checklist"
)

var (
	samples = filepath.Join("..", "..", "config", "samples")
	bad     = filepath.Join("testdata", "bad")
)

func TestCheckGolden(t *testing.T) {
	for _, tt := range []struct {
		golden string
		args   []string
		code   int
	}{
		{"check-bad.txt.golden", []string{"check", "-f", bad}, ExitFailed},
		{"check-bad.json.golden", []string{"check", "-f", bad, "-o", "json"}, ExitFailed},
		{"check-bad.sarif.golden", []string{"check", "-f", bad, "-o", "sarif"}, ExitFailed},
		{"check-bad.junit.golden", []string{"check", "-f", bad, "-o", "junit"}, ExitFailed},
		{"check-samples.txt.golden", []string{"check", "-f", samples}, ExitOK},
	} {
		t.Run(tt.golden, func(t *testing.T) {
			g := NewWithT(t)
			r := run(t, nil, "", tt.args...)
			g.Expect(r.code).To(Equal(tt.code))
			if tt.code == ExitFailed && len(tt.args) > 3 { // a machine format: the log says why
				g.Expect(r.err).To(Equal("error: 2 of 2 ModelDeployments fail enforced checklist items: payments/fraud-scorer (hpa, pdb, secrets, tls); " +
					"default/unvetted (hpa, image-pinned, model-card, model-performance, model-registry, monitoring, network-policy, pdb, probes, redundancy, resources, rollback-procedure, runbook, secrets, security-context)\n"))
			} else {
				g.Expect(r.err).To(BeEmpty())
			}
			goldenFile(t, tt.golden, []byte(r.out))
		})
	}
}

// TestCheckSamplesPass: the repository's own samples pass the production
// checklist offline, with the PodDisruptionBudget that sits beside them.
func TestCheckSamplesPass(t *testing.T) {
	g := NewWithT(t)
	r := run(t, nil, "", "check", "-f", samples, "-o", "json")
	g.Expect(r.code).To(Equal(ExitOK), r.out+r.err)
	var rep checkJSON
	g.Expect(json.Unmarshal([]byte(r.out), &rep)).To(Succeed())
	g.Expect(rep.Passed).To(BeTrue())
	g.Expect(rep.ModelDeployments).To(HaveLen(1))
	md := rep.ModelDeployments[0]
	g.Expect(md.Namespace + "/" + md.Name).To(Equal("default/fraud-scorer"))
	g.Expect(md.Failed).To(BeEmpty())
	g.Expect(md.Unknown).To(Equal([]string{"capacity"}), "the running versions are only in a cluster")
	g.Expect(md.File).To(Equal(filepath.Join(samples, "serving_v1alpha1_modeldeployment.yaml")))
	g.Expect(md.Line).To(Equal(6), "the line of its kind, below the comments")

	inNamespace := func(ns string) result { return run(t, nil, "", "check", "-f", samples, "-n", ns, "-o", "json") }
	r = inNamespace("ml")
	g.Expect(r.code).To(Equal(ExitOK))
	g.Expect(r.out).To(ContainSubstring(`"namespace": "ml"`), "objects without a namespace take --namespace")
}

// checkJSON is the documented JSON shape, as a CI script reads it.
type checkJSON struct {
	Passed           bool `json:"passed"`
	ModelDeployments []struct {
		Namespace string   `json:"namespace"`
		Name      string   `json:"name"`
		Version   string   `json:"version"`
		Profile   string   `json:"profile"`
		File      string   `json:"file"`
		Line      int      `json:"line"`
		Passed    bool     `json:"passed"`
		Failed    []string `json:"failed"`
		Unknown   []string `json:"unknown"`
		Checklist struct {
			Summary string `json:"summary"`
			Items   []struct {
				ID, Section, Result, Severity, Message, Remediation string
			} `json:"items"`
		} `json:"checklist"`
	} `json:"modelDeployments"`
}

// TestCheckBadManifestsFail: the bad manifests fail with the ids of what is wrong.
func TestCheckBadManifestsFail(t *testing.T) {
	g := NewWithT(t)
	r := run(t, nil, "", "check", "-f", bad, "-o", "json")
	g.Expect(r.code).To(Equal(ExitFailed))
	var rep checkJSON
	g.Expect(json.Unmarshal([]byte(r.out), &rep)).To(Succeed())
	g.Expect(rep.Passed).To(BeFalse())
	failed := map[string][]string{}
	for _, md := range rep.ModelDeployments {
		g.Expect(md.Passed).To(BeFalse())
		failed[md.Namespace+"/"+md.Name] = md.Failed
		g.Expect(md.Checklist.Items).To(HaveLen(len(checklist.Catalogue())))
	}
	g.Expect(failed).To(Equal(map[string][]string{
		"payments/fraud-scorer": {"hpa", "pdb", "secrets", "tls"},
		"default/unvetted": {"hpa", "image-pinned", "model-card", "model-performance", "model-registry", "monitoring",
			"network-policy", "pdb", "probes", "redundancy", "resources", "rollback-procedure", "runbook", "secrets", "security-context"},
	}))
}

func TestCheckStdin(t *testing.T) {
	g := NewWithT(t)
	var in strings.Builder
	for _, f := range []string{"serving_v1alpha1_modeldeployment.yaml", "fraud-scorer-surroundings.yaml", "fraud-scorer-pdb.yaml"} {
		b, err := os.ReadFile(filepath.Join(samples, f))
		g.Expect(err).NotTo(HaveOccurred())
		in.WriteString("---\n")
		in.Write(b)
	}
	r := run(t, nil, in.String(), "check", "-f", "-", "-o", "sarif")
	g.Expect(r.code).To(Equal(ExitOK), r.err)
	g.Expect(r.out).To(ContainSubstring(`"uri": "stdin"`))
	g.Expect(r.out).To(ContainSubstring(`"startLine": 7`), "the kind's line in the stream")

	r = run(t, nil, in.String(), "check", "-f", "-")
	g.Expect(r.out).To(HavePrefix("<stdin>:7: ModelDeployment default/fraud-scorer 2.3.0 (production profile): PASS"))
}

// TestCheckUnreadable: what cannot be read exits 2 and says where and what to do.
func TestCheckUnreadable(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	md := func(extra string) string {
		return "apiVersion: serving.modelgate.dev/v1alpha1\nkind: ModelDeployment\nmetadata: {name: m}\nspec:\n  model: {name: m, version: 1.0.0, uri: pvc://m/m}\n" + extra
	}
	for _, tt := range []struct {
		name string
		args []string
		want []string
	}{
		{"no manifests", []string{"check"}, []string{"check needs manifests: -f FILE"}},
		{"an argument instead of -f", []string{"check", "deploy/"}, []string{"not arguments", "-f deploy/"}},
		{"an unknown format", []string{"check", "-f", samples, "-o", "xml"}, []string{`unknown output format "xml": use one of text, json, sarif, junit`}},
		{"a missing file", []string{"check", "-f", filepath.Join(dir, "nope.yaml")}, []string{"nope.yaml: no such file or directory"}},
		{"an empty folder", []string{"check", "-f", t.TempDir()}, []string{"holds no .yaml, .yml or .json file"}},
		{"YAML that does not parse", []string{"check", "-f", write("broken.yaml", "apiVersion: v1\nkind: ConfigMap\n---\napiVersion: v1\nkind: ConfigMap\ndata:\n  a: [\n")},
			[]string{"broken.yaml:7: not valid YAML: did not find expected node content", "1 manifest could not be read"}},
		{"an object without a kind", []string{"check", "-f", write("nokind.yaml", "metadata: {name: x}\n")},
			[]string{"nokind.yaml:1: the document has no apiVersion or kind"}},
		{"a field the kind does not have", []string{"check", "-f", write("typo.yaml", md("  replcas: 3\n  template: {spec: {containers: [{name: s, image: i}]}}\n"))},
			[]string{"typo.yaml:2: ModelDeployment m:", `unknown field "spec.replcas"`, "kubectl apply refuses it too"}},
		{"a template without containers", []string{"check", "-f", write("empty.yaml", md("  template: {}\n"))},
			[]string{"empty.yaml:2: ModelDeployment default/m: spec.template.spec.containers is empty: declare the model server container"}},
		{"JSON that does not parse", []string{"check", "-f", write("bad.json", `{"kind": `)}, []string{"bad.json:1: not valid JSON"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			r := run(t, nil, "", tt.args...)
			g.Expect(r.code).To(Equal(ExitUsage), r.out+r.err)
			g.Expect(r.out).To(BeEmpty(), "no verdict on manifests that could not be read")
			for _, w := range tt.want {
				g.Expect(r.err).To(ContainSubstring(w))
			}
		})
	}
}

// TestCheckSARIFShape checks the SARIF 2.1.0 shape code-scanning services
// read: version and schema, one run whose driver names itself and lists the
// catalogue as rules, results with ruleId, level, message and a location.
func TestCheckSARIFShape(t *testing.T) {
	g := NewWithT(t)
	r := run(t, nil, "", "check", "-f", bad, "-o", "sarif")
	var log map[string]any
	g.Expect(json.Unmarshal([]byte(r.out), &log)).To(Succeed())
	g.Expect(log).To(HaveKeyWithValue("version", "2.1.0"))
	g.Expect(log).To(HaveKeyWithValue("$schema", ContainSubstring("sarif-2.1.0")))
	runs, ok := log["runs"].([]any)
	g.Expect(ok).To(BeTrue())
	g.Expect(runs).To(HaveLen(1))
	run0 := runs[0].(map[string]any)
	driver := run0["tool"].(map[string]any)["driver"].(map[string]any)
	g.Expect(driver).To(HaveKeyWithValue("name", "kubectl-modelgate"))
	rules := driver["rules"].([]any)
	var ruleIDs []string
	for _, r := range rules {
		rule := r.(map[string]any)
		ruleIDs = append(ruleIDs, rule["id"].(string))
		g.Expect(rule["shortDescription"]).To(HaveKeyWithValue("text", Not(BeEmpty())))
	}
	var catalogue []string
	for _, c := range checklist.Catalogue() {
		catalogue = append(catalogue, c.ID)
	}
	g.Expect(ruleIDs).To(Equal(catalogue))

	results := run0["results"].([]any)
	g.Expect(results).NotTo(BeEmpty())
	levels := map[string]int{}
	for _, x := range results {
		res := x.(map[string]any)
		id := res["ruleId"].(string)
		g.Expect(catalogue).To(ContainElement(id))
		g.Expect(res["ruleIndex"]).To(BeNumerically("==", slices.Index(catalogue, id)))
		level := res["level"].(string)
		g.Expect([]string{"error", "warning", "note", "none"}).To(ContainElement(level))
		levels[level]++
		if level == "none" {
			g.Expect(res).To(HaveKeyWithValue("kind", "open"), "SARIF: a result that is not a failure has level none")
		}
		g.Expect(res["message"]).To(HaveKeyWithValue("text", Not(BeEmpty())))
		locs := res["locations"].([]any)
		g.Expect(locs).To(HaveLen(1))
		phys := locs[0].(map[string]any)["physicalLocation"].(map[string]any)
		g.Expect(phys["artifactLocation"]).To(HaveKeyWithValue("uri", HavePrefix("testdata/bad/")))
		g.Expect(phys["region"].(map[string]any)["startLine"]).To(BeNumerically(">", 0))
	}
	g.Expect(levels["error"]).To(Equal(4+15), "one error per enforced failure")
	g.Expect(levels["none"]).To(Equal(2), "capacity, not judged offline, for each")
}

// junitReport reads JUnit XML as CI test reporters do.
type junitReport struct {
	XMLName  xml.Name `xml:"testsuites"`
	Tests    int      `xml:"tests,attr"`
	Failures int      `xml:"failures,attr"`
	Skipped  int      `xml:"skipped,attr"`
	Suites   []struct {
		Name     string `xml:"name,attr"`
		Tests    int    `xml:"tests,attr"`
		Failures int    `xml:"failures,attr"`
		Cases    []struct {
			Name    string `xml:"name,attr"`
			Class   string `xml:"classname,attr"`
			Failure *struct {
				Message string `xml:"message,attr"`
				Text    string `xml:",chardata"`
			} `xml:"failure"`
			Skipped *struct {
				Message string `xml:"message,attr"`
			} `xml:"skipped"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

func TestCheckJUnitParses(t *testing.T) {
	g := NewWithT(t)
	r := run(t, nil, "", "check", "-f", bad, "-o", "junit")
	var rep junitReport
	g.Expect(xml.Unmarshal([]byte(r.out), &rep)).To(Succeed())
	g.Expect(rep.Suites).To(HaveLen(2))
	g.Expect(rep.Tests).To(Equal(2 * len(checklist.Catalogue())))
	g.Expect(rep.Failures).To(Equal(4 + 15))
	suite := rep.Suites[0]
	g.Expect(suite.Name).To(Equal("payments/fraud-scorer"))
	g.Expect(suite.Failures).To(Equal(4))
	var failed []string
	for _, c := range suite.Cases {
		if c.Failure != nil {
			failed = append(failed, c.Name)
			g.Expect(c.Failure.Text).To(ContainSubstring("Fix: "), "the remediation goes with the failure")
		}
	}
	g.Expect(failed).To(ConsistOf("hpa", "pdb", "secrets", "tls"))
}
