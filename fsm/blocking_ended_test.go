package fsm

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

// The table of ended waiters' outcomes their owners have not acknowledged
// (blocking_ended.go): what a node restored from a snapshot answers its
// blocked clients with.

// endedList renders the table as "owner/seq=reply" in (owner, seq) order.
func endedList(st *State) string {
	var parts []string
	for _, sv := range st.EndedOutcomes() {
		parts = append(parts, fmt.Sprintf("%s/%d=%q", sv.Owner, sv.Seq, listWire(sv.Reply)))
	}
	return strings.Join(parts, " ")
}

// endedAck is a KindAck entry from owner for seqs.
func endedAck(owner string, seqs ...uint64) *Entry {
	return &Entry{Kind: KindAck, Ack: Ack{Owner: owner, Seqs: seqs}}
}

// endedEveryWay is a state whose waiters ended in every way there is:
// n1/1 served, n1/2 timed out, n1/3 cancelled, n2/1 unblocked with an
// error, n2/2 purged at a leader change, n3/1 purged as its node restarted
// (a new process n3/b).
func endedEveryWay(t *testing.T) *blkNode {
	t.Helper()
	n := blkNewNode(t, false)
	n.apply(1, blkDo(blkC("n1/a", 1, "BLPOP k 0"), blkC("n1/a", 2, "BLPOP t 0"), blkC("n1/a", 3, "BLPOP c 0"),
		blkC("n2/a", 1, "BRPOP e 0"), blkC("n3/a", 1, "BLPOP g 0")).entry)
	n.apply(1, blkDo(blkC("p", 1, "RPUSH k x")).entry)
	n.apply(1, blkUnblock("n1/a", 2, UnblockTimeout).entry)
	n.apply(1, blkUnblock("n1/a", 3, UnblockCancel).entry)
	n.apply(1, blkUnblock("n2/a", 1, UnblockError).entry)
	n.apply(1, &Entry{Kind: KindPurgeOwner, Purge: PurgeOwner{NodeID: "n3", KeepOwner: "n3/b"}})
	n.apply(1, blkDo(blkC("n2/a", 2, "BLPOP o 0")).entry)
	n.apply(2, blkTermStart(2).entry) // purges n2/a's waiter 2 of term 1
	return n
}

