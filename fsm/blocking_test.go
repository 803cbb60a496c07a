package fsm

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/raftlist/raftlist/fsm/resp"
)

// The spec of blocked clients in the state machine. Every reply below, and
// which waiter gets which element, was checked against redis-server 7.0.15
// with real blocked redis-cli clients; the state is driven only through
// State.Apply with hand-built entries, as Raft would drive it.

// blkC is one command of client owner/seq in database 0, its arguments split
// on spaces.
func blkC(owner string, seq uint64, line string) Cmd {
	return Cmd{Owner: owner, Seq: seq, Args: listBytes(listArgs(line))}
}

// blkCIn is blkC in database db.
func blkCIn(db int, owner string, seq uint64, line string) Cmd {
	c := blkC(owner, seq, line)
	c.DB = db
	return c
}

// blkStep is one log entry and what applying it must produce.
type blkStep struct {
	// term is the entry's Raft term; 0 keeps the previous entry's (1 at
	// first).
	term    uint64
	entry   *Entry
	replies []resp.Reply // one per command, in order
	served  []Served     // every waiter the entry ends, in order
}

// blkDo is a step carrying cmds in one entry.
func blkDo(cmds ...Cmd) blkStep {
	return blkStep{entry: &Entry{Kind: KindCommands, TimeMs: 1_700_000_000_000, Cmds: cmds}}
}

// blkUnblock is a step ending waiter owner/seq for why.
func blkUnblock(owner string, seq uint64, why UnblockReason) blkStep {
	return blkStep{entry: &Entry{Kind: KindUnblock, Unblock: Unblock{WaiterID: WaiterID{Owner: owner, Seq: seq}, Reason: why}}}
}

// blkTermStart is a step with a new leader's first entry of term.
func blkTermStart(term uint64) blkStep {
	return blkStep{term: term, entry: &Entry{Kind: KindTermStart, Node: NodeMeta{ID: "n2", RespAddr: "127.0.0.2:6379"}}}
}

func (s blkStep) answers(replies ...resp.Reply) blkStep { s.replies = replies; return s }
func (s blkStep) serves(served ...Served) blkStep       { s.served = served; return s }
func (s blkStep) inTerm(term uint64) blkStep            { s.term = term; return s }

// blkGot says waiter owner/seq ends with reply r.
func blkGot(owner string, seq uint64, r resp.Reply) Served {
	return Served{WaiterID: WaiterID{Owner: owner, Seq: seq}, Reply: r}
}

// blkPopped is BLPOP's and BRPOP's answer: [key, element].
func blkPopped(key, elem string) resp.Array { return resp.Array{resp.Bulk(key), resp.Bulk(elem)} }

// blkMPopped is BLMPOP's answer: [key, [elements]].
func blkMPopped(key string, elems ...string) resp.Array {
	return resp.Array{resp.Bulk(key), listBulks(elems...)}
}

// blkWireList renders replies in wire form, so a nil bulk, a nil array and
// an empty array all differ.
func blkWireList(replies []resp.Reply) string {
	parts := make([]string, len(replies))
	for i, r := range replies {
		parts[i] = listWire(r)
	}
	return strings.Join(parts, " ")
}

