package tests

import (
	"context"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/raftlist/raftlist/cluster/local"
)

// Multi-process integration tests: every node is a real raftlist process
// started by cluster/local; each test ends with the cluster converged
// (same applied index as the leader's commit, same DEBUG DIGEST).

func TestWritesThroughEveryNodeReachEveryNode(t *testing.T) {
	c := mustStartCluster(t, 3)
	per := scale(20, 100)
	var want []string
	for _, n := range c.Nodes {
		vs := values(n.ID, per)
		mustPush(t, n.ClientAddr, "everywhere", vs...)
		want = append(want, vs...)
	}

	// go-redis, as an ordinary client would, through every node.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, n := range c.Nodes {
		rc := n.Client()
		if err := rc.RPush(ctx, "everywhere", "go-redis-"+n.ID).Err(); err != nil {
			t.Fatalf("go-redis RPUSH through %s: %v", n.ID, err)
		}
		want = append(want, "go-redis-"+n.ID)
		if err := rc.Set(ctx, "s-"+n.ID, "v", 0).Err(); err != nil {
			t.Fatalf("go-redis SET through %s: %v", n.ID, err)
		}
	}
	for _, n := range c.Nodes {
		got, err := n.Client().LRange(ctx, "everywhere", 0, -1).Result()
		if err != nil {
			t.Fatalf("go-redis LRANGE through %s: %v", n.ID, err)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("linearizable LRANGE through %s: exp %s, got %s", n.ID, abbreviate(want), abbreviate(got))
		}
	}
	mustConverge(t, c)
	for _, n := range c.Nodes {
		requireList(t, n.ClientAddr, "everywhere", true, want)
	}
}

func TestLeaderKilledNewLeaderServesAndOldRejoins(t *testing.T) {
	c := mustStartCluster(t, 3)
	old := mustLeader(t, c)

	o := newOutcomes()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < 3; w++ {
		wg.Add(1)
		go writer(stop, &wg, o, "w"+strconv.Itoa(w), "failover", runningAddrs(c), 10*time.Second)
	}
	time.Sleep(time.Duration(scale(500, 1500)) * time.Millisecond)

	old.Kill()
	t.Logf("killed leader %s (%s)", old.ID, o.counts())
	nl := mustNewLeader(t, c, old)
	t.Logf("new leader %s", nl.ID)
	after := values("after-kill", 20)
	mustPush(t, nl.ClientAddr, "after-kill", after...)
	mustPush(t, followers(c, nl)[0].ClientAddr, "after-kill", "via-follower")
	after = append(after, "via-follower")

	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	if err := old.Restart(ctx); err != nil {
		t.Fatalf("restart %s: %v", old.ID, err)
	}
	time.Sleep(time.Duration(scale(500, 1500)) * time.Millisecond)
	close(stop)
	wg.Wait()
	t.Logf("writers done: %s", o.counts())
	if len(o.acked) == 0 {
		t.Fatal("no write was acknowledged at all")
	}

	mustConverge(t, c)
	for _, n := range c.Nodes {
		requireOutcomes(t, o, mustRange(t, n.ClientAddr, "failover", true))
		requireList(t, n.ClientAddr, "after-kill", true, after)
	}
}

// runningAddrs returns a function listing the client addresses of the
// running nodes, for writers that move on when a node dies.
func runningAddrs(c *local.Cluster) func() []string {
	return func() []string {
		var out []string
		for _, n := range c.Nodes {
			if n.Running() {
				out = append(out, n.ClientAddr)
			}
		}
		return out
	}
}

func TestKilledFollowerRestartsAndCatchesUp(t *testing.T) {
	c := mustStartCluster(t, 3)
	leader := mustLeader(t, c)
	f := followers(c, leader)[0]
	before := values("before", 10)
	mustPush(t, leader.ClientAddr, "catch-up", before...)
	f.Kill()
	during := values("during", scale(50, 300))
	mustPush(t, leader.ClientAddr, "catch-up", during...)

	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	if err := f.Restart(ctx); err != nil {
		t.Fatalf("restart %s: %v", f.ID, err)
	}
	mustConverge(t, c)
	requireList(t, f.ClientAddr, "catch-up", true, append(before, during...))
}

