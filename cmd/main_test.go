package main

import (
	"flag"
	"testing"
)

func TestGCTarget(t *testing.T) {
	for _, tc := range []struct {
		name   string
		args   []string
		gogc   string // "" is unset
		want   int
		wantOK bool
	}{
		{name: "neither: the manager's default", want: defaultGCPercent, wantOK: true},
		{name: "GOGC alone: left to the runtime, which read it", gogc: "200", wantOK: false},
		{name: "the flag alone", args: []string{"--gc-percent=30"}, want: 30, wantOK: true},
		{name: "the flag over GOGC", args: []string{"--gc-percent=80"}, gogc: "200", want: 80, wantOK: true},
		{name: "the flag at Go's off", args: []string{"--gc-percent=-1"}, want: -1, wantOK: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			flags := flag.NewFlagSet("manager", flag.ContinueOnError)
			percent := flags.Int("gc-percent", defaultGCPercent, "")
			flags.Bool("leader-elect", false, "")
			if err := flags.Parse(append(tc.args, "--leader-elect")); err != nil {
				t.Fatal(err)
			}
			env := func(name string) (string, bool) { return tc.gogc, name == "GOGC" && tc.gogc != "" }
			got, ok := gcTarget(flags, *percent, env)
			if ok != tc.wantOK || (ok && got != tc.want) {
				t.Errorf("gcTarget = %d, %v; want %d, %v", got, ok, tc.want, tc.wantOK)
			}
		})
	}
}

func TestSoftMemoryLimit(t *testing.T) {
	for _, tc := range []struct {
		name    string
		env     map[string]string
		want    int64
		wantOK  bool
		wantErr bool
	}{
		{name: "no limit given", wantOK: false},
		{name: "the container's limit: 90% of it", env: map[string]string{envMemoryLimit: "268435456"}, want: 241591905, wantOK: true},
		{name: "GOMEMLIMIT wins", env: map[string]string{envMemoryLimit: "268435456", "GOMEMLIMIT": "200MiB"}, wantOK: false},
		{name: "not bytes", env: map[string]string{envMemoryLimit: "256Mi"}, wantErr: true},
		{name: "zero", env: map[string]string{envMemoryLimit: "0"}, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := func(name string) (string, bool) { v, ok := tc.env[name]; return v, ok }
			got, ok, err := softMemoryLimit(env)
			if (err != nil) != tc.wantErr || ok != tc.wantOK || (ok && got != tc.want) {
				t.Errorf("softMemoryLimit = %d, %v, %v; want %d, %v, error %v", got, ok, err, tc.want, tc.wantOK, tc.wantErr)
			}
		})
	}
}