// blkServedList renders who was answered what, in order.
func blkServedList(served []Served) string {
	parts := make([]string, len(served))
	for i, s := range served {
		parts[i] = fmt.Sprintf("%s/%d=%q", s.Owner, s.Seq, listWire(s.Reply))
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// blkWaiting lists the waiters left, "owner/seq" in registration order.
func blkWaiting(st *State) []string {
	out := []string{}
	for _, w := range st.waitersInOrder() {
		out = append(out, fmt.Sprintf("%s/%d", w.id.Owner, w.id.Seq))
	}
	return out
}

// blkRoundTrip writes st to a snapshot and reads it back, checking that the
// copy digests and snapshots exactly as the original.
func blkRoundTrip(t *testing.T, st *State) *State {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteSnapshot(&buf, st); err != nil {
		t.Fatalf("write snapshot: %v", err)
	}
	out, err := ReadSnapshot(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatalf("read snapshot: %v", err)
	}
	var again bytes.Buffer
	if err := WriteSnapshot(&again, out); err != nil {
		t.Fatalf("write snapshot again: %v", err)
	}
	if !bytes.Equal(buf.Bytes(), again.Bytes()) {
		t.Fatalf("exp a restored state to snapshot as the original (%d bytes), got %d bytes", buf.Len(), again.Len())
	}
	if exp, got := st.Digest(), out.Digest(); exp != got {
		t.Fatalf("digest after a snapshot round trip: exp %s, got %s", exp, got)
	}
	if exp, got := strings.Join(blkWaiting(st), " "), strings.Join(blkWaiting(out), " "); exp != got {
		t.Fatalf("waiters after a snapshot round trip: exp %s, got %s", exp, got)
	}
	return out
}

// blkCheckInvariants checks the waiter tables between entries: nothing is
// left ready or unreported, every queue is non-empty, names live waiters in
// registration order, and every waiter is queued on each of its keys.
func blkCheckInvariants(t *testing.T, st *State) {
	t.Helper()
	b := &st.blk
	if len(b.ready) != 0 || len(b.readySet) != 0 {
		t.Fatalf("exp no ready keys between entries, got %d listed and %d in the set", len(b.ready), len(b.readySet))
	}
	if b.served != nil {
		t.Fatalf("exp nothing served left unreported, got %s", blkServedList(b.served))
	}
	for dk, q := range b.queues {
		if len(q) == 0 {
			t.Fatalf("exp no empty queue, got one for db %d key %q", dk.db, dk.key)
		}
		for i, id := range q {
			w := b.waiters[id]
			if w == nil {
				t.Fatalf("exp queue of %q to name live waiters, got %s/%d", dk.key, id.Owner, id.Seq)
			}
			if w.db != dk.db || !slices.ContainsFunc(w.keys, func(k []byte) bool { return string(k) == dk.key }) {
				t.Fatalf("exp waiter %s/%d queued only on its own keys, got it on db %d key %q", id.Owner, id.Seq, dk.db, dk.key)
			}
			if i > 0 && b.waiters[q[i-1]].order >= w.order {
				t.Fatalf("exp queue of %q in registration order, got %v", dk.key, q)
			}
		}
	}
	for id, w := range b.waiters {
		if w.id != id || w.order > b.nextOrder {
			t.Fatalf("exp waiter %s/%d filed under its id with order <= %d, got %+v", id.Owner, id.Seq, b.nextOrder, w)
		}
		for _, k := range w.keys {
			if !containsID(b.queues[dbKey{w.db, string(k)}], id) {
				t.Fatalf("exp waiter %s/%d queued on key %q, got it missing", id.Owner, id.Seq, k)
			}
		}
	}
	if exp, got := len(b.waiters), st.BlockedWaiters(); exp != got {
		t.Fatalf("BlockedWaiters: exp %d, got %d", exp, got)
	}
}

// blkCheckEmpty checks that no trace of any waiter is left.
func blkCheckEmpty(t *testing.T, st *State) {
	t.Helper()
	b := &st.blk
	if st.BlockedWaiters() != 0 || len(b.waiters) != 0 || len(b.queues) != 0 || len(b.readySet) != 0 || len(b.ready) != 0 {
		t.Fatalf("exp empty waiter tables, got %d waiters, %d queues, %d ready, %d in the ready set",
			len(b.waiters), len(b.queues), len(b.ready), len(b.readySet))
	}
}

// blkNode applies entries to a state as every node does, numbering them.
type blkNode struct {
	t    *testing.T
	st   *State
	term uint64
	// roundTrip sends the state through a snapshot before every entry.
	roundTrip bool
}

func blkNewNode(t *testing.T, roundTrip bool) *blkNode {
	return &blkNode{t: t, st: NewState(), term: 1, roundTrip: roundTrip}
}

// apply applies e in term (0: the previous entry's term) and checks the
// waiter tables afterwards.
func (n *blkNode) apply(term uint64, e *Entry) *Result {
	n.t.Helper()
	if term != 0 {
		n.term = term
	}
	if n.roundTrip {
		n.st = blkRoundTrip(n.t, n.st)
	}
	res := n.st.Apply(n.st.Applied()+1, n.term, e)
	blkCheckInvariants(n.t, n.st)
	return res
}

// blkCase is a named sequence of entries from a fresh state.
type blkCase struct {
	name string
	// given are commands, one entry each, that build database 0 first.
	given []string
	steps []blkStep
	// after is database 0 at the end in listDump's form.
	after string
	// waiting are the waiters left, "owner/seq" in registration order.
	waiting []string
}

// blkRunCases runs each case twice, once applying its entries directly and
// once restoring the state from a snapshot before every entry: both must
// answer the same and end with the same digest.
func blkRunCases(t *testing.T, cases []blkCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var digests []string
			for _, roundTrip := range []bool{false, true} {
				mode := "applied directly"
				if roundTrip {
					mode = "with a snapshot round trip before every entry"
				}
				n := blkNewNode(t, roundTrip)
				for _, g := range tc.given {
					res := n.apply(0, blkDo(blkC("setup", 0, g)).entry)
					if _, isErr := res.Replies[0].(resp.Error); isErr || len(res.Served) != 0 {
						t.Fatalf("%s: setup %q: got %s, served %s", mode, g, listWire(res.Replies[0]), blkServedList(res.Served))
					}
				}
				for i, step := range tc.steps {
					res := n.apply(step.term, step.entry)
					if exp, got := blkWireList(step.replies), blkWireList(res.Replies); exp != got {
						t.Fatalf("%s: step %d replies: exp %q, got %q", mode, i+1, exp, got)
					}
					if exp, got := blkServedList(step.served), blkServedList(res.Served); exp != got {
						t.Fatalf("%s: step %d served: exp %s, got %s", mode, i+1, exp, got)
					}
				}
				if exp, got := tc.after, listDump(n.st); exp != got {
					t.Fatalf("%s: keyspace: exp %s, got %s", mode, exp, got)
				}
				if exp, got := strings.Join(tc.waiting, " "), strings.Join(blkWaiting(n.st), " "); exp != got {
					t.Fatalf("%s: waiting: exp [%s], got [%s]", mode, exp, got)
				}
				if exp, got := len(tc.waiting), n.st.BlockedWaiters(); exp != got {
					t.Fatalf("%s: BlockedWaiters: exp %d, got %d", mode, exp, got)
				}
				if len(tc.waiting) == 0 {
					blkCheckEmpty(t, n.st)
				}
				digests = append(digests, n.st.Digest())
			}
			if exp, got := digests[0], digests[1]; exp != got {
				t.Fatalf("exp the same digest with and without snapshots, got %s and %s", exp, got)
			}
		})
	}
}

