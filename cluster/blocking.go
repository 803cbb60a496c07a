package cluster

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/raftlist/raftlist/fsm"
	"github.com/raftlist/raftlist/fsm/resp"
	"github.com/raftlist/raftlist/raftnode"
)

// A blocked client is held by the node its connection is on. Its waiter
// lives in the replicated state; this node registers a slot before
// proposing, and the slot is filled when this node applies the entry that
// ends the waiter (served, timed out, cancelled, purged), or installs a
// snapshot that covers it (blocking_restore.go) — never earlier, so a
// client is answered only with what a committed entry decided.

// leaderlessLimit bounds how long a blocked client waits while its node
// sees no leader: without one, the node cannot learn whether the waiter was
// served, so it gives an unknown-outcome error and closes the connection.
// The leader gives up on such a node's waiters after the same time.
const leaderlessLimit = raftnode.OwnerLostAfter

// timeoutGrace is how long past a blocked client's timeout its owner waits
// before proposing the UNBLOCK itself. The waiter carries its deadline in
// the state, and the leader's next expiry entry after it times out every
// such waiter at once (fsm.State.timeoutDue), so an idle worker in
// BRPOP q 1 costs no entry of its own; the owner's UNBLOCK remains for a
// leader that does not (an older binary during an upgrade, or no leader
// around the deadline).
const timeoutGrace = time.Second

// blockSlot is where one blocked client's answer lands.
type blockSlot struct {
	client  *client
	reply   chan resp.Reply        // one Served per waiter
	unblock chan fsm.UnblockReason // CLIENT UNBLOCK
	// restored is signalled when this node installs a snapshot
	// (blocking_restore.go).
	restored chan struct{}
	// ended is closed once the client's blocking command has its answer
	// (the waiter ended through the log): CLIENT KILL waits for it.
	ended chan struct{}
	// waiting is set once the command blocked: its waiter is in the log.
	waiting bool
}

// blockRegistry maps this process's request seq to its slot.
type blockRegistry struct {
	mu    sync.Mutex
	slots map[uint64]*blockSlot
	// waiting counts the slots whose command blocked: INFO's
	// blocked_clients. A slot exists from before its command is proposed,
	// and Redis counts a client only once it has blocked; a client that
	// waits for the count (Redis's own tests do) must then find its
	// waiter in the log before anything it sends next.
	waiting int
}

func (b *blockRegistry) register(seq uint64, c *client) *blockSlot {
	slot := &blockSlot{client: c, reply: make(chan resp.Reply, 1), unblock: make(chan fsm.UnblockReason, 1),
		restored: make(chan struct{}, 1), ended: make(chan struct{})}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.slots == nil {
		b.slots = make(map[uint64]*blockSlot)
	}
	b.slots[seq] = slot
	return slot
}

// blocked notes that seq's command blocked.
func (b *blockRegistry) blocked(seq uint64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if slot := b.slots[seq]; slot != nil && !slot.waiting {
		slot.waiting = true
		b.waiting++
	}
}

func (b *blockRegistry) drop(seq uint64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if slot := b.slots[seq]; slot != nil {
		close(slot.ended)
		if slot.waiting {
			b.waiting--
		}
	}
	delete(b.slots, seq)
}

func (b *blockRegistry) deliver(seq uint64, reply resp.Reply) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if slot := b.slots[seq]; slot != nil {
		select {
		case slot.reply <- reply:
		default: // a waiter ends once; a second answer cannot happen
		}
	}
}

// signalRestored tells every slot that a snapshot was installed; it never
// blocks (it runs inside Restore).
func (b *blockRegistry) signalRestored() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, slot := range b.slots {
		select {
		case slot.restored <- struct{}{}:
		default:
		}
	}
}

// byClient returns the slot of a client blocked on this node.
func (b *blockRegistry) byClient(id int64) *blockSlot {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, slot := range b.slots {
		if slot.client.id == id {
			return slot
		}
	}
	return nil
}

func (b *blockRegistry) count() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.waiting
}

