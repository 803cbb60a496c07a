package tests

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/raftlist/raftlist/cluster/local"
)

// Blocked clients under faults: the leader killed or frozen under them, a
// node cut off from the cluster, a follower restored from a snapshot that
// holds waiters. The rule throughout: a blocked client ends with its
// element, a retry error or an unknown-outcome error, never a hang; and no
// element is popped for a client that is not answered with it.

func TestLeaderKilledWhileClientsAreBlocked(t *testing.T) {
	c := mustStartCluster(t, 3)
	old := mustLeader(t, c)
	fs := followers(c, old)

	// On the leader: clients that must see their connection close.
	var onLeader []*blkCall
	var keys []string
	for i, f := range blkForms[:scale(2, len(blkForms))] {
		key := fmt.Sprintf("kill:%s:%d", old.ID, i)
		onLeader = append(onLeader, blkStart(t, old, f.args(key, key+":dst", "0")...))
		keys = append(keys, key)
	}
	// On the followers: clients that must get the retry error. One waits
	// with a long timeout, which must not delay the error.
	var onFollowers []*blkCall
	for _, f := range fs {
		for i, form := range blkForms {
			key := fmt.Sprintf("kill:%s:%d", f.ID, i)
			timeout := "0"
			if i == 0 {
				timeout = "60"
			}
			onFollowers = append(onFollowers, blkStart(t, f, form.args(key, key+":dst", timeout)...))
			keys = append(keys, key)
		}
	}
	// And a go-redis client on a follower, as an application would block.
	ctx, cancel := context.WithTimeout(context.Background(), 2*blkFailoverBound)
	defer cancel()
	goRedis := make(chan error, 1)
	rc := blkClient(t, fs[0].ClientAddr)
	go func() { goRedis <- rc.BLPop(ctx, 0, "kill:go-redis").Err() }()
	keys = append(keys, "kill:go-redis")
	total := len(onLeader) + len(onFollowers) + 1
	blkAwaitWaiters(t, c, total)

	killed := time.Now()
	old.Kill()
	t.Logf("SIGKILLed leader %s with %d clients blocked on it and %d on followers %s, %s",
		old.ID, len(onLeader), len(onFollowers)+1, fs[0].ID, fs[1].ID)

	for _, call := range onLeader {
		r := call.await(t, blkReplyBound)
		if !isClosed(r.err) {
			t.Errorf("%s: exp the connection closed by the dead leader, got %s", call.what, r)
		}
	}
	var slowest time.Duration
	for _, call := range onFollowers {
		r := call.requireReply(t, blkErrLeaderChanged, blkFailoverBound)
		slowest = max(slowest, r.at.Sub(killed))
	}
	select {
	case err := <-goRedis:
		if err == nil || err.Error() != strings.TrimSuffix(blkErrLeaderChanged[1:], "\r\n") {
			t.Errorf("go-redis BLPOP on %s: exp the TRYAGAIN leader-changed error, got %v", fs[0].ID, err)
		}
	case <-time.After(blkFailoverBound):
		t.Fatalf("go-redis BLPOP on %s: no answer %v after the kill (a hang)", fs[0].ID, blkFailoverBound)
	}
	nl := mustNewLeader(t, c, old)
	t.Logf("every follower-held client got the retry error within %v of the kill; new leader %s", slowest.Round(time.Millisecond), nl.ID)
	blkAwaitWaiters(t, c, 0)

	// Nothing was popped for the purged clients: elements pushed now stay.
	for i, key := range keys {
		blkPush(t, blkLive(c)[i%2].ClientAddr, key, "after")
	}
	for _, key := range keys {
		requireList(t, nl.ClientAddr, key, false, []string{"after"})
	}
	// Blocking works under the new leader, held by either node.
	for _, n := range blkLive(c) {
		key := "kill:after:" + n.ID
		call := blkStart(t, n, "BLPOP", key, "0")
		blkAwaitWaiters(t, c, 1)
		blkPush(t, nl.ClientAddr, key, "new")
		call.requireReply(t, blkPair(key, "new"), blkReplyBound)
	}
	blkEnd(t, c)
	if testing.Short() {
		return
	}

	// The old leader comes back, replays the log (its clients' waiters and
	// the purge) and ends with the same state: no waiter.
	rctx, rcancel := context.WithTimeout(context.Background(), startTimeout)
	defer rcancel()
	if err := old.Restart(rctx); err != nil {
		t.Fatalf("restart %s: %v", old.ID, err)
	}
	blkEnd(t, c)
	for _, key := range keys {
		requireList(t, old.ClientAddr, key, true, []string{"after"})
		requireList(t, old.ClientAddr, key+":dst", true, nil)
	}
}

