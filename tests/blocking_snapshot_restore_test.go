package tests

import (
	"context"
	"strings"
	"testing"
	"time"
)

// A follower that catches up by installing a snapshot learns of its
// blocked clients' ends from the snapshot, not from the entries that ended
// them (DESIGN.md invariant 6): a client whose element was popped while
// its node was away still gets exactly that element, never a hang.

func TestBlockedClientOnAFollowerThatInstallsASnapshotGetsWhatWasPoppedForIt(t *testing.T) {
	// Tiny thresholds: a few entries behind and the follower can only catch
	// up from a snapshot. Longer Raft timeouts keep the paused follower
	// from calling an election the moment it resumes (which would purge
	// its waiter instead of testing the snapshot).
	c := mustStartCluster(t, 3, "--trailing-logs", "2", "--snapshot-threshold", "4",
		"--heartbeat-timeout", "5s", "--election-timeout", "5s")
	leader := mustLeader(t, c)
	f := followers(c, leader)[0]
	call := blkStart(t, f, "BLPOP", "q2", "15")
	blkAwaitWaiters(t, c, 1)

	// Paused well under the 10 s after which the leader gives up on an
	// unreachable node's clients: this is about the snapshot, not that.
	f.Pause()
	conn := mustDial(t, leader.ClientAddr)
	fillSendWindow(t, conn)
	if got := mustDo(t, conn, "RPUSH", "q2", "ELEM2"); got.String() != ":1" {
		t.Fatalf("RPUSH q2 ELEM2 on the leader: exp :1, got %s", got)
	}
	for i := 0; i < 30; i++ {
		mustDo(t, conn, "RPUSH", "q2:filler", "x")
	}
	if got := mustDo(t, conn, "RAFT", "SNAPSHOT"); got.kind != '*' {
		t.Fatalf("RAFT SNAPSHOT on the leader: exp [index size ms], got %s", got)
	}
	f.Resume()
	resumed := time.Now()
	t.Logf("%s paused while the leader served its waiter, wrote 30 more and snapshotted; resumed", f.ID)

	// The client asked for 15 s; it must have its element long before.
	r := call.requireReply(t, blkPair("q2", "ELEM2"), 8*time.Second)
	t.Logf("the BLPOP on %s got its element %v after the resume", f.ID, r.at.Sub(resumed).Round(time.Millisecond))
	if !waitLogged(f, "Installed remote snapshot", 10*time.Second) {
		t.Fatalf("%s never logged %q: the test did not exercise a snapshot install", f.ID, "Installed remote snapshot")
	}
	blkEnd(t, c) // no waiter, blocked_clients 0 everywhere, equal digests
	for _, n := range c.Nodes {
		requireList(t, n.ClientAddr, "q2", true, nil)
	}

	// The outcome kept for the restore is forgotten once the follower
	// acknowledges it: emptied of data, every node holds nothing at all.
	mustDo(t, conn, "DEL", "q2:filler")
	zeros := strings.Repeat("0", 40)
	deadline := time.Now().Add(5 * time.Second)
	for mustDo(t, conn, "DEBUG", "DIGEST").String() != "+"+zeros {
		if time.Now().After(deadline) {
			t.Fatalf("leader DEBUG DIGEST 5s after emptying every key: exp %s (nothing left, outcomes acknowledged), got %s",
				zeros, mustDo(t, conn, "DEBUG", "DIGEST"))
		}
		time.Sleep(20 * time.Millisecond)
	}
	mustConverge(t, c)
	for _, n := range c.Nodes {
		nc := mustDial(t, n.ClientAddr)
		mustDo(t, nc, "READONLY")
		if d := mustDo(t, nc, "DEBUG", "DIGEST"); d.String() != "+"+zeros {
			t.Errorf("%s DEBUG DIGEST: exp %s, got %s", n.ID, zeros, d)
		}
	}
}

// fillSendWindow writes a few entries through conn, on the leader, while a
// follower is paused. A paused process's kernel still queues what the
// leader sends it, and the leader keeps a few AppendEntries in flight to a
// silent follower before it waits for answers: entries sent in that window
// reach the follower on resume without any snapshot. Filling the window
// first means that what is written next is never sent to the follower, and
// only a snapshot covers it.
func fillSendWindow(t *testing.T, conn *rawConn) {
	t.Helper()
	for i := 0; i < 20; i++ {
		mustDo(t, conn, "RPUSH", "window", "x")
	}
	mustDo(t, conn, "DEL", "window")
}

func TestBlockedClientsOfAFollowerGivenUpOnHearTheirOutcomesFromASnapshot(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out the 10 s after which the leader gives up on a silent node")
	}
	c := mustStartCluster(t, 3, "--trailing-logs", "2", "--snapshot-threshold", "4",
		"--heartbeat-timeout", "5s", "--election-timeout", "5s")
	leader := mustLeader(t, c)
	f := followers(c, leader)[0]
	served := blkStart(t, f, "BLPOP", "q3", "0")
	purged := blkStart(t, f, "BLPOP", "q4", "0")
	blkAwaitWaiters(t, c, 2)

	f.Pause()
	conn := mustDial(t, leader.ClientAddr)
	fillSendWindow(t, conn)
	if got := mustDo(t, conn, "RPUSH", "q3", "ELEM3"); got.String() != ":1" {
		t.Fatalf("RPUSH q3 ELEM3 on the leader: exp :1, got %s", got)
	}
	// The leader gives up on the silent follower's other client: a purge
	// in the log, which must not make the follower forget the element it
	// popped for the first.
	// Heartbeats to a frozen process fail only at the transport's 10 s
	// timeout, so this takes 10 to 25 s.
	deadline := time.Now().Add(40 * time.Second)
	for {
		n, err := blkInfoInt(context.Background(), leader, "raft", "raft_blocked_waiters")
		if err == nil && n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the leader never gave up on paused %s's blocked client: raft_blocked_waiters %d (%v)", f.ID, n, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	for i := 0; i < 30; i++ {
		mustDo(t, conn, "RPUSH", "q3:filler", "x")
	}
	if got := mustDo(t, conn, "RAFT", "SNAPSHOT"); got.kind != '*' {
		t.Fatalf("RAFT SNAPSHOT on the leader: exp [index size ms], got %s", got)
	}
	f.Resume()
	t.Logf("%s resumed after the leader served one of its clients, purged the other and snapshotted", f.ID)

	served.requireReply(t, blkPair("q3", "ELEM3"), 8*time.Second)
	purged.requireReply(t, "-TRYAGAIN the node holding this client restarted, left or lost the cluster; nothing was popped for it, retry\r\n",
		8*time.Second)
	if !waitLogged(f, "Installed remote snapshot", 10*time.Second) {
		t.Fatalf("%s never logged %q: the test did not exercise a snapshot install", f.ID, "Installed remote snapshot")
	}
	blkPush(t, leader.ClientAddr, "q4", "after") // nothing waits on q4 any more
	blkEnd(t, c)
	for _, n := range c.Nodes {
		requireList(t, n.ClientAddr, "q3", true, nil)
		requireList(t, n.ClientAddr, "q4", true, []string{"after"})
	}
}