func TestBlockingPopsAtOnceWhenAKeyHasData(t *testing.T) {
	const ls = `l=[a b c] s="x"`
	listRunCases(t, []listCase{
		{name: "BLPOP skips a missing key and pops the head of the first list with elements",
			given: ls, args: listArgs("blpop z l 0"), want: blkPopped("l", "a"), after: `l=[b c] s="x"`},
		{name: "BRPOP skips a missing key and pops the tail of the first list with elements",
			given: ls, args: listArgs("brpop z l 0"), want: blkPopped("l", "c"), after: `l=[a b] s="x"`},
		{name: "BRPOPLPUSH moves the tail to the destination's head and answers the element",
			given: ls, args: listArgs("brpoplpush l d 0"), want: resp.Bulk("c"), after: `d=[c] l=[a b] s="x"`},
		{name: "BLMOVE LEFT RIGHT moves the head to the destination's tail",
			given: ls, args: listArgs("blmove l d LEFT RIGHT 0"), want: resp.Bulk("a"), after: `d=[a] l=[b c] s="x"`},
		{name: "BLMOVE RIGHT LEFT moves the tail to the destination's head",
			given: ls, args: listArgs("blmove l d right left 0"), want: resp.Bulk("c"), after: `d=[c] l=[a b] s="x"`},
		{name: "BLMPOP LEFT COUNT pops from the head of the first list with elements",
			given: ls, args: listArgs("blmpop 0 2 z l LEFT COUNT 2"), want: blkMPopped("l", "a", "b"), after: `l=[c] s="x"`},
		{name: "BLMPOP RIGHT COUNT pops from the tail, last first",
			given: ls, args: listArgs("blmpop 0 1 l RIGHT COUNT 2"), want: blkMPopped("l", "c", "b"), after: `l=[a] s="x"`},
		{name: "BLMPOP without COUNT pops one element",
			given: ls, args: listArgs("blmpop 0 1 l RIGHT"), want: blkMPopped("l", "c"), after: `l=[a b] s="x"`},
		{name: "BLMPOP with a COUNT beyond the length pops the whole list and deletes it",
			given: ls, args: listArgs("blmpop 0 1 l LEFT COUNT 100"), want: blkMPopped("l", "a", "b", "c"), after: `s="x"`},
		{name: "BLMOVE onto the same list LEFT RIGHT rotates it",
			given: ls, args: listArgs("blmove l l LEFT RIGHT 0"), want: resp.Bulk("a"), after: `l=[b c a] s="x"`},
		{name: "BRPOPLPUSH onto the same list rotates it the other way",
			given: ls, args: listArgs("brpoplpush l l 0"), want: resp.Bulk("c"), after: `l=[c a b] s="x"`},
		{name: "BLMOVE onto the same list RIGHT RIGHT leaves it as it was",
			given: ls, args: listArgs("blmove l l RIGHT RIGHT 0"), want: resp.Bulk("c")},
		{name: "BLPOP answers WRONGTYPE for a string before a list with elements",
			given: ls, args: listArgs("blpop s l 0"), want: resp.ErrWrongType},
		{name: "BRPOP answers WRONGTYPE for a string before a list with elements",
			given: ls, args: listArgs("brpop s l 0"), want: resp.ErrWrongType},
		{name: "BLPOP pops a list with elements before it looks at a string",
			given: ls, args: listArgs("blpop l s 0"), want: blkPopped("l", "a"), after: `l=[b c] s="x"`},
		{name: "BLPOP answers WRONGTYPE for a string after a missing key",
			given: ls, args: listArgs("blpop z s 0"), want: resp.ErrWrongType},
		{name: "BLMPOP answers WRONGTYPE for a string before a list with elements",
			given: ls, args: listArgs("blmpop 0 2 s l LEFT"), want: resp.ErrWrongType},
		{name: "BLMPOP pops a list with elements before it looks at a string",
			given: ls, args: listArgs("blmpop 0 2 l s LEFT"), want: blkMPopped("l", "a"), after: `l=[b c] s="x"`},
		{name: "BRPOPLPUSH to a string answers WRONGTYPE and pops nothing",
			given: ls, args: listArgs("brpoplpush l s 0"), want: resp.ErrWrongType},
		{name: "BLMOVE to a string answers WRONGTYPE and pops nothing",
			given: ls, args: listArgs("blmove l s LEFT LEFT 0"), want: resp.ErrWrongType},
		{name: "BLMOVE from a string answers WRONGTYPE",
			given: ls, args: listArgs("blmove s l LEFT LEFT 0"), want: resp.ErrWrongType},
		{name: "BRPOPLPUSH from a string answers WRONGTYPE",
			given: ls, args: listArgs("brpoplpush s l 0"), want: resp.ErrWrongType},
		{name: "BLMOVE from a missing source blocks even when the destination is a string",
			given: ls, args: listArgs("blmove z s LEFT LEFT 0"), want: resp.Blocked},
		{name: "BLPOP without a timeout is an arity error",
			args: listArgs("blpop k"), want: resp.ErrWrongArity("blpop"), early: true},
		{name: "BLMPOP without a side is an arity error",
			args: listArgs("blmpop 0 1 k"), want: resp.ErrWrongArity("blmpop"), early: true},
		{name: "BRPOPLPUSH without a timeout is an arity error",
			args: listArgs("brpoplpush a b"), want: resp.ErrWrongArity("brpoplpush"), early: true},
		{name: "BLMOVE without a timeout is an arity error",
			args: listArgs("blmove a b LEFT LEFT"), want: resp.ErrWrongArity("blmove"), early: true},
		{name: "BLMOVE checks its sides before its timeout",
			args: listArgs("blmove a b UP LEFT abc"), want: resp.ErrSyntax, early: true},
		{name: "BLMOVE with a bad timeout is refused",
			args: listArgs("blmove a b LEFT LEFT abc"), want: resp.ErrTimeoutNotFloat, early: true},
		{name: "BLPOP checks its timeout before any key's type",
			given: ls, args: listArgs("blpop s abc"), want: resp.ErrTimeoutNotFloat, early: true},
		{name: "BRPOPLPUSH with a negative timeout is refused",
			given: ls, args: listArgs("brpoplpush s d -1"), want: resp.ErrTimeoutNegative, early: true},
		{name: "BLMPOP checks numkeys before its timeout",
			args: listArgs("blmpop abc 0 k LEFT"), want: resp.ErrNumKeys, early: true},
		{name: "BLMPOP checks its side before its timeout",
			args: listArgs("blmpop -1 1 k UP"), want: resp.ErrSyntax, early: true},
		{name: "BLMPOP checks COUNT before its timeout",
			args: listArgs("blmpop abc 1 k LEFT COUNT 0"), want: resp.ErrCountPositive, early: true},
		{name: "BLMPOP with a numkeys beyond its arguments is a syntax error",
			args: listArgs("blmpop 0 5 k LEFT"), want: resp.ErrSyntax, early: true},
		{name: "BLMPOP with good arguments and a bad timeout is refused",
			args: listArgs("blmpop abc 1 k LEFT"), want: resp.ErrTimeoutNotFloat, early: true},
		{name: "BLMPOP with good arguments and a negative timeout is refused",
			args: listArgs("blmpop -1 1 k LEFT"), want: resp.ErrTimeoutNegative, early: true},
	})
}

