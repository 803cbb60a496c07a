//go:build !unix

package cluster

import (
	"net"
	"runtime"
	"time"
)

// alive: without a way to ask the kernel, an idle connection is never
// trusted again; the forwarder dials a new one.
func alive(net.Conn) bool { return false }

// peerClosed: a blocked client's hang-up is noticed when its answer is
// written.
func peerClosed(net.Conn) bool { return false }

// systemMemory is not known here.
func systemMemory() (uint64, bool) { return 0, false }

// osName is what Go knows of the system.
func osName() string { return runtime.GOOS + " " + runtime.GOARCH }

// cpuTimes is not known here: INFO cpu stays empty.
func cpuTimes() (sys, user time.Duration, ok bool) { return 0, 0, false }
