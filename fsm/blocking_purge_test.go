package fsm

import (
	"testing"

	"github.com/raftlist/raftlist/fsm/resp"
)

func TestPurgeOwnerEndsTheWaitersOfANodesOtherProcessesOnly(t *testing.T) {
	s := NewState()
	block := func(index uint64, owner string, seq uint64, key string) {
		res := s.Apply(index, 1, &Entry{Kind: KindCommands, Cmds: []Cmd{{Owner: owner, Seq: seq,
			Args: [][]byte{[]byte("blpop"), []byte(key), []byte("0")}}}})
		if res.Replies[0] != resp.Blocked {
			t.Fatalf("exp %s to block, got %v", key, res.Replies[0])
		}
	}
	block(1, "n1/old", 1, "q")
	block(2, "n1/new", 1, "q")
	block(3, "n2/x", 1, "q")
	block(4, "n10/x", 1, "q") // "n1" must not match "n10"

	res := s.Apply(5, 1, &Entry{Kind: KindPurgeOwner, Purge: PurgeOwner{NodeID: "n1", KeepOwner: "n1/new"}})
	if exp, got := 1, len(res.Served); got != exp {
		t.Fatalf("served: exp %d, got %d (%v)", exp, got, res.Served)
	}
	if exp, got := (WaiterID{Owner: "n1/old", Seq: 1}), res.Served[0].WaiterID; got != exp {
		t.Fatalf("exp %v, got %v", exp, got)
	}
	if exp, got := resp.Reply(resp.ErrOwnerGone), res.Served[0].Reply; got != exp {
		t.Fatalf("exp %v, got %v", exp, got)
	}

	res = s.Apply(6, 1, &Entry{Kind: KindNodeMeta, Node: NodeMeta{ID: "n2", Remove: true}})
	if exp, got := 1, len(res.Served); got != exp || res.Served[0].Owner != "n2/x" {
		t.Fatalf("removing n2: exp its one waiter ended, got %v", res.Served)
	}

	res = s.Apply(7, 1, &Entry{Kind: KindCommands, Cmds: []Cmd{{Owner: "c/1", Seq: 9,
		Args: [][]byte{[]byte("rpush"), []byte("q"), []byte("a"), []byte("b")}}}})
	if exp, got := 2, len(res.Served); got != exp {
		t.Fatalf("push: exp the two remaining waiters served, got %v", res.Served)
	}
	if res.Served[0].Owner != "n1/new" || res.Served[1].Owner != "n10/x" {
		t.Fatalf("exp n1/new then n10/x served, got %v", res.Served)
	}
	if exp, got := 0, s.BlockedWaiters(); got != exp {
		t.Fatalf("waiters left: exp %d, got %d", exp, got)
	}
}

func TestPurgeOwnerEntryRoundTrips(t *testing.T) {
	e := &Entry{Kind: KindPurgeOwner, TimeMs: 7, Purge: PurgeOwner{NodeID: "node2", KeepOwner: "node2/abc"}}
	got, err := DecodeEntry(e.Encode())
	if err != nil {
		t.Fatal(err)
	}
	if got.Purge != e.Purge || got.Kind != e.Kind || got.TimeMs != e.TimeMs {
		t.Fatalf("exp %+v, got %+v", e, got)
	}
}
