package local

import (
	"os"
	"syscall"
)

// procAttr: a node is an ordinary child process.
func procAttr() *syscall.SysProcAttr { return nil }

// signalGroup kills p for a stop or a kill; a pause is not available.
func signalGroup(p *os.Process, sig nodeSignal) {
	if sig == sigTerm || sig == sigKill {
		p.Kill()
	}
}
