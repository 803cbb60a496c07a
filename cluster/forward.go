package cluster

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/raftlist/raftlist/fsm"
	"github.com/raftlist/raftlist/fsm/resp"
)

// forwarder carries requests from a follower to the leader over plain RESP
// connections. A blocking command, a transaction or a read index goes alone
// on a pooled connection of its own (do), so its reply belongs to the
// request just sent; runs of plain writes and reads share a few pipelined
// connections (doMany, forward_mux.go), their replies matched in order. A connection that sees any error or
// timeout is closed, never reused: a late reply then has nowhere to land.
type forwarder struct {
	limits  resp.Limits // on a reply from the leader (relayLimits)
	timeout time.Duration
	tls     *tls.Config // nil: plain TCP to the leader (tls.go dialPeer)
	// secret, when set, is sent as AUTH raftlist-cluster on every new
	// upstream connection before any request (auth.go).
	secret string

	mu      sync.Mutex
	idle    map[string][]*upstream
	muxes   map[string][]*mux // shared connections for runs (forward_mux.go)
	dialing map[string][]*muxDial
	closed  bool
	// active counts dedicated connections out of the pool, carrying a
	// request (metrics: forwarding connections).
	active atomic.Int64
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
	return &forwarder{limits: relayLimits(maxBulk), timeout: timeout, idle: make(map[string][]*upstream),
		muxes: make(map[string][]*mux), dialing: make(map[string][]*muxDial)}
}

// relayLimits bound a reply relayed from the leader by what its state
// machine can answer, so that a follower relays every reply the leader
// gives: any nesting a script's reply can have (resp.MaxReplyDepth), a bulk
// string as long as a stored element (maxBulk, the arguments this node
// takes) or a script's string (fsm.ScriptMaxBytes; also ARGV, up to
// maxBulk), the same as a status or error line (a script returns either,
// plus the " script: <sha>, on ..." suffix), and as many elements as fit.
// Only the whole reply is bounded by memory (resp.DefaultMaxReply); a reply
// over a limit fails only its own request (resp.ErrDropped).
func relayLimits(maxBulk int64) resp.Limits {
	bulk := max(maxBulk, fsm.ScriptMaxBytes)
	return resp.Limits{MaxBulk: bulk, MaxLine: int(bulk) + 1<<10, MaxDepth: resp.MaxReplyDepth}
}

// newReader reads the leader's replies on conn.
func (f *forwarder) newReader(conn net.Conn) *resp.Reader {
	rd := resp.NewReader(conn, 0)
	rd.SetLimits(f.limits)
	return rd
}

// dropped is the reply relayed in place of one the reader dropped as over
// a limit: the leader answered, so the command was executed.
func dropped(err error) []byte {
	return resp.AppendRESP(nil, resp.Error("ERR the leader's reply is too large to relay ("+oneLine(err)+"); the command was executed"))
}

// do sends args to addr and returns the raw reply. sent reports whether any
// byte of the request may have reached the leader, which decides whether a
// failure leaves the outcome unknown.
//
// written, if not nil, is called once, as soon as the request is written or
// has failed to be (the order of forwarded writes, arrival.go).
func (f *forwarder) do(ctx context.Context, addr string, args [][]byte, written func()) (raw []byte, sent bool, err error) {
	if written != nil {
		once := sync.OnceFunc(written)
		defer once()
		written = once
	} else {
		written = func() {}
	}
	u, err := f.get(ctx, addr)
	if err != nil {
		return nil, false, err
	}
	f.active.Add(1)
	defer f.active.Add(-1)
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(f.timeout)
	}
	u.conn.SetDeadline(deadline)
	u.w.Write(resp.AppendCommand(nil, args...))
	err = u.w.Flush()
	written()
	if err != nil {
		u.conn.Close()
		return nil, true, fmt.Errorf("send to leader %s: %w", addr, err)
	}
	raw, err = u.rd.ReadReply()
	if errors.Is(err, resp.ErrDropped) {
		// Read to its end: the connection is still in sync.
		raw, err = dropped(err), nil
	}
	if err != nil {
		u.conn.Close()
		return nil, true, fmt.Errorf("read leader %s reply: %w", addr, err)
	}
	f.put(addr, u)
	return raw, true, nil
}

