//go:build unix && !linux

package cluster

import (
	"net"

	"golang.org/x/sys/unix"
)

// alive reports whether an idle connection can carry a request: nothing
// to read and not closed (without POLLRDHUP, a hang-up shows as readable).
func alive(conn net.Conn) bool {
	rev, ok := pollNow(conn, unix.POLLIN)
	return ok && rev == 0
}

// peerClosed reports whether the client has closed its end. Without
// POLLRDHUP only a hang-up with nothing left unread can be seen: a peek
// that reads end-of-file.
func peerClosed(conn net.Conn) bool {
	rev, ok := pollNow(conn, unix.POLLIN)
	if !ok || rev&(unix.POLLHUP|unix.POLLERR) != 0 {
		return ok
	}
	if rev&unix.POLLIN == 0 {
		return false
	}
	return withFD(conn, func(fd int) bool {
		var b [1]byte
		n, _, err := unix.Recvfrom(fd, b[:], unix.MSG_PEEK|unix.MSG_DONTWAIT)
		return err == nil && n == 0
	})
}

// systemMemory is the machine's RAM in bytes, where sysctl tells it.
func systemMemory() (uint64, bool) {
	total, err := unix.SysctlUint64("hw.memsize") // macOS
	if err != nil {
		total, err = unix.SysctlUint64("hw.physmem") // the BSDs
	}
	return total, err == nil
}
