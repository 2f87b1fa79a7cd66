package checkformat

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"testing"

	. "github.com/onsi/gomega"
)

func TestParseFormat(t *testing.T) {
	g := NewWithT(t)
	for _, s := range []string{"text", "json", "SARIF", "junit"} {
		f, err := ParseFormat(s)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(Formats).To(ContainElement(f))
	}
	_, err := ParseFormat("yaml")
	g.Expect(err).To(MatchError(`unknown output format "yaml": use one of text, json, sarif, junit`))
}

func TestNames(t *testing.T) {
	g := NewWithT(t)
	g.Expect(ruleName("network-policy")).To(Equal("NetworkPolicy"))
	g.Expect(ruleName("model-version-semver")).To(Equal("ModelVersionSemver"))
	g.Expect(artifactURI("deploy/./prod/model.yaml")).To(Equal("deploy/prod/model.yaml"))
	g.Expect(artifactURI("deploy/my model.yaml")).To(Equal("deploy/my%20model.yaml"))
	g.Expect(artifactURI("/srv/deploy/model.yaml")).To(Equal("file:///srv/deploy/model.yaml"))
	g.Expect(artifactURI("-")).To(Equal("stdin"))
}

// TestNothingFound: without ModelDeployments every format still says so in its shape.
func TestNothingFound(t *testing.T) {
	g := NewWithT(t)
	var b bytes.Buffer
	g.Expect(Write(&b, Text, nil, Options{})).To(Succeed())
	g.Expect(b.String()).To(Equal("No ModelDeployment found in the manifests: nothing to check.\n"))

	b.Reset()
	g.Expect(Write(&b, JSON, nil, Options{})).To(Succeed())
	g.Expect(b.String()).To(Equal("{\n  \"passed\": true,\n  \"modelDeployments\": []\n}\n"))

	b.Reset()
	g.Expect(Write(&b, SARIF, nil, Options{ToolVersion: "v1"})).To(Succeed())
	var log sarifLog
	g.Expect(json.Unmarshal(b.Bytes(), &log)).To(Succeed())
	g.Expect(log.Runs[0].Results).NotTo(BeNil())
	g.Expect(b.String()).To(ContainSubstring(`"results": []`))

	b.Reset()
	g.Expect(Write(&b, JUnit, nil, Options{})).To(Succeed())
	var suites junitSuites
	g.Expect(xml.Unmarshal(b.Bytes(), &suites)).To(Succeed())
	g.Expect(suites.Tests).To(BeZero())
}
