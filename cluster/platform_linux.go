package cluster

import (
	"net"

	"golang.org/x/sys/unix"
)

// alive reports whether an idle connection can carry a request: nothing
// to read and not closed. EOF, an error or stray bytes mean it must not be
// used.
func alive(conn net.Conn) bool {
	rev, ok := pollNow(conn, unix.POLLIN|unix.POLLRDHUP)
	return ok && rev == 0
}

// peerClosed reports whether the client has closed its end: POLLRDHUP sees
// the close even when the client sent more commands before it (a pipeline
// still unread).
func peerClosed(conn net.Conn) bool {
	rev, ok := pollNow(conn, unix.POLLRDHUP)
	return ok && rev&(unix.POLLRDHUP|unix.POLLHUP|unix.POLLERR) != 0
}

// systemMemory is the machine's RAM in bytes.
func systemMemory() (uint64, bool) {
	var si unix.Sysinfo_t
	if unix.Sysinfo(&si) != nil {
		return 0, false
	}
	return uint64(si.Totalram) * uint64(si.Unit), true
}
