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
)

// expireActively runs until the node stops. Only the leader past its gate
// proposes; the others just wait.
func (n *Node) expireActively() {
	batch := uint64(expireMinBatch)
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
			wait, batch = n.expireStep(batch)
		}
		timer.Reset(wait)
	}
}

// expireStep proposes one expiry entry if a deadline has passed, and says
// how long to wait before the next step and with what batch.
func (n *Node) expireStep(batch uint64) (time.Duration, uint64) {
	var next int64
	var due bool
	n.machine.View(func(s *fsm.State) { next, due = s.NextDeadline() })
	now := n.nowMs()
	if !due {
		return expireIdle, batch
	}
	if next > now {
		return min(expireIdle, time.Duration(next-now)*time.Millisecond), batch
	}
	ctx, cancel := context.WithTimeout(context.Background(), n.cfg.ProposeTimeout)
	defer cancel()
	res, err := n.proposeEntry(ctx, fsm.Entry{Kind: fsm.KindExpire, Expire: fsm.ExpireCycle{Limit: batch}})
	if err != nil {
		return expireIdle, expireMinBatch
	}
	n.expiredKeys.Add(uint64(res.Expired))
	n.expireEntries.Add(1)
	if res.MoreDue {
		return 0, min(batch*2, fsm.MaxExpirePerEntry)
	}
	return time.Millisecond, max(batch/2, expireMinBatch)
}

// ExpireStats returns how many keys this node's expiry entries deleted and
// how many such entries it proposed, while it led.
func (n *Node) ExpireStats() (keys, entries uint64) {
	return n.expiredKeys.Load(), n.expireEntries.Load()
}
