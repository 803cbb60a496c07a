package fsm

import (
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/hashicorp/raft"

	"github.com/raftlist/raftlist/fsm/resp"
)

// A string's bytes are shared: replies still to be written, snapshots
// being persisted and clones all hold them. APPEND and SETRANGE must never
// change bytes someone else can see, or a client gets a reply that never
// existed and a snapshot holds a state no node was in.

// ksBatch is an entry of several commands in database 0.
func ksBatch(cmds ...[]string) *Entry {
	e := &Entry{Kind: KindCommands, TimeMs: 1_700_000_000_000}
	for _, c := range cmds {
		e.Cmds = append(e.Cmds, Cmd{Owner: "ks", Args: ksArgv(c)})
	}
	return e
}

func TestStringRepliesKeepTheirBytes(t *testing.T) {
	m := NewMachine()
	// Two APPENDs: the second leaves spare capacity the value owns.
	ksApplyAll(t, m, []*raft.Log{
		ksMakeLog(1, 1, ksCommandsEntry(0, "APPEND", "s", "abc")),
		ksMakeLog(2, 1, ksCommandsEntry(0, "APPEND", "s", "d")),
	})
	res := m.Apply(ksMakeLog(3, 1, ksBatch(
		[]string{"GET", "s"},
		[]string{"APPEND", "s", "e"},
		[]string{"GETRANGE", "s", "0", "-1"},
		[]string{"SETRANGE", "s", "0", "X"},
		[]string{"MGET", "s"},
		[]string{"SETRANGE", "s", "1", "Y"},
		[]string{"APPEND", "s", "f"},
		[]string{"GETSET", "s", "new"},
		[]string{"INCRBYFLOAT", "n", "1.5"},
		[]string{"APPEND", "n", "0"},
	))).(*Result)
	exp := []resp.Reply{
		resp.BulkString("abcd"), resp.Int(5), resp.BulkString("abcde"), resp.Int(5),
		resp.Array{resp.BulkString("Xbcde")}, resp.Int(5), resp.Int(6), resp.BulkString("XYcdef"),
		resp.BulkString("1.5"), resp.Int(4),
	}
	for i := range exp {
		if exp, got := ksRESP(exp[i]), ksRESP(res.Replies[i]); exp != got {
			t.Errorf("reply %d: exp %q, got %q", i, exp, got)
		}
	}
}

func TestSnapshotOfStringsIsTheStateWhenTaken(t *testing.T) {
	m := NewMachine()
	ksApplyAll(t, m, []*raft.Log{
		ksMakeLog(1, 1, ksCommandsEntry(0, "APPEND", "s", "abc")),
		ksMakeLog(2, 1, ksCommandsEntry(0, "APPEND", "s", "d")),
		ksMakeLog(3, 1, ksCommandsEntry(0, "INCR", "n")),
	})
	at := ksDigest(t, m)
	snap, err := m.Snapshot()
	if err != nil {
		t.Fatalf("snapshot: %v", err)
	}
	ksApplyAll(t, m, []*raft.Log{
		ksMakeLog(4, 1, ksCommandsEntry(0, "APPEND", "s", "e")),
		ksMakeLog(5, 1, ksCommandsEntry(0, "SETRANGE", "s", "0", "XY")),
		ksMakeLog(6, 1, ksCommandsEntry(0, "APPEND", "s", "fgh")),
		ksMakeLog(7, 1, ksCommandsEntry(0, "INCR", "n")),
	})
	sink := &ksSink{}
	if err := snap.Persist(sink); err != nil {
		t.Fatalf("persist: %v", err)
	}
	r := NewMachine()
	if err := r.Restore(ksReadCloser(sink.Bytes())); err != nil {
		t.Fatalf("restore: %v", err)
	}
	if exp, got := at, ksDigest(t, r); exp != got {
		t.Fatalf("exp the digest when taken %s, got %s", exp, got)
	}
	// The restored value owns no spare capacity: appending to it must not
	// reach into the live machine's bytes either.
	ksApplyAll(t, r, []*raft.Log{ksMakeLog(2, 1, ksCommandsEntry(0, "APPEND", "s", "Z"))})
	var got string
	if err := m.View(func(s *State) { got = string(s.DB(0).Get([]byte("s")).(*String).B) }); err != nil {
		t.Fatal(err)
	}
	if exp := "XYcdefgh"; exp != got {
		t.Fatalf("live value: exp %q, got %q", exp, got)
	}
}