func TestPausedLeaderResumesAndItsBlockedClientsAreToldToRetry(t *testing.T) {
	c := mustStartCluster(t, 3)
	old := mustLeader(t, c)
	fs := followers(c, old)
	var onOld, onFollowers []*blkCall
	var keys []string
	// One of the old leader's clients has a timeout that passes while the
	// leader is frozen: the purge is still first in the log.
	for i, timeout := range []string{"0", "0", "1"} {
		key := fmt.Sprintf("pause:%s:%d", old.ID, i)
		onOld = append(onOld, blkStart(t, old, "BLPOP", key, timeout))
		keys = append(keys, key)
	}
	for _, f := range fs {
		key := "pause:" + f.ID
		onFollowers = append(onFollowers, blkStart(t, f, "BRPOPLPUSH", key, key+":dst", "0"))
		keys = append(keys, key)
	}
	blkAwaitWaiters(t, c, len(keys))

	old.Pause()
	paused := time.Now()
	t.Logf("SIGSTOPped leader %s with %d clients blocked on it and %d on followers", old.ID, len(onOld), len(onFollowers))
	for _, call := range onFollowers {
		call.requireReply(t, blkErrLeaderChanged, blkFailoverBound)
	}
	nl := mustNewLeader(t, c, old)
	t.Logf("new leader %s; the followers' clients got the retry error within %v of the pause", nl.ID, blkSince(paused))
	for _, call := range onOld {
		call.requirePending(t) // a frozen process answers nothing
	}
	for _, key := range keys {
		blkPush(t, nl.ClientAddr, key, "after")
	}

	old.Resume()
	resumed := time.Now()
	for _, call := range onOld {
		call.requireReply(t, blkErrLeaderChanged, blkFailoverBound)
	}
	t.Logf("%s resumed; its clients got the retry error %v later", old.ID, blkSince(resumed))
	blkEnd(t, c)
	for _, n := range c.Nodes {
		for _, key := range keys {
			requireList(t, n.ClientAddr, key, true, []string{"after"})
			requireList(t, n.ClientAddr, key+":dst", true, nil)
		}
	}
}

func TestBlockedClientOnANodeCutOffForTenSecondsIsToldTheOutcomeIsUnknown(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out the 10 s leaderless limit")
	}
	c := mustStartCluster(t, 3)
	leader := mustLeader(t, c)
	fs := followers(c, leader)
	call := blkStart(t, leader, "BLPOP", "cut-off", "0")
	blkAwaitWaiters(t, c, 1)

	// Without its followers the leader steps down and no node leads: it
	// cannot learn whether the waiter was served, so after 10 s the
	// client hears that the outcome is unknown, and the connection closes.
	for _, f := range fs {
		f.Pause()
	}
	paused := time.Now()
	r := call.requireReply(t, "-UNCERTAIN lost contact with the cluster while blocked; an element may have been popped for this client\r\n",
		blkFailoverBound)
	took := r.at.Sub(paused)
	if took < 10*time.Second {
		t.Errorf("the UNCERTAIN error came %v after the followers froze, before the 10 s leaderless limit", took)
	}
	if _, err := call.conn.readReply(); !isClosed(err) {
		t.Errorf("after UNCERTAIN the connection must close; reading again gave %v", err)
	}
	t.Logf("UNCERTAIN came %v after both followers froze; the connection closed", took.Round(time.Millisecond))

	for _, f := range fs {
		f.Resume()
	}
	// The waiter is still in the log with nobody to answer; the next
	// term's purge ends it, so a push afterwards stays in the list.
	l := mustLeader(t, c)
	blkAwaitWaiters(t, c, 0)
	blkPush(t, l.ClientAddr, "cut-off", "after")
	blkEnd(t, c)
	requireList(t, leader.ClientAddr, "cut-off", false, []string{"after"})
}

