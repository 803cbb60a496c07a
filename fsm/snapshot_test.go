package fsm

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"

	"github.com/hashicorp/raft"

	"github.com/raftlist/raftlist/fsm/resp"
)

// ksSink is an in-memory raft.SnapshotSink. With failAt > 0, a write that
// would take it past failAt bytes fails.
type ksSink struct {
	bytes.Buffer
	failAt            int
	closed, cancelled bool
}

func (s *ksSink) ID() string    { return "ks-sink" }
func (s *ksSink) Cancel() error { s.cancelled = true; return nil }
func (s *ksSink) Close() error  { s.closed = true; return nil }

func (s *ksSink) Write(p []byte) (int, error) {
	if s.failAt > 0 && s.Len()+len(p) > s.failAt {
		return 0, errors.New("disk full")
	}
	return s.Buffer.Write(p)
}

var _ raft.SnapshotSink = (*ksSink)(nil)

func ksReadCloser(b []byte) io.ReadCloser { return io.NopCloser(bytes.NewReader(b)) }

// ksRichMachine is a machine holding every kind of data a snapshot must
// carry: lists with binary, empty and large elements, strings, keys in all
// sixteen databases, members, a term.
func ksRichMachine(t *testing.T) *Machine {
	t.Helper()
	m := NewMachine()
	var logs []*raft.Log
	add := func(term uint64, e *Entry) { logs = append(logs, ksMakeLog(uint64(len(logs)+1), term, e)) }
	add(1, &Entry{Kind: KindTermStart, Node: NodeMeta{ID: "n1", RespAddr: "127.0.0.1:6379"}})
	add(1, &Entry{Kind: KindNodeMeta, Node: NodeMeta{ID: "n2", RespAddr: "127.0.0.2:6379"}})
	for db := 0; db < NumDBs; db++ {
		add(2, ksCommandsEntry(db, "RPUSH", fmt.Sprintf("list:%d", db), "\x00", "\r\n", "", "a\x00b\r\nc", fmt.Sprint(db)))
		add(2, ksCommandsEntry(db, "SET", fmt.Sprintf("str:%d\x00\xff", db), "v\x00\r\n"))
	}
	add(3, ksCommandsEntry(4, "SET", "", ""))
	add(3, ksCommandsEntry(7, "RPUSH", "big", strings.Repeat("B", 3<<20), "after"))
	long := []string{"RPUSH", "long"}
	for i := 0; i < 20000; i++ {
		long = append(long, fmt.Sprint(i))
	}
	add(3, ksCommandsEntry(9, long...))
	ksApplyAll(t, m, logs)
	return m
}

func TestSnapshotRoundTrip(t *testing.T) {
	src := ksRichMachine(t)
	snap := ksSnapshotBytes(t, src)
	dst := NewMachine()
	if err := dst.Restore(ksReadCloser(snap)); err != nil {
		t.Fatalf("restore: %v", err)
	}
	t.Run("the restored state has the same digest", func(t *testing.T) {
		if exp, got := ksDigest(t, src), ksDigest(t, dst); exp != got {
			t.Fatalf("exp %s, got %s", exp, got)
		}
	})
	t.Run("the restored state has the same members, term and applied index", func(t *testing.T) {
		var exp, got string
		src.View(func(s *State) { exp = fmt.Sprint(s.Nodes(), s.Term(), s.Applied()) })
		dst.View(func(s *State) { got = fmt.Sprint(s.Nodes(), s.Term(), s.Applied()) })
		if exp != got {
			t.Fatalf("exp %s, got %s", exp, got)
		}
		if exp, got := src.AppliedIndex(), dst.AppliedIndex(); exp != got {
			t.Fatalf("exp applied index %d, got %d", exp, got)
		}
	})
	t.Run("the restored state answers reads the same", func(t *testing.T) {
		for _, args := range [][]string{
			{"LRANGE", "list:15", "0", "-1"}, {"GET", "str:3\x00\xff"}, {"LINDEX", "big", "0"},
			{"LLEN", "long"}, {"LINDEX", "long", "-1"}, {"TYPE", ""}, {"DBSIZE"},
		} {
			for db := 0; db < NumDBs; db++ {
				var exp, got resp.Reply
				src.View(func(s *State) { exp = s.Read(db, ksArgv(args)) })
				dst.View(func(s *State) { got = s.Read(db, ksArgv(args)) })
				if exp, got := ksRESP(exp), ksRESP(got); exp != got {
					t.Fatalf("%q in db %d: exp %.80q, got %.80q", args, db, exp, got)
				}
			}
		}
	})
	t.Run("a snapshot of the restored state is the same bytes", func(t *testing.T) {
		if again := ksSnapshotBytes(t, dst); !bytes.Equal(snap, again) {
			t.Fatalf("exp %d identical bytes, got %d different ones", len(snap), len(again))
		}
	})
	t.Run("an empty state round-trips to an empty state", func(t *testing.T) {
		m := NewMachine()
		if err := m.Restore(ksReadCloser(ksSnapshotBytes(t, NewMachine()))); err != nil {
			t.Fatalf("restore: %v", err)
		}
		if exp, got := strings.Repeat("0", 40), ksDigest(t, m); exp != got {
			t.Fatalf("exp %s, got %s", exp, got)
		}
	})
}

