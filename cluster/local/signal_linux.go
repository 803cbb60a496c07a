package local

import "syscall"

// procAttr starts a node in a process group of its own (signals reach it
// and nothing else) that gets SIGTERM if this process dies.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}
