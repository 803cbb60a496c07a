package raftnode

import (
	"context"
	"time"

	"github.com/raftlist/raftlist/fsm"
)

// Active expiry: the leader proposes expiry entries (fsm.KindExpire) so
// that keys nobody touches are deleted on every node, as Redis's active
// expiry cycle does on one. The state machine decides which keys go, in
// (deadline, db, key) order by log time; this loop only decides when to
// ask and for how many.
const (
	// expireIdle is the longest the leader waits before looking again:
	// the bound, beyond a deadline, on how long a key nobody touches
	// outlives it (plus one commit).
	expireIdle = 100 * time.Millisecond
	// expireMinBatch and fsm.MaxExpirePerEntry bound one entry's work;
	// the batch doubles while keys stay due after an entry and halves
	// once they are not, so a burst of deadlines costs few entries and a
	// trickle costs small ones.
	expireMinBatch = 64
	// expireInFlight bounds the expiry entries proposed at once while a
	// burst of deadlines keeps full entries due: raft appends entries
	// proposed together in one write (one fsync on each node), so the
	// burst is paced by commits of several entries, not of one. The
	// state machine still picks each entry's keys when it applies it, so
	// entries in flight together never pick the same key, and one that
	// finds nothing due deletes nothing.
	expireInFlight = 4
)

// expireActively runs until the node stops. Only the leader past its gate
// proposes; the others just wait.
func (n *Node) expireActively() {
	batch, inFlight := uint64(expireMinBatch), 1
	timer := time.NewTimer(expireIdle)
	defer timer.Stop()
	for {
		select {
		case <-n.stop:
			return
		case <-timer.C:
		}
		wait := expireIdle
		if n.IsLeader() {
			wait, batch, inFlight = n.expireStep(batch, inFlight)
		}
		timer.Reset(wait)
	}
}

// expireStep proposes inFlight expiry entries at once if a deadline has
// passed, and says how long to wait before the next step, with what batch
// and how many entries in flight.
func (n *Node) expireStep(batch uint64, inFlight int) (time.Duration, uint64, int) {
	var next int64
	var due bool
	n.machine.View(func(s *fsm.State) { next, due = s.NextDeadline() })
	now := n.nowMs()
	if !due {
		return expireIdle, batch, 1
	}
	if next > now {
		return min(expireIdle, time.Duration(next-now)*time.Millisecond), batch, 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), n.cfg.ProposeTimeout)
	defer cancel()
	type outcome struct {
		res *fsm.Result
		err error
	}
	outcomes := make(chan outcome, inFlight)
	for range inFlight {
		go func() {
			res, err := n.proposeEntry(ctx, fsm.Entry{Kind: fsm.KindExpire, Expire: fsm.ExpireCycle{Limit: batch}})
			outcomes <- outcome{res, err}
		}()
	}
	moreDue, failed := true, false
	for range inFlight {
		o := <-outcomes
		if o.err != nil {
			failed = true
			continue
		}
		n.expiredKeys.Add(uint64(o.res.Expired))
		n.expireEntries.Add(1)
		moreDue = moreDue && o.res.MoreDue
	}
	switch {
	case failed:
		return expireIdle, expireMinBatch, 1
	case !moreDue:
		return time.Millisecond, max(batch/2, expireMinBatch), 1
	case batch < fsm.MaxExpirePerEntry:
		return 0, min(batch*2, fsm.MaxExpirePerEntry), 1
	}
	return 0, batch, min(inFlight*2, expireInFlight)
}

// ExpireStats returns how many keys this node's expiry entries deleted and
// how many such entries it proposed, while it led.
func (n *Node) ExpireStats() (keys, entries uint64) {
	return n.expiredKeys.Load(), n.expireEntries.Load()
}