func TestSnapshotIsTheStateWhenTaken(t *testing.T) {
	m := NewMachine()
	ksApplyAll(t, m, []*raft.Log{ksMakeLog(1, 1, ksCommandsEntry(0, "RPUSH", "l", "a"))})
	at := ksDigest(t, m)
	snap, err := m.Snapshot()
	if err != nil {
		t.Fatalf("snapshot: %v", err)
	}
	ksApplyAll(t, m, []*raft.Log{
		ksMakeLog(2, 1, ksCommandsEntry(0, "RPUSH", "l", "b")),
		ksMakeLog(3, 1, ksCommandsEntry(0, "LSET", "l", "0", "changed")),
		ksMakeLog(4, 1, ksCommandsEntry(0, "SET", "s", "v")),
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
	if exp, got := uint64(1), r.AppliedIndex(); exp != got {
		t.Fatalf("exp applied index %d, got %d", exp, got)
	}
}

func TestPersistCancelsOnWriteError(t *testing.T) {
	snap, err := ksRichMachine(t).Snapshot()
	if err != nil {
		t.Fatalf("snapshot: %v", err)
	}
	sink := &ksSink{failAt: 1000}
	if err := snap.Persist(sink); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("exp the write error, got %v", err)
	}
	if !sink.cancelled || sink.closed {
		t.Fatalf("exp the sink cancelled and not closed, got cancelled %v closed %v", sink.cancelled, sink.closed)
	}
}

// ksSnapshotWith is a snapshot header, a meta record and then the records.
func ksSnapshotWith(records ...[]byte) []byte {
	b := append([]byte(snapshotMagic), snapshotVersion, recMeta, 1, 1)
	for _, r := range records {
		b = append(b, r...)
	}
	return b
}

// ksRecord builds one record from its type byte and uvarints / strings.
func ksRecord(typ byte, fields ...any) []byte {
	b := []byte{typ}
	for _, f := range fields {
		switch f := f.(type) {
		case uint64:
			b = binary.AppendUvarint(b, f)
		case int:
			b = binary.AppendUvarint(b, uint64(f))
		case string:
			b = appendBytes(b, []byte(f))
		}
	}
	return b
}

func TestReadSnapshotRefusesBadInput(t *testing.T) {
	valid := ksSnapshotBytes(t, ksRichMachine(t))
	end := []byte{recEnd}
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"an empty snapshot", nil, "EOF"},
		{"another file", []byte("REDIS0009\xfa\x09redis-ver"), "not a raftlist snapshot"},
		{"a newer snapshot version", append([]byte(snapshotMagic), snapshotVersion+1, recEnd), fmt.Sprintf("version %d is not supported", snapshotVersion+1)},
		{"a version 0 snapshot", append([]byte(snapshotMagic), 0, recEnd), "version 0 is not supported"},
		{"no end record", ksSnapshotWith(ksRecord(recString, 0, "k", "v")), "EOF"},
		{"an unknown record", ksSnapshotWith([]byte{77}, end), "unknown snapshot record 77"},
		{"database 16", ksSnapshotWith(ksRecord(recString, 16, "k", "v"), end), "database 16"},
		{"a huge database number", ksSnapshotWith(ksRecord(recList, uint64(1<<63), "k", 1, "v"), end), "database"},
		{"a string over the limit", ksSnapshotWith(ksRecord(recString, 0, "k", uint64(maxSnapshotString+1)), end), "too large"},
		{"a string cut short", ksSnapshotWith(ksRecord(recString, 0, "k", 10), []byte("abc")), "EOF"},
		{"a list shorter than its count", ksSnapshotWith(ksRecord(recList, 0, "k", 3, "a", "b"), end), "EOF"},
		{"an overlong uvarint", ksSnapshotWith([]byte{recMeta, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, end), "overflow"},
	} {
		t.Run(tc.name+" is refused", func(t *testing.T) {
			st, err := ReadSnapshot(bytes.NewReader(tc.data))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("exp an error containing %q, got %v", tc.want, err)
			}
			if st != nil {
				t.Fatalf("exp no state, got one")
			}
		})
	}
	t.Run("every cut of a valid snapshot is refused", func(t *testing.T) {
		for _, n := range []int{0, 1, len(snapshotMagic), len(snapshotMagic) + 1, 20, 100, 1000, 1 << 16, 1<<16 + 1,
			3 << 20, len(valid) / 2, len(valid) - 2, len(valid) - 1} {
			if _, err := ReadSnapshot(bytes.NewReader(valid[:n])); err == nil {
				t.Fatalf("cut at %d of %d: exp an error, got nil", n, len(valid))
			}
		}
		small := ksSnapshotBytes(t, ksMachineOf(t, "SET", "a", "b"))
		for n := 0; n < len(small); n++ {
			if _, err := ReadSnapshot(bytes.NewReader(small[:n])); err == nil {
				t.Fatalf("cut at %d of %d: exp an error, got nil", n, len(small))
			}
		}
	})
	t.Run("a length the data cannot back allocates no more than the data", func(t *testing.T) {
		data := ksSnapshotWith(ksRecord(recString, 0, "k", uint64(maxSnapshotString)), []byte("abc"))
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		if _, err := ReadSnapshot(bytes.NewReader(data)); err == nil {
			t.Fatalf("exp an error, got nil")
		}
		runtime.ReadMemStats(&after)
		if got := after.TotalAlloc - before.TotalAlloc; got > 8<<20 {
			t.Fatalf("exp at most 8 MiB allocated, got %d bytes", got)
		}
	})
	t.Run("a failed restore leaves the machine's state as it was", func(t *testing.T) {
		m := ksMachineOf(t, "RPUSH", "l", "a")
		before := ksDigest(t, m)
		if err := m.Restore(ksReadCloser(valid[:len(valid)-1])); err == nil {
			t.Fatalf("exp an error, got nil")
		}
		if exp, got := before, ksDigest(t, m); exp != got {
			t.Fatalf("exp digest %s, got %s", exp, got)
		}
	})
}

