package fsm

import (
	"bytes"
	"fmt"
	"math/rand"
	"slices"
	"strings"
	"testing"

	"github.com/raftlist/raftlist/fsm/resp"
)

// What makes waiters replicated state: timeouts refused before they reach
// the log, waiters in snapshots and in the digest, no trace left once they
// end, and equal results on every node. The helpers are in blocking_test.go.

func TestParseTimeout(t *testing.T) {
	// Which texts redis-server 7.0.15 accepts and which error it gives were
	// checked one by one (BLPOP inside MULTI parses the timeout without
	// blocking); the milliseconds follow its formula, and the ones under a
	// millisecond were checked by timing a real BLPOP.
	notFloat, negative := "ERR timeout is not a float or out of range", "ERR timeout is negative"
	for _, tc := range []struct {
		arg string
		ms  int64
		err string
	}{
		{arg: "0", ms: 0},
		{arg: "0.1", ms: 100},
		{arg: "1", ms: 1000},
		{arg: "+1", ms: 1000},
		{arg: ".5", ms: 500},
		{arg: "5.", ms: 5000},
		{arg: "00001", ms: 1000},
		{arg: "1e+3", ms: 1000000},
		{arg: "1E3", ms: 1000000},
		{arg: "0x10", ms: 16000},
		{arg: "0x1e", ms: 30000},
		{arg: "0x1p3", ms: 8000},
		{arg: "0X1P-2", ms: 250},
		{arg: "0x1.8p1", ms: 3000},
		{arg: "-0", ms: 0},
		{arg: "-0.0", ms: 0},
		// Redis rounds the milliseconds up (ceill): a timeout under a
		// millisecond is one millisecond, not forever...
		{arg: "0.0001", ms: 1},
		{arg: "1e-300", ms: 1},
		{arg: "1e-4950", ms: 1},
		{arg: "0.0015", ms: 2},
		{arg: "4.35", ms: 4350},
		// ...and a negative one above -1 ms rounds up to 0: forever.
		{arg: "-0.0001", ms: 0},
		{arg: "-0.001", ms: 0},
		{arg: "-0.0011", err: negative},
		{arg: "-1", err: negative},
		{arg: "-inf", err: negative},
		// Milliseconds past a long long come out negative in Redis.
		{arg: "1e15", ms: 1_000_000_000_000_000_000},
		{arg: "9223372036854775.807", ms: 9223372036854775807},
		{arg: "9223372036854775.8075", err: negative},
		{arg: "9223372036854776", err: negative},
		{arg: "1e16", err: negative},
		{arg: "1e400", err: negative},
		{arg: "1e4932", err: negative},
		{arg: "inf", err: negative},
		{arg: "+inf", err: negative},
		{arg: "Infinity", err: negative},
		// Not a number, or not a long double.
		{arg: "abc", err: notFloat},
		{arg: "", err: notFloat},
		{arg: "nan", err: notFloat},
		{arg: "NaN", err: notFloat},
		{arg: "-nan", err: notFloat},
		{arg: "nan(1)", err: notFloat},
		{arg: " 1", err: notFloat},
		{arg: "1 ", err: notFloat},
		{arg: "\t1", err: notFloat},
		{arg: "1\t", err: notFloat},
		{arg: "1\x00", err: notFloat},
		{arg: "1e", err: notFloat},
		{arg: ".", err: notFloat},
		{arg: "-", err: notFloat},
		{arg: "e1", err: notFloat},
		{arg: "1_0", err: notFloat},
		{arg: "1,5", err: notFloat},
		{arg: "0x", err: notFloat},
		{arg: "0x10p", err: notFloat},
		{arg: "0xg", err: notFloat},
		{arg: "0b1", err: notFloat},
		{arg: "0o7", err: notFloat},
		{arg: "1e4933", err: notFloat},
		{arg: "1e5000", err: notFloat},
		{arg: "-1e5000", err: notFloat},
		{arg: "1e-4951", err: notFloat},
		{arg: "1e-5000", err: notFloat},
		{arg: "-1e-5000", err: notFloat},
		{arg: "1e999999999999", err: notFloat},
		{arg: "1e-999999999999", err: notFloat},
		{arg: "-0x1p-999999999999", err: notFloat},
		// The edges of the long double: the largest finite value, and
		// half the least denormal, which rounds to 0.
		{arg: "0x1.fffffffffffffffep16383", err: negative},
		{arg: "0x1.fffffffffffffffefffffp16383", err: negative},
		{arg: "0x1.ffffffffffffffffp16383", err: notFloat},
		{arg: "0x1p-16445", ms: 1},
		{arg: "0x1.000000000000000000000002p-16446", ms: 1},
		{arg: "1.8225997659412373013e-4951", ms: 1},
		{arg: "0x1p-16446", err: notFloat},
		{arg: "0x0.fffffffffffffffffffffp-16446", err: notFloat},
		{arg: "1.8225997659412373012e-4951", err: notFloat},
		{arg: "0." + strings.Repeat("0", 5000) + "1e5100", err: negative},
		{arg: strings.Repeat("9", 5000) + "e-4990", ms: 10_000_000_000_000},
		{arg: strings.Repeat("0", 5119), ms: 0},
		{arg: strings.Repeat("0", 5120), err: notFloat},
		{arg: "1" + strings.Repeat("0", 10000), err: notFloat},
	} {
		name := tc.arg
		if len(name) > 24 {
			name = fmt.Sprintf("%.8s... (%d bytes)", name, len(name))
		}
		want := fmt.Sprintf("%d ms", tc.ms)
		if tc.err != "" {
			want = "-" + tc.err
		}
		t.Run(fmt.Sprintf("%q is %s", name, want), func(t *testing.T) {
			ms, err := ParseTimeout([]byte(tc.arg))
			got := fmt.Sprintf("%d ms", ms)
			if err != nil {
				got = "-" + err.Error()
			}
			if want != got {
				t.Fatalf("exp %s, got %s", want, got)
			}
			// A timeout error never reaches the log: Validate refuses it for
			// every blocking command.
			for _, line := range [][]string{
				{"BLPOP", "k", tc.arg}, {"BRPOP", "k", "j", tc.arg}, {"BRPOPLPUSH", "k", "d", tc.arg},
				{"BLMOVE", "k", "d", "LEFT", "RIGHT", tc.arg}, {"BLMPOP", tc.arg, "1", "k", "LEFT"},
			} {
				_, verr := Validate(listBytes(line))
				vgot := "accepted"
				if verr != nil {
					vgot = "-" + verr.Error()
				}
				vwant := "accepted"
				if tc.err != "" {
					vwant = want
				}
				if vwant != vgot {
					t.Fatalf("Validate %s: exp %s, got %s", line[0], vwant, vgot)
				}
			}
		})
	}
}