func TestFollowerBehindTrailingLogsCatchesUpFromSnapshot(t *testing.T) {
	c := mustStartCluster(t, 3, "--snapshot-threshold", "64", "--trailing-logs", "16", "--snapshot-interval", "1s")
	leader := mustLeader(t, c)
	f := followers(c, leader)[0]
	mustPush(t, leader.ClientAddr, "snap", "first")
	mustConverge(t, c)
	f.Stop()
	// Far more entries than trailing-logs, and enough for several
	// snapshots: the leader no longer has the entries the follower needs.
	n := scale(300, 1000)
	vs := values("snap", n)
	mustPush(t, leader.ClientAddr, "snap", vs...)
	// Big values too, so the snapshot is more than a few bytes.
	big := make([]byte, 64<<10)
	for i := range big {
		big[i] = byte('a' + i%26)
	}
	mustPush(t, leader.ClientAddr, "snap-big", string(big), string(big[:1000]))
	// Give the leader two snapshot intervals to take a snapshot and
	// compact its log.
	time.Sleep(3 * time.Second)

	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	if err := f.Restart(ctx); err != nil {
		t.Fatalf("restart %s: %v", f.ID, err)
	}
	mustConverge(t, c)
	requireList(t, f.ClientAddr, "snap", true, append([]string{"first"}, vs...))
	requireList(t, f.ClientAddr, "snap-big", true, []string{string(big), string(big[:1000])})
	if os.Getenv("RAFTLIST_TEST_LOG_STORE") == "wal" {
		// raft-wal compacts whole 64 MiB segments: entries compacted
		// from the live segment stay readable, so the leader may send
		// them instead of a snapshot. Catching up is what counts.
		return
	}
	if !waitLogged(f, "Installed remote snapshot", 10*time.Second) {
		t.Errorf("%s caught up, but its log never says %q: it did not catch up from a snapshot", f.ID, "Installed remote snapshot")
	}
}

