package fsm

import (
	"testing"

	"github.com/raftlist/raftlist/fsm/resp"
)

// SORT ... STORE, COPY and SWAPDB make keys lists like a push does; which
// of them wake blocked clients is redis-server 7.0.15's answer, taken by
// experiment (a client in BLPOP, the command from another).

func TestStoringCommandsServeWaitersAsRedisDoes(t *testing.T) {
	blkRunCases(t, []blkCase{
		{name: "SORT STORE onto a missing waited key serves the waiter from the stored list",
			given: []string{"RPUSH src 2 1 3"},
			steps: []blkStep{
				blkDo(blkC("w1", 1, "BLPOP k 0")).answers(resp.Blocked),
				blkDo(blkC("p", 1, "SORT src STORE k")).answers(resp.Int(3)).serves(blkGot("w1", 1, blkPopped("k", "1"))),
			},
			after: "k=[2 3] src=[2 1 3]"},
		{name: "SORT STORE over a string on a waited key serves nobody: Redis 7.0 overwrites without signalling",
			given: []string{"RPUSH src x"},
			steps: []blkStep{
				blkDo(blkC("w1", 1, "BLPOP k 0")).answers(resp.Blocked),
				blkDo(blkC("p", 1, "SET k str")).answers(resp.OK),
				blkDo(blkC("p", 2, "SORT src BY nosort STORE k")).answers(resp.Int(1)),
				blkDo(blkC("p", 3, "RPUSH k y")).answers(resp.Int(2)).serves(blkGot("w1", 1, blkPopped("k", "x"))),
			},
			after: "k=[y] src=[x]"},
		{name: "SORT STORE of nothing deletes the destination and serves nobody",
			given: []string{"SET k str"},
			steps: []blkStep{
				blkDo(blkC("w1", 1, "BLPOP k2 0")).answers(resp.Blocked),
				blkDo(blkC("p", 1, "SORT nokey STORE k")).answers(resp.Int(0)),
			},
			after: "(empty)", waiting: []string{"w1/1"}},
		{name: "SORT STORE serves BLMOVE waiters in a chain, each after the command",
			given: []string{"RPUSH src b a"},
			steps: []blkStep{
				blkDo(blkC("w1", 1, "BLMOVE k k2 LEFT LEFT 0")).answers(resp.Blocked),
				blkDo(blkC("w2", 1, "BLPOP k2 0")).answers(resp.Blocked),
				blkDo(blkC("p", 1, "SORT src ALPHA STORE k")).answers(resp.Int(2)).
					serves(blkGot("w1", 1, resp.Bulk("a")), blkGot("w2", 1, blkPopped("k2", "a"))),
			},
			after: "k=[b] src=[b a]"},
		{name: "COPY REPLACE of a list over a string on a waited key serves the waiter",
			given: []string{"RPUSH src x y"},
			steps: []blkStep{
				blkDo(blkC("w1", 1, "BLPOP k 0")).answers(resp.Blocked),
				blkDo(blkC("p", 1, "SET k str")).answers(resp.OK),
				blkDo(blkC("p", 2, "COPY src k REPLACE")).answers(resp.Int(1)).serves(blkGot("w1", 1, blkPopped("k", "x"))),
			},
			after: "k=[y] src=[x y]"},
		{name: "COPY of a list into another database serves a waiter there",
			given: []string{"RPUSH src x"},
			steps: []blkStep{
				blkDo(blkCIn(1, "w1", 1, "BLPOP k 0")).answers(resp.Blocked),
				blkDo(blkC("p", 1, "COPY src k DB 1")).answers(resp.Int(1)).serves(blkGot("w1", 1, blkPopped("k", "x"))),
			},
			after: "src=[x]"},
		{name: "SWAPDB serves clients in both databases whose keys arrive as lists, clients staying in their database",
			given: []string{"RPUSH gone z"},
			steps: []blkStep{
				blkDo(blkC("w1", 1, "BLPOP k 0")).answers(resp.Blocked),
				blkDo(blkCIn(1, "w2", 1, "BLPOP gone 0")).answers(resp.Blocked),
				blkDo(blkCIn(1, "w3", 1, "BLPOP none 0")).answers(resp.Blocked),
				blkDo(blkCIn(1, "p", 1, "RPUSH k a b")).answers(resp.Int(2)),
				blkDo(blkC("p", 2, "SWAPDB 0 1")).answers(resp.OK).
					serves(blkGot("w1", 1, blkPopped("k", "a")), blkGot("w2", 1, blkPopped("gone", "z"))),
			},
			after: "k=[b]", waiting: []string{"w3/1"}},
		{name: "SORT STORE inside a script serves the waiter after the script",
			given: []string{"RPUSH src 1"},
			steps: []blkStep{
				blkDo(blkC("w1", 1, "BLPOP k 0")).answers(resp.Blocked),
				blkDo(blkC("p", 1, "EVAL return(redis.call('sort','src','store','k')) 0")).
					answers(resp.Int(1)).serves(blkGot("w1", 1, blkPopped("k", "1"))),
			},
			after: "src=[1]"},
	})
}

func TestSortStoreInsideExecServesAfterTheTransaction(t *testing.T) {
	n := blkNewNode(t, true)
	n.apply(1, blkDo(blkC("setup", 0, "RPUSH src 3 1 2")).entry)
	n.apply(1, blkDo(blkC("w1", 1, "BLPOP k 0")).entry)
	res := n.apply(1, &Entry{Kind: KindExec, TimeMs: 1_700_000_000_000, Tx: Transaction{Owner: "p", Seq: 1, Cmds: [][][]byte{
		listBytes(listArgs("SORT src STORE k")), listBytes(listArgs("LLEN k")), listBytes(listArgs("SORT src DESC STORE k")),
	}}})
	if exp, got := blkWireList([]resp.Reply{resp.Array{resp.Int(3), resp.Int(3), resp.Int(3)}}), blkWireList(res.Replies); exp != got {
		t.Fatalf("EXEC: exp %q, got %q", exp, got)
	}
	if exp, got := blkServedList([]Served{blkGot("w1", 1, blkPopped("k", "3"))}), blkServedList(res.Served); exp != got {
		t.Fatalf("served after EXEC: exp %s (the last STORE's head), got %s", exp, got)
	}
}

func TestCopyAndSwapDBChangeWatchedKeys(t *testing.T) {
	n := ksNewNode(t)
	n.do(0, "set", "a", "1")
	n.do(1, "set", "only1", "x")
	version := func(db int, key string) uint64 {
		v, _ := n.m.st.KeyVersion(db, []byte(key))
		return v
	}
	before := version(0, "b")
	n.do(0, "copy", "a", "b")
	if version(0, "b") == before {
		t.Fatalf("COPY onto b: exp b's WATCH version to move from %d, got the same", before)
	}
	before0, before1, beforeNone := version(0, "only1"), version(1, "a"), version(0, "nowhere")
	n.do(0, "swapdb", "0", "1")
	if version(0, "only1") == before0 || version(1, "a") == before1 {
		t.Fatalf("SWAPDB: exp keys present in either database to change in both, got versions %d and %d unchanged", before0, before1)
	}
	if version(0, "nowhere") != beforeNone {
		t.Fatalf("SWAPDB: exp a key in neither database untouched, got its version moved")
	}
}