// blkRichState is a state with data and waiters of every command in two
// databases, some queued on several keys, one of them already ended.
func blkRichState(t *testing.T) *State {
	t.Helper()
	n := blkNewNode(t, false)
	n.apply(1, blkDo(blkC("p", 1, "RPUSH l a b"), blkC("p", 2, "SET s v"), blkCIn(3, "p", 3, "RPUSH m x")).entry)
	n.apply(2, blkDo(blkC("n1:1", 1, "BLPOP a b 0"), blkC("n1:1", 2, "BRPOP b 5")).entry)
	n.apply(2, blkDo(blkC("n2:1", 1, "BRPOPLPUSH a d 0"), blkCIn(3, "n2:1", 2, "BLMOVE c m LEFT RIGHT 0.5")).entry)
	n.apply(2, blkDo(blkC("n2:1", 3, "BLMPOP 0 2 b a RIGHT COUNT 3")).entry)
	n.apply(2, blkUnblock("n1:1", 2, UnblockTimeout).entry)
	return n.st
}

func TestBlockingWaitersInSnapshots(t *testing.T) {
	t.Run("a snapshot round trip keeps every waiter, its queues and the registration counter", func(t *testing.T) {
		st := blkRichState(t)
		back := blkRoundTrip(t, st)
		blkCheckInvariants(t, back)
		dump := func(s *State) string {
			var b strings.Builder
			for _, w := range s.waitersInOrder() {
				fmt.Fprintf(&b, "%s/%d db=%d term=%d order=%d args=%q keys=%q\n", w.id.Owner, w.id.Seq, w.db, w.term, w.order, w.args, w.keys)
			}
			fmt.Fprintf(&b, "next=%d term=%d applied=%d", s.blk.nextOrder, s.Term(), s.Applied())
			return b.String()
		}
		if exp, got := dump(st), dump(back); exp != got {
			t.Fatalf("exp waiters\n%s\ngot\n%s", exp, got)
		}
		if exp, got := 4, back.BlockedWaiters(); exp != got {
			t.Fatalf("BlockedWaiters: exp %d, got %d", exp, got)
		}
		for dk, q := range st.blk.queues {
			if exp, got := fmt.Sprint(q), fmt.Sprint(back.blk.queues[dk]); exp != got {
				t.Fatalf("queue of db %d key %q: exp %s, got %s", dk.db, dk.key, exp, got)
			}
		}
		if exp, got := len(st.blk.queues), len(back.blk.queues); exp != got {
			t.Fatalf("queues: exp %d, got %d", exp, got)
		}
	})
	t.Run("serving after a restore answers exactly as serving without one", func(t *testing.T) {
		orig := blkRichState(t)
		back := blkRoundTrip(t, orig)
		clone := orig.Clone()
		next := []*Entry{
			blkDo(blkC("n3:1", 1, "BLPOP a 0"), blkC("p", 9, "RPUSH a 1 2 3")).entry,
			blkDo(blkCIn(3, "p", 10, "RPUSH c y"), blkC("p", 11, "LPUSH b z")).entry,
			blkUnblock("n2:1", 3, UnblockError).entry,
			{Kind: KindTermStart},
		}
		var traces []string
		for _, st := range []*State{orig, back, clone} {
			var b strings.Builder
			for i, e := range next {
				term := uint64(2)
				if e.Kind == KindTermStart {
					term = 3
				}
				res := st.Apply(st.Applied()+1, term, e)
				fmt.Fprintf(&b, "%d: %s %s digest %s\n", i, blkWireList(res.Replies), blkServedList(res.Served), st.Digest())
			}
			blkCheckEmpty(t, st)
			traces = append(traces, b.String())
		}
		if !strings.Contains(traces[0], `n1:1/1="*2\r\n$1\r\na\r\n$1\r\n1\r\n"`) {
			t.Fatalf("exp the oldest waiter on a to get its head, got\n%s", traces[0])
		}
		if exp, got := traces[0], traces[1]; exp != got {
			t.Fatalf("after a snapshot: exp\n%s\ngot\n%s", exp, got)
		}
		if exp, got := traces[0], traces[2]; exp != got {
			t.Fatalf("after a clone: exp\n%s\ngot\n%s", exp, got)
		}
	})
	t.Run("serving a clone leaves the original's waiters alone", func(t *testing.T) {
		orig := blkRichState(t)
		before := orig.Digest()
		clone := orig.Clone()
		var a, b bytes.Buffer
		if err := WriteSnapshot(&a, orig); err != nil {
			t.Fatalf("write snapshot: %v", err)
		}
		if err := WriteSnapshot(&b, clone); err != nil {
			t.Fatalf("write snapshot: %v", err)
		}
		if !bytes.Equal(a.Bytes(), b.Bytes()) {
			t.Fatalf("exp a clone to snapshot as the original (%d bytes), got %d bytes", a.Len(), b.Len())
		}
		clone.Apply(clone.Applied()+1, 2, blkDo(blkC("p", 9, "RPUSH a 1 2 3 4 5")).entry)
		if exp, got := 1, clone.BlockedWaiters(); exp != got {
			t.Fatalf("clone BlockedWaiters: exp %d, got %d", exp, got)
		}
		if exp, got := before, orig.Digest(); exp != got {
			t.Fatalf("original digest: exp %s, got %s", exp, got)
		}
		if exp, got := 4, orig.BlockedWaiters(); exp != got {
			t.Fatalf("original BlockedWaiters: exp %d, got %d", exp, got)
		}
		blkCheckInvariants(t, orig)
	})
}

