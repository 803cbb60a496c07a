package fsm

import "github.com/raftlist/raftlist/fsm/resp"

// Result is what applying one entry produced: one reply per command, in the
// entry's order, and every waiter the entry ended (served, timed out,
// cancelled or purged), for their owners to answer.
type Result struct {
	Index   uint64
	Replies []resp.Reply
	Served  []Served
	// Expired and MoreDue are an expiry entry's outcome: how many keys it
	// deleted, and whether keys past their deadline remain.
	Expired int
	MoreDue bool
	// ACLDeleted are the users an ACL entry deleted: every node closes
	// their connections.
	ACLDeleted []string
	// ACLChanged marks an ACL entry, applied or refused.
	ACLChanged bool
}

// Apply applies a decoded entry at log index with the entry's Raft term. It
// is the whole of the state machine's write path.
func (s *State) Apply(index, term uint64, e *Entry) *Result {
	if term > s.term {
		// The first entry of a newer term: waiters of older terms belong
		// to a leadership that is gone.
		s.purgeOlderTerms(term)
		s.term = term
	}
	s.applied = index
	s.entryScripts = 0
	s.advanceClock(e.TimeMs)
	// Time stands still inside an entry, at the log clock, for every
	// command, script and transaction in it (as Redis 7 freezes it per
	// command).
	now := s.clock
	res := &Result{Index: index}
	switch e.Kind {
	case KindCommands:
		res.Replies = make([]resp.Reply, len(e.Cmds))
		for i, cmd := range e.Cmds {
			ctx := &Ctx{State: s, DBNum: cmd.DB, Index: index, Term: term, TimeMs: now, Owner: cmd.Owner, Seq: cmd.Seq,
				oldFormat: e.OldFormat}
			res.Replies[i] = run(ctx, cmd.Args)
			// Redis serves blocked clients after each whole command.
			s.serveReady(index, term, now)
		}
	case KindTermStart, KindNodeMeta:
		s.applyNodeMeta(e.Node)
		if e.Node.Remove && !breakKeepRemovedWaiters { // the switch: jepsen_break_* builds only (break.go)
			// A removed node will answer none of its blocked clients.
			s.purgeOwner(PurgeOwner{NodeID: e.Node.ID}, true)
		}
	case KindPurgeOwner:
		// Naming the process to keep means the node restarted: the others
		// are gone. Without, the node is only out of reach.
		s.purgeOwner(e.Purge, e.Purge.KeepOwner != "")
	case KindUnblock:
		s.unblock(e.Unblock)
	case KindAck:
		s.ack(e.Ack)
	case KindExpire:
		res.Expired, res.MoreDue = s.expireDue(int(min(e.Expire.Limit, MaxExpirePerEntry)))
		s.timeoutDue()
	case KindACL:
		var reply resp.Reply
		reply, res.ACLDeleted = s.applyACL(e.ACL)
		res.Replies, res.ACLChanged = []resp.Reply{reply}, true
	case KindExec:
		res.Replies = []resp.Reply{s.applyExec(index, term, now, e.OldFormat, &e.Tx)}
	}
	s.pruneVersions(index, e.OldFormat)
	res.Served = s.takeServed()
	return res
}

func (s *State) applyNodeMeta(n NodeMeta) {
	if n.Remove {
		delete(s.nodes, n.ID)
		return
	}
	if n.RespAddr != "" {
		s.nodes[n.ID] = n.RespAddr
	}
}

// Read runs a read-only command against the state without changing it,
// deciding expiry at the machine's read clock (Machine.SetReadClock) or
// the log clock, whichever is later (see ReadAt).
func (s *State) Read(db int, args [][]byte) resp.Reply {
	now := s.clock
	if s.readClock != nil {
		now = s.readClock()
	}
	return s.ReadAt(db, now, args)
}

// Term returns the highest Raft term of any applied entry.
func (s *State) Term() uint64 { return s.term }
