package cluster

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/raftlist/raftlist/fsm"
	"github.com/raftlist/raftlist/fsm/resp"
)

// A client blocked on a follower is answered when that follower applies
// the entry that served it, and a follower learns that an entry committed
// only from the leader's next AppendEntries (the nudge, raftnode/nudge.go,
// makes that one more log entry: a store on the leader and another on the
// follower before it applies). The leader knows first: it applies the
// entry, so the outcome is committed. So while its client waits, the
// follower also asks the leader for the outcome (RAFT OUTCOME, a long
// poll on a connection of its own) and answers the client with whichever
// comes first: the leader's relay or its own apply. The slot takes one
// answer; the acknowledgement (RAFT ACK) still follows the follower's own
// apply, so the outcome stays in the state machine until the owner has
// applied it too. Any node's applied state is committed, so a relayed
// outcome is never one the log may lose.

// outcomeWait is how long the leader holds a RAFT OUTCOME before answering
// that it has nothing yet; the follower then asks again while its client
// still waits.
const outcomeWait = 5 * time.Second

// maxRelays bounds the long polls a follower keeps open to the leader (a
// connection and a goroutine on each side per poll): clients blocked
// beyond that many are answered by the follower's own apply alone.
const maxRelays = 64

// outcomeRelay is the leader's side: the waiters followers are asking
// about, handed their outcome by deliverServed as the leader applies it.
type outcomeRelay struct {
	n     atomic.Int32 // len(waits), read without the lock on every apply
	mu    sync.Mutex
	waits map[fsm.WaiterID]chan resp.Reply
}

func (o *outcomeRelay) add(id fsm.WaiterID) chan resp.Reply {
	ch := make(chan resp.Reply, 1)
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.waits == nil {
		o.waits = make(map[fsm.WaiterID]chan resp.Reply)
	}
	o.waits[id] = ch
	o.n.Store(int32(len(o.waits)))
	return ch
}

func (o *outcomeRelay) remove(id fsm.WaiterID, ch chan resp.Reply) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.waits[id] == ch {
		delete(o.waits, id)
		o.n.Store(int32(len(o.waits)))
	}
}

// deliver runs inside Apply with the waiters an entry ended.
func (o *outcomeRelay) deliver(served []fsm.Served) {
	if o.n.Load() == 0 {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, sv := range served {
		if ch := o.waits[sv.WaiterID]; ch != nil {
			select {
			case ch <- sv.Reply:
			default:
			}
		}
	}
}

// RAFT OUTCOME owner seq (internal): a follower asks for the outcome of its
// waiter. Answers [outcome in RESP2 wire form] once this node has applied
// the entry that ended it, -TRYAGAIN when outcomeWait passes first, and an
// error when the waiter is neither blocked nor ended here (another leader
// that has not applied it yet, or already acknowledged): the follower's own
// apply answers then.
func raftOutcome(s *Server, r *request) resp.Reply {
	seq, err := strconv.ParseUint(string(r.args[3]), 10, 64)
	if err != nil {
		return resp.ErrSyntax
	}
	id := fsm.WaiterID{Owner: string(r.args[2]), Seq: seq}
	ch := s.relay.add(id)
	defer s.relay.remove(id, ch)
	var outcome resp.Reply
	var ended, waiting bool
	if err := s.node.Machine().View(func(st *fsm.State) {
		outcome, ended = st.EndedOutcome(id)
		waiting = st.Waiting(id)
	}); err != nil {
		return errorReply(err)
	}
	if !ended && !waiting {
		return resp.Error("ERR no such waiter here")
	}
	if !ended {
		t := time.NewTimer(outcomeWait)
		defer t.Stop()
		select {
		case outcome = <-ch:
		case <-t.C:
			return resp.Error(resp.TryAgainPrefix + "no outcome yet")
		case <-s.done:
			return resp.Error(resp.TryAgainPrefix + "server closing")
		}
	}
	return resp.Array{resp.Bulk(resp.AppendRESP(nil, outcome))}
}

// relayOutcome asks the leader for the outcome of this process's waiter seq
// until it has one, the leader cannot tell, or stop is called, and hands
// it to the waiter's slot.
func (s *Server) relayOutcome(owner string, seq uint64) (stop func()) {
	if s.relays.Add(1) > maxRelays {
		s.relays.Add(-1)
		return func() {}
	}
	done := make(chan struct{})
	go func() {
		defer s.relays.Add(-1)
		args := [][]byte{[]byte("raft"), []byte("outcome"), []byte(owner), []byte(strconv.FormatUint(seq, 10))}
		for {
			addr := s.node.LeaderAddr()
			if addr == "" || addr == s.cfg.ListenAddr {
				return
			}
			ctx, cancel := context.WithTimeout(context.Background(), outcomeWait+5*time.Second)
			raw, _, err := s.fwd.do(ctx, addr, args, nil)
			cancel()
			select {
			case <-done:
				return
			default:
			}
			if err != nil {
				return
			}
			v, err := resp.ParseReply(raw)
			switch {
			case err == nil && v.Kind == resp.KindArray && len(v.Array) == 1 && v.Array[0].Kind == resp.KindBulk:
				s.blocked.deliver(seq, resp.RESP2Wire(v.Array[0].Str))
				return
			case err == nil && v.Kind == resp.KindError && strings.HasPrefix(string(v.Str), resp.TryAgainPrefix):
				continue
			}
			return
		}
	}()
	return func() { close(done) }
}