// blkStateOf applies each command as one entry of term 1 to a fresh state.
func blkStateOf(t *testing.T, cmds ...Cmd) *State {
	t.Helper()
	n := blkNewNode(t, false)
	for _, c := range cmds {
		n.apply(0, blkDo(c).entry)
	}
	return n.st
}

func TestBlockingWaitersInDigest(t *testing.T) {
	zeros := strings.Repeat("0", 40)
	t.Run("a state with one waiter digests differently from the same data without it", func(t *testing.T) {
		with := blkStateOf(t, blkC("p", 1, "RPUSH l x"), blkC("c", 1, "BLPOP k 0"))
		without := blkStateOf(t, blkC("p", 1, "RPUSH l x"))
		if with.Digest() == without.Digest() {
			t.Fatalf("exp different digests, got %s for both", with.Digest())
		}
	})
	t.Run("a lone waiter does not digest as an empty state", func(t *testing.T) {
		if got := blkStateOf(t, blkC("c", 1, "BLPOP k 0")).Digest(); got == zeros {
			t.Fatalf("exp a non-zero digest, got %s", got)
		}
	})
	t.Run("two states that applied the same entries digest equally", func(t *testing.T) {
		a, b := blkRichState(t), blkRichState(t)
		if exp, got := a.Digest(), b.Digest(); exp != got {
			t.Fatalf("exp %s, got %s", exp, got)
		}
	})
	t.Run("waiters differing in command, key, database, client or order digest differently", func(t *testing.T) {
		data := blkC("p", 1, "RPUSH l x")
		variants := map[string][]Cmd{
			"base":            {data, blkC("c", 1, "BLPOP k 0"), blkC("c", 2, "BLPOP j 0")},
			"another command": {data, blkC("c", 1, "BRPOP k 0"), blkC("c", 2, "BLPOP j 0")},
			"a timeout":       {data, blkC("c", 1, "BLPOP k 1"), blkC("c", 2, "BLPOP j 0")},
			"another key":     {data, blkC("c", 1, "BLPOP q 0"), blkC("c", 2, "BLPOP j 0")},
			"one key more":    {data, blkC("c", 1, "BLPOP k q 0"), blkC("c", 2, "BLPOP j 0")},
			"another db":      {data, blkCIn(2, "c", 1, "BLPOP k 0"), blkC("c", 2, "BLPOP j 0")},
			"another owner":   {data, blkC("d", 1, "BLPOP k 0"), blkC("c", 2, "BLPOP j 0")},
			"another seq":     {data, blkC("c", 3, "BLPOP k 0"), blkC("c", 2, "BLPOP j 0")},
			"swapped order":   {data, blkC("c", 2, "BLPOP j 0"), blkC("c", 1, "BLPOP k 0")},
		}
		seen := map[string]string{}
		for name, cmds := range variants {
			d := blkStateOf(t, cmds...).Digest()
			if other, dup := seen[d]; dup {
				t.Fatalf("exp different digests, got %s for both %q and %q", d, name, other)
			}
			seen[d] = name
		}
	})
	t.Run("waiters of different terms digest differently", func(t *testing.T) {
		digest := func(term uint64) string {
			n := blkNewNode(t, false)
			n.apply(term, blkDo(blkC("c", 1, "BLPOP k 0")).entry)
			return n.st.Digest()
		}
		if digest(1) == digest(2) {
			t.Fatalf("exp different digests, got %s for both", digest(1))
		}
	})
	// Outcomes stay in the state until their owner acknowledges them
	// (blocking_ended.go); after that nothing is left.
	acked := func(st *State, owner string, seqs ...uint64) *State {
		st.Apply(st.Applied()+1, st.Term(), &Entry{Kind: KindAck, Ack: Ack{Owner: owner, Seqs: seqs}})
		return st
	}
	t.Run("a state whose waiters all ended and were acknowledged digests like one that never had any", func(t *testing.T) {
		served := blkStateOf(t, blkC("c", 1, "BLPOP k 0"), blkC("c", 2, "BLMOVE a b LEFT LEFT 0"),
			blkC("p", 1, "RPUSH k x y"), blkC("p", 2, "RPUSH a z"))
		never := blkStateOf(t, blkC("p", 1, "RPUSH k y"), blkC("p", 2, "RPUSH b z"))
		if served.Digest() == never.Digest() {
			t.Fatalf("exp the unacknowledged outcomes to digest, got %s for both", never.Digest())
		}
		if exp, got := never.Digest(), acked(served, "c", 1, 2).Digest(); exp != got {
			t.Fatalf("exp %s, got %s", exp, got)
		}
		blkCheckEmpty(t, served)
		emptied := acked(blkStateOf(t, blkC("c", 1, "BLPOP k 0"), blkC("p", 1, "RPUSH k x")), "c", 1)
		if exp, got := zeros, emptied.Digest(); exp != got {
			t.Fatalf("exp %s, got %s", exp, got)
		}
	})
}