// Redis's APPEND is amortized O(1) per byte; copying the whole string on
// every APPEND would make building a string of n pieces cost O(n²) on
// every node, from commands of a few bytes each.
func TestAppendCostIsLinear(t *testing.T) {
	const pieces, size = 2000, 4096
	m := NewMachine()
	piece := strings.Repeat("x", size)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for i := 1; i <= pieces; i++ {
		m.Apply(ksMakeLog(uint64(i), 1, ksCommandsEntry(0, "APPEND", "s", piece)))
	}
	runtime.ReadMemStats(&after)
	// Linear: the final 8 MB string, its doublings and each entry's own
	// bytes come to well under 100 MB. Quadratic would be about 8 GB.
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 200<<20 {
		t.Fatalf("exp under 200 MB allocated for %d APPENDs of %d bytes, got %d MB", pieces, size, alloc>>20)
	}
	var n int
	if err := m.View(func(s *State) { n = len(s.DB(0).Get([]byte("s")).(*String).B) }); err != nil {
		t.Fatal(err)
	}
	if exp := pieces * size; exp != n {
		t.Fatalf("exp length %d, got %d", exp, n)
	}
}

// A clone shares every string's bytes, spare capacity included. Only the
// value that allocated the capacity may fill it: were the clone to append
// in place too, the two would write the same bytes.
func TestAppendToAClonedStringLeavesTheOriginal(t *testing.T) {
	live := NewState()
	live.Apply(1, 1, ksCommandsEntry(0, "APPEND", "s", "abc"))
	live.Apply(2, 1, ksCommandsEntry(0, "APPEND", "s", "d")) // spare capacity now
	clone := live.Clone()
	clone.Apply(3, 1, ksCommandsEntry(0, "APPEND", "s", "X"))
	live.Apply(3, 1, ksCommandsEntry(0, "APPEND", "s", "Y"))
	for _, c := range []struct {
		name string
		st   *State
		exp  string
	}{{"clone", clone, "abcdX"}, {"live", live, "abcdY"}} {
		if got := string(c.st.DB(0).Get([]byte("s")).(*String).B); c.exp != got {
			t.Errorf("%s: exp %q, got %q", c.name, c.exp, got)
		}
	}
}

// SETRANGE writes an owned string in place, as Redis does: overwriting a
// few bytes of a large string must not copy it, or every node pays the
// whole string for each command of a few bytes.
func TestSetrangeWritesInPlace(t *testing.T) {
	const size, writes = 8 << 20, 2000
	m := NewMachine()
	m.Apply(ksMakeLog(1, 1, ksCommandsEntry(0, "SETRANGE", "s", strconv.Itoa(size-1), "x")))
	piece := strings.Repeat("y", 100)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for i := 0; i < writes; i++ {
		m.Apply(ksMakeLog(uint64(i+2), 1, ksCommandsEntry(0, "SETRANGE", "s", strconv.Itoa(i*1000), piece)))
	}
	runtime.ReadMemStats(&after)
	// In place: a few KB per command. A copy each time: 16 GB.
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 100<<20 {
		t.Fatalf("exp under 100 MB allocated for %d SETRANGEs into %d bytes, got %d MB", writes, size, alloc>>20)
	}
}

// A node answers reads (GET, GETRANGE, MGET) from its state between
// applies and writes the replies after releasing it, while the next entry
// may already write the same string in place: the replies must be copies.
// Run with -race.
func TestReadRepliesOutliveInPlaceWrites(t *testing.T) {
	m := NewMachine()
	m.Apply(ksMakeLog(1, 1, ksCommandsEntry(0, "APPEND", "s", "aaaa")))
	m.Apply(ksMakeLog(2, 1, ksCommandsEntry(0, "APPEND", "s", "aaaa")))
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 3; i < 2000; i++ {
			m.Apply(ksMakeLog(uint64(i), 1, ksCommandsEntry(0, "SETRANGE", "s", "0", string(rune('a'+i%2)))))
		}
	}()
	for _, args := range [][]string{{"GET", "s"}, {"GETRANGE", "s", "0", "-1"}, {"MGET", "s"}} {
		for i := 0; i < 300; i++ {
			var r resp.Reply
			if err := m.View(func(s *State) { r = s.Read(0, ksArgv(args)) }); err != nil {
				t.Fatal(err)
			}
			// Written after the view, as the front door does.
			if wire := ksRESP(r); !strings.Contains(wire, "aaaaaaa") {
				t.Fatalf("%q: exp the value, got %q", args, wire)
			}
		}
	}
	<-done
}