// waitLogged waits until n's log file mentions text.
func waitLogged(n *local.Node, text string, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for {
		if fileContains(n.LogFile, text) {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func TestNodesAddedAndRemovedLive(t *testing.T) {
	c := mustStartCluster(t, 3)
	leader := mustLeader(t, c)
	first := values("before-add", 20)
	mustPush(t, leader.ClientAddr, "members", first...)

	ctx, cancel := context.WithTimeout(context.Background(), 2*startTimeout)
	defer cancel()
	added, err := c.AddNode(ctx)
	if err != nil {
		t.Fatalf("add a node: %v", err)
	}
	requireMembers(t, c, leader.ClientAddr, liveIDs(c))
	requireMembers(t, c, added.ClientAddr, liveIDs(c))
	mustPush(t, added.ClientAddr, "members", "via-added")
	mustConverge(t, c)
	requireList(t, added.ClientAddr, "members", true, append(first, "via-added"))

	var removed *local.Node
	for _, n := range followers(c, mustLeader(t, c)) {
		if n != added {
			removed = n
			break
		}
	}
	if err := c.RemoveNode(ctx, removed); err != nil {
		t.Fatalf("remove %s: %v", removed.ID, err)
	}
	if removed.Running() {
		t.Errorf("removed node %s still runs", removed.ID)
	}
	ids := liveIDs(c)
	if slices.Contains(ids, removed.ID) {
		t.Fatalf("removed node %s is still in the cluster's node list %v", removed.ID, ids)
	}
	l := mustLeader(t, c)
	requireMembers(t, c, l.ClientAddr, ids)
	requireMembers(t, c, added.ClientAddr, ids)
	mustPush(t, added.ClientAddr, "members", "after-remove")
	mustConverge(t, c)
	for _, n := range c.Nodes {
		if n.Running() {
			requireList(t, n.ClientAddr, "members", true, append(first, "via-added", "after-remove"))
		}
	}
}

// liveIDs lists the ids of the running nodes, sorted.
func liveIDs(c *local.Cluster) []string {
	var ids []string
	for _, n := range c.Nodes {
		if n.Running() {
			ids = append(ids, n.ID)
		}
	}
	slices.Sort(ids)
	return ids
}

// requireMembers waits until RAFT NODES through addr lists exactly ids,
// with their client addresses and exactly one leader.
func requireMembers(t *testing.T, c *local.Cluster, addr string, ids []string) {
	t.Helper()
	conn := mustDial(t, addr)
	deadline := time.Now().Add(20 * time.Second)
	addrOf := map[string]string{}
	for _, n := range c.Nodes {
		addrOf[n.ID] = n.ClientAddr
	}
	var last reply
	for time.Now().Before(deadline) {
		last = mustDo(t, conn, "RAFT", "NODES")
		if membersMatch(last, ids, addrOf) {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("RAFT NODES through %s: exp members %v (each [id raft-addr resp-addr role link last-contact-ms match-index], one leader), got %s", addr, ids, last)
}

func membersMatch(r reply, ids []string, addrOf map[string]string) bool {
	if r.kind != '*' || len(r.elems) != len(ids) {
		return false
	}
	var got []string
	leaders := 0
	for _, m := range r.elems {
		if m.kind != '*' || len(m.elems) != 7 {
			return false
		}
		id := string(m.elems[0].str)
		if string(m.elems[2].str) != addrOf[id] {
			return false
		}
		switch string(m.elems[3].str) {
		case "leader":
			leaders++
		case "voter", "nonvoter":
		default:
			return false
		}
		got = append(got, id)
	}
	slices.Sort(got)
	return leaders == 1 && slices.Equal(got, ids)
}

func TestWholeClusterRestartKeepsAcknowledgedWrites(t *testing.T) {
	c := mustStartCluster(t, 3)
	var want []string
	for _, n := range c.Nodes {
		vs := values("r-"+n.ID, scale(10, 50))
		mustPush(t, n.ClientAddr, "restart", vs...)
		want = append(want, vs...)
	}
	for _, n := range c.Nodes {
		n.Stop()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*startTimeout)
	defer cancel()
	// Restart them all at once: a lone restarted node cannot elect a
	// leader and may wait for the others.
	errs := make(chan error, len(c.Nodes))
	for _, n := range c.Nodes {
		go func() { errs <- n.Restart(ctx) }()
	}
	for range c.Nodes {
		if err := <-errs; err != nil {
			t.Fatalf("restart: %v", err)
		}
	}
	leader := mustLeader(t, c)
	requireList(t, leader.ClientAddr, "restart", false, want)
	mustPush(t, leader.ClientAddr, "restart", "after-restart")
	want = append(want, "after-restart")
	mustConverge(t, c)
	for _, n := range c.Nodes {
		requireList(t, n.ClientAddr, "restart", true, want)
	}
}

func TestRedirectModeFollowersAnswerMoved(t *testing.T) {
	c := mustStartCluster(t, 3, "--redirect")
	leader := mustLeader(t, c)
	mustPush(t, leader.ClientAddr, "redirect", "a")
	moved := "-MOVED 0 " + leader.ClientAddr + "\r\n"
	for _, f := range followers(c, leader) {
		conn := mustDial(t, f.ClientAddr)
		for _, cmd := range [][]string{{"RPUSH", "redirect", "b"}, {"LRANGE", "redirect", "0", "-1"}, {"DEL", "redirect"}} {
			raw, err := conn.doStr(cmd...)
			if err != nil {
				t.Fatalf("%v on follower %s: %v", cmd, f.ID, err)
			}
			if string(raw) != moved {
				t.Errorf("%v on follower %s: exp %q, got %s", cmd, f.ID, moved, quoteRaw(raw))
			}
		}
		// Connection commands stay local.
		if r := mustDo(t, conn, "PING"); r.String() != "+PONG" {
			t.Errorf("PING on follower %s: exp +PONG, got %s", f.ID, r)
		}
	}
	mustConverge(t, c)
	for _, f := range followers(c, leader) {
		// READONLY reads are served by the follower itself.
		requireList(t, f.ClientAddr, "redirect", true, []string{"a"})
	}
	requireList(t, leader.ClientAddr, "redirect", false, []string{"a"})
}

func TestReadonlyReadsOnAFollowerUseLocalState(t *testing.T) {
	c := mustStartCluster(t, 3)
	leader := mustLeader(t, c)
	want := values("ro", 50)
	mustPush(t, leader.ClientAddr, "ro", want...)
	mustConverge(t, c)
	f := followers(c, leader)[0]
	conn := mustDial(t, f.ClientAddr)
	if r := mustDo(t, conn, "READONLY"); r.String() != "+OK" {
		t.Fatalf("READONLY: exp +OK, got %s", r)
	}
	if r := mustDo(t, conn, "LLEN", "ro"); r.String() != ":50" {
		t.Fatalf("READONLY LLEN on follower: exp :50, got %s", r)
	}

	// With the leader stopped, a READONLY read on a follower still
	// answers at once from local state: it needs no leader.
	leader.Pause()
	resumed := false
	defer func() {
		if !resumed {
			leader.Resume()
		}
	}()
	start := time.Now()
	r := mustDo(t, conn, "LRANGE", "ro", "0", "-1")
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("READONLY LRANGE with the leader stopped took %v: it waited for the leader", took)
	}
	if !slices.Equal(r.strings(), want) {
		t.Errorf("READONLY LRANGE on follower: exp %s, got %s", abbreviate(want), r)
	}
	leader.Resume()
	resumed = true
	if r := mustDo(t, conn, "READWRITE"); r.String() != "+OK" {
		t.Fatalf("READWRITE: exp +OK, got %s", r)
	}
	mustPush(t, f.ClientAddr, "ro", "after")
	requireList(t, f.ClientAddr, "ro", false, append(want, "after"))
	mustConverge(t, c)
}

func TestPausedLeaderNeverAcknowledgesALostWrite(t *testing.T) {
	c := mustStartCluster(t, 3)
	leader := mustLeader(t, c)

	// Writers talk to the leader only, with a long timeout, so that the
	// commands in flight when it stops get their real answer after it
	// resumes.
	o := newOutcomes()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go writer(stop, &wg, o, "p"+strconv.Itoa(w), "paused", func() []string { return []string{leader.ClientAddr} }, 40*time.Second)
	}
	time.Sleep(500 * time.Millisecond)
	leader.Pause()
	t.Logf("paused leader %s (%s)", leader.ID, o.counts())
	resumed := false
	defer func() {
		if !resumed {
			leader.Resume()
		}
	}()
	nl := mustNewLeader(t, c, leader)
	t.Logf("new leader %s", nl.ID)
	during := values("during-pause", 20)
	mustPush(t, nl.ClientAddr, "during-pause", during...)
	time.Sleep(time.Second)
	leader.Resume()
	resumed = true
	// The old leader, now a follower, keeps serving the writers (it
	// forwards); give in-flight commands time to get their answers.
	time.Sleep(time.Duration(scale(1500, 3000)) * time.Millisecond)
	close(stop)
	wg.Wait()
	t.Logf("writers done: %s", o.counts())

	mustConverge(t, c)
	for _, n := range c.Nodes {
		requireOutcomes(t, o, mustRange(t, n.ClientAddr, "paused", true))
		requireList(t, n.ClientAddr, "during-pause", true, during)
	}
}
