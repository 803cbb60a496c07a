package cluster

import (
	"errors"
	"io"
	"net"
	"os"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// arrivalSet knows, for the batcher's ordering, whether a command may be
// on its way from any client connection: its bytes unread (the connection
// is readable: an epoll set of every stamped connection, level-triggered,
// beside the runtime's own poller) or read and not yet proposed.
type arrivalSet struct {
	epfd int // -1: no epoll set; every connection counts as pending
	// unproposed counts the connections that read commands and have not
	// proposed or finished them.
	unproposed atomic.Int64
}

func newArrivalSet() *arrivalSet {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		epfd = -1
	}
	return &arrivalSet{epfd: epfd}
}

func (a *arrivalSet) close() {
	if a.epfd >= 0 {
		unix.Close(a.epfd)
	}
}

// listener hands out connections that read with recvmsg and keep the
// kernel's receive timestamp of what they read.
func (a *arrivalSet) listener(ln net.Listener) net.Listener { return stampListener{ln, a} }

type stampListener struct {
	net.Listener
	set *arrivalSet
}

func (l stampListener) Accept() (net.Conn, error) {
	conn, err := l.Listener.Accept()
	if err != nil {
		return conn, err
	}
	tc, ok := conn.(*net.TCPConn)
	if !ok {
		return conn, nil
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		return conn, nil
	}
	fd := -1
	if err := raw.Control(func(f uintptr) {
		if unix.SetsockoptInt(int(f), unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1) == nil {
			fd = int(f)
		}
	}); err != nil || fd < 0 {
		return conn, nil // no stamps: arrivalOf falls back to the clock
	}
	if l.set.epfd >= 0 {
		// Removed by the kernel when the socket closes.
		ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(fd)}
		if unix.EpollCtl(l.set.epfd, unix.EPOLL_CTL_ADD, fd, &ev) != nil {
			return conn, nil
		}
	}
	return &stampConn{TCPConn: tc, raw: raw, fd: fd, set: l.set}, nil
}

// othersPending reports whether a command may be on its way on a
// connection other than self's.
func (a *arrivalSet) othersPending(self net.Conn) bool {
	sc, _ := rawConn(self).(*stampConn)
	n := a.unproposed.Load()
	if sc != nil && sc.unproposed.Load() {
		n--
	}
	if n > 0 || a.epfd < 0 {
		return true
	}
	var evs [2]unix.EpollEvent
	k, err := unix.EpollWait(a.epfd, evs[:], 0)
	if err != nil {
		return true
	}
	for _, ev := range evs[:k] {
		if sc == nil || int(ev.Fd) != sc.fd {
			return true
		}
	}
	return false
}

// proposed notes that conn's commands reached the log's queue, or ended
// without it.
func (a *arrivalSet) proposed(conn net.Conn) {
	if sc, ok := rawConn(conn).(*stampConn); ok && sc.unproposed.CompareAndSwap(true, false) {
		a.unproposed.Add(-1)
	}
}

// stampConn is a TCP connection whose reads keep the arrival time of the
// newest bytes they returned.
type stampConn struct {
	*net.TCPConn
	raw        syscall.RawConn
	fd         int
	set        *arrivalSet
	arrived    atomic.Int64 // unix nanoseconds; 0 before the first stamped read
	unproposed atomic.Bool
	oob        [64]byte // one SCM_TIMESTAMPNS message; reads are not concurrent
}

func (c *stampConn) lastArrival() time.Time {
	if ns := c.arrived.Load(); ns != 0 {
		return time.Unix(0, ns)
	}
	return time.Time{}
}

// Read reads as net.Conn does (deadlines included: RawConn.Read waits
// through the runtime's poller), notes the stamp the kernel attached, and
// marks the connection as holding commands not yet proposed.
func (c *stampConn) Read(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	var n, oobn int
	var rerr error
	err := c.raw.Read(func(fd uintptr) bool {
		n, oobn, _, _, rerr = unix.Recvmsg(int(fd), b, c.oob[:], 0)
		return !errors.Is(rerr, unix.EAGAIN)
	})
	if err == nil && rerr != nil {
		err = os.NewSyscallError("recvmsg", rerr)
	}
	if err != nil {
		return 0, &net.OpError{Op: "read", Net: "tcp", Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: err}
	}
	if n == 0 {
		return 0, io.EOF
	}
	if ns := recvStamp(c.oob[:oobn]); ns != 0 {
		c.arrived.Store(ns)
	}
	if c.unproposed.CompareAndSwap(false, true) {
		c.set.unproposed.Add(1)
	}
	return n, nil
}

// Close also forgets a command it never proposed.
func (c *stampConn) Close() error {
	c.set.proposed(c)
	return c.TCPConn.Close()
}

// recvStamp finds the SCM_TIMESTAMPNS message in oob; 0 if there is none.
func recvStamp(oob []byte) int64 {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return 0
	}
	for _, m := range msgs {
		if m.Header.Level == unix.SOL_SOCKET && m.Header.Type == unix.SCM_TIMESTAMPNS &&
			len(m.Data) >= int(unsafe.Sizeof(unix.Timespec{})) {
			ts := (*unix.Timespec)(unsafe.Pointer(&m.Data[0]))
			return ts.Nano()
		}
	}
	return 0
}
