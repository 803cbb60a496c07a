//go:build unix

package local

import (
	"os"
	"syscall"
)

// signalGroup sends sig to p's process group (a node runs in its own).
func signalGroup(p *os.Process, sig nodeSignal) {
	s := map[nodeSignal]syscall.Signal{sigTerm: syscall.SIGTERM, sigKill: syscall.SIGKILL, sigStop: syscall.SIGSTOP, sigCont: syscall.SIGCONT}[sig]
	syscall.Kill(-p.Pid, s)
}