func TestBlockingLeavesNoTrace(t *testing.T) {
	n := blkNewNode(t, false)
	// Waiters on several keys and databases, ended in every way there is.
	n.apply(1, blkDo(
		blkC("a", 1, "BLPOP k1 k2 k3 0"), blkC("a", 2, "BRPOPLPUSH k2 k4 0"), blkCIn(5, "a", 3, "BLMPOP 0 3 k1 k2 k1 LEFT COUNT 2"),
		blkC("a", 4, "BLMOVE k5 k6 LEFT RIGHT 0"), blkC("a", 5, "BLPOP k5 k6 0"), blkC("a", 6, "BRPOP k7 0"),
		blkCIn(5, "a", 7, "BLPOP k9 0"),
	).entry)
	n.apply(1, blkDo(blkC("p", 1, "RPUSH k2 x y"), blkCIn(5, "p", 2, "RPUSH k2 z")).entry) // served
	n.apply(1, blkUnblock("a", 4, UnblockTimeout).entry)
	n.apply(1, blkUnblock("a", 5, UnblockError).entry)
	n.apply(1, blkUnblock("a", 6, UnblockCancel).entry)
	if exp, got := 1, n.st.BlockedWaiters(); exp != got {
		t.Fatalf("BlockedWaiters before the purge: exp %d, got %d", exp, got)
	}
	res := n.apply(2, blkTermStart(2).entry) // purged
	if exp, got := blkServedList([]Served{blkGot("a", 7, resp.ErrLeaderChanged)}), blkServedList(res.Served); exp != got {
		t.Fatalf("purge: exp %s, got %s", exp, got)
	}
	blkCheckEmpty(t, n.st)
	if exp, got := "k4=[y]", listDump(n.st); exp != got {
		t.Fatalf("keyspace: exp %s, got %s", exp, got)
	}
}

