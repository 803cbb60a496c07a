package fsm

// Blocked clients as replicated state (Redis src/blocked.c, made
// deterministic). API:
//
//   - (*Ctx).block: a blocking command found every key empty; it registers a
//     waiter named by the command's (Owner, Seq) and answers Blocked.
//   - (*State).signalReady: a push made a key non-empty; if clients wait on
//     it, the key is queued once for serving.
//   - (*State).serveReady: after each whole command (and, later, after a
//     whole script or EXEC) serve ready keys: waiters FIFO while elements
//     remain; serving BLMOVE/BRPOPLPUSH may make another key ready, and the
//     loop runs until nothing is ready.
//   - (*State).unblock: an UNBLOCK entry (timeout, cancel, CLIENT UNBLOCK)
//     ends a waiter that is still there; if it was served first it is a
//     no-op.
//   - (*State).purgeOlderTerms: the first entry of a higher Raft term ends
//     every waiter created in an older term, so no client waits on a
//     leadership that is gone.
//   - every one of them ends a waiter through (*State).endWaiter, which
//     keeps the outcome until the owner acknowledges it
//     (blocking_ended.go).
//
// Every node runs the same code at the same log index, so every node pops
// the same element for the same client; only the owner node answers it.

import (
	"sort"
	"strconv"
	"strings"

	"github.com/raftlist/raftlist/fsm/resp"
)

// WaiterID names a waiter: the proposing process and its request counter.
type WaiterID struct {
	Owner string
	Seq   uint64
}

// waiter is one blocked client.
type waiter struct {
	id   WaiterID
	db   int
	args [][]byte // the blocking command as the client sent it
	keys [][]byte
	term uint64 // Raft term of the entry that created it
	// order is the state's registration counter at creation: purges and
	// snapshots walk waiters in this order, never in map order.
	order uint64
	// deadline is when its timeout ends it, in log-clock ms (0: never):
	// the next expiry entry at or after it does (timeoutDue), so idle
	// clients cost no entry each. Waiters from older snapshots have none
	// and end by their owner's UNBLOCK.
	deadline int64
}

// Served tells the owner of a waiter how it ended: with an element, a
// timeout, an error. Every node computes it; only Owner writes Reply.
type Served struct {
	WaiterID
	Reply resp.Reply
}

// UnblockReason says why an UNBLOCK entry ends a waiter.
type UnblockReason byte

const (
	// UnblockTimeout: the client's timeout fired (reply: nil array).
	UnblockTimeout UnblockReason = 1
	// UnblockCancel: the client went away; nobody will read the reply.
	UnblockCancel UnblockReason = 2
	// UnblockError: CLIENT UNBLOCK id ERROR.
	UnblockError UnblockReason = 3
)

// Unblock is the payload of a KindUnblock entry.
type Unblock struct {
	WaiterID
	Reason UnblockReason
}

// dbKey names a key in one database.
type dbKey struct {
	db  int
	key string
}

// blocking is the waiter half of State.
type blocking struct {
	waiters map[WaiterID]*waiter
	// queues holds, per key, the ids of the waiters blocked on it, FIFO.
	queues map[dbKey][]WaiterID
	// ready lists keys signalled during the current command, in signal
	// order, each once; readySet dedupes.
	ready     []dbKey
	readySet  map[dbKey]bool
	nextOrder uint64
	// served collects what serving, unblocking and purging ended while the
	// current entry was applied.
	served []Served
	// ended holds the outcomes of ended waiters, in wire form, until their
	// owners acknowledge them (blocking_ended.go).
	ended map[WaiterID][]byte
}

func newBlocking() blocking {
	return blocking{
		waiters:  make(map[WaiterID]*waiter),
		queues:   make(map[dbKey][]WaiterID),
		readySet: make(map[dbKey]bool),
		ended:    make(map[WaiterID][]byte),
	}
}

// BlockedWaiters returns how many waiters exist.
func (s *State) BlockedWaiters() int { return len(s.blk.waiters) }

// block registers the running command's client as a waiter on keys.
func (c *Ctx) block(keys [][]byte) resp.Reply {
	if c.NoBlock {
		return resp.NullArray
	}
	b := &c.State.blk
	id := WaiterID{Owner: c.Owner, Seq: c.Seq}
	if _, dup := b.waiters[id]; dup {
		return resp.Error("ERR duplicate waiter " + c.Owner + "/" + strconv.FormatUint(c.Seq, 10))
	}
	b.nextOrder++
	w := &waiter{id: id, db: c.DBNum, args: c.Args, keys: keys, term: c.Term, order: b.nextOrder}
	if !c.before(formatExpiry) {
		w.deadline = waiterDeadline(c.Args, c.TimeMs)
	}
	c.State.addWaiter(w)
	return resp.Blocked
}

func (s *State) addWaiter(w *waiter) {
	s.blk.waiters[w.id] = w
	for _, k := range w.keys {
		dk := dbKey{w.db, string(k)}
		if !containsID(s.blk.queues[dk], w.id) {
			s.blk.queues[dk] = append(s.blk.queues[dk], w.id)
		}
	}
}