// deliverServed runs on every node inside the state machine's Apply, with
// the waiters an entry ended, and inside its Restore, with the outcomes a
// snapshot holds that their owners have not acknowledged: it hands this
// process's waiters their answers and queues the acknowledgements. A
// waiter ends once, and a slot takes one answer, so an outcome heard both
// ways (applied, then restored before its ACK) answers its client once.
func (s *Server) deliverServed(served []fsm.Served) {
	s.relay.deliver(served)
	owner := s.node.Owner()
	for _, sv := range served {
		if sv.Owner == owner {
			s.blocked.deliver(sv.Seq, sv.Reply)
			s.acks.add(sv.Seq)
		}
	}
}

// blockingWrite runs a blocking command: propose (or forward) it named by
// this process, and if it blocked, hold the client until its waiter ends.
func (s *Server) blockingWrite(r *request) resp.Reply {
	r.owner, r.seq = s.node.Owner(), s.node.NextSeq()
	slot := s.blocked.register(r.seq, r.c)
	defer s.blocked.drop(r.seq)
	reply := s.write(r)
	if isUncertain(reply) {
		// The waiter may exist with nobody left to answer: cancel it so no
		// element is popped for this client later.
		go s.unblockUntilDone(r.owner, r.seq, fsm.UnblockCancel)
		return reply
	}
	if !isBlocked(reply) {
		return reply
	}
	r.c.blocked.Store(true)
	s.blocked.blocked(r.seq)
	if !s.node.IsLeader() && !breakNoOutcomeRelay { // the switch: jepsen_break_* builds only (break.go)
		defer s.relayOutcome(r.owner, r.seq)()
	}
	reply = s.awaitServed(r, slot, blockTimeout(r.args))
	r.c.blocked.Store(false)
	if r.c.killed.Load() && string(resp.AppendRESP(nil, reply)) == "*-1\r\n" {
		// CLIENT KILL cancelled the waiter: a killed client gets no
		// reply. An element served before the cancel is still written.
		return noReply
	}
	return reply
}

func isBlocked(reply resp.Reply) bool {
	if raw, ok := reply.(resp.Raw); ok {
		return string(raw) == resp.BlockedWire
	}
	return reply == resp.Blocked
}

// isUncertain reports an unknown-outcome error, ours or relayed from the
// leader.
func isUncertain(reply resp.Reply) bool {
	return strings.HasPrefix(string(resp.AppendRESP(nil, reply)), "-"+resp.UncertainPrefix)
}

// blockTimeout returns a validated blocking command's timeout in ms
// (0: forever). BLMPOP has it first, the others last.
func blockTimeout(args [][]byte) int64 {
	arg := args[len(args)-1]
	if isName(args[0], "blmpop") {
		arg = args[1]
	}
	ms, _ := fsm.ParseTimeout(arg)
	return ms
}

// awaitServed waits for the entry that ends the waiter. Its timeout, a
// CLIENT UNBLOCK and a vanished client all end it through the log, so the
// answer is whatever the log decided first: an element served before the
// timeout entry is the answer, not the timeout. After a snapshot install
// it checks that the waiter can still end (settleAfterRestore).
func (s *Server) awaitServed(r *request, slot *blockSlot, timeoutMs int64) resp.Reply {
	var timeout <-chan time.Time
	if timeoutMs > 0 {
		t := time.NewTimer(time.Until(r.received.Add(time.Duration(timeoutMs)*time.Millisecond + timeoutGrace)))
		defer t.Stop()
		timeout = t.C
	}
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	var reason fsm.UnblockReason // an unblock to propose, until one is applied
	proposed := false
	var leaderless time.Time
	unsettled := false // a snapshot was installed and the waiter not yet checked
	for {
		select {
		case reply := <-slot.reply:
			return reply
		case <-slot.restored:
			unsettled = true
		case <-timeout:
			timeout, reason = nil, fsm.UnblockTimeout
		case why := <-slot.unblock:
			if reason == 0 {
				reason = why
			}
		case <-tick.C:
			if reason == 0 && peerClosed(r.c.conn.NetConn()) {
				reason = fsm.UnblockCancel
			}
			if s.node.Status().LeaderID != "" {
				leaderless = time.Time{}
			} else if leaderless.IsZero() {
				leaderless = time.Now()
			} else if time.Since(leaderless) > leaderlessLimit {
				select {
				case reply := <-slot.reply: // an answer that came with the last tick wins
					return reply
				default:
				}
				r.c.closeAfterReply.Store(true)
				go s.unblockUntilDone(r.owner, r.seq, fsm.UnblockCancel)
				return resp.ErrBlockedContactLost
			}
		}
		if reason != 0 && !proposed {
			proposed = s.proposeUnblock(r.owner, r.seq, reason)
		}
		if unsettled {
			reply, done, err := s.settleAfterRestore(r, slot, reason == fsm.UnblockCancel)
			if done {
				return reply
			}
			unsettled = err != nil // tried again on the next tick
		}
	}
}

