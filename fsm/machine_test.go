package fsm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/raftlist/raftlist/fsm/resp"
)

// ksMakeLog builds the log entry raft hands to Apply (Consul's makeLog).
func ksMakeLog(index, term uint64, e *Entry) *raft.Log {
	return &raft.Log{Index: index, Term: term, Type: raft.LogCommand, Data: e.Encode()}
}

// ksCommandsEntry is an entry carrying one command in database db.
func ksCommandsEntry(db int, args ...string) *Entry {
	return &Entry{Kind: KindCommands, TimeMs: 1_700_000_000_000, Cmds: []Cmd{{DB: db, Owner: "ks", Args: ksArgv(args)}}}
}

// ksRandomLog returns n random log entries: batches of commands of every
// family in a few databases (errors included), membership changes and
// rising terms, as a leader could propose them.
func ksRandomLog(rng *rand.Rand, n int) []*raft.Log {
	keys := []string{"a", "b", "c", "", "k\x00"}
	vals := []string{"", "x", "y", "\x00", "\r\n", "long" + strings.Repeat("z", 300)}
	key := func() string { return keys[rng.Intn(len(keys))] }
	val := func() string { return vals[rng.Intn(len(vals))] }
	gens := []func() []string{
		func() []string { return []string{"RPUSH", key(), val(), val()} },
		func() []string { return []string{"LPUSH", key(), val()} },
		func() []string { return []string{"LPOP", key()} },
		func() []string { return []string{"RPOP", key()} },
		func() []string { return []string{"LRANGE", key(), "0", "-1"} },
		func() []string { return []string{"LLEN", key()} },
		func() []string { return []string{"SET", key(), val()} },
		func() []string { return []string{"SET", key(), val(), "NX", "GET"} },
		func() []string { return []string{"SET", key(), val(), "XX"} },
		func() []string { return []string{"GET", key()} },
		func() []string { return []string{"DEL", key(), key()} },
		func() []string { return []string{"EXISTS", key(), key()} },
		func() []string { return []string{"TYPE", key()} },
		func() []string { return []string{"RENAME", key(), key()} },
		func() []string { return []string{"RENAMENX", key(), key()} },
		func() []string { return []string{"KEYS", "*"} },
		func() []string { return []string{"SCAN", "0", "COUNT", "2"} },
		func() []string { return []string{"DBSIZE"} },
		func() []string { return []string{"FLUSHDB"} },
		func() []string { return []string{"SET", key()} },                 // arity error
		func() []string { return []string{"NOSUCHCMD", key()} },           // unknown command
		func() []string { return []string{"SET", key(), "v", "EX", "1"} }, // refused option
	}
	var logs []*raft.Log
	term := uint64(1)
	for i := 1; i <= n; i++ {
		var e *Entry
		switch r := rng.Intn(20); {
		case r == 0:
			term++
			e = &Entry{Kind: KindTermStart, Node: NodeMeta{ID: fmt.Sprintf("n%d", rng.Intn(3)), RespAddr: fmt.Sprintf("127.0.0.1:%d", 7000+rng.Intn(3))}}
		case r == 1:
			e = &Entry{Kind: KindNodeMeta, Node: NodeMeta{ID: fmt.Sprintf("n%d", rng.Intn(4)), RespAddr: "127.0.0.9:1", Remove: rng.Intn(2) == 0}}
		default:
			e = &Entry{Kind: KindCommands, TimeMs: int64(1_700_000_000_000 + i)}
			for j := rng.Intn(4) + 1; j > 0; j-- {
				args := gens[rng.Intn(len(gens))]()
				if args[0] == "FLUSHDB" && rng.Intn(5) != 0 {
					continue // rarely, or nothing would ever grow
				}
				e.Cmds = append(e.Cmds, Cmd{DB: rng.Intn(3), Owner: "n1:1", Seq: uint64(i), Args: ksArgv(args)})
			}
		}
		e.TimeMs = int64(1_700_000_000_000 + i)
		logs = append(logs, ksMakeLog(uint64(i), term, e))
	}
	return logs
}

