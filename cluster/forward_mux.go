package cluster

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/raftlist/raftlist/fsm/resp"
)

// A mux is one upstream connection to the leader that many client
// connections share for their forwarded runs of plain writes and reads
// (pipeline.go); a blocking command, a transaction or WATCH's read index
// never uses one (forwarder.do: its own connection). Runs are written in the
// order they were queued and the leader answers a connection's commands in
// order, so replies are matched to runs by position: first in, first out.
// The leader reads what piled up on the connection as one pipeline, so many
// followers' clients cost it one read, one proposal and one write.
//
// Any error, and any caller giving up on a run already written (timeout),
// closes the connection: every run written on it fails, with an unknown
// outcome if it holds writes, and a late reply has nowhere to land; runs
// not written yet go on another mux (doMany). The next run dials a new mux.
// A reply the reader drops as over a limit (resp.ErrDropped) is not an
// error of the connection: it fails only the request it answers.
type mux struct {
	f    *forwarder
	addr string
	conn net.Conn

	mu     sync.Mutex
	queued []*muxCall // not yet written
	sent   []*muxCall // written, awaiting replies, oldest first
	err    error      // set once, when the mux breaks
	wake   chan struct{}
	dead   chan struct{} // closed when the mux breaks
}

type muxCall struct {
	reqs    [][][]byte
	replies [][]byte // filled by the reader, in order
	written bool     // some byte of it may have reached the leader
	// onWritten, if not nil, is called by the writer once the run is
	// flushed (or failed to be): the next forwarded write may go.
	onWritten func()
	err       error
	done      chan struct{}
}

// maxMuxPerLeader is how many shared connections a follower keeps to the
// leader. The leader serves each one run at a time, so a run queued behind
// another on the same connection waits a whole round before the leader even
// reads it; with 16 rather than 4, LPUSH at 10 clients through a follower
// did 1.25-1.35x (go run ./tests/bench --compare-binary, two runs), and the
// same within noise at 50 and 200.
const maxMuxPerLeader = 16

var (
	errForwarderClosed = errors.New("forwarder closed")
	// errLeaderChanged breaks the muxes to a former leader; a run queued
	// on one is not sent to that address again.
	errLeaderChanged = errors.New("the leader changed")
)

func newMux(f *forwarder, addr string, conn net.Conn) *mux {
	m := &mux{f: f, addr: addr, conn: conn, wake: make(chan struct{}, 1), dead: make(chan struct{})}
	go m.writeLoop(bufio.NewWriterSize(conn, 64<<10))
	go m.readLoop(f.newReader(conn))
	return m
}

// call sends reqs as one run and waits for their replies; see doMany.
func (m *mux) call(ctx context.Context, reqs [][][]byte, written func()) ([][]byte, bool, error) {
	c := &muxCall{reqs: reqs, onWritten: written, done: make(chan struct{})}
	m.mu.Lock()
	if m.err != nil {
		err := m.err
		m.mu.Unlock()
		return nil, false, err
	}
	m.queued = append(m.queued, c)
	m.mu.Unlock()
	select {
	case m.wake <- struct{}{}:
	default:
	}
	select {
	case <-c.done:
	case <-ctx.Done():
		if m.withdraw(c) {
			return nil, false, fmt.Errorf("forward to leader %s: not sent: %w", m.addr, ctx.Err())
		}
		m.fail(fmt.Errorf("wait for the leader's reply: %w", ctx.Err()))
		<-c.done
	}
	if c.err != nil {
		return c.replies, c.written, fmt.Errorf("forward to leader %s: %w", m.addr, c.err)
	}
	return c.replies, true, nil
}

// withdraw takes c off the mux if no byte of it was written yet, so that
// a caller giving up on it leaves the other runs alone.
func (m *mux) withdraw(c *muxCall) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if c.written || m.err != nil {
		return false
	}
	for i, q := range m.queued {
		if q == c {
			m.queued = append(m.queued[:i:i], m.queued[i+1:]...)
			return true
		}
	}
	return false
}

// load is how many runs wait on the mux.
func (m *mux) load() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.queued) + len(m.sent)
}

func (m *mux) broken() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.err != nil
}

// writeLoop writes whatever runs are queued, in one write each time it is
// woken.
func (m *mux) writeLoop(w *bufio.Writer) {
	var buf []byte
	for {
		select {
		case <-m.wake:
		case <-m.dead:
			return
		}
		m.mu.Lock()
		if m.err != nil {
			m.mu.Unlock()
			return
		}
		batch := m.queued
		m.queued = nil
		for _, c := range batch {
			c.written = true
			m.sent = append(m.sent, c)
		}
		m.mu.Unlock()
		if len(batch) == 0 {
			continue
		}
		m.conn.SetWriteDeadline(time.Now().Add(m.f.timeout))
		for _, c := range batch {
			for _, args := range c.reqs {
				buf = resp.AppendCommand(buf[:0], args...)
				w.Write(buf)
			}
		}
		err := w.Flush()
		for _, c := range batch {
			if c.onWritten != nil {
				c.onWritten()
			}
		}
		if err != nil {
			m.fail(fmt.Errorf("send: %w", err))
			return
		}
		if cap(buf) > 64<<10 {
			buf = nil
		}
	}
}

