package cluster

import (
	"errors"

	"github.com/raftlist/raftlist/fsm"
	"github.com/raftlist/raftlist/fsm/resp"
)

// A node that catches up by installing a snapshot never applies the
// entries the snapshot covers, so it cannot learn from them how its blocked
// clients' waiters ended (issue 14, DESIGN.md invariant 6). The snapshot
// holds every outcome their owners have not acknowledged
// (fsm/blocking_ended.go): restoredSnapshot hands them out exactly as
// applying the entries would have, and tells every waiting client to check
// whether its waiter can still end at all.

// restoredSnapshot runs inside the state machine's Restore, after the new
// state is in place.
func (s *Server) restoredSnapshot(ended []fsm.Served) {
	s.deliverServed(ended)
	s.blocked.signalRestored()
}

// errSettle means the check after a restore could not be made yet (no
// leader to take a read index from); it is tried again.
var errSettle = errors.New("cannot settle a blocked client after a restore yet")

// settleAfterRestore decides, once this node has installed a snapshot,
// whether anything can still end the client's waiter. It reads at a
// linearizable index, which is past the entry that created the waiter (the
// leader had applied it before the client was told it blocked). If the
// waiter is still there, a later entry ends it and the slot is answered as
// usual (done false). If the waiter is gone and its outcome kept, that is
// the answer. If neither, it ended in a way that keeps no outcome, inside
// the snapshot: this client's own cancel (it is gone; nobody reads the
// reply) or a purge of this process (nothing was popped for it). Nothing
// will ever fill the slot, so the answer is given now.
func (s *Server) settleAfterRestore(r *request, slot *blockSlot, cancelled bool) (reply resp.Reply, done bool, err error) {
	index, errReply := s.watchIndex(&request{c: r.c, db: r.db})
	if errReply != nil {
		return nil, false, errSettle
	}
	ctx, cancel := s.requestContext()
	defer cancel()
	m := s.node.Machine()
	if err := m.WaitApplied(ctx, index); err != nil {
		return nil, false, errSettle
	}
	id := fsm.WaiterID{Owner: r.owner, Seq: r.seq}
	var waiting, kept bool
	if err := m.View(func(st *fsm.State) {
		waiting = st.Waiting(id)
		reply, kept = st.EndedOutcome(id)
	}); err != nil {
		return nil, false, errSettle
	}
	// An answer delivered meanwhile wins: its outcome may have been
	// acknowledged away before the view.
	select {
	case answer := <-slot.reply:
		return answer, true, nil
	default:
	}
	switch {
	case waiting:
		return nil, false, nil
	case kept:
		return reply, true, nil
	case cancelled:
		return resp.NullArray, true, nil
	}
	return resp.ErrOwnerGone, true, nil
}