// blkLogEntry is an entry with its Raft term.
type blkLogEntry struct {
	term uint64
	e    *Entry
}

// blkRandomLog returns n entries a leader could propose: pushes, pops,
// moves and every blocking command from three owners over three keys in two
// databases, now and then a string or a delete in the way, unblocks (of any
// reason) of waiters it created, some of them already ended, and rising
// terms, some opened by a term-start entry.
func blkRandomLog(rng *rand.Rand, n int) []blkLogEntry {
	owners := []string{"n1:1", "n2:1", "n3:1"}
	seqs := map[string]uint64{}
	var issued []WaiterID
	keys := []string{"a", "b", "c"}
	key := func() string { return keys[rng.Intn(len(keys))] }
	side := func() string { return []string{"LEFT", "RIGHT"}[rng.Intn(2)] }
	elem := 0
	vals := func() string {
		var vs []string
		for i := rng.Intn(3) + 1; i > 0; i-- {
			elem++
			vs = append(vs, fmt.Sprintf("v%d", elem))
		}
		return strings.Join(vs, " ")
	}
	gens := []func() (string, bool){
		func() (string, bool) { return "RPUSH " + key() + " " + vals(), false },
		func() (string, bool) { return "LPUSH " + key() + " " + vals(), false },
		func() (string, bool) { return "LPOP " + key(), false },
		func() (string, bool) { return "RPOP " + key() + " 2", false },
		func() (string, bool) { return "LMOVE " + key() + " " + key() + " " + side() + " " + side(), false },
		func() (string, bool) { return "RPOPLPUSH " + key() + " " + key(), false },
		func() (string, bool) { return "LMPOP 2 " + key() + " " + key() + " " + side(), false },
		func() (string, bool) { return "LRANGE " + key() + " 0 -1", false },
		func() (string, bool) { return "BLPOP " + key() + " " + key() + " 0", true },
		func() (string, bool) { return "BRPOP " + key() + " 1.5", true },
		func() (string, bool) { return "BRPOPLPUSH " + key() + " " + key() + " 0", true },
		func() (string, bool) {
			return "BLMOVE " + key() + " " + key() + " " + side() + " " + side() + " 0", true
		},
		func() (string, bool) {
			return fmt.Sprintf("BLMPOP 0 2 %s %s %s COUNT %d", key(), key(), side(), rng.Intn(3)+1), true
		},
	}
	var log []blkLogEntry
	term := uint64(1)
	for i := 0; i < n; i++ {
		switch r := rng.Intn(100); {
		case r < 1:
			term++
			log = append(log, blkLogEntry{term, &Entry{Kind: KindTermStart, Node: NodeMeta{ID: "n1", RespAddr: "127.0.0.1:1"}}})
		case r < 2:
			term++ // a new term whose first entry is a client's
			fallthrough
		case r < 80:
			e := &Entry{Kind: KindCommands, TimeMs: int64(1_700_000_000_000 + i)}
			for j := rng.Intn(3) + 1; j > 0; j-- {
				owner := owners[rng.Intn(len(owners))]
				seqs[owner]++
				var line string
				var blocking bool
				switch rng.Intn(30) {
				case 0:
					line = "SET " + key() + " s"
				case 1:
					line = "DEL " + key()
				default:
					line, blocking = gens[rng.Intn(len(gens))]()
				}
				if blocking {
					issued = append(issued, WaiterID{Owner: owner, Seq: seqs[owner]})
				}
				e.Cmds = append(e.Cmds, blkCIn(rng.Intn(2), owner, seqs[owner], line))
			}
			log = append(log, blkLogEntry{term, e})
		default:
			if len(issued) == 0 {
				continue
			}
			id := issued[rng.Intn(len(issued))]
			why := []UnblockReason{UnblockTimeout, UnblockCancel, UnblockError}[rng.Intn(3)]
			log = append(log, blkLogEntry{term, &Entry{Kind: KindUnblock, Unblock: Unblock{WaiterID: id, Reason: why}}})
		}
	}
	return log
}