func containsID(ids []WaiterID, id WaiterID) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

// removeWaiter forgets w everywhere.
func (s *State) removeWaiter(w *waiter) {
	delete(s.blk.waiters, w.id)
	for _, k := range w.keys {
		dk := dbKey{w.db, string(k)}
		q := s.blk.queues[dk]
		for i, id := range q {
			if id == w.id {
				q = append(q[:i:i], q[i+1:]...)
				break
			}
		}
		if len(q) == 0 {
			delete(s.blk.queues, dk)
		} else {
			s.blk.queues[dk] = q
		}
	}
}

// signalReady queues key for serving if anyone waits on it (Redis's
// signalKeyAsReady).
func (s *State) signalReady(db int, key []byte) {
	if len(s.blk.queues) == 0 { // nobody waits: skip building the key
		return
	}
	dk := dbKey{db, string(key)}
	if len(s.blk.queues[dk]) == 0 || s.blk.readySet[dk] {
		return
	}
	s.blk.readySet[dk] = true
	s.blk.ready = append(s.blk.ready, dk)
}

// serveReady serves waiters on ready keys until nothing is ready (Redis's
// handleClientsBlockedOnKeys).
func (s *State) serveReady(index, term uint64, timeMs int64) {
	for len(s.blk.ready) > 0 {
		dk := s.blk.ready[0]
		s.blk.ready = s.blk.ready[1:]
		delete(s.blk.readySet, dk)
		if breakSkipServing != nil && breakSkipServing() { // jepsen_break_* builds only (break.go)
			continue
		}
		s.serveKey(dk, index, term, timeMs)
	}
	s.blk.ready = nil
}

// serveKey serves the waiters of one key in FIFO order while it holds
// elements. A BLMOVE whose destination has become another type is served
// WRONGTYPE without popping, as in Redis 7.0.
func (s *State) serveKey(dk dbKey, index, term uint64, timeMs int64) {
	queue := append([]WaiterID(nil), s.blk.queues[dk]...)
	for _, id := range queue {
		l, err := s.dbs[dk.db].List([]byte(dk.key))
		if err != nil || l == nil {
			return
		}
		w := s.blk.waiters[id]
		if w == nil {
			continue
		}
		c := &Ctx{State: s, DBNum: w.db, Index: index, Term: term, TimeMs: timeMs, Owner: w.id.Owner, Seq: w.id.Seq}
		reply, ok := serveWaiter(c, w.args, []byte(dk.key))
		if !ok {
			continue
		}
		s.endWaiter(w, reply, true)
	}
}

// unblock ends a waiter still registered; a waiter already served or purged
// makes it a no-op, decided by log order.
func (s *State) unblock(u Unblock) {
	w := s.blk.waiters[u.WaiterID]
	if w == nil {
		return
	}
	var reply resp.Reply = resp.NullArray
	if u.Reason == UnblockError {
		reply = resp.ErrUnblocked
	}
	// A cancelled client is gone: nobody will ever read its outcome.
	s.endWaiter(w, reply, u.Reason != UnblockCancel)
}

// purgeOlderTerms ends every waiter created before term.
func (s *State) purgeOlderTerms(term uint64) {
	for _, w := range s.waitersInOrder() {
		if w.term < term {
			s.endWaiter(w, resp.ErrLeaderChanged, true)
		}
	}
}

// waitersInOrder returns waiters by registration order.
func (s *State) waitersInOrder() []*waiter {
	out := make([]*waiter, 0, len(s.blk.waiters))
	for _, w := range s.blk.waiters {
		out = append(out, w)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].order < out[j].order })
	return out
}

// takeServed returns and clears what the current entry ended.
func (s *State) takeServed() []Served {
	out := s.blk.served
	s.blk.served = nil
	return out
}

// PurgeOwner names the waiters a KindPurgeOwner entry ends: every waiter
// owned by a process of node NodeID except the process KeepOwner (empty:
// none kept).
type PurgeOwner struct {
	NodeID    string
	KeepOwner string
}

// purgeOwner ends the waiters p names, in registration order. When the
// processes are gone (gone: their node restarted, naming its new process
// KeepOwner, or left the cluster) nobody will read their outcomes, so it
// forgets them. Otherwise (the leader gave up on a node it has not heard
// from for long) the process may come back and install a snapshot, so the
// purge is recorded and earlier outcomes kept, like any other end: the
// node's restart or removal forgets them if it never acknowledges them.
func (s *State) purgeOwner(p PurgeOwner, gone bool) {
	for _, w := range s.waitersInOrder() {
		if OwnerNode(w.id.Owner) == p.NodeID && w.id.Owner != p.KeepOwner {
			s.endWaiter(w, resp.ErrOwnerGone, !gone)
		}
	}
	if gone {
		s.forgetOwnerOutcomes(p)
	}
}

// OwnerNode returns the node id part of an owner ("node-id/incarnation").
func OwnerNode(owner string) string {
	if i := strings.LastIndexByte(owner, '/'); i >= 0 {
		return owner[:i]
	}
	return owner
}
