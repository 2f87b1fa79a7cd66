package promserver

import "syscall"

// childAttrs puts Prometheus in a process group of its own, so Stop reaches
// it whole, and has the kernel kill it when the process that started it dies,
// even by SIGKILL: a crashed test leaves no Prometheus behind.
func childAttrs() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
