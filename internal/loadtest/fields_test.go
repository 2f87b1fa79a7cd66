package loadtest

import (
	"testing"

	. "github.com/onsi/gomega"
)

func TestCheckField(t *testing.T) {
	doc, err := decodeJSON([]byte(`{"a": {"b": [10, {"c": null}], "n": 12345678901234567890, "f": 1.50, "t": true,
		"s": "x y", "dotted.key": 1}, "big": 9007199254740993}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path, value, want string
	}{
		{"a.b.0", "10", ""},
		{"a.b.0", "10.0", ""},
		{"a.b.0", "1e1", ""},
		{"a.b.0", "11", "field a.b.0 is 10, expected 11"},
		{"a.b.1.c", "null", ""},
		{"a.b.1.c", "", ""},
		{"a.b.1", `{"c":null}`, ""},
		{"a.b", `[10, {"c": null}]`, ""},
		{"a.b", `[10]`, `field a.b is [10,{"c":null}], expected [10]`},
		{"a.b.01", "", "field a.b.01 missing"},
		{"a.b.-1", "", "field a.b.-1 missing"},
		{"a.f", "1.5", ""},
		{"a.t", "true", ""},
		{"a.t", `"true"`, `field a.t is true, expected "true"`},
		{"a.s", `"x y"`, ""},
		{"a.s", "x y", ""},
		{"a.s", "x z", `field a.s is "x y", expected "x z"`},
		{"a.n", "12345678901234567890", ""},
		{"big", "9007199254740992", "field big is 9007199254740993, expected 9007199254740992"},
		{"a.dotted.key", "", "field a.dotted.key missing"},
		{"a.", "", "field a. missing"},
	} {
		g := NewWithT(t)
		g.Expect(checkField(doc, tc.path, tc.value)).To(Equal(tc.want), "%s = %s", tc.path, tc.value)
	}
}

func TestDecodeJSONTakesOneValue(t *testing.T) {
	g := NewWithT(t)
	_, err := decodeJSON([]byte(`{} {}`))
	g.Expect(err).To(MatchError("more than one JSON value"))
	_, err = decodeJSON(nil)
	g.Expect(err).To(HaveOccurred())
}
