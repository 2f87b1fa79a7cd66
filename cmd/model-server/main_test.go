package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/modelgate/modelgate/internal/modelserver"
)

func TestParseOptions(t *testing.T) {
	badWeights := filepath.Join(t.TempDir(), "weights.json")
	if err := os.WriteFile(badWeights, []byte(`{"model": "x"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		check   func(t *testing.T, o options)
		wantErr string
	}{
		{name: "defaults", check: func(t *testing.T, o options) {
			if o.address != ":8080" || o.metricsAddress != "" || o.cfg.Model.Name() != "fraud-scorer" {
				t.Errorf("got %+v", o)
			}
		}},
		{name: "env as a pod passes it", env: map[string]string{
			modelserver.EnvVersion: "2.3.0", modelserver.EnvName: "scorer", modelserver.EnvAddress: "127.1.1.4:8080",
			modelserver.EnvErrorRatio: "0.2", modelserver.EnvLatency: "150ms", modelserver.EnvFlipRatio: "0.1", modelserver.EnvSlowStart: "3s",
			modelserver.EnvScoreShift: "0.3", modelserver.EnvRevision: "2.3.0_.0a1b2c3d",
		}, check: func(t *testing.T, o options) {
			want := modelserver.Faults{ErrorRatio: 0.2, Latency: 150 * time.Millisecond, FlipRatio: 0.1, SlowStart: 3 * time.Second, ScoreShift: 0.3}
			if o.cfg.Version != "2.3.0" || o.cfg.Revision != "2.3.0_.0a1b2c3d" || o.cfg.ModelName != "scorer" || o.address != "127.1.1.4:8080" || o.cfg.Faults != want {
				t.Errorf("got %+v, faults %+v", o, o.cfg.Faults)
			}
		}},
		{name: "a flag wins over the env", args: []string{"--error-ratio=0.5", "--address=127.1.1.9:9000"},
			env: map[string]string{modelserver.EnvErrorRatio: "0.2", modelserver.EnvAddress: "127.1.1.4:8080", modelserver.EnvVersion: "1.0.0"},
			check: func(t *testing.T, o options) {
				if o.cfg.Faults.ErrorRatio != 0.5 || o.address != "127.1.1.9:9000" || o.cfg.Version != "1.0.0" {
					t.Errorf("got %+v", o)
				}
			}},
		{name: "the last of a repeated flag wins, as the data plane appends its address", args: []string{"--address=:1", "--address=:2"},
			check: func(t *testing.T, o options) {
				if o.address != ":2" {
					t.Errorf("address %q, want :2", o.address)
				}
			}},
		{name: "a bad env value names the variable", env: map[string]string{modelserver.EnvLatency: "soon"},
			wantErr: `environment variable MODEL_SERVER_LATENCY="soon"`},
		{name: "a score shift down by flag", args: []string{"--score-shift=-0.25"}, env: map[string]string{modelserver.EnvScoreShift: "0.3"},
			check: func(t *testing.T, o options) {
				if o.cfg.Faults.ScoreShift != -0.25 {
					t.Errorf("score shift %g, want -0.25", o.cfg.Faults.ScoreShift)
				}
			}},
		{name: "a bad flag", args: []string{"--flip-ratio=lots"}, wantErr: "invalid value"},
		{name: "a stray argument", args: []string{"serve"}, wantErr: `unexpected arguments ["serve"]`},
		{name: "a missing weights file", args: []string{"--model-file=/nonexistent/weights.json"}, wantErr: "--model-file: open /nonexistent"},
		{name: "a broken weights file", args: []string{"--model-file=" + badWeights}, wantErr: "0 features, want 8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := parseOptions(tt.args, func(k string) string { return tt.env[k] }, io.Discard)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, o)
		})
	}
}