func TestBlockingServesWaiters(t *testing.T) {
	blkRunCases(t, []blkCase{
		{name: "clients blocked on one key are served first come, first served",
			steps: []blkStep{
				blkDo(blkC("w1", 1, "BLPOP k 0")).answers(resp.Blocked),
				blkDo(blkC("w2", 1, "BLPOP k 0")).answers(resp.Blocked),
				blkDo(blkC("w3", 1, "BLPOP k 0")).answers(resp.Blocked),
				blkDo(blkC("p", 1, "RPUSH k x")).answers(resp.Int(1)).serves(blkGot("w1", 1, blkPopped("k", "x"))),
				blkDo(blkC("p", 2, "RPUSH k y")).answers(resp.Int(1)).serves(blkGot("w2", 1, blkPopped("k", "y"))),
			},
			after: "(empty)", waiting: []string{"w3/1"}},
		{name: "LPUSH of three elements serves two waiters in the same entry, head first",
			steps: []blkStep{
				blkDo(blkC("w1", 1, "BLPOP k 0")).answers(resp.Blocked),
				blkDo(blkC("w2", 1, "BLPOP k 0")).answers(resp.Blocked),
				blkDo(blkC("p", 1, "LPUSH k a b c")).answers(resp.Int(3)).serves(
					blkGot("w1", 1, blkPopped("k", "c")), blkGot("w2", 1, blkPopped("k", "b"))),
			},
			after: "k=[a]"},
		{name: "RPUSH of three elements serves a BRPOP waiter the tail and a BLPOP waiter the head",
			steps: []blkStep{
				blkDo(blkC("w1", 1, "BRPOP k 0")).answers(resp.Blocked),
				blkDo(blkC("w2", 1, "BLPOP k 0")).answers(resp.Blocked),
				blkDo(blkC("p", 1, "RPUSH k a b c")).answers(resp.Int(3)).serves(
					blkGot("w1", 1, blkPopped("k", "c")), blkGot("w2", 1, blkPopped("k", "a"))),
			},
			after: "k=[b]"},
		{name: "a push of two elements with three waiters serves two and leaves the third blocked",
			steps: []blkStep{
				blkDo(blkC("w1", 1, "BLPOP k 0")).answers(resp.Blocked),
				blkDo(blkC("w2", 1, "BLPOP k 0")).answers(resp.Blocked),
				blkDo(blkC("w3", 1, "BLPOP k 0")).answers(resp.Blocked),
				blkDo(blkC("p", 1, "LPUSH k x y")).answers(resp.Int(2)).serves(
					blkGot("w1", 1, blkPopped("k", "y")), blkGot("w2", 1, blkPopped("k", "x"))),
			},
			after: "(empty)", waiting: []string{"w3/1"}},
		{name: "a client blocked on several keys is served from the key that became ready",
			steps: []blkStep{
				blkDo(blkC("w1", 1, "BLPOP a b k 0")).answers(resp.Blocked),
				blkDo(blkC("p", 1, "RPUSH b x")).answers(resp.Int(1)).serves(blkGot("w1", 1, blkPopped("b", "x"))),
			},
			after: "(empty)"},
		{name: "a client blocked on several keys is served once and leaves every queue",
			steps: []blkStep{
				blkDo(blkC("w1", 1, "BRPOP a b 0")).answers(resp.Blocked),
				blkDo(blkC("p", 1, "RPUSH a x")).answers(resp.Int(1)).serves(blkGot("w1", 1, blkPopped("a", "x"))),
				blkDo(blkC("p", 2, "RPUSH b y")).answers(resp.Int(1)),
			},
			after: "b=[y]"},
		{name: "a client blocked twice on the same key is queued once",
			steps: []blkStep{
				blkDo(blkC("w1", 1, "BLPOP k k 0")).answers(resp.Blocked),
				blkDo(blkC("p", 1, "RPUSH k x y")).answers(resp.Int(2)).serves(blkGot("w1", 1, blkPopped("k", "x"))),
			},
			after: "k=[y]"},
		{name: "BLMPOP waiters take up to their COUNT each, in order",
			steps: []blkStep{
				blkDo(blkC("w1", 1, "BLMPOP 0 2 a k LEFT COUNT 2")).answers(resp.Blocked),
				blkDo(blkC("w2", 1, "BLMPOP 0 1 k RIGHT COUNT 5")).answers(resp.Blocked),
				blkDo(blkC("p", 1, "RPUSH k 1 2 3 4")).answers(resp.Int(4)).serves(
					blkGot("w1", 1, blkMPopped("k", "1", "2")), blkGot("w2", 1, blkMPopped("k", "4", "3"))),
			},
			after: "(empty)"},
		{name: "a push in one database serves only the waiters of that database",
			steps: []blkStep{
				blkDo(blkC("w1", 1, "BLPOP q 0")).answers(resp.Blocked),
				blkDo(blkCIn(1, "w2", 1, "BLPOP q 0")).answers(resp.Blocked),
				blkDo(blkCIn(1, "p", 1, "RPUSH q v")).answers(resp.Int(1)).serves(blkGot("w2", 1, blkPopped("q", "v"))),
			},
			after: "(empty)", waiting: []string{"w1/1"}},
		{name: "a client that blocks and a push later in the same entry is served by that entry",
			steps: []blkStep{
				blkDo(blkC("w1", 1, "BLPOP k 0"), blkC("p", 1, "RPUSH k x")).answers(resp.Blocked, resp.Int(1)).serves(
					blkGot("w1", 1, blkPopped("k", "x"))),
			},
			after: "(empty)"},
		{name: "waiters are served after each command of an entry, as Redis serves a pipeline",
			steps: []blkStep{
				blkDo(blkC("w1", 1, "BLPOP k 0")).answers(resp.Blocked),
				blkDo(blkC("p", 1, "LPUSH k x"), blkC("p", 2, "LPOP k"), blkC("p", 3, "RPUSH k y z"), blkC("p", 4, "LRANGE k 0 -1")).
					answers(resp.Int(1), resp.NullBulk, resp.Int(2), listBulks("y", "z")).serves(blkGot("w1", 1, blkPopped("k", "x"))),
			},
			after: "k=[y z]"},
		{name: "a client that blocks after a push in the same entry waits for the next push",
			steps: []blkStep{
				blkDo(blkC("w1", 1, "BLPOP k 0")).answers(resp.Blocked),
				blkDo(blkC("p", 1, "RPUSH k x"), blkC("w2", 1, "BLPOP k 0")).answers(resp.Int(1), resp.Blocked).serves(
					blkGot("w1", 1, blkPopped("k", "x"))),
			},
			after: "(empty)", waiting: []string{"w2/1"}},
		{name: "a duplicate waiter id is refused and leaves the first waiter as it was",
			steps: []blkStep{
				blkDo(blkC("w1", 1, "BLPOP k 0")).answers(resp.Blocked),
				blkDo(blkC("w1", 1, "BLPOP j 0")).answers(resp.Error("ERR duplicate waiter w1/1")),
				blkDo(blkC("p", 1, "RPUSH j x")).answers(resp.Int(1)),
				blkDo(blkC("p", 2, "RPUSH k y")).answers(resp.Int(1)).serves(blkGot("w1", 1, blkPopped("k", "y"))),
			},
			after: "j=[x]"},
	})
}

