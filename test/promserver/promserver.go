// Package promserver runs a real Prometheus (the binary `make prometheus`
// puts in bin/) for tests and the demo: on a free loopback port, with a
// config of the caller's, stopped with everything it started.
package promserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Options say which Prometheus to run, and how.
type Options struct {
	// Binary is the prometheus executable (the Makefile passes it as $PROMETHEUS).
	Binary string
	// Config is the content of prometheus.yml, such as FileTargets returns.
	Config string
	// Address to listen on; a free port on 127.0.0.1 when empty. Give the
	// address of a stopped server to start it again where clients look for it.
	Address string
	// Dir holds the config, the data and prometheus.log. A temporary folder,
	// removed by Stop, when empty; a given Dir is kept, so a restarted server
	// keeps the samples it had.
	Dir string
	// ReadyTimeout bounds the wait for /-/ready (default 30 s).
	ReadyTimeout time.Duration
}

// Server is a running Prometheus.
type Server struct {
	// URL is where its HTTP API answers, such as http://127.0.0.1:41234.
	URL string
	// Address is host:port of URL.
	Address string
	// Dir holds prometheus.yml, prometheus.log and the data.
	Dir string

	cmd     *exec.Cmd
	tempDir bool
	done    chan struct{}
	waitErr error
	stop    sync.Once
}

// Start runs Prometheus and returns once it answers /-/ready. When it does
// not, it is stopped and the error carries the end of its log.
func Start(ctx context.Context, o Options) (*Server, error) {
	if o.Binary == "" {
		return nil, errors.New("no Prometheus binary: run 'make prometheus' and pass bin/prometheus-<version>/prometheus (the Makefile sets $PROMETHEUS)")
	}
	if _, err := os.Stat(o.Binary); err != nil {
		return nil, fmt.Errorf("the Prometheus binary: %w; run 'make prometheus'", err)
	}
	s := &Server{Dir: o.Dir, Address: o.Address, done: make(chan struct{})}
	if s.Dir == "" {
		dir, err := os.MkdirTemp("", "prometheus-")
		if err != nil {
			return nil, err
		}
		s.Dir, s.tempDir = dir, true
	} else if err := os.MkdirAll(s.Dir, 0o750); err != nil {
		return nil, err
	}
	if s.Address == "" {
		addr, err := FreeAddress()
		if err != nil {
			return nil, err
		}
		s.Address = addr
	}
	s.URL = "http://" + s.Address
	config := filepath.Join(s.Dir, "prometheus.yml")
	if err := os.WriteFile(config, []byte(o.Config), 0o600); err != nil {
		return nil, err
	}
	log, err := os.OpenFile(s.LogPath(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	defer log.Close() // the child has its own descriptor
	s.cmd = exec.Command(o.Binary,
		"--config.file="+config,
		"--storage.tsdb.path="+filepath.Join(s.Dir, "data"),
		"--web.listen-address="+s.Address,
		// Reload lets a test change the scrape config without a restart.
		"--web.enable-lifecycle",
		"--log.level=info",
	)
	s.cmd.Stdout, s.cmd.Stderr = log, log
	s.cmd.SysProcAttr = childAttrs()
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", o.Binary, err)
	}
	go func() { s.waitErr = s.cmd.Wait(); close(s.done) }()

	timeout := o.ReadyTimeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	if err := s.waitReady(ctx, timeout); err != nil {
		tail := s.LogTail(20) // before Stop removes a temporary Dir
		_ = s.Stop()
		return nil, fmt.Errorf("the Prometheus on %s did not become ready: %w\n%s", s.Address, err, tail)
	}
	return s, nil
}

func (s *Server) waitReady(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		select {
		case <-s.done:
			return fmt.Errorf("it exited: %v", s.waitErr)
		case <-ctx.Done():
			return fmt.Errorf("%w (last answer: %v)", ctx.Err(), last)
		case <-tick.C:
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/-/ready", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			last = err
			continue
		}
		_ = resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			return nil
		}
		last = errors.New(resp.Status)
	}
}

// Reload makes Prometheus read its config file again, after WriteConfig.
func (s *Server) Reload(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL+"/-/reload", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("reload: %s; see %s", resp.Status, s.LogPath())
	}
	return nil
}

// WriteConfig replaces prometheus.yml; Reload applies it.
func (s *Server) WriteConfig(config string) error {
	return os.WriteFile(filepath.Join(s.Dir, "prometheus.yml"), []byte(config), 0o600)
}

// Stop ends Prometheus (SIGTERM, SIGKILL after 10 s) and removes a temporary
// Dir. It may be called more than once.
func (s *Server) Stop() error {
	var err error
	s.stop.Do(func() {
		if s.cmd != nil && s.cmd.Process != nil {
			_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGTERM)
			select {
			case <-s.done:
			case <-time.After(10 * time.Second):
				_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
				<-s.done
				err = errors.New("the Prometheus ignored SIGTERM for 10 s and was killed")
			}
		}
		if s.tempDir {
			_ = os.RemoveAll(s.Dir)
		}
	})
	return err
}

// LogPath is Prometheus' log file.
func (s *Server) LogPath() string { return filepath.Join(s.Dir, "prometheus.log") }

// LogTail returns the last n lines of the log, for error messages.
func (s *Server) LogTail(n int) string {
	b, err := os.ReadFile(s.LogPath())
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// FreeAddress returns a loopback address with a port nobody listens on now.
func FreeAddress() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}
