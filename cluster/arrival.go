package cluster

import (
	"context"
	"fmt"
	"net"
	"slices"
	"sync"
	"time"

	"github.com/raftlist/raftlist/raftnode"
)

// Arrival order (issue 17). Redis reads its clients from one event loop and
// runs commands in the order their bytes arrived, so clients that block on
// one list one after the other are served first come, first served. Here
// every connection has its own goroutine, and Go's scheduler may run the
// goroutine of a later arrival first (the netpoller hands readied
// goroutines out newest first): without care, the second of two clients
// that block on one list was served first in most tries.
//
// So a command carries the time its bytes arrived, taken by the kernel
// when it received them (SO_TIMESTAMPNS, arrival_linux.go), not when its
// goroutine got to run, and the proposals of a node leave for the log in
// that order: the batcher keeps its queue sorted by arrival and holds a
// proposal back until arrivalWindow after its arrival, so that an earlier
// command whose goroutine ran later still goes first (raftnode/batch.go).
// A follower sends the writes it forwards, on their own connections or
// on the shared ones, in the same order (arrivalGate), and the leader stamps them as they arrive.
// Where the kernel gives no stamp, the time the read returned stands in.

// stamped is a connection that knows when the bytes of its last read
// arrived.
type stamped interface {
	lastArrival() time.Time
}

// arrivalOf returns when the bytes conn's last read returned arrived, or
// now when conn cannot tell.
func arrivalOf(conn net.Conn) time.Time {
	if sc, ok := rawConn(conn).(stamped); ok {
		if t := sc.lastArrival(); !t.IsZero() {
			return t
		}
	}
	return time.Now()
}

// withArrival returns ctx carrying, for the batcher, when r arrived and
// how to tell whether another connection's command may still be on its
// way.
func (s *Server) withArrival(ctx context.Context, r *request) context.Context {
	if r.c == nil || r.c.conn == nil {
		return ctx // the node's own request: it waits for no one
	}
	conn := r.c.conn.NetConn()
	return raftnode.WithArrival(ctx, raftnode.Arrival{
		At:            r.arrived,
		OthersPending: func() bool { return s.arrivals.othersPending(conn) },
		Queued:        func() { s.arrivals.proposed(conn) },
	})
}

// arrivalGate lets a follower's forwarded writes leave for the leader in
// the order their commands arrived here, one at a time: a write passes
// when it is the earliest waiting and either ArrivalWindow has passed since
// it arrived or no other connection's command may still be on its way, and
// the next passes once it is written. The leader stamps them as they arrive
// and orders its proposals the same way. Every forwarded write passes
// here: what goes on a connection of its own (blocking commands,
// transactions) and runs of plain writes on the shared mux connections
// alike, released once their mux has flushed them, so that an LPUSH read
// after an EXEC cannot reach the log first (issue 17). Reads do not wait.
type arrivalGate struct {
	mu      sync.Mutex
	waiting []*gateTicket // in arrival order
	passing bool
	timer   *time.Timer
}

type gateTicket struct {
	at            time.Time
	othersPending func() bool
	pass          chan struct{}
}

// forwardOrder waits for r's turn to be forwarded and returns what to call
// once it is written. Requests of the node itself and reads go at once.
func (s *Server) forwardOrder(ctx context.Context, r *request, write bool) (written func(), err error) {
	if !write || r.c == nil || r.c.conn == nil {
		return nil, nil
	}
	conn := r.c.conn.NetConn()
	at := r.arrived
	if now := time.Now(); at.IsZero() || at.After(now) {
		at = now
	}
	t := &gateTicket{at: at, othersPending: func() bool { return s.arrivals.othersPending(conn) },
		pass: make(chan struct{})}
	if err := s.fwdGate.enter(ctx, t); err != nil {
		return nil, err
	}
	return func() {
		s.arrivals.proposed(conn)
		s.fwdGate.release()
	}, nil
}

func (g *arrivalGate) enter(ctx context.Context, t *gateTicket) error {
	g.mu.Lock()
	i := len(g.waiting)
	for i > 0 && g.waiting[i-1].at.After(t.at) {
		i--
	}
	g.waiting = slices.Insert(g.waiting, i, t)
	g.dispatchLocked()
	g.mu.Unlock()
	select {
	case <-t.pass:
		return nil
	case <-ctx.Done():
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if i := slices.Index(g.waiting, t); i >= 0 {
		g.waiting = slices.Delete(g.waiting, i, i+1)
		g.dispatchLocked()
		return fmt.Errorf("wait for the forwarding order: %w", ctx.Err())
	}
	return nil // it passed meanwhile: the caller releases
}

func (g *arrivalGate) release() {
	g.mu.Lock()
	g.passing = false
	g.dispatchLocked()
	g.mu.Unlock()
}

func (g *arrivalGate) dispatchLocked() {
	if g.passing || len(g.waiting) == 0 {
		return
	}
	head := g.waiting[0]
	if wait := time.Until(head.at.Add(raftnode.ArrivalWindow)); wait > 0 && head.othersPending() {
		if g.timer == nil {
			g.timer = time.AfterFunc(wait, func() {
				g.mu.Lock()
				g.dispatchLocked()
				g.mu.Unlock()
			})
		} else {
			g.timer.Reset(wait)
		}
		return
	}
	g.waiting = g.waiting[1:]
	g.passing = true
	close(head.pass)
}

// notProposing tells the batcher's ordering that c's command will not be
// proposed (a read, a refusal, a command served here), so that proposals
// of other connections need not wait for it.
func (s *Server) notProposing(c *client) {
	if c != nil && c.conn != nil {
		s.arrivals.proposed(c.conn.NetConn())
	}
}