// doMany sends reqs, a run of plain writes or reads, to addr in order on a
// connection shared with other runs (a mux) and returns their raw replies in
// order. On an error it returns the replies read before it; sent reports
// whether the others may have reached the leader.
//
// A run its mux never wrote (the mux broke first, for a reason of another
// run's) has not reached the leader: it goes on another mux to the same
// leader rather than failing, a few times at most.
//
// written, if not nil, is called once, as soon as the run is written or
// has failed to be (the order of forwarded writes, arrival.go): a run
// queued on a mux that broke before writing it is queued on the next one
// with its turn still held.
func (f *forwarder) doMany(ctx context.Context, addr string, reqs [][][]byte, written func()) (raws [][]byte, sent bool, err error) {
	if written != nil {
		written = sync.OnceFunc(written)
		defer written()
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, f.timeout)
		defer cancel()
	}
	for attempt := 1; ; attempt++ {
		m, err := f.muxFor(ctx, addr)
		if err != nil {
			return nil, false, err
		}
		raws, sent, err = m.call(ctx, reqs, written)
		if err == nil || sent || attempt == maxMuxAttempts || ctx.Err() != nil ||
			errors.Is(err, errLeaderChanged) || errors.Is(err, errForwarderClosed) {
			return raws, sent, err
		}
	}
}

// maxMuxAttempts bounds how many muxes one run is queued on.
const maxMuxAttempts = 3

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
	conn, err := dialNode(ctx, f.tls, f.secret, addr, f.timeout)
	if err != nil {
		return nil, fmt.Errorf("connect to leader %s: %w", addr, err)
	}
	return &upstream{conn: conn, w: bufio.NewWriter(conn), rd: f.newReader(conn)}, nil
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
	f.closed = true
	for addr, pool := range f.idle {
		for _, u := range pool {
			u.conn.Close()
		}
		delete(f.idle, addr)
	}
	var muxes []*mux
	for addr, ms := range f.muxes {
		muxes = append(muxes, ms...)
		delete(f.muxes, addr)
	}
	f.mu.Unlock()
	for _, m := range muxes {
		m.fail(errForwarderClosed)
	}
}

// forwardRetryWait bounds how long a follower waits for a new leader after
// the old one refused a request unapplied: a hand-off (a planned stop)
// takes milliseconds; after a crash the election takes longer, and the
// client retries the TRYAGAIN itself.
const forwardRetryWait = 500 * time.Millisecond

// resendable reports whether r may be sent again after a TRYAGAIN. A
// script chooses its own error text (redis.error_reply can say TRYAGAIN
// after writing), so a script's TRYAGAIN proves nothing and is never
// resent; every other command's TRYAGAIN comes from raftlist's refusals.
func resendable(r *request) bool {
	c := fsm.Lookup(r.args[0])
	return c != nil && (c.Flags&resp.NoScript == 0 || c.Flags&resp.Blocking != 0)
}

// refusedUnapplied reports whether reply is a TRYAGAIN: from a resendable
// command, the request was not applied, so sending it again cannot apply
// it twice.
func refusedUnapplied(reply resp.Reply) bool {
	var text string
	switch r := reply.(type) {
	case resp.Error:
		text = string(r)
	case resp.Raw:
		text = strings.TrimPrefix(string(r), "-")
		if len(text) == len(r) {
			return false
		}
	default:
		return false
	}
	return strings.HasPrefix(text, resp.TryAgainPrefix)
}

// awaitLeader waits until deadline for a leader to send a refused request
// to again: at once when one other than tried is known, after
// sameLeaderPause when it is still tried (a new leader refuses until its
// gate opens, one round trip). It reports whether there is one.
func (s *Server) awaitLeader(ctx context.Context, tried string, deadline time.Time) bool {
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	began := time.Now()
	for {
		select {
		case <-tick.C:
		case <-ctx.Done():
			return false
		}
		addr := s.node.LeaderAddr()
		if addr != "" && (addr != tried || time.Since(began) >= sameLeaderPause) {
			return true
		}
	}
}

// sameLeaderPause is how long a follower waits before sending a refused
// request to the same leader again.
const sameLeaderPause = 25 * time.Millisecond
