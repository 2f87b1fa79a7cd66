package checklist

import (
	"testing"

	. "github.com/onsi/gomega"
)

func TestRedactURL(t *testing.T) {
	for raw, want := range map[string]string{
		"https://docs.example/card.md":                        "https://docs.example/card.md",
		"https://user:pass@docs.example/card.md":              "https://docs.example/card.md",
		"https://bucket.s3.example/m.bin?X-Amz-Signature=abc": "https://bucket.s3.example/m.bin?…",
		"https://docs.example/card.md#section":                "https://docs.example/card.md",
		"http://[::1:bad/x?token=secret":                      "http://[::1:bad/x",
		"pvc://models/fraud-scorer/2.3.0":                     "pvc://models/fraud-scorer/2.3.0",
	} {
		g := NewWithT(t)
		g.Expect(RedactURL(raw)).To(Equal(want), raw)
	}
}
