package dataplane

import "syscall"

// childAttrs puts a model server in a process group of its own, so a stop reaches
// it whole, and has the kernel kill it when the process that started it dies,
// even by SIGKILL: a crashed runner leaves no process behind.
func childAttrs() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