func TestEndedOutcomesAreKeptUntilAcknowledged(t *testing.T) {
	t.Run("every end but a cancel or a purge of a dead process is recorded with its reply", func(t *testing.T) {
		n := endedEveryWay(t)
		exp := `n1/a/1="*2\r\n$1\r\nk\r\n$1\r\nx\r\n" n1/a/2="*-1\r\n" ` +
			`n2/a/1="-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n" ` +
			`n2/a/2="-TRYAGAIN the leader changed while the client was blocked; nothing was popped for it, retry\r\n"`
		if got := endedList(n.st); got != exp {
			t.Fatalf("exp %s\ngot %s", exp, got)
		}
	})
	t.Run("an ack forgets exactly the owner's named outcomes", func(t *testing.T) {
		n := endedEveryWay(t)
		n.apply(0, endedAck("n1/a", 1, 2))
		n.apply(0, endedAck("n2/b", 1)) // another process of n2: not its outcome
		exp := `n2/a/1="-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n" ` +
			`n2/a/2="-TRYAGAIN the leader changed while the client was blocked; nothing was popped for it, retry\r\n"`
		if got := endedList(n.st); got != exp {
			t.Fatalf("exp %s\ngot %s", exp, got)
		}
		n.apply(0, endedAck("n2/a", 2, 1))
		if got := endedList(n.st); got != "" {
			t.Fatalf("exp an empty table once every owner acked, got %s", got)
		}
		if exp, got := strings.Repeat("0", 40), n.st.Digest(); exp != got {
			t.Fatalf("exp the empty dataset's digest once every owner acked, got %s", got)
		}
	})
	t.Run("an ack of an unknown or repeated seq changes nothing", func(t *testing.T) {
		n := endedEveryWay(t)
		n.apply(0, endedAck("n1/a", 1))
		before, table := n.st.Digest(), endedList(n.st)
		res := n.apply(0, endedAck("n1/a", 1, 99, 3))
		if got := endedList(n.st); got != table || n.st.Digest() != before {
			t.Fatalf("exp table %s and digest %s unchanged, got %s and %s", table, before, got, n.st.Digest())
		}
		if len(res.Replies) != 0 || len(res.Served) != 0 {
			t.Fatalf("exp an ack to answer nothing and end no waiter, got %v %v", res.Replies, res.Served)
		}
	})
	t.Run("a purge of an unreachable node keeps its outcomes and records the purge", func(t *testing.T) {
		// The node may come back and install a snapshot: its clients must
		// hear that nothing was popped for them, and the one served before
		// the purge must still get its element.
		n := blkNewNode(t, false)
		n.apply(1, blkDo(blkC("n1/a", 1, "BLPOP k 0"), blkC("n1/a", 2, "BLPOP j 0"), blkC("n2/a", 1, "BLPOP j 0")).entry)
		n.apply(1, blkDo(blkC("p", 1, "RPUSH k x")).entry)
		n.apply(1, &Entry{Kind: KindPurgeOwner, Purge: PurgeOwner{NodeID: "n1"}})
		exp := `n1/a/1="*2\r\n$1\r\nk\r\n$1\r\nx\r\n" ` +
			`n1/a/2="-TRYAGAIN the node holding this client restarted, left or lost the cluster; nothing was popped for it, retry\r\n"`
		if got := endedList(n.st); got != exp {
			t.Fatalf("exp %s\ngot %s", exp, got)
		}
	})
	t.Run("a purge of an owner forgets its outcomes and keeps the kept process's", func(t *testing.T) {
		n := blkNewNode(t, false)
		n.apply(1, blkDo(blkC("n1/old", 1, "BLPOP k 0"), blkC("n1/new", 1, "BLPOP k 0"), blkC("n10/x", 1, "BLPOP k 0")).entry)
		n.apply(1, blkDo(blkC("p", 1, "RPUSH k a b c")).entry)
		n.apply(1, &Entry{Kind: KindPurgeOwner, Purge: PurgeOwner{NodeID: "n1", KeepOwner: "n1/new"}})
		if exp, got := `n1/new/1="*2\r\n$1\r\nk\r\n$1\r\nb\r\n" n10/x/1="*2\r\n$1\r\nk\r\n$1\r\nc\r\n"`, endedList(n.st); got != exp {
			t.Fatalf("exp %s\ngot %s", exp, got)
		}
		n.apply(1, &Entry{Kind: KindNodeMeta, Node: NodeMeta{ID: "n10", Remove: true}})
		if exp, got := `n1/new/1="*2\r\n$1\r\nk\r\n$1\r\nb\r\n"`, endedList(n.st); got != exp {
			t.Fatalf("removing n10: exp %s\ngot %s", exp, got)
		}
	})
}

func TestEndedOutcomesAreReplicatedState(t *testing.T) {
	t.Run("they survive a snapshot round trip and a clone", func(t *testing.T) {
		st := endedEveryWay(t).st
		var buf bytes.Buffer
		if err := WriteSnapshot(&buf, st); err != nil {
			t.Fatalf("write snapshot: %v", err)
		}
		back, err := ReadSnapshot(&buf)
		if err != nil {
			t.Fatalf("read snapshot: %v", err)
		}
		for name, got := range map[string]*State{"restored": back, "cloned": st.Clone()} {
			if exp, got := endedList(st), endedList(got); exp != got {
				t.Fatalf("%s: exp %s\ngot %s", name, exp, got)
			}
			if exp, got := st.Digest(), got.Digest(); exp != got {
				t.Fatalf("%s digest: exp %s, got %s", name, exp, got)
			}
		}
	})
	t.Run("two states differing only in the table digest differently", func(t *testing.T) {
		a, b := endedEveryWay(t), endedEveryWay(t)
		b.apply(0, endedAck("n1/a", 2))
		if a.st.Digest() == b.st.Digest() {
			t.Fatalf("exp different digests, got %s for both", a.st.Digest())
		}
		c := blkNewNode(t, false)
		c.apply(1, blkDo(blkC("o", 1, "BLPOP k 0")).entry)
		c.apply(1, blkUnblock("o", 1, UnblockTimeout).entry)
		if got := c.st.Digest(); got == strings.Repeat("0", 40) {
			t.Fatalf("exp a lone outcome not to digest as an empty state, got %s", got)
		}
	})
	t.Run("a version 1 snapshot, which has no table, still reads", func(t *testing.T) {
		v1 := append([]byte(snapshotMagic), 1, recMeta, 1, 1)
		v1 = append(v1, ksRecord(recString, 0, "k", "v")...)
		v1 = append(v1, recEnd)
		st, err := ReadSnapshot(bytes.NewReader(v1))
		if err != nil {
			t.Fatalf("exp a version 1 snapshot to read, got %v", err)
		}
		if got := endedList(st); got != "" || st.DB(0).Len() != 1 {
			t.Fatalf("exp one key and no outcomes, got %d keys and %s", st.DB(0).Len(), got)
		}
	})
	t.Run("an outcome record with no reply is refused", func(t *testing.T) {
		_, err := ReadSnapshot(bytes.NewReader(ksSnapshotWith(ksRecord(recEnded, "o", 1, ""), []byte{recEnd})))
		if err == nil || !strings.Contains(err.Error(), "has no reply") {
			t.Fatalf("exp an error saying the outcome has no reply, got %v", err)
		}
	})
}

