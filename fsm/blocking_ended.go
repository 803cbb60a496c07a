package fsm

// Ended waiters, kept until their owners acknowledge them. A node learns
// how its blocked clients' waiters ended either by applying the entry that
// ended them or, when it catches up from a snapshot, from the snapshot
// alone: the entry is then never applied there, so the outcome has to be
// in the state (DESIGN.md invariant 6). API:
//
//   - (*State).endWaiter: every way a waiter ends goes through it. It
//     records the outcome unless nobody can read it (a cancelled client, or
//     a process purged because its node restarted or left).
//   - (*State).ack: a KindAck entry, proposed by the owner in batches once
//     it has handed its clients their answers, forgets those outcomes.
//   - (*State).forgetOwnerOutcomes: a purge of a process that is gone
//     forgets its outcomes too: it will never read them.
//   - (*State).EndedOutcomes: what a restored state holds, for the front
//     door to answer its clients with.
//
// So with no blocked clients and every owner caught up the table is empty,
// as the waiter table is: it holds at most the outcomes of the last
// ack-batch interval, plus those of nodes out of reach (at most one per
// waiter they had), until they come back, restart or are removed.

import (
	"cmp"
	"encoding/binary"
	"slices"

	"github.com/raftlist/raftlist/fsm/resp"
)

// Ack is the payload of a KindAck entry: the owner process Owner has
// answered the clients of its waiters Seqs. Unknown seqs are no-ops.
type Ack struct {
	Owner string
	Seqs  []uint64
}

// endWaiter removes w, tells its owner reply in the current entry's
// result and, when keep, records reply until the owner acknowledges it.
func (s *State) endWaiter(w *waiter, reply resp.Reply, keep bool) {
	s.removeWaiter(w)
	s.blk.served = append(s.blk.served, Served{WaiterID: w.id, Reply: reply})
	if keep {
		s.blk.ended[w.id] = resp.AppendRESP(nil, reply)
	}
}

// ack forgets the outcomes the owner has delivered.
func (s *State) ack(a Ack) {
	for _, seq := range a.Seqs {
		delete(s.blk.ended, WaiterID{Owner: a.Owner, Seq: seq})
	}
}

// forgetOwnerOutcomes forgets the outcomes of every owner process of node
// p.NodeID except p.KeepOwner, as purging them does with their waiters.
func (s *State) forgetOwnerOutcomes(p PurgeOwner) {
	for id := range s.blk.ended {
		if OwnerNode(id.Owner) == p.NodeID && id.Owner != p.KeepOwner {
			delete(s.blk.ended, id)
		}
	}
}

// EndedOutcomes returns every recorded, unacknowledged waiter outcome in
// (owner, seq) order, each reply in RESP2 wire form (resp.RESP2Wire: a
// RESP3 client gets it with RESP3's nulls).
func (s *State) EndedOutcomes() []Served {
	out := make([]Served, 0, len(s.blk.ended))
	for id, reply := range s.blk.ended {
		out = append(out, Served{WaiterID: id, Reply: resp.RESP2Wire(reply)})
	}
	slices.SortFunc(out, func(a, b Served) int {
		return cmp.Or(cmp.Compare(a.Owner, b.Owner), cmp.Compare(a.Seq, b.Seq))
	})
	return out
}

// Waiting reports whether waiter id is still blocked.
func (s *State) Waiting(id WaiterID) bool { return s.blk.waiters[id] != nil }

// EndedOutcome returns the recorded outcome of waiter id, in RESP2 wire form,
// while its owner has not acknowledged it.
func (s *State) EndedOutcome(id WaiterID) (resp.Reply, bool) {
	reply, ok := s.blk.ended[id]
	if !ok {
		return nil, false
	}
	return resp.RESP2Wire(reply), true
}

// appendEnded encodes one outcome record; the digest uses the same bytes.
func appendEnded(b []byte, sv Served) []byte {
	b = append(b, recEnded)
	b = appendBytes(b, []byte(sv.Owner))
	b = binary.AppendUvarint(b, sv.Seq)
	return appendBytes(b, sv.Reply.(resp.RESP2Wire))
}