func TestBlockingServesChains(t *testing.T) {
	blkRunCases(t, []blkCase{
		{name: "BRPOPLPUSH into a key another client waits on serves that client in the same entry",
			steps: []blkStep{
				blkDo(blkC("w1", 1, "BRPOPLPUSH a b 0")).answers(resp.Blocked),
				blkDo(blkC("w2", 1, "BLPOP b 0")).answers(resp.Blocked),
				blkDo(blkC("p", 1, "RPUSH a x")).answers(resp.Int(1)).serves(
					blkGot("w1", 1, resp.Bulk("x")), blkGot("w2", 1, blkPopped("b", "x"))),
			},
			after: "(empty)"},
		{name: "BLMOVE serves the destination's waiter even when that waiter blocked first",
			steps: []blkStep{
				blkDo(blkC("w1", 1, "BLPOP b 0")).answers(resp.Blocked),
				blkDo(blkC("w2", 1, "BLMOVE a b LEFT RIGHT 0")).answers(resp.Blocked),
				blkDo(blkC("p", 1, "RPUSH a x y")).answers(resp.Int(2)).serves(
					blkGot("w2", 1, resp.Bulk("x")), blkGot("w1", 1, blkPopped("b", "x"))),
			},
			after: "a=[y]"},
		{name: "BLMOVE from a key onto itself rotates, and the element stays for the next waiter",
			steps: []blkStep{
				blkDo(blkC("w1", 1, "BLMOVE k k LEFT RIGHT 0")).answers(resp.Blocked),
				blkDo(blkC("w2", 1, "BLPOP k 0")).answers(resp.Blocked),
				blkDo(blkC("p", 1, "RPUSH k x")).answers(resp.Int(1)).serves(
					blkGot("w1", 1, resp.Bulk("x")), blkGot("w2", 1, blkPopped("k", "x"))),
			},
			after: "(empty)"},
		{name: "two waiters rotating one list both get the element the first one rotated",
			steps: []blkStep{
				blkDo(blkC("w1", 1, "BLMOVE k k LEFT RIGHT 0")).answers(resp.Blocked),
				blkDo(blkC("w2", 1, "BRPOPLPUSH k k 0")).answers(resp.Blocked),
				blkDo(blkC("p", 1, "RPUSH k x y")).answers(resp.Int(2)).serves(
					blkGot("w1", 1, resp.Bulk("x")), blkGot("w2", 1, resp.Bulk("x"))),
			},
			after: "k=[x y]"},
		{name: "a loop of BLMOVE waiters a to b and b to a ends with the element back in a",
			steps: []blkStep{
				blkDo(blkC("w1", 1, "BLMOVE a b LEFT RIGHT 0")).answers(resp.Blocked),
				blkDo(blkC("w2", 1, "BLMOVE b a LEFT RIGHT 0")).answers(resp.Blocked),
				blkDo(blkC("p", 1, "RPUSH a x")).answers(resp.Int(1)).serves(
					blkGot("w1", 1, resp.Bulk("x")), blkGot("w2", 1, resp.Bulk("x"))),
			},
			after: "a=[x]"},
		{name: "the same loop entered from b ends with the element back in b",
			steps: []blkStep{
				blkDo(blkC("w1", 1, "BLMOVE a b LEFT RIGHT 0")).answers(resp.Blocked),
				blkDo(blkC("w2", 1, "BLMOVE b a LEFT RIGHT 0")).answers(resp.Blocked),
				blkDo(blkC("p", 1, "RPUSH b x")).answers(resp.Int(1)).serves(
					blkGot("w2", 1, resp.Bulk("x")), blkGot("w1", 1, resp.Bulk("x"))),
			},
			after: "b=[x]"},
		{name: "a loop that feeds a plain waiter ends with that waiter holding the element",
			steps: []blkStep{
				blkDo(blkC("w1", 1, "BRPOPLPUSH a b 0")).answers(resp.Blocked),
				blkDo(blkC("w2", 1, "BRPOPLPUSH b a 0")).answers(resp.Blocked),
				blkDo(blkC("w3", 1, "BLPOP a 0")).answers(resp.Blocked),
				blkDo(blkC("p", 1, "RPUSH a x")).answers(resp.Int(1)).serves(
					blkGot("w1", 1, resp.Bulk("x")), blkGot("w2", 1, resp.Bulk("x")), blkGot("w3", 1, blkPopped("a", "x"))),
			},
			after: "(empty)"},
	})
}

