package tests

import (
	"testing"
	"time"
)

// TestAStalledFollowerDoesNotDeposeTheLeader: a follower frozen for well
// over its heartbeat timeout finds, when it resumes, that it has not heard
// from the leader for that long; it looks at once (raftnode's watchSilence
// prompts raft's own check) and asks for a pre-vote. The leader and the
// other follower still have a leader and refuse, so no term changes and
// the leader keeps leading. (The heartbeat waiting in the resumed
// follower's socket often reaches raft first; the test then shows only that
// nothing else changed — it passed with pre-vote disabled too.)
//
// Asserting that no election happened needs generous margins: the tests'
// 2 s timeouts, and only three seconds of watching after the resume.
func TestAStalledFollowerDoesNotDeposeTheLeader(t *testing.T) {
	c := mustStartCluster(t, 3)
	leader := mustLeader(t, c)
	mustConverge(t, c)
	follower := c.Nodes[0]
	if follower == leader {
		follower = c.Nodes[1]
	}
	before := raftTerm(t, leader)

	follower.Pause()
	resumed := false
	defer func() {
		if !resumed {
			follower.Resume()
		}
	}()
	// 2.5 heartbeat timeouts: past every bound watchSilence may draw.
	time.Sleep(5 * time.Second)
	follower.Resume()
	resumed = true
	time.Sleep(3 * time.Second)

	if now := mustLeader(t, c); now != leader {
		t.Errorf("leader after %s was stalled: exp %s (unchanged), got %s", follower.ID, leader.ID, now.ID)
	}
	for _, n := range c.Nodes {
		if after := raftTerm(t, n); after != before {
			t.Errorf("%s raft_term after %s was stalled and resumed: exp %d (no election), got %d",
				n.ID, follower.ID, before, after)
		}
	}
	mustConverge(t, c)
}
