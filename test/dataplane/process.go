package dataplane

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Timings of the simulated kubelet. They compress a kubelet's: its first probe
// waits for nothing and is retried every pollUntilReady until the first
// success, then the probe's periodSeconds is capped at maxProbePeriod, and a
// crashed process is restarted after a backoff from firstBackoff doubling to
// maxBackoff (a kubelet goes from 10 s to 5 min).
var (
	pollUntilReady = 100 * time.Millisecond
	maxProbePeriod = time.Second
	firstBackoff   = 500 * time.Millisecond
	maxBackoff     = 10 * time.Second
	stopGrace      = 5 * time.Second
	probeTimeout   = time.Second
)

// process supervises the model-server of one pod: it starts it, probes it,
// restarts it when it exits, and reports each change of state.
type process struct {
	spec   spec
	binary string
	logDir string
	log    *slog.Logger
	// report writes a state into the pod's status; it is called from one
	// goroutine at a time.
	report func(context.Context, state)

	cancel context.CancelFunc
	done   chan struct{}

	mu       sync.Mutex
	pid      int
	ready    bool
	restarts int32
}

// start runs the supervisor until stop.
func (p *process) start(ctx context.Context) {
	ctx, p.cancel = context.WithCancel(ctx)
	p.done = make(chan struct{})
	go func() {
		defer close(p.done)
		p.supervise(ctx)
	}()
}

// stop ends the process (SIGTERM, then SIGKILL after stopGrace) and waits for
// the supervisor to return.
func (p *process) stop() {
	p.cancel()
	<-p.done
}

func (p *process) info() (pid int, ready bool, restarts int32) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.pid, p.ready, p.restarts
}

func (p *process) supervise(ctx context.Context) {
	backoff := firstBackoff
	for {
		exitErr, started := p.runOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		p.mu.Lock()
		if started {
			p.restarts++
		}
		restarts := p.restarts
		p.ready, p.pid = false, 0
		p.mu.Unlock()
		msg := fmt.Sprintf("model-server exited (%v); restarting in %s; log: %s", exitErr, backoff, p.logPath())
		p.log.Info("Process exited", "pod", p.spec.Pod, "error", exitErr, "restartIn", backoff)
		p.report(ctx, state{Ready: false, Restarts: restarts, Reason: ReasonProcessExited, Message: msg})
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// runOnce starts the process, probes it until it exits or ctx ends, and
// returns why it ended.
func (p *process) runOnce(ctx context.Context) (exitErr error, started bool) {
	logFile, err := os.OpenFile(p.logPath(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err, false
	}
	defer logFile.Close()
	cmd := exec.Command(p.binary, p.spec.Args...)
	cmd.Env = p.spec.Env
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = childAttrs()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", p.binary, err), false
	}
	p.mu.Lock()
	p.pid = cmd.Process.Pid
	p.mu.Unlock()
	p.log.Info("Process started", "pod", p.spec.Pod, "pid", cmd.Process.Pid, "version", p.spec.Version, "address", p.spec.Address)
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	probeCtx, cancelProbe := context.WithCancel(ctx)
	var probing sync.WaitGroup
	probing.Go(func() { p.probe(probeCtx) })
	// The probe goroutine ends before the caller reports the exit, so a late
	// "ready" can never follow it.
	defer probing.Wait()
	defer cancelProbe()

	select {
	case err := <-exited:
		return err, true
	case <-ctx.Done():
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case err := <-exited:
			return err, true
		case <-time.After(stopGrace):
			p.log.Info("Process ignored SIGTERM; killing it", "pod", p.spec.Pod, "pid", cmd.Process.Pid)
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			return <-exited, true
		}
	}
}

// probe plays the kubelet's readiness probe: without one the pod is Ready as
// soon as its process runs; with one, when the probe answers 2xx or 3xx, and
// not Ready after FailureThreshold failures in a row.
func (p *process) probe(ctx context.Context) {
	if p.spec.Probe == "" {
		p.setReady(ctx, true, "")
		<-ctx.Done()
		return
	}
	client := &http.Client{Timeout: probeTimeout}
	period := min(time.Duration(p.spec.PeriodSeconds)*time.Second, maxProbePeriod)
	failures := int32(0)
	ready := false
	for {
		ok, why := get(ctx, client, p.spec.Probe)
		switch {
		case ctx.Err() != nil:
			return
		case ok:
			failures = 0
			if !ready {
				ready = true
				p.setReady(ctx, true, "")
			}
		default:
			failures++
			if ready && failures >= p.spec.FailureThreshold {
				ready = false
				p.setReady(ctx, false, fmt.Sprintf("readiness probe %s failed %d times: %s", p.spec.Probe, failures, why))
			} else if !ready && failures == 1 {
				p.setReady(ctx, false, fmt.Sprintf("readiness probe %s: %s", p.spec.Probe, why))
			}
		}
		wait := period
		if !ready {
			wait = pollUntilReady
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

func (p *process) setReady(ctx context.Context, ready bool, message string) {
	p.mu.Lock()
	p.ready = ready
	restarts := p.restarts
	p.mu.Unlock()
	st := state{Ready: ready, Restarts: restarts}
	if !ready {
		st.Reason, st.Message = ReasonProcessNotReady, message
	}
	p.report(ctx, st)
}

func get(ctx context.Context, client *http.Client, url string) (bool, string) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false, err.Error()
	}
	resp, err := client.Do(req)
	if err != nil {
		return false, err.Error()
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 200 && resp.StatusCode < 400 {
		return true, ""
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
	return false, strings.TrimSpace(resp.Status + ": " + string(body))
}

func (p *process) logPath() string {
	return fmt.Sprintf("%s/%s_%s.log", p.logDir, p.spec.Pod.Namespace, p.spec.Pod.Name)
}