func TestBlockingWhatMakesAKeyReady(t *testing.T) {
	blkRunCases(t, []blkCase{
		{name: "RENAME of a list onto a waited key serves the waiter",
			given: []string{"RPUSH src x y"},
			steps: []blkStep{
				blkDo(blkC("w1", 1, "BLPOP k 0")).answers(resp.Blocked),
				blkDo(blkC("p", 1, "RENAME src k")).answers(resp.OK).serves(blkGot("w1", 1, blkPopped("k", "x"))),
			},
			after: "k=[y]"},
		{name: "RENAMENX of a list onto a waited key serves the waiter",
			given: []string{"RPUSH src x y"},
			steps: []blkStep{
				blkDo(blkC("w1", 1, "BLPOP k 0")).answers(resp.Blocked),
				blkDo(blkC("p", 1, "RENAMENX src k")).answers(resp.Int(1)).serves(blkGot("w1", 1, blkPopped("k", "x"))),
			},
			after: "k=[y]"},
		{name: "RENAME of a string onto a waited key serves nobody",
			given: []string{"SET src x"},
			steps: []blkStep{
				blkDo(blkC("w1", 1, "BLPOP k 0")).answers(resp.Blocked),
				blkDo(blkC("p", 1, "RENAME src k")).answers(resp.OK),
			},
			after: `k="x"`, waiting: []string{"w1/1"}},
		{name: "LMOVE into a waited key serves the waiter",
			given: []string{"RPUSH a x y"},
			steps: []blkStep{
				blkDo(blkC("w1", 1, "BLPOP k 0")).answers(resp.Blocked),
				blkDo(blkC("p", 1, "LMOVE a k LEFT LEFT")).answers(resp.Bulk("x")).serves(blkGot("w1", 1, blkPopped("k", "x"))),
			},
			after: "a=[y]"},
		{name: "RPOPLPUSH into a waited key serves the waiter",
			given: []string{"RPUSH a x y"},
			steps: []blkStep{
				blkDo(blkC("w1", 1, "BLPOP k 0")).answers(resp.Blocked),
				blkDo(blkC("p", 1, "RPOPLPUSH a k")).answers(resp.Bulk("y")).serves(blkGot("w1", 1, blkPopped("k", "y"))),
			},
			after: "a=[x]"},
		{name: "LMPOP pops without pushing anywhere and serves nobody",
			given: []string{"RPUSH a x y"},
			steps: []blkStep{
				blkDo(blkC("w1", 1, "BLPOP k 0")).answers(resp.Blocked),
				blkDo(blkC("p", 1, "LMPOP 1 a LEFT")).answers(blkMPopped("a", "x")),
			},
			after: "a=[y]", waiting: []string{"w1/1"}},
		{name: "LPUSHX and RPUSHX on a missing waited key push nothing and serve nobody",
			steps: []blkStep{
				blkDo(blkC("w1", 1, "BLPOP k 0")).answers(resp.Blocked),
				blkDo(blkC("p", 1, "LPUSHX k x"), blkC("p", 2, "RPUSHX k x")).answers(resp.Int(0), resp.Int(0)),
			},
			after: "(empty)", waiting: []string{"w1/1"}},
		{name: "FLUSHDB, FLUSHALL and DEL of a waited key leave the waiter blocked until a push",
			steps: []blkStep{
				blkDo(blkC("w1", 1, "BLPOP k 0")).answers(resp.Blocked),
				blkDo(blkC("p", 1, "FLUSHDB"), blkC("p", 2, "FLUSHALL"), blkC("p", 3, "DEL k")).answers(resp.OK, resp.OK, resp.Int(0)),
				blkDo(blkC("p", 4, "RPUSH k x")).answers(resp.Int(1)).serves(blkGot("w1", 1, blkPopped("k", "x"))),
			},
			after: "(empty)"},
		{name: "SET of a string on a waited key serves nobody, and a list pushed after DEL does",
			steps: []blkStep{
				blkDo(blkC("w1", 1, "BLPOP k 0")).answers(resp.Blocked),
				blkDo(blkC("p", 1, "SET k v")).answers(resp.OK),
				blkDo(blkC("p", 2, "RPUSH k z"), blkC("p", 3, "LPUSHX k z")).answers(resp.ErrWrongType, resp.ErrWrongType),
				blkDo(blkC("p", 4, "DEL k"), blkC("p", 5, "LPUSH k z")).answers(resp.Int(1), resp.Int(1)).serves(
					blkGot("w1", 1, blkPopped("k", "z"))),
			},
			after: "(empty)"},
		{name: "a BLMOVE waiter whose destination became a string is answered WRONGTYPE and the next waiter gets the element",
			steps: []blkStep{
				blkDo(blkC("w1", 1, "BLMOVE k s LEFT LEFT 0")).answers(resp.Blocked),
				blkDo(blkC("w2", 1, "BLPOP k 0")).answers(resp.Blocked),
				blkDo(blkC("p", 1, "SET s str")).answers(resp.OK),
				blkDo(blkC("p", 2, "RPUSH k x y")).answers(resp.Int(2)).serves(
					blkGot("w1", 1, resp.ErrWrongType), blkGot("w2", 1, blkPopped("k", "x"))),
			},
			after: `k=[y] s="str"`},
		{name: "a lone BRPOPLPUSH waiter whose destination became a string is answered WRONGTYPE and pops nothing",
			steps: []blkStep{
				blkDo(blkC("w1", 1, "BRPOPLPUSH k s 0")).answers(resp.Blocked),
				blkDo(blkC("p", 1, "SET s str")).answers(resp.OK),
				blkDo(blkC("p", 2, "RPUSH k x")).answers(resp.Int(1)).serves(blkGot("w1", 1, resp.ErrWrongType)),
			},
			after: `k=[x] s="str"`},
	})
}