func TestBlockedWaitersAreInSnapshotsAndAFollowerRestoredFromOneServesThem(t *testing.T) {
	c := mustStartCluster(t, 3, "--snapshot-threshold", "64", "--trailing-logs", "16", "--snapshot-interval", "1s")
	leader := mustLeader(t, c)
	fs := followers(c, leader)
	f, g := fs[0], fs[1]
	held := []struct {
		node *local.Node
		form blkForm
	}{{leader, blkForms[0]}, {leader, blkForms[2]}, {g, blkForms[3]}, {g, blkForms[4]}}
	var calls []*blkCall
	var keys []string
	for i, h := range held {
		key := fmt.Sprintf("snapw:%d", i)
		calls = append(calls, blkStart(t, h.node, h.form.args(key, key+":dst", "0")...))
		keys = append(keys, key)
	}
	blkAwaitWaiters(t, c, len(calls))

	f.Stop()
	// Far more entries than --trailing-logs, and time for snapshots: f
	// must catch up from a snapshot, which has to carry the waiters.
	mustPush(t, leader.ClientAddr, "snapw:filler", values("filler", scale(150, 400))...)
	if !waitLogged(leader, "snapshot complete up to", 10*time.Second) {
		t.Fatalf("leader %s took no snapshot within 10s of %d entries", leader.ID, scale(150, 400))
	}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	if err := f.Restart(ctx); err != nil {
		t.Fatalf("restart %s: %v", f.ID, err)
	}
	mustConverge(t, c) // equal digests: the waiters came over in the snapshot
	blkAwaitWaiters(t, c, len(calls))
	if !waitLogged(f, "Installed remote snapshot", 10*time.Second) {
		t.Fatalf("%s caught up, but its log never says %q: the test did not exercise a snapshot", f.ID, "Installed remote snapshot")
	}

	// f now learns of serving from its restored waiter table: pushes
	// through f serve the clients held by the leader and by g.
	for i, key := range keys {
		blkPush(t, f.ClientAddr, key, "x1", "x2")
		calls[i].requireReply(t, held[i].form.reply(key), blkReplyBound)
	}
	blkEnd(t, c)
}

func TestBlockedClientThatSentMoreBeforeClosingIsCancelled(t *testing.T) {
	c := mustStartCluster(t, 3)
	leader := mustLeader(t, c)
	for _, node := range []*local.Node{leader, followers(c, leader)[0]} {
		key := "pipelined-close:" + node.ID
		conn := mustDial(t, node.ClientAddr)
		blkSendOn(t, conn, node.ID, "BLPOP", key, "0")
		blkAwaitWaiters(t, c, 1)
		// Redis keeps reading a blocked client's socket and frees the
		// client at EOF, whatever it sent before closing.
		if err := conn.writeRaw([]byte("*1\r\n$4\r\nPING\r\n")); err != nil {
			t.Fatal(err)
		}
		conn.Close()
		blkAwaitWaiters(t, c, 0)
		blkPush(t, leader.ClientAddr, key, "kept")
		requireList(t, leader.ClientAddr, key, false, []string{"kept"})
	}
	blkEnd(t, c)
}

func TestBlockedWaitersOfAKilledNodeEndWhenItRestarts(t *testing.T) {
	c := mustStartCluster(t, 3)
	leader := mustLeader(t, c)
	f := followers(c, leader)[0]
	blkStart(t, f, "BLPOP", "zombie", "0")
	blkAwaitWaiters(t, c, 1)
	f.Kill()
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	if err := f.Restart(ctx); err != nil {
		t.Fatalf("restart %s: %v", f.ID, err)
	}
	mustConverge(t, c)
	// The restarted process is a new incarnation: the old one's clients
	// are gone with it, and their waiters must go too.
	blkAwaitWaiters(t, c, 0)
	blkPush(t, leader.ClientAddr, "zombie", "kept")
	requireList(t, leader.ClientAddr, "zombie", false, []string{"kept"})
	blkEnd(t, c)
}