// ksApplyAll applies logs in order and returns every reply in wire form.
func ksApplyAll(t *testing.T, m *Machine, logs []*raft.Log) []string {
	t.Helper()
	var out []string
	for _, l := range logs {
		switch r := m.Apply(l).(type) {
		case *Result:
			for _, rep := range r.Replies {
				out = append(out, ksRESP(rep))
			}
		default:
			t.Fatalf("apply index %d: exp *Result, got %#v", l.Index, r)
		}
	}
	return out
}

// ksDigest is a machine's state digest.
func ksDigest(t *testing.T, m *Machine) string {
	t.Helper()
	var d string
	if err := m.View(func(s *State) { d = s.Digest() }); err != nil {
		t.Fatalf("view: %v", err)
	}
	return d
}

// ksSnapshotBytes is a machine's snapshot as Persist writes it.
func ksSnapshotBytes(t *testing.T, m *Machine) []byte {
	t.Helper()
	snap, err := m.Snapshot()
	if err != nil {
		t.Fatalf("snapshot: %v", err)
	}
	defer snap.Release()
	sink := &ksSink{}
	if err := snap.Persist(sink); err != nil {
		t.Fatalf("persist: %v", err)
	}
	return sink.Bytes()
}

func TestMachinesFedTheSameLogAgree(t *testing.T) {
	for seed := int64(1); seed <= 20; seed++ {
		t.Run(fmt.Sprintf("random log %d gives equal replies, digests and snapshots", seed), func(t *testing.T) {
			logs := ksRandomLog(rand.New(rand.NewSource(seed)), 400)
			a, b := NewMachine(), NewMachine()
			ra, rb := ksApplyAll(t, a, logs), ksApplyAll(t, b, logs)
			if exp, got := strings.Join(ra, ""), strings.Join(rb, ""); exp != got {
				t.Fatalf("replies differ: exp %q, got %q", exp, got)
			}
			if exp, got := ksDigest(t, a), ksDigest(t, b); exp != got {
				t.Fatalf("exp digest %s, got %s", exp, got)
			}
			if exp, got := ksSnapshotBytes(t, a), ksSnapshotBytes(t, b); !bytes.Equal(exp, got) {
				t.Fatalf("snapshots differ: %d and %d bytes", len(exp), len(got))
			}
			if exp, got := uint64(len(logs)), b.AppliedIndex(); exp != got {
				t.Fatalf("exp applied index %d, got %d", exp, got)
			}
			if ksDigest(t, a) == strings.Repeat("0", 40) {
				t.Fatalf("exp a non-empty state at the end, got an empty one")
			}
		})
	}
	t.Run("one element more on one machine makes the digests differ", func(t *testing.T) {
		logs := ksRandomLog(rand.New(rand.NewSource(99)), 200)
		a, b := NewMachine(), NewMachine()
		ksApplyAll(t, a, logs)
		ksApplyAll(t, b, logs)
		next := uint64(len(logs) + 1)
		ksApplyAll(t, a, []*raft.Log{ksMakeLog(next, 9, ksCommandsEntry(2, "RPUSH", "tail", "x"))})
		ksApplyAll(t, b, []*raft.Log{ksMakeLog(next, 9, ksCommandsEntry(2, "RPUSH", "tail", "y"))})
		if ksDigest(t, a) == ksDigest(t, b) {
			t.Fatalf("exp different digests, got %s for both", ksDigest(t, a))
		}
	})
	t.Run("a machine restored from a snapshot midway ends equal to one that applied everything", func(t *testing.T) {
		logs := ksRandomLog(rand.New(rand.NewSource(5)), 400)
		a, c := NewMachine(), NewMachine()
		ksApplyAll(t, a, logs[:200])
		snap := ksSnapshotBytes(t, a)
		if err := c.Restore(ksReadCloser(snap)); err != nil {
			t.Fatalf("restore: %v", err)
		}
		ra, rc := ksApplyAll(t, a, logs[200:]), ksApplyAll(t, c, logs[200:])
		if exp, got := strings.Join(ra, ""), strings.Join(rc, ""); exp != got {
			t.Fatalf("replies differ: exp %q, got %q", exp, got)
		}
		if exp, got := ksDigest(t, a), ksDigest(t, c); exp != got {
			t.Fatalf("exp digest %s, got %s", exp, got)
		}
	})
}

