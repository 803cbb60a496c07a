package cluster

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/raftlist/raftlist/cluster/resp"
)

// forwarder carries requests from a follower to the leader over plain RESP
// connections, one request at a time per connection, so a reply always
// belongs to the request just sent. A connection that sees any error or
// timeout is closed, never reused: a late reply then has nowhere to land.
type forwarder struct {
	maxBulk int64
	timeout time.Duration

	mu     sync.Mutex
	idle   map[string][]*upstream
	closed bool
}

type upstream struct {
	conn net.Conn
	w    *bufio.Writer
	rd   *resp.Reader
}

// maxIdlePerLeader bounds the pool; beyond it, connections are closed after
// use rather than kept.
const maxIdlePerLeader = 128

func newForwarder(maxBulk int64, timeout time.Duration) *forwarder {
	return &forwarder{maxBulk: maxBulk, timeout: timeout, idle: make(map[string][]*upstream)}
}

// do sends args to addr and returns the raw reply. sent reports whether any
// byte of the request may have reached the leader, which decides whether a
// failure leaves the outcome unknown.
func (f *forwarder) do(ctx context.Context, addr string, args [][]byte) (raw []byte, sent bool, err error) {
	u, err := f.get(ctx, addr)
	if err != nil {
		return nil, false, err
	}
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(f.timeout)
	}
	u.conn.SetDeadline(deadline)
	u.w.Write(resp.AppendCommand(nil, args...))
	if err := u.w.Flush(); err != nil {
		u.conn.Close()
		return nil, true, fmt.Errorf("send to leader %s: %w", addr, err)
	}
	raw, err = u.rd.ReadReply()
	if err != nil {
		u.conn.Close()
		return nil, true, fmt.Errorf("read leader %s reply: %w", addr, err)
	}
	f.put(addr, u)
	return raw, true, nil
}

func (f *forwarder) get(ctx context.Context, addr string) (*upstream, error) {
	for {
		u := f.takeIdle(addr)
		if u == nil {
			break
		}
		// A pooled connection the leader has since closed would swallow the
		// request and turn a safe retry into an unknown outcome.
		if alive(u.conn) {
			return u, nil
		}
		u.conn.Close()
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("connect to leader %s: %w", addr, err)
	}
	return &upstream{conn: conn, w: bufio.NewWriter(conn), rd: resp.NewReader(conn, f.maxBulk)}, nil
}

// takeIdle pops a pooled connection to addr. Pools for other addresses
// belong to former leaders and are closed.
func (f *forwarder) takeIdle(addr string) *upstream {
	f.mu.Lock()
	defer f.mu.Unlock()
	for other, pool := range f.idle {
		if other != addr {
			for _, u := range pool {
				u.conn.Close()
			}
			delete(f.idle, other)
		}
	}
	pool := f.idle[addr]
	if len(pool) == 0 {
		return nil
	}
	u := pool[len(pool)-1]
	f.idle[addr] = pool[:len(pool)-1]
	return u
}

// alive peeks at an idle connection without blocking: nothing to read means
// it is still open; EOF, an error or stray bytes mean it must not be used.
func alive(conn net.Conn) bool {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return false
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	open := false
	err = raw.Read(func(fd uintptr) bool {
		var b [1]byte
		_, _, rerr := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		open = rerr == syscall.EAGAIN || rerr == syscall.EWOULDBLOCK
		return true
	})
	return err == nil && open
}

func (f *forwarder) put(addr string, u *upstream) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed || len(f.idle[addr]) >= maxIdlePerLeader {
		u.conn.Close()
		return
	}
	f.idle[addr] = append(f.idle[addr], u)
}

func (f *forwarder) close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	for addr, pool := range f.idle {
		for _, u := range pool {
			u.conn.Close()
		}
		delete(f.idle, addr)
	}
}
