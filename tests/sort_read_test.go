package tests

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"
)

// SORT without STORE writes nothing: every node serves it as a read
// (issue 17), behind the read barrier (a follower with the leader's read
// index), never through the log — while COMMAND INFO still flags it
// write, as Redis does (command_info_test.go). Reads must still be
// linearizable: after a write was acknowledged through any node, a SORT
// through any node sees it.
func TestSortWithoutStoreIsALinearizableRead(t *testing.T) {
	c := mustStartCluster(t, 3)
	leader := mustLeader(t, c)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	conns := make([]*rawConn, len(c.Nodes))
	for i, n := range c.Nodes {
		conns[i] = mustDial(t, n.ClientAddr)
		defer conns[i].Close()
	}
	mustDo(t, conns[0], "RPUSH", "sr:l", "0")
	mustConverge(t, c)

	// Not through the log: no node's applied index moves for SORTs (nor
	// SORT_RO), through the leader and through followers, plain and
	// pipelined.
	before := markNodes(t, ctx, c)
	for i := range conns {
		for j := 0; j < 20; j++ {
			mustDo(t, conns[i], "SORT", "sr:l", "BY", "nosort", "GET", "#", "LIMIT", "0", "10", "DESC", "ALPHA")
			mustDo(t, conns[i], "SORT_RO", "sr:l")
		}
		cmds := make([][][]byte, 50)
		for j := range cmds {
			cmds[j] = bargs("SORT", "sr:l", "DESC")
		}
		if _, err := conns[i].pipeline(cmds); err != nil {
			t.Fatal(err)
		}
	}
	after := markNodes(t, ctx, c)
	for id, b := range before {
		if a := after[id]; a.applied != b.applied {
			t.Errorf("%s: raft_applied_index moved from %s to %s: SORT without STORE went through the log", id, b.applied, a.applied)
		}
	}

	// Linearizable: every write acknowledged through one node is seen by
	// the next SORT through another, at once.
	for i := 1; i <= 60; i++ {
		w, r := conns[i%len(conns)], conns[(i+1+i/len(conns))%len(conns)]
		v := strconv.Itoa(i)
		mustDo(t, w, "RPUSH", "sr:l", v)
		got := mustDo(t, r, "SORT", "sr:l", "DESC").strings()
		if len(got) != i+1 || got[0] != v {
			t.Fatalf("after RPUSH %s acknowledged by %s, SORT through %s answered %s: stale", v, w.addr, r.addr, abbreviate(got))
		}
	}

	// STORE still goes through the log, from a follower too, and every
	// node has the result.
	fol := followers(c, leader)[0]
	fc := mustDial(t, fol.ClientAddr)
	defer fc.Close()
	if got := mustDo(t, fc, "SORT", "sr:l", "DESC", "LIMIT", "0", "3", "STORE", "sr:dst").String(); got != ":3" {
		t.Fatalf("SORT STORE through a follower: exp :3, got %s", got)
	}
	for _, cn := range conns {
		if got := strings.Join(mustDo(t, cn, "LRANGE", "sr:dst", "0", "-1").strings(), " "); got != "60 59 58" {
			t.Fatalf("%s: LRANGE sr:dst after SORT STORE: %q", cn.addr, got)
		}
	}
	requireEqualDigests(t, ctx, c)
}