func TestBlockingUnblock(t *testing.T) {
	unblocked := resp.Error("UNBLOCKED client unblocked via CLIENT UNBLOCK")
	cases := []blkCase{
		{name: "CLIENT UNBLOCK ERROR answers the UNBLOCKED error",
			steps: []blkStep{
				blkDo(blkC("w1", 1, "BLPOP k 0")).answers(resp.Blocked),
				blkUnblock("w1", 1, UnblockError).serves(blkGot("w1", 1, unblocked)),
			},
			after: "(empty)"},
		{name: "a cancel ends the waiter and a later push stays in the list",
			steps: []blkStep{
				blkDo(blkC("w1", 1, "BLPOP k 0")).answers(resp.Blocked),
				blkUnblock("w1", 1, UnblockCancel).serves(blkGot("w1", 1, resp.NullArray)),
				blkDo(blkC("p", 1, "RPUSH k x")).answers(resp.Int(1)),
			},
			after: "k=[x]"},
		{name: "an unblock after the waiter was served is a no-op and pops nothing",
			steps: []blkStep{
				blkDo(blkC("w1", 1, "BLPOP k 0")).answers(resp.Blocked),
				blkDo(blkC("p", 1, "RPUSH k x y")).answers(resp.Int(2)).serves(blkGot("w1", 1, blkPopped("k", "x"))),
				blkUnblock("w1", 1, UnblockTimeout),
			},
			after: "k=[y]"},
		{name: "a second unblock is a no-op",
			steps: []blkStep{
				blkDo(blkC("w1", 1, "BLPOP k 0")).answers(resp.Blocked),
				blkUnblock("w1", 1, UnblockTimeout).serves(blkGot("w1", 1, resp.NullArray)),
				blkUnblock("w1", 1, UnblockError),
				blkUnblock("w1", 1, UnblockCancel),
			},
			after: "(empty)"},
		{name: "an unblock of a waiter that never existed is a no-op",
			steps: []blkStep{
				blkDo(blkC("w1", 1, "BLPOP k 0")).answers(resp.Blocked),
				blkUnblock("w1", 2, UnblockTimeout),
				blkUnblock("w2", 1, UnblockError),
			},
			after: "(empty)", waiting: []string{"w1/1"}},
		{name: "an unblock takes the waiter off every key and the next waiter is first",
			steps: []blkStep{
				blkDo(blkC("w1", 1, "BLPOP a b 0")).answers(resp.Blocked),
				blkDo(blkC("w2", 1, "BLPOP b 0")).answers(resp.Blocked),
				blkUnblock("w1", 1, UnblockCancel).serves(blkGot("w1", 1, resp.NullArray)),
				blkDo(blkC("p", 1, "RPUSH b x"), blkC("p", 2, "RPUSH a y")).answers(resp.Int(1), resp.Int(1)).serves(
					blkGot("w2", 1, blkPopped("b", "x"))),
			},
			after: "a=[y]"},
	}
	// Redis answers a timeout with a nil array whatever the command,
	// BRPOPLPUSH and BLMOVE included (inside MULTI they answer a nil bulk).
	for _, line := range []string{"BLPOP k 0", "BRPOP k 5", "BRPOPLPUSH k d 0", "BLMOVE k d LEFT RIGHT 0.5", "BLMPOP 0 1 k LEFT COUNT 2"} {
		cases = append(cases, blkCase{name: "a timeout answers " + strings.Fields(line)[0] + " a nil array",
			steps: []blkStep{
				blkDo(blkC("w1", 7, line)).answers(resp.Blocked),
				blkUnblock("w1", 7, UnblockTimeout).serves(blkGot("w1", 7, resp.NullArray)),
				blkDo(blkC("p", 1, "RPUSH k x")).answers(resp.Int(1)),
			},
			after: "k=[x]"})
	}
	blkRunCases(t, cases)
	t.Run("the nil array and the UNBLOCKED error are Redis's bytes", func(t *testing.T) {
		if exp, got := "*-1\r\n", listWire(resp.NullArray); exp != got {
			t.Fatalf("exp %q, got %q", exp, got)
		}
		if exp, got := "-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n", listWire(resp.ErrUnblocked); exp != got {
			t.Fatalf("exp %q, got %q", exp, got)
		}
	})
}

