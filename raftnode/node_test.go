package raftnode

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/raftlist/raftlist/fsm"
	"github.com/raftlist/raftlist/fsm/resp"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// testLogStore lets the whole package run on either log store:
// RAFTLIST_TEST_LOG_STORE=wal go test ./raftnode/ (default bolt).
var testLogStore = os.Getenv("RAFTLIST_TEST_LOG_STORE")

func startNode(t *testing.T, id string, bootstrap bool) *Node {
	t.Helper()
	n, err := New(Config{
		ID: id, RaftAddr: freeAddr(t), RespAddr: "resp-" + id, DataDir: t.TempDir(), Bootstrap: bootstrap,
		LogStore:         testLogStore,
		HeartbeatTimeout: 500 * time.Millisecond, ElectionTimeout: 500 * time.Millisecond,
		Logger: hclog.New(&hclog.LoggerOptions{Name: id, Level: hclog.Warn}),
	})
	if err != nil {
		t.Fatalf("start node %s: %v", id, err)
	}
	t.Cleanup(func() { n.Shutdown() })
	return n
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func push(n *Node, key, elem string) (*fsm.Result, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return n.Propose(ctx, []fsm.Cmd{{Owner: n.Owner(), Seq: n.NextSeq(),
		Args: [][]byte{[]byte("rpush"), []byte(key), []byte(elem)}}})
}

func llen(t *testing.T, n *Node, key string) int64 {
	t.Helper()
	var r resp.Reply
	if err := n.Machine().View(func(s *fsm.State) { r = s.Read(0, [][]byte{[]byte("llen"), []byte(key)}) }); err != nil {
		t.Fatal(err)
	}
	return int64(r.(resp.Int))
}

func TestSingleNodeProposesAndReadsAfterGateOpens(t *testing.T) {
	n := startNode(t, "n1", true)
	waitFor(t, "leader gate", n.IsLeader)
	res, err := push(n, "k", "a")
	if err != nil {
		t.Fatalf("propose: %v", err)
	}
	if exp, got := resp.Int(1), res.Replies[0]; got != exp {
		t.Fatalf("exp %v, got %v", exp, got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := n.ReadBarrier(ctx); err != nil {
		t.Fatalf("read barrier: %v", err)
	}
	if exp, got := int64(1), llen(t, n, "k"); got != exp {
		t.Fatalf("exp %d, got %d", exp, got)
	}
	if exp, got := "resp-n1", n.LeaderAddr(); got != exp {
		t.Fatalf("leader addr: exp %q, got %q", exp, got)
	}
}

func TestFollowerRefusesWritesAndReadsAsNotLeader(t *testing.T) {
	nodes := startThree(t)
	leader := leaderOf(t, nodes)
	for _, n := range nodes {
		if n == leader {
			continue
		}
		if _, err := push(n, "k", "x"); !errors.Is(err, ErrNotLeader) || !IsRetryable(err) {
			t.Fatalf("follower propose: exp ErrNotLeader, got %v", err)
		}
		if err := n.ReadBarrier(context.Background()); !errors.Is(err, ErrNotLeader) {
			t.Fatalf("follower read barrier: exp ErrNotLeader, got %v", err)
		}
	}
}

func TestNewLeaderServesAfterLeaderShutdownAndKeepsAcknowledgedWrites(t *testing.T) {
	nodes := startThree(t)
	leader := leaderOf(t, nodes)
	for i := 0; i < 50; i++ {
		if _, err := push(leader, "k", fmt.Sprint(i)); err != nil {
			t.Fatalf("push %d: %v", i, err)
		}
	}
	leader.Shutdown()
	var rest []*Node
	for _, n := range nodes {
		if n != leader {
			rest = append(rest, n)
		}
	}
	next := leaderOf(t, rest)
	if _, err := push(next, "k", "after"); err != nil {
		t.Fatalf("push on new leader: %v", err)
	}
	if exp, got := int64(51), llen(t, next, "k"); got != exp {
		t.Fatalf("exp %d, got %d", exp, got)
	}
	if exp, got := "resp-"+next.ID(), next.LeaderAddr(); got != exp {
		t.Fatalf("leader addr after failover: exp %q, got %q", exp, got)
	}
}

func TestRemovedNodeLeavesConfiguration(t *testing.T) {
	nodes := startThree(t)
	leader := leaderOf(t, nodes)
	var victim *Node
	for _, n := range nodes {
		if n != leader {
			victim = n
			break
		}
	}
	if err := leader.RemoveNode(context.Background(), victim.ID()); err != nil {
		t.Fatalf("remove: %v", err)
	}
	ms, err := leader.Members()
	if err != nil {
		t.Fatal(err)
	}
	if exp, got := 2, len(ms); got != exp {
		t.Fatalf("members: exp %d, got %d (%v)", exp, got, ms)
	}
	if err := leader.RemoveNode(context.Background(), "nope"); err == nil {
		t.Fatal("removing an unknown node: exp error, got nil")
	}
}

func startThree(t *testing.T) []*Node {
	t.Helper()
	n1 := startNode(t, "n1", true)
	waitFor(t, "n1 leader", n1.IsLeader)
	nodes := []*Node{n1}
	for _, id := range []string{"n2", "n3"} {
		n := startNode(t, id, false)
		if err := n1.AddNode(context.Background(), id, string(n.transport.LocalAddr()), "resp-"+id); err != nil {
			t.Fatalf("add %s: %v", id, err)
		}
		nodes = append(nodes, n)
	}
	waitFor(t, "all nodes applied", func() bool {
		for _, n := range nodes {
			if n.Machine().AppliedIndex() < n1.Machine().AppliedIndex() {
				return false
			}
		}
		return true
	})
	return nodes
}

func leaderOf(t *testing.T, nodes []*Node) *Node {
	t.Helper()
	var leader *Node
	waitFor(t, "a leader with an open gate", func() bool {
		for _, n := range nodes {
			if n.IsLeader() {
				leader = n
				return true
			}
		}
		return false
	})
	return leader
}

func TestConcurrentProposalsShareEntriesButEachGetsItsOwnReply(t *testing.T) {
	n := startNode(t, "n1", true)
	waitFor(t, "leader gate", n.IsLeader)
	const clients = 200
	replies := make(chan resp.Reply, clients)
	errs := make(chan error, clients)
	for i := 0; i < clients; i++ {
		go func(i int) {
			res, err := push(n, "k", fmt.Sprint(i))
			if err != nil {
				errs <- err
				return
			}
			if exp, got := 1, len(res.Replies); got != exp {
				errs <- fmt.Errorf("replies: exp %d, got %d", exp, got)
				return
			}
			replies <- res.Replies[0]
		}(i)
	}
	seen := make(map[resp.Reply]bool)
	for i := 0; i < clients; i++ {
		select {
		case err := <-errs:
			t.Fatal(err)
		case r := <-replies:
			if seen[r] {
				t.Fatalf("reply %v given twice: a caller got another's reply", r)
			}
			seen[r] = true
		}
	}
	for i := 1; i <= clients; i++ {
		if !seen[resp.Int(i)] {
			t.Fatalf("exp a caller to see list length %d, none did", i)
		}
	}
	if last := n.Machine().AppliedIndex(); last >= clients {
		t.Logf("applied index %d for %d proposals: batching did not combine any", last, clients)
	}
}

// A node's ClockOffset moves every timestamp it puts in the log, and its
// read clock and TIME with them: the fault test's skewed node.
func TestClockOffsetShiftsTheLogClock(t *testing.T) {
	const offset = time.Hour
	n, err := New(Config{
		ID: "n1", RaftAddr: freeAddr(t), RespAddr: "resp-n1", DataDir: t.TempDir(), Bootstrap: true,
		LogStore:         testLogStore,
		HeartbeatTimeout: 500 * time.Millisecond, ElectionTimeout: 500 * time.Millisecond,
		Logger:      hclog.New(&hclog.LoggerOptions{Name: "n1", Level: hclog.Warn}),
		ClockOffset: offset,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Shutdown() })
	waitFor(t, "leader gate", n.IsLeader)
	before := time.Now().Add(offset).UnixMilli()
	if _, err := push(n, "k", "a"); err != nil {
		t.Fatalf("propose: %v", err)
	}
	after := time.Now().Add(offset).UnixMilli()
	var clock int64
	n.Machine().View(func(s *fsm.State) { clock = s.Clock() })
	if clock < before || clock > after {
		t.Errorf("log clock: exp within [%d, %d] (an hour ahead), got %d", before, after, clock)
	}
	if us := n.NowMicro(); us/1000 < before {
		t.Errorf("NowMicro: exp an hour ahead (>= %d ms), got %d µs", before, us)
	}
}
