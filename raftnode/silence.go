package raftnode

import (
	"math/rand/v2"
	"time"

	"github.com/hashicorp/raft"
)

// A follower notices a silent leader promptly.
//
// hashicorp/raft v1.7.3's follower looks for a silent leader on a timer of
// one to two heartbeat timeouts, re-armed after every look, so it notices
// one between one and three heartbeat timeouts after the last contact.
// Pre-vote and leader stickiness then make the first follower to notice
// wait: the other still has a leader and refuses its pre-vote, so it waits
// an election timeout or for the other's own pre-vote. A crash thus cost
// about two and a half heartbeat timeouts (2.5 s with the old 1 s default).
//
// watchSilence looks at the time of the last contact every
// HeartbeatTimeout/20 and, once the leader has been silent for one
// heartbeat timeout plus a random fraction of half of one, makes raft look
// at once (ReloadConfig with a heartbeat timeout 1 ms lower wakes the
// follower loop's timer; the value is put back right after). The criterion
// is raft's own — no contact for HeartbeatTimeout — and pre-vote still
// guards it: a follower that was merely stalled asks for a pre-vote,
// every node that still hears the leader refuses, and no term changes.
// The random fraction keeps the two followers' looks apart (by 50 ms on
// average at 300 ms): a pre-vote reaching the other follower just after it
// noticed too is granted, while two pre-votes crossing would both succeed
// and split the vote, costing an election timeout.
func (n *Node) watchSilence() {
	hb := n.cfg.HeartbeatTimeout
	tick := time.NewTicker(max(hb/20, time.Millisecond))
	defer tick.Stop()
	var prompted time.Time // the last contact a look was already prompted for
	after := silenceBound(hb)
	for {
		select {
		case <-n.stop:
			return
		case <-tick.C:
		}
		if n.raft.State() != raft.Follower {
			continue
		}
		last := n.raft.LastContact()
		// Zero: no leader heard since this node started; raft's own
		// timer handles a cluster that is starting.
		if last.IsZero() || last.Equal(prompted) || time.Since(last) < after {
			continue
		}
		prompted, after = last, silenceBound(hb)
		n.promptHeartbeatCheck()
	}
}

// silenceBound is how long a leader may be silent before watchSilence
// prompts a look: the heartbeat timeout plus up to half of it, at random.
func silenceBound(hb time.Duration) time.Duration {
	return hb + rand.N(hb/2+1)
}

// promptHeartbeatCheck makes the follower loop check its leader's last
// contact now: raft wakes that loop when the heartbeat timeout is lowered
// (and only then), so it is lowered by 1 ms and put back.
func (n *Node) promptHeartbeatCheck() {
	rc := n.raft.ReloadableConfig()
	lower := rc
	lower.HeartbeatTimeout -= time.Millisecond
	if err := n.raft.ReloadConfig(lower); err != nil {
		n.cfg.Logger.Warn("prompt a heartbeat check", "error", err)
		return
	}
	if err := n.raft.ReloadConfig(rc); err != nil {
		n.cfg.Logger.Error("restore the heartbeat timeout", "error", err)
	}
}
