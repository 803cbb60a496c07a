//go:build unix && !linux

package local

import "syscall"

// procAttr starts a node in a process group of its own. There is no
// parent-death signal here: `cluster up` stops its nodes on Ctrl-C and
// SIGTERM, but a SIGKILLed `cluster up` leaves them running.
func procAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }
