package checkformat

import (
	"encoding/xml"
	"fmt"
	"io"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
	"github.com/modelgate/modelgate/internal/manifestcheck"
	"github.com/modelgate/modelgate/internal/statusview"
)

// The JUnit XML schema CI systems read (Jenkins, GitLab, GitHub test
// reporters): one testsuite per ModelDeployment, one testcase per checklist
// item.
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	File       string          `xml:"file,attr"`
	Properties []junitProperty `xml:"properties>property"`
	Cases      []junitCase     `xml:"testcase"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	ClassName string        `xml:"classname,attr"`
	File      string        `xml:"file,attr"`
	Line      int           `xml:"line,attr"`
	Failure   *junitFailure `xml:"failure"`
	Skipped   *junitSkipped `xml:"skipped"`
	SystemOut *junitText    `xml:"system-out"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",cdata"`
}

// junitText is a text element, in CDATA so that its lines stay readable.
type junitText struct {
	Text string `xml:",cdata"`
}

type junitSkipped struct {
	Message string `xml:"message,attr"`
}

// writeJUnit writes an enforced item that failed as a failure, an item that
// was skipped or could not be judged as skipped, and any other as passed (a
// warning with its message in system-out).
func writeJUnit(w io.Writer, js []manifestcheck.Judgement) error {
	all := junitSuites{Name: "kubectl-modelgate check", Suites: []junitSuite{}}
	for i := range js {
		j := &js[i]
		s := junitSuite{
			Name: name(j), File: j.Source.Path,
			Properties: []junitProperty{
				{"version", j.MD.Spec.Model.Version},
				{"profile", string(statusview.Profile(j.MD))},
				{"source", j.Source.String()},
				{"summary", j.Result.Status.Summary},
			},
		}
		for _, it := range j.Result.Status.Items {
			c := junitCase{Name: it.ID, ClassName: it.Section, File: j.Source.Path, Line: j.Source.Line}
			detail := it.Message
			if it.Remediation != "" {
				detail += "\nFix: " + it.Remediation
			}
			if it.OverrideReason != "" {
				detail += "\nOverride: " + it.OverrideReason
			}
			switch it.Result {
			case servingv1alpha1.CheckFail:
				c.Failure = &junitFailure{Message: it.Message, Type: string(it.Severity), Text: detail}
				s.Failures++
			case servingv1alpha1.CheckSkipped, servingv1alpha1.CheckUnknown:
				c.Skipped = &junitSkipped{Message: fmt.Sprintf("%s: %s", it.Result, it.Message)}
				s.Skipped++
			case servingv1alpha1.CheckWarn:
				c.SystemOut = &junitText{"Warn: " + detail}
			}
			s.Cases = append(s.Cases, c)
		}
		for _, v := range j.Violations() {
			s.Cases = append(s.Cases, junitCase{Name: "policy " + v.Policy + " " + v.Field, ClassName: "ModelDeploymentPolicy",
				File: j.Source.Path, Line: j.Source.Line,
				Failure: &junitFailure{Message: v.Message, Type: "PolicyViolation", Text: v.String()}})
			s.Failures++
		}
		s.Tests = len(s.Cases)
		all.Tests += s.Tests
		all.Failures += s.Failures
		all.Skipped += s.Skipped
		all.Suites = append(all.Suites, s)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(all); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}