func TestMachineHaltsOnUndecodableEntry(t *testing.T) {
	newer := ksCommandsEntry(0, "SET", "a", "1").Encode()
	newer[0] = FormatVersion + 1
	flipped := ksCommandsEntry(0, "SET", "a", "1").Encode()
	flipped[len(flipped)-checksumLen-1] ^= 1 // the value "1" becomes "0"
	for _, tc := range []struct {
		name    string
		data    []byte
		is      error
		message string
	}{
		{"an entry of a newer format halts the machine and says to upgrade", newer, ErrNewerFormat,
			fmt.Sprintf("apply log index 2: log entry format %d is newer than this binary; upgrade", FormatVersion+1)},
		{"a corrupt entry halts the machine", []byte{formatV1, byte(KindCommands), 0, 5}, ErrCorruptEntry,
			"apply log index 2: corrupt log entry"},
		{"an empty entry halts the machine", nil, ErrCorruptEntry, "apply log index 2: corrupt log entry"},
		{"an entry that fails its checksum halts the machine", flipped, ErrEntryChecksum,
			"apply log index 2: corrupt log entry: checksum mismatch (stored "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := NewMachine()
			ksApplyAll(t, m, []*raft.Log{ksMakeLog(1, 1, ksCommandsEntry(0, "SET", "a", "1"))})
			before := ksDigest(t, m)
			res := m.Apply(&raft.Log{Index: 2, Term: 1, Type: raft.LogCommand, Data: tc.data})
			err, ok := res.(error)
			if !ok {
				t.Fatalf("exp an error, got %#v", res)
			}
			if !errors.Is(err, tc.is) {
				t.Fatalf("exp an error wrapping %v, got %v", tc.is, err)
			}
			if !strings.HasPrefix(err.Error(), tc.message) {
				t.Fatalf("exp message %q, got %q", tc.message, err.Error())
			}
			if exp, got := err, m.Halted(); exp != got {
				t.Fatalf("exp Halted %v, got %v", exp, got)
			}
			later := m.Apply(ksMakeLog(3, 1, ksCommandsEntry(0, "SET", "a", "2")))
			if exp, got := err, later; exp != got {
				t.Fatalf("exp a later Apply to answer %v, got %#v", exp, got)
			}
			if exp, got := uint64(1), m.AppliedIndex(); exp != got {
				t.Fatalf("exp applied index %d, got %d", exp, got)
			}
			if exp, got := err, m.View(func(*State) { t.Fatalf("View ran on a halted machine") }); exp != got {
				t.Fatalf("exp View to answer %v, got %v", exp, got)
			}
			if exp, got := err, m.WaitApplied(context.Background(), 1); exp != got {
				t.Fatalf("exp WaitApplied to answer %v, got %v", exp, got)
			}
			if _, got := m.Snapshot(); got != err {
				t.Fatalf("exp Snapshot to answer %v, got %v", err, got)
			}
			// A snapshot from a node that could apply the entry replaces
			// the halted state (raft installs one when a follower is behind).
			healthy := NewMachine()
			ksApplyAll(t, healthy, []*raft.Log{ksMakeLog(1, 1, ksCommandsEntry(0, "SET", "a", "1")),
				ksMakeLog(2, 1, ksCommandsEntry(0, "SET", "b", "2"))})
			if err := m.Restore(ksReadCloser(ksSnapshotBytes(t, healthy))); err != nil {
				t.Fatalf("restore: %v", err)
			}
			if m.Halted() != nil {
				t.Fatalf("exp no halt after restore, got %v", m.Halted())
			}
			if exp, got := ksDigest(t, healthy), ksDigest(t, m); exp != got || got == before {
				t.Fatalf("exp digest %s after restore, got %s", exp, got)
			}
		})
	}
	t.Run("a reader waiting for a later index is woken by the halt", func(t *testing.T) {
		m := NewMachine()
		done := make(chan error, 1)
		go func() { done <- m.WaitApplied(context.Background(), 5) }()
		m.Apply(&raft.Log{Index: 1, Term: 1, Type: raft.LogCommand, Data: []byte{formatV1, 99}})
		select {
		case err := <-done:
			if !errors.Is(err, ErrCorruptEntry) {
				t.Fatalf("exp the halt error, got %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("exp WaitApplied to return, got it still waiting")
		}
	})
}

func TestWaitApplied(t *testing.T) {
	t.Run("returns at once for an index already applied", func(t *testing.T) {
		m := NewMachine()
		ksApplyAll(t, m, []*raft.Log{ksMakeLog(1, 1, ksCommandsEntry(0, "SET", "a", "1"))})
		if err := m.WaitApplied(context.Background(), 1); err != nil {
			t.Fatalf("exp nil, got %v", err)
		}
		if err := m.WaitApplied(context.Background(), 0); err != nil {
			t.Fatalf("exp nil, got %v", err)
		}
	})
	t.Run("wakes up when the index is applied, not before", func(t *testing.T) {
		m := NewMachine()
		done := make(chan error, 1)
		go func() { done <- m.WaitApplied(context.Background(), 3) }()
		for i := uint64(1); i <= 2; i++ {
			ksApplyAll(t, m, []*raft.Log{ksMakeLog(i, 1, ksCommandsEntry(0, "RPUSH", "l", "x"))})
		}
		select {
		case err := <-done:
			t.Fatalf("exp WaitApplied still waiting at index 2, got %v", err)
		default:
		}
		ksApplyAll(t, m, []*raft.Log{ksMakeLog(3, 1, ksCommandsEntry(0, "RPUSH", "l", "x"))})
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("exp nil, got %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("exp WaitApplied to return, got it still waiting")
		}
	})
	t.Run("a configuration entry advances the applied index too", func(t *testing.T) {
		m := NewMachine()
		done := make(chan error, 1)
		go func() { done <- m.WaitApplied(context.Background(), 4) }()
		m.StoreConfiguration(4, raft.Configuration{})
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("exp nil, got %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("exp WaitApplied to return, got it still waiting")
		}
		if exp, got := uint64(4), m.AppliedIndex(); exp != got {
			t.Fatalf("exp applied index %d, got %d", exp, got)
		}
	})
	t.Run("gives up when its context ends", func(t *testing.T) {
		m := NewMachine()
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := m.WaitApplied(ctx, 1); !errors.Is(err, context.Canceled) {
			t.Fatalf("exp context.Canceled, got %v", err)
		}
	})
}

// ksStateOf applies commands to a fresh state and returns it; a command
// starting with "@", N runs in database N, others in database 0.
func ksStateOf(t *testing.T, cmds ...[]string) *State {
	t.Helper()
	s := NewState()
	for i, c := range cmds {
		db := 0
		if c[0] == "@" { // "@", db, command...
			fmt.Sscan(c[1], &db)
			c = c[2:]
		}
		res := s.Apply(uint64(i+1), 1, ksCommandsEntry(db, c...))
		if _, isErr := res.Replies[0].(resp.Error); isErr {
			t.Fatalf("%q: %s", c, ksRESP(res.Replies[0]))
		}
	}
	return s
}

func TestDigest(t *testing.T) {
	zeros := strings.Repeat("0", 40)
	t.Run("an empty state digests to 40 zeros", func(t *testing.T) {
		if exp, got := zeros, NewState().Digest(); exp != got {
			t.Fatalf("exp %s, got %s", exp, got)
		}
	})
	t.Run("a state emptied again digests to 40 zeros", func(t *testing.T) {
		s := ksStateOf(t, []string{"SET", "a", "1"}, []string{"@", "3", "RPUSH", "l", "x"},
			[]string{"DEL", "a"}, []string{"@", "3", "LPOP", "l"})
		if exp, got := zeros, s.Digest(); exp != got {
			t.Fatalf("exp %s, got %s", exp, got)
		}
	})
	t.Run("membership and term are not data", func(t *testing.T) {
		s := NewState()
		s.Apply(1, 7, &Entry{Kind: KindNodeMeta, Node: NodeMeta{ID: "n1", RespAddr: "127.0.0.1:1"}})
		if exp, got := zeros, s.Digest(); exp != got {
			t.Fatalf("exp %s, got %s", exp, got)
		}
	})
	t.Run("a digest is 40 hex digits", func(t *testing.T) {
		d := ksStateOf(t, []string{"SET", "a", "1"}).Digest()
		if len(d) != 40 || strings.Trim(d, "0123456789abcdef") != "" {
			t.Fatalf("exp 40 hex digits, got %q", d)
		}
	})
	t.Run("the order writes arrived in does not matter, only the result", func(t *testing.T) {
		a := ksStateOf(t, []string{"RPUSH", "l", "1", "2"}, []string{"SET", "s", "v"}, []string{"@", "2", "SET", "x", "y"})
		b := ksStateOf(t, []string{"@", "2", "SET", "x", "y"}, []string{"SET", "s", "old"}, []string{"LPUSH", "l", "2"},
			[]string{"SET", "s", "v"}, []string{"LPUSH", "l", "1"})
		if exp, got := a.Digest(), b.Digest(); exp != got {
			t.Fatalf("exp %s, got %s", exp, got)
		}
	})
	t.Run("any change of key, element, order, type or database changes the digest", func(t *testing.T) {
		base := [][]string{{"RPUSH", "l", "ab", "c"}, {"SET", "s", "v"}}
		variants := map[string][][]string{
			"base":                 base,
			"an element changed":   {{"RPUSH", "l", "ab", "d"}, {"SET", "s", "v"}},
			"elements reordered":   {{"RPUSH", "l", "c", "ab"}, {"SET", "s", "v"}},
			"an element split":     {{"RPUSH", "l", "a", "b", "c"}, {"SET", "s", "v"}},
			"elements joined":      {{"RPUSH", "l", "abc"}, {"SET", "s", "v"}},
			"an empty element":     {{"RPUSH", "l", "ab", "c", ""}, {"SET", "s", "v"}},
			"a key renamed":        {{"RPUSH", "m", "ab", "c"}, {"SET", "s", "v"}},
			"a key in another db":  {{"@", "1", "RPUSH", "l", "ab", "c"}, {"SET", "s", "v"}},
			"a string value":       {{"RPUSH", "l", "ab", "c"}, {"SET", "s", "w"}},
			"a string as list":     {{"RPUSH", "l", "ab", "c"}, {"RPUSH", "s", "v"}},
			"an extra empty key":   {{"RPUSH", "l", "ab", "c"}, {"SET", "s", "v"}, {"SET", "", ""}},
			"a key without string": {{"RPUSH", "l", "ab", "c"}},
			"db 15":                {{"RPUSH", "l", "ab", "c"}, {"@", "15", "SET", "s", "v"}},
		}
		seen := map[string]string{}
		for name, cmds := range variants {
			d := ksStateOf(t, cmds...).Digest()
			if other, dup := seen[d]; dup {
				t.Fatalf("exp different digests, got %s for both %q and %q", d, name, other)
			}
			seen[d] = name
		}
	})
}