// ksMachineOf is a machine that applied one command in database 0.
func ksMachineOf(t *testing.T, args ...string) *Machine {
	t.Helper()
	m := NewMachine()
	ksApplyAll(t, m, []*raft.Log{ksMakeLog(1, 1, ksCommandsEntry(0, args...))})
	return m
}

// FuzzReadSnapshot checks that no input makes ReadSnapshot panic and that
// a snapshot it accepts writes back to bytes that read to the same state.
func FuzzReadSnapshot(f *testing.F) {
	f.Add([]byte{})
	f.Add(ksSnapshotWith(ksRecord(recNode, "n1", "127.0.0.1:1"), ksRecord(recList, 0, "k", 2, "a", "\x00"),
		ksRecord(recString, 15, "s", "v"), []byte{recEnd}))
	var empty, small bytes.Buffer
	WriteSnapshot(&empty, NewState())
	s := NewState()
	s.Apply(1, 1, ksCommandsEntry(3, "RPUSH", "l", "a", "b\r\n"))
	s.Apply(2, 1, ksCommandsEntry(0, "SET", "k", "\x00"))
	WriteSnapshot(&small, s)
	f.Add(empty.Bytes())
	f.Add(small.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := ReadSnapshot(bytes.NewReader(data))
		if err != nil {
			return
		}
		var once, twice bytes.Buffer
		if err := WriteSnapshot(&once, st); err != nil {
			t.Fatalf("write: %v", err)
		}
		again, err := ReadSnapshot(bytes.NewReader(once.Bytes()))
		if err != nil {
			t.Fatalf("read back: exp nil error, got %v", err)
		}
		if exp, got := st.Digest(), again.Digest(); exp != got {
			t.Fatalf("exp digest %s, got %s", exp, got)
		}
		if err := WriteSnapshot(&twice, again); err != nil {
			t.Fatalf("write: %v", err)
		}
		if !bytes.Equal(once.Bytes(), twice.Bytes()) {
			t.Fatalf("exp the same bytes written twice, got %d and %d", once.Len(), twice.Len())
		}
	})
}
