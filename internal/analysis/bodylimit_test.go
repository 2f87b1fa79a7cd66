package analysis

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
)

// A "Prometheus" answering 200 MiB is cut at MaxAnswer: the query fails
// saying so, and the client allocates a small part of the answer.
func TestPrometheusAnswerLimit(t *testing.T) {
	g := NewWithT(t)
	const huge = 200 << 20
	chunk := []byte(strings.Repeat("x", 64<<10))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if _, err := w.Write([]byte(`{"status":"success","data":{"resultType":"vector","result":[{"metric":{"padding":"`)); err != nil {
			return
		}
		for sent := 0; sent < huge; sent += len(chunk) {
			if _, err := w.Write(chunk); err != nil {
				return // the client hung up, as it should
			}
		}
		_, _ = w.Write([]byte(`"},"value":[1700000000,"1"]}]}}`))
	}))
	t.Cleanup(srv.Close)
	p, err := NewPrometheus(srv.URL, "", 30*time.Second, nil)
	g.Expect(err).NotTo(HaveOccurred())

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err = p.Query(context.Background(), "up", now)
	runtime.ReadMemStats(&after)
	g.Expect(err).To(MatchError(ErrAnswerTooLong))
	g.Expect(after.TotalAlloc-before.TotalAlloc).To(BeNumerically("<", 64<<20), "bytes allocated reading the answer")
}

func TestLimitedBody(t *testing.T) {
	for _, tc := range []struct {
		size    int
		wantErr bool
	}{{0, false}, {10, false}, {11, true}, {1000, true}} {
		g := NewWithT(t)
		b := &limitedBody{body: io.NopCloser(strings.NewReader(strings.Repeat("a", tc.size))), left: 10}
		got, err := io.ReadAll(b)
		if tc.wantErr {
			g.Expect(err).To(HaveOccurred(), "size %d", tc.size)
			g.Expect(got).To(HaveLen(10))
			continue
		}
		g.Expect(err).NotTo(HaveOccurred(), "size %d", tc.size)
		g.Expect(got).To(HaveLen(tc.size))
	}
}
