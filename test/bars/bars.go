// Package bars records the figures an issue's "Bars" ask for, in Go benchmark
// format, so that runs can be compared with benchstat instead of being timed
// assertions that flake.
package bars

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
)

var mu sync.Mutex

// Dir is where the figures go: $BARS_DIR, or bars/ at the repository root.
func Dir() string {
	if d := os.Getenv("BARS_DIR"); d != "" {
		return d
	}
	_, file, _, _ := runtime.Caller(0) // test/bars/bars.go
	return filepath.Join(filepath.Dir(file), "..", "..", "bars")
}

// Record prints a figure and appends it to <Dir>/<layer>.txt as a benchmark
// line: "BenchmarkName 1 value unit".
func Record(layer, name string, value float64, unit string) {
	mu.Lock()
	defer mu.Unlock()
	line := fmt.Sprintf("Benchmark%s 1 %g %s\n", strings.ReplaceAll(name, " ", ""), value, unit)
	fmt.Printf("bar: %s", line)
	if err := os.MkdirAll(Dir(), 0o755); err != nil {
		fmt.Fprintf(os.Stderr, "bars: %v\n", err)
		return
	}
	f, err := os.OpenFile(filepath.Join(Dir(), layer+".txt"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		fmt.Fprintf(os.Stderr, "bars: %v\n", err)
		return
	}
	defer f.Close()
	if _, err := f.WriteString(line); err != nil {
		fmt.Fprintf(os.Stderr, "bars: %v\n", err)
	}
}