// blkTally counts how waiters began and ended over a log.
type blkTally struct{ blocked, served, unblocked, purged int }

// blkApplyLog applies log from index first on and returns, per entry, its
// replies and who it served, in wire form, and a tally of the waiters.
func blkApplyLog(t *testing.T, st *State, first uint64, log []blkLogEntry) ([]string, blkTally) {
	t.Helper()
	out := make([]string, len(log))
	var n blkTally
	for i, l := range log {
		res := st.Apply(first+uint64(i), l.term, l.e)
		blkCheckInvariants(t, st)
		out[i] = blkWireList(res.Replies) + " " + blkServedList(res.Served)
		for _, r := range res.Replies {
			if r == resp.Blocked {
				n.blocked++
			}
		}
		for _, s := range res.Served {
			switch s.Reply {
			case resp.ErrLeaderChanged:
				n.purged++
			case resp.NullArray, resp.ErrUnblocked:
				n.unblocked++
			default:
				n.served++
			}
		}
	}
	return out, n
}

func TestBlockingIsDeterministic(t *testing.T) {
	for seed := int64(1); seed <= 30; seed++ {
		t.Run(fmt.Sprintf("random log %d gives equal replies, served lists and digests, with or without a snapshot", seed), func(t *testing.T) {
			log := blkRandomLog(rand.New(rand.NewSource(seed)), 300)
			a, b := NewState(), NewState()
			ta, tally := blkApplyLog(t, a, 1, log)
			tb, _ := blkApplyLog(t, b, 1, log)
			for i := range ta {
				if exp, got := ta[i], tb[i]; exp != got {
					t.Fatalf("entry %d: exp %s, got %s", i+1, exp, got)
				}
			}
			if exp, got := a.Digest(), b.Digest(); exp != got {
				t.Fatalf("exp digest %s, got %s", exp, got)
			}
			half := len(log) / 2
			c := NewState()
			blkApplyLog(t, c, 1, log[:half])
			c = blkRoundTrip(t, c)
			tc, _ := blkApplyLog(t, c, uint64(half+1), log[half:])
			for i := range tc {
				if exp, got := ta[half+i], tc[i]; exp != got {
					t.Fatalf("entry %d after a restore: exp %s, got %s", half+i+1, exp, got)
				}
			}
			if exp, got := a.Digest(), c.Digest(); exp != got {
				t.Fatalf("after a restore: exp digest %s, got %s", exp, got)
			}
			if tally.blocked < 20 || tally.served < 5 || tally.unblocked == 0 || tally.purged == 0 {
				t.Fatalf("exp the log to block, serve, unblock and purge waiters, got %+v", tally)
			}
			// A last entry of a new term ends every waiter left.
			left := a.BlockedWaiters()
			res := a.Apply(uint64(len(log)+1), log[len(log)-1].term+1, &Entry{Kind: KindTermStart})
			if exp, got := left, len(res.Served); exp != got {
				t.Fatalf("purge: exp %d waiters ended, got %d", exp, got)
			}
			blkCheckEmpty(t, a)
		})
	}
	t.Run("one blocking command from another client makes the runs differ", func(t *testing.T) {
		log := blkRandomLog(rand.New(rand.NewSource(42)), 300)
		// Give the first command that blocked to another client.
		changed := slices.Clone(log)
		probe, found := NewState(), false
		for i, l := range log {
			res := probe.Apply(uint64(i+1), l.term, l.e)
			for j, r := range res.Replies {
				if r == resp.Blocked && !found {
					e := *l.e
					e.Cmds = slices.Clone(e.Cmds)
					e.Cmds[j].Owner = "n9:1"
					changed[i] = blkLogEntry{l.term, &e}
					found = true
				}
			}
		}
		if !found {
			t.Fatalf("exp a command that blocked in the log, got none")
		}
		a, b := NewState(), NewState()
		ta, _ := blkApplyLog(t, a, 1, log)
		tb, _ := blkApplyLog(t, b, 1, changed)
		if strings.Join(ta, "\n") == strings.Join(tb, "\n") && a.Digest() == b.Digest() {
			t.Fatalf("exp different served lists or digests, got the same")
		}
	})
}