// proposeUnblock puts an UNBLOCK entry in the log through the leader and
// reports whether it was applied there.
func (s *Server) proposeUnblock(owner string, seq uint64, reason fsm.UnblockReason) bool {
	reply := s.internal("unblock", owner, strconv.FormatUint(seq, 10), string(rune('0'+reason)))
	return string(resp.AppendRESP(nil, reply)) == "+OK\r\n"
}

// unblockUntilDone retries an UNBLOCK until it is applied, the server
// closes, or a minute passes.
func (s *Server) unblockUntilDone(owner string, seq uint64, reason fsm.UnblockReason) {
	s.retryOnLeader(time.Minute, func() resp.Reply {
		return s.internal("unblock", owner, strconv.FormatUint(seq, 10), string(rune('0'+reason)))
	})
}

// purgeEarlierIncarnations ends the waiters this node's earlier processes
// left behind (their clients' connections died with them), so no element
// is popped for a client nobody will answer.
func (s *Server) purgeEarlierIncarnations() {
	s.retryOnLeader(time.Hour, func() resp.Reply {
		return s.internal("purgeowner", s.node.ID(), s.node.Owner())
	})
}

// retryOnLeader runs an internal RAFT subcommand until it answers OK, the
// server closes, or the time runs out.
func (s *Server) retryOnLeader(limit time.Duration, try func() resp.Reply) {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if string(resp.AppendRESP(nil, try())) == "+OK\r\n" {
			return
		}
		select {
		case <-s.done:
			return
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// internal runs "RAFT sub args..." as the node itself, on the leader.
func (s *Server) internal(sub string, args ...string) resp.Reply {
	req := &request{args: [][]byte{[]byte("raft"), []byte(sub)}, c: selfClient()}
	for _, a := range args {
		req.args = append(req.args, []byte(a))
	}
	return s.execute(req)
}

// RAFT PURGEOWNER node-id keep-owner (internal)
func raftPurgeOwner(s *Server, r *request) resp.Reply {
	p := fsm.PurgeOwner{NodeID: string(r.args[2]), KeepOwner: string(r.args[3])}
	return s.onLeader(r, func(ctx context.Context) error { return s.node.ProposePurgeOwner(ctx, p) })
}

// RAFT UNBLOCK owner seq reason (internal: 1 timeout, 2 cancel, 3 error)
func raftUnblock(s *Server, r *request) resp.Reply {
	seq, err := strconv.ParseUint(string(r.args[3]), 10, 64)
	reason := fsm.UnblockReason(0)
	if len(r.args[4]) == 1 {
		reason = fsm.UnblockReason(r.args[4][0] - '0')
	}
	if err != nil || reason < fsm.UnblockTimeout || reason > fsm.UnblockError {
		return resp.ErrSyntax
	}
	u := fsm.Unblock{WaiterID: fsm.WaiterID{Owner: string(r.args[2]), Seq: seq}, Reason: reason}
	return s.onLeader(r, func(ctx context.Context) error { return s.node.ProposeUnblock(ctx, u) })
}

// CLIENT UNBLOCK client-id [TIMEOUT|ERROR]
func clientUnblock(s *Server, r *request) resp.Reply {
	id, ok := resp.ParseInt(r.args[2])
	if !ok {
		return resp.ErrNotInteger
	}
	reason := fsm.UnblockTimeout
	if len(r.args) == 4 {
		switch {
		case resp.IsOption(r.args[3], "timeout"):
		case resp.IsOption(r.args[3], "error"):
			reason = fsm.UnblockError
		default:
			return resp.ErrUnblockReason
		}
	}
	slot := s.blocked.byClient(id)
	if slot == nil {
		return resp.Int(0)
	}
	select {
	case slot.unblock <- reason:
	default:
	}
	return resp.Int(1)
}
