package raftnode

import (
	"context"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/raftlist/raftlist/fsm"
	"github.com/raftlist/raftlist/fsm/resp"
)

// blpop proposes a BLPOP named by owner, as the node holding that client
// would.
func blpop(t *testing.T, n *Node, owner, key string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := n.Propose(ctx, []fsm.Cmd{{Owner: owner, Seq: n.NextSeq(),
		Args: [][]byte{[]byte("blpop"), []byte(key), []byte("0")}}})
	if err != nil {
		t.Fatalf("blpop: %v", err)
	}
	if res.Replies[0] != resp.Blocked {
		t.Fatalf("blpop: exp blocked, got %v", res.Replies[0])
	}
}

// entryAt reads the leader's log entry at index as the state machine
// would decode it.
func entryAt(t *testing.T, n *Node, index uint64) *fsm.Entry {
	t.Helper()
	var l raft.Log
	if err := n.store.GetLog(index, &l); err != nil {
		t.Fatalf("log entry %d: %v", index, err)
	}
	if l.Type != raft.LogCommand {
		t.Fatalf("log entry %d is a %v, not a command", index, l.Type)
	}
	e, err := fsm.DecodeEntry(l.Data)
	if err != nil {
		t.Fatalf("decode entry %d: %v", index, err)
	}
	return e
}

func TestServingAnotherNodesWaiterAppendsOneEmptyEntry(t *testing.T) {
	n := startNode(t, "n1", true)
	waitFor(t, "leader gate", n.IsLeader)
	blpop(t, n, "n2/abc", "q")
	res, err := push(n, "q", "x")
	if err != nil {
		t.Fatalf("push: %v", err)
	}
	waitFor(t, "the nudge entry after the push", func() bool { return n.Machine().AppliedIndex() > res.Index })
	e := entryAt(t, n, res.Index+1)
	if e.Kind != fsm.KindCommands || len(e.Cmds) != 0 {
		t.Fatalf("entry after the push: exp an empty command entry, got kind %d with %d commands", e.Kind, len(e.Cmds))
	}
	// One nudge, not a stream of them.
	time.Sleep(200 * time.Millisecond)
	if exp, got := res.Index+1, n.raft.LastIndex(); got != exp {
		t.Fatalf("last index: exp %d (push + one nudge), got %d", exp, got)
	}
}

func TestServingOnlyOwnWaitersAppendsNothing(t *testing.T) {
	n := startNode(t, "n1", true)
	waitFor(t, "leader gate", n.IsLeader)
	blpop(t, n, n.Owner(), "q")
	res, err := push(n, "q", "x")
	if err != nil {
		t.Fatalf("push: %v", err)
	}
	// Long enough for a nudge to be appended, were one started.
	time.Sleep(200 * time.Millisecond)
	if exp, got := res.Index, n.raft.LastIndex(); got != exp {
		t.Fatalf("last index: exp %d (the push), got %d", exp, got)
	}
}