func TestBlockingPurgesWaitersOfOlderTerms(t *testing.T) {
	blkRunCases(t, []blkCase{
		{name: "the first entry of a higher term ends older waiters with a retry error in registration order",
			steps: []blkStep{
				blkDo(blkC("zz", 9, "BLPOP a 0")).answers(resp.Blocked),
				blkDo(blkC("aa", 2, "BLPOP b 0")).answers(resp.Blocked),
				blkDo(blkC("mm", 5, "BLMOVE c d LEFT LEFT 0"), blkC("aa", 1, "BLMPOP 0 1 a RIGHT")).answers(resp.Blocked, resp.Blocked),
				blkDo(blkC("new", 1, "BLPOP a 0")).inTerm(2).answers(resp.Blocked).serves(
					blkGot("zz", 9, resp.ErrLeaderChanged), blkGot("aa", 2, resp.ErrLeaderChanged),
					blkGot("mm", 5, resp.ErrLeaderChanged), blkGot("aa", 1, resp.ErrLeaderChanged)),
				blkDo(blkC("p", 1, "RPUSH a x")).answers(resp.Int(1)).serves(blkGot("new", 1, blkPopped("a", "x"))),
			},
			after: "(empty)"},
		{name: "entries of the same term purge nothing",
			steps: []blkStep{
				blkDo(blkC("w1", 1, "BLPOP a 0")).inTerm(3).answers(resp.Blocked),
				blkDo(blkC("w2", 1, "BLPOP b 0")).answers(resp.Blocked),
				blkTermStart(3),
				blkUnblock("w3", 1, UnblockTimeout),
				blkDo(blkC("p", 1, "RPUSH c x")).inTerm(3).answers(resp.Int(1)),
			},
			after: "c=[x]", waiting: []string{"w1/1", "w2/1"}},
		{name: "an old-term entry applied before the new term still serves old waiters",
			steps: []blkStep{
				blkDo(blkC("w1", 1, "BLPOP k 0")).answers(resp.Blocked),
				blkDo(blkC("w2", 1, "BLPOP k 0")).answers(resp.Blocked),
				blkDo(blkC("p", 1, "RPUSH k x")).answers(resp.Int(1)).serves(blkGot("w1", 1, blkPopped("k", "x"))),
				blkTermStart(2).serves(blkGot("w2", 1, resp.ErrLeaderChanged)),
				blkDo(blkC("p", 2, "RPUSH k y")).answers(resp.Int(1)),
			},
			after: "k=[y]"},
		{name: "an unblock that opens a new term purges, and then has nothing left to end",
			steps: []blkStep{
				blkDo(blkC("w1", 1, "BLPOP k 0")).answers(resp.Blocked),
				blkUnblock("w1", 1, UnblockTimeout).inTerm(4).serves(blkGot("w1", 1, resp.ErrLeaderChanged)),
			},
			after: "(empty)"},
		{name: "a term that skips several ends every older waiter at once",
			steps: []blkStep{
				blkDo(blkC("w1", 1, "BLPOP k 0")).answers(resp.Blocked),
				blkDo(blkC("w2", 1, "BLPOP j 0")).answers(resp.Blocked),
				blkTermStart(7).serves(blkGot("w1", 1, resp.ErrLeaderChanged), blkGot("w2", 1, resp.ErrLeaderChanged)),
			},
			after: "(empty)"},
	})
	t.Run("the retry error is a TRYAGAIN error", func(t *testing.T) {
		if got := listWire(resp.ErrLeaderChanged); !strings.HasPrefix(got, "-TRYAGAIN ") {
			t.Fatalf("exp a -TRYAGAIN error, got %q", got)
		}
	})
}

// blkRunNoBlock runs a command as inside MULTI or a script: prepared and
// executed with Ctx.NoBlock, never parking its client.
func blkRunNoBlock(t *testing.T, st *State, line string) resp.Reply {
	t.Helper()
	args := listBytes(listArgs(line))
	cmd, err := Validate(args)
	if err != nil {
		t.Fatalf("validate %q: %v", line, err)
	}
	exec, err := cmd.Prepare(args)
	if err != nil {
		t.Fatalf("prepare %q: %v", line, err)
	}
	c := &Ctx{State: st, Index: st.Applied(), Term: st.Term(), Owner: "multi", Seq: 1, Args: args, NoBlock: true}
	return exec(c)
}

func TestBlockingInsideMultiDoesNotBlock(t *testing.T) {
	const ls = `l=[a b] s="x"`
	for _, tc := range []struct {
		name  string
		line  string
		want  resp.Reply
		after string
	}{
		{"BLPOP on an empty key answers a nil array", "BLPOP z 0", resp.NullArray, ls},
		{"BRPOP on empty keys answers a nil array", "BRPOP z y 1", resp.NullArray, ls},
		{"BLMPOP on an empty key answers a nil array", "BLMPOP 0 1 z LEFT", resp.NullArray, ls},
		{"BLMPOP COUNT on an empty key answers a nil array", "BLMPOP 0 1 z LEFT COUNT 3", resp.NullArray, ls},
		{"BRPOPLPUSH on an empty key answers a nil bulk", "BRPOPLPUSH z d 0", resp.NullBulk, ls},
		{"BLMOVE on an empty key answers a nil bulk", "BLMOVE z d LEFT LEFT 0", resp.NullBulk, ls},
		{"BLMOVE from an empty key to a string answers a nil bulk", "BLMOVE z s LEFT LEFT 0", resp.NullBulk, ls},
		{"BRPOPLPUSH from an empty key to a string answers a nil bulk", "BRPOPLPUSH z s 0", resp.NullBulk, ls},
		{"BLPOP on a string answers WRONGTYPE", "BLPOP s 0", resp.ErrWrongType, ls},
		{"BLPOP on a list with elements pops as outside MULTI", "BLPOP z l 0", blkPopped("l", "a"), `l=[b] s="x"`},
		{"BLMOVE on a list with elements moves as outside MULTI", "BLMOVE l d RIGHT LEFT 0", resp.Bulk("b"), `d=[b] l=[a] s="x"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := listState(t, ls)
			got := blkRunNoBlock(t, st, tc.line)
			if exp, got := listWire(tc.want), listWire(got); exp != got {
				t.Fatalf("reply: exp %q, got %q", exp, got)
			}
			if exp, got := tc.after, listDump(st); exp != got {
				t.Fatalf("keyspace: exp %s, got %s", exp, got)
			}
			blkCheckInvariants(t, st)
			blkCheckEmpty(t, st)
		})
	}
}