func TestMachineRestoreReportsTheOutcomesTheSnapshotHolds(t *testing.T) {
	// Machine a applies the push that serves b's client; b is behind (it
	// applied only the entry that blocked the client) and catches up from
	// a's snapshot, never applying the push.
	blockB := ksMakeLog(1, 1, blkDo(blkC("nb/1", 7, "BLPOP q2 15")).entry)
	a, b := NewMachine(), NewMachine()
	for _, m := range []*Machine{a, b} {
		if _, ok := m.Apply(blockB).(*Result); !ok {
			t.Fatalf("apply the blocking entry failed")
		}
	}
	a.Apply(ksMakeLog(2, 1, blkDo(blkC("na/1", 1, "RPUSH q2 ELEM2")).entry))
	for i := uint64(3); i < 10; i++ {
		a.Apply(ksMakeLog(i, 1, blkDo(blkC("na/1", i, "RPUSH other x")).entry))
	}
	snap := ksSnapshotBytes(t, a)

	var heard []Served
	installs := 0
	b.OnRestore(func(ended []Served) { heard, installs = append(heard, ended...), installs+1 })
	if err := b.Restore(ksReadCloser(snap)); err != nil {
		t.Fatalf("restore: %v", err)
	}
	if exp, got := blkServedList([]Served{blkGot("nb/1", 7, blkPopped("q2", "ELEM2"))}), blkServedList(heard); exp != got {
		t.Fatalf("restore hook: exp %s, got %s", exp, got)
	}
	if exp, got := ksDigest(t, a), ksDigest(t, b); exp != got {
		t.Fatalf("digest after restore: exp %s, got %s", exp, got)
	}

	t.Run("once the owner acked, a restore reports nothing, but still reports the install", func(t *testing.T) {
		a.Apply(ksMakeLog(10, 1, endedAck("nb/1", 7)))
		heard, installs = nil, 0
		if err := b.Restore(ksReadCloser(ksSnapshotBytes(t, a))); err != nil {
			t.Fatalf("restore: %v", err)
		}
		if len(heard) != 0 || installs != 1 {
			t.Fatalf("exp one install with no outcome, got %d installs and %s", installs, blkServedList(heard))
		}
		var waiting, ended bool
		b.View(func(st *State) {
			waiting = st.Waiting(WaiterID{Owner: "nb/1", Seq: 7})
			_, ended = st.EndedOutcome(WaiterID{Owner: "nb/1", Seq: 7})
		})
		if waiting || ended {
			t.Fatalf("exp the waiter neither waiting nor with a kept outcome, got %v and %v", waiting, ended)
		}
	})
	t.Run("a failed restore reports nothing", func(t *testing.T) {
		installs = 0
		if err := b.Restore(ksReadCloser([]byte("junk"))); err == nil || installs != 0 {
			t.Fatalf("exp an error and no report, got %v and %d installs", err, installs)
		}
	})
}