// readLoop hands each reply to the oldest run still owed one.
func (m *mux) readLoop(rd *resp.Reader) {
	for {
		raw, err := rd.ReadReply()
		if errors.Is(err, resp.ErrDropped) {
			// Over a limit but read to its end: only the request it
			// answers fails, and the stream is still in sync.
			raw, err = dropped(err), nil
		}
		if err != nil {
			m.fail(fmt.Errorf("read reply: %w", err))
			return
		}
		m.mu.Lock()
		if len(m.sent) == 0 {
			m.mu.Unlock()
			m.fail(errors.New("a reply to no request"))
			return
		}
		c := m.sent[0]
		c.replies = append(c.replies, raw)
		if len(c.replies) == len(c.reqs) {
			m.sent[0] = nil
			m.sent = m.sent[1:]
			close(c.done)
		}
		m.mu.Unlock()
	}
}

// fail breaks the mux once: the connection closes and every run on it ends
// with err.
func (m *mux) fail(err error) {
	m.mu.Lock()
	if m.err != nil {
		m.mu.Unlock()
		return
	}
	m.err = err
	calls := append(m.sent, m.queued...)
	m.sent, m.queued = nil, nil
	m.mu.Unlock()
	m.conn.Close()
	close(m.dead)
	for _, c := range calls {
		c.err = err
		close(c.done)
	}
	m.f.dropMux(m)
}

// muxFor returns a working mux to addr, the least loaded, dialling a new one
// while there are fewer than maxMuxPerLeader (counting dials in progress).
// Muxes to other addresses belong to former leaders and are closed.
func (f *forwarder) muxFor(ctx context.Context, addr string) (*mux, error) {
	for {
		f.mu.Lock()
		if f.closed {
			f.mu.Unlock()
			return nil, errForwarderClosed
		}
		var stale []*mux
		for other, ms := range f.muxes {
			if other != addr {
				stale = append(stale, ms...)
				delete(f.muxes, other)
			}
		}
		var best *mux
		bestLoad := 0
		for _, m := range f.muxes[addr] {
			if l := m.load(); !m.broken() && (best == nil || l < bestLoad) {
				best, bestLoad = m, l
			}
		}
		pending := f.dialing[addr]
		full := len(f.muxes[addr])+len(pending) >= maxMuxPerLeader
		var wait *muxDial
		if best == nil && full {
			wait = pending[0]
		}
		var dial *muxDial
		if wait == nil && !(best != nil && (full || bestLoad == 0)) {
			dial = &muxDial{done: make(chan struct{})}
			f.dialing[addr] = append(pending, dial)
		}
		f.mu.Unlock()
		for _, m := range stale {
			m.fail(errLeaderChanged)
		}
		switch {
		case wait != nil:
			select {
			case <-wait.done:
				continue
			case <-ctx.Done():
				return nil, fmt.Errorf("connect to leader %s: %w", addr, ctx.Err())
			}
		case dial == nil:
			return best, nil
		}
		m, err := f.dialMux(ctx, addr, dial)
		if err != nil && best != nil {
			return best, nil
		}
		return m, err
	}
}

// muxDial is a mux being dialled; it counts against maxMuxPerLeader.
type muxDial struct{ done chan struct{} }

func (f *forwarder) dialMux(ctx context.Context, addr string, dial *muxDial) (*mux, error) {
	conn, err := dialNode(ctx, f.tls, f.secret, addr, f.timeout)
	var m *mux
	if err == nil {
		m = newMux(f, addr, conn)
	}
	f.mu.Lock()
	ds := f.dialing[addr]
	for i, x := range ds {
		if x == dial {
			f.dialing[addr] = append(ds[:i:i], ds[i+1:]...)
			break
		}
	}
	closed := f.closed
	if m != nil && !closed {
		f.muxes[addr] = append(f.muxes[addr], m)
	}
	f.mu.Unlock()
	close(dial.done)
	switch {
	case err != nil:
		return nil, fmt.Errorf("connect to leader %s: %w", addr, err)
	case closed:
		m.fail(errForwarderClosed)
		return nil, errForwarderClosed
	}
	return m, nil
}

func (f *forwarder) dropMux(m *mux) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ms := f.muxes[m.addr]
	for i, x := range ms {
		if x == m {
			f.muxes[m.addr] = append(ms[:i:i], ms[i+1:]...)
			break
		}
	}
}
