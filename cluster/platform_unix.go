//go:build unix

package cluster

import (
	"net"
	"runtime"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// pollNow asks the kernel, without reading or blocking, which of events
// are pending on conn's socket. ok is false when it cannot tell.
func pollNow(conn net.Conn, events int16) (revents int16, ok bool) {
	ok = withFD(conn, func(fd int) bool {
		fds := []unix.PollFd{{Fd: int32(fd), Events: events}}
		_, err := unix.Poll(fds, 0)
		revents = fds[0].Revents
		return err == nil
	})
	return revents, ok
}

// withFD runs f on conn's file descriptor; false when conn has none or f
// fails.
func withFD(conn net.Conn, f func(fd int) bool) bool {
	sc, isSys := rawConn(conn).(syscall.Conn)
	if !isSys {
		return false
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	ok := false
	if err := raw.Control(func(fd uintptr) { ok = f(int(fd)) }); err != nil {
		return false
	}
	return ok
}

// osName is uname's system, release and machine, as Redis prints it.
func osName() string {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return runtime.GOOS + " " + runtime.GOARCH
	}
	return unix.ByteSliceToString(u.Sysname[:]) + " " + unix.ByteSliceToString(u.Release[:]) + " " +
		unix.ByteSliceToString(u.Machine[:])
}

// cpuTimes is the CPU this process has used in the kernel and in user
// space.
func cpuTimes() (sys, user time.Duration, ok bool) {
	var ru unix.Rusage
	if unix.Getrusage(unix.RUSAGE_SELF, &ru) != nil {
		return 0, 0, false
	}
	return time.Duration(ru.Stime.Nano()), time.Duration(ru.Utime.Nano()), true
}
