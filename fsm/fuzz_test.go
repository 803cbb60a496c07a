package fsm

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/hashicorp/raft"
)

// Fuzz targets for what crosses the disk and the network into the state
// machine: a committed entry's bytes reaching Machine.Apply, and a
// snapshot's bytes reaching Machine.Restore. FuzzDecodeEntry
// (entry_test.go) and FuzzReadSnapshot (snapshot_test.go) cover the
// decoders themselves.

// fuzzMachine is a machine holding a list, a string, a script and a
// blocked client, so a failed restore or a halt has state to keep.
func fuzzMachine() *Machine {
	m := NewMachine()
	for i, c := range []Cmd{
		blkCIn(0, "n1:1", 1, "RPUSH l a b c"),
		blkCIn(2, "n1:1", 2, "SET s v"),
		blkCIn(0, "n1:1", 3, "SCRIPT LOAD return"),
		blkCIn(0, "n1:1", 4, "BLPOP empty 0"),
	} {
		if _, ok := m.Apply(ksMakeLog(uint64(i+1), 1, &Entry{Kind: KindCommands, TimeMs: 1, Cmds: []Cmd{c}})).(*Result); !ok {
			panic(fmt.Sprintf("setting up: apply %q failed", c.Args))
		}
	}
	return m
}

// FuzzMachineApply feeds arbitrary bytes to Machine.Apply as a committed
// entry. An entry that decodes is applied; one that does not halts the
// machine as DESIGN.md says (an error response, nothing applied or read
// from then on, the cause kept) and never panics the process.
func FuzzMachineApply(f *testing.F) {
	for _, e := range []*Entry{
		ksCommandsEntry(0, "RPUSH", "l", "x"),
		ksCommandsEntry(0, "LPOP", "l"),
		{Kind: KindUnblock, Unblock: Unblock{WaiterID: WaiterID{Owner: "n1:1", Seq: 4}, Reason: UnblockTimeout}},
		{Kind: KindTermStart, Node: NodeMeta{ID: "n2", RespAddr: "127.0.0.2:1"}},
		{Kind: KindAck, Ack: Ack{Owner: "n1:1", Seqs: []uint64{4, 9}}},
		{Kind: KindExpire, Expire: ExpireCycle{Limit: 5}},
	} {
		f.Add(e.Encode())
	}
	f.Add([]byte{})
	f.Add([]byte{FormatVersion + 1, byte(KindCommands)})
	f.Add([]byte{formatV1, 99})
	f.Add(withSum([]byte{formatV1, 99}))
	f.Fuzz(func(t *testing.T, data []byte) {
		m := fuzzMachine()
		before := ksDigest(t, m)
		_, decodeErr := DecodeEntry(data)
		resp := m.Apply(&raft.Log{Index: 10, Term: 1, Type: raft.LogCommand, Data: data})
		if decodeErr == nil {
			if _, ok := resp.(*Result); !ok || m.Halted() != nil {
				t.Fatalf("a decodable entry: exp a *Result and no halt, got %T (halt %v)", resp, m.Halted())
			}
			if m.AppliedIndex() != 10 {
				t.Fatalf("exp applied index 10, got %d", m.AppliedIndex())
			}
			return
		}
		err, ok := resp.(error)
		if !ok || !errors.Is(err, decodeErr) && err.Error() != fmt.Sprintf("apply log index 10: %v", decodeErr) {
			t.Fatalf("an undecodable entry: exp the decode error %v, got %v", decodeErr, resp)
		}
		if !errors.Is(m.Halted(), ErrCorruptEntry) && !errors.Is(m.Halted(), ErrNewerFormat) {
			t.Fatalf("exp the machine halted with the cause, got %v", m.Halted())
		}
		if m.AppliedIndex() != 4 {
			t.Fatalf("exp the applied index to stay 4, got %d", m.AppliedIndex())
		}
		if _, ok := m.Apply(ksMakeLog(11, 1, ksCommandsEntry(0, "RPUSH", "l", "y"))).(error); !ok {
			t.Fatalf("a halted machine applied a later entry")
		}
		if err := m.View(func(*State) {}); err == nil {
			t.Fatalf("a halted machine served a read")
		}
		if _, err := m.Snapshot(); err == nil {
			t.Fatalf("a halted machine took a snapshot")
		}
		m.mu.RLock()
		after := m.st.Digest()
		m.mu.RUnlock()
		if after != before {
			t.Fatalf("halting changed the state: exp digest %s, got %s", before, after)
		}
	})
}

// FuzzRestore feeds arbitrary bytes to Machine.Restore. A snapshot that
// does not read leaves the old state, applied index and all, exactly as it
// was; one that reads becomes the state, digest for digest.
func FuzzRestore(f *testing.F) {
	m := fuzzMachine()
	var valid bytes.Buffer
	WriteSnapshot(&valid, m.st)
	f.Add(valid.Bytes())
	f.Add(valid.Bytes()[:valid.Len()/2])
	f.Add([]byte{})
	var empty bytes.Buffer
	WriteSnapshot(&empty, NewState())
	f.Add(empty.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		m := fuzzMachine()
		before, applied := ksDigest(t, m), m.AppliedIndex()
		want, readErr := ReadSnapshot(bytes.NewReader(data))
		err := m.Restore(ksReadCloser(data))
		if (err == nil) != (readErr == nil) {
			t.Fatalf("Restore said %v, ReadSnapshot said %v", err, readErr)
		}
		if err != nil {
			if got := ksDigest(t, m); got != before || m.AppliedIndex() != applied {
				t.Fatalf("a failed restore changed the state: exp digest %s at %d, got %s at %d",
					before, applied, got, m.AppliedIndex())
			}
			return
		}
		if exp, got := want.Digest(), ksDigest(t, m); exp != got {
			t.Fatalf("restored state: exp digest %s, got %s", exp, got)
		}
	})
}

// FuzzSnapshotRoundTrip builds a state from a program the fuzzer writes
// (pushes, pops, blocked clients, scripts, several databases, new terms),
// snapshots it and restores it into a fresh machine: the copy must digest
// the same, snapshot to the same bytes, and go on exactly as the original
// when both apply the same next entry.
func FuzzSnapshotRoundTrip(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0, 0, 0, 3, 1, 0, 0, 1, 1})               // push, block, pop
	f.Add([]byte{3, 2, 0, 3, 3, 0, 4, 0, 0, 5, 1, 2})      // waiters on several keys, a move
	f.Add([]byte{6, 0, 1, 7, 0, 0, 8, 0, 0, 0, 4, 5})      // a script, a term change, an unblock
	f.Add(bytes.Repeat([]byte{0, 1, 2, 3, 4, 5, 6, 7}, 8)) // a bit of everything
	f.Fuzz(func(t *testing.T, program []byte) {
		orig := NewMachine()
		term, index := uint64(1), uint64(0)
		apply := func(m *Machine, e *Entry) {
			if _, ok := m.Apply(&raft.Log{Index: index, Term: term, Type: raft.LogCommand, Data: e.Encode()}).(*Result); !ok {
				t.Fatalf("apply %+v failed", e)
			}
		}
		for i := 0; i+2 < len(program) && i < 600; i += 3 {
			index++
			apply(orig, fuzzStep(program[i], program[i+1], program[i+2], uint64(i), &term))
		}
		var snap bytes.Buffer
		if err := WriteSnapshot(&snap, orig.st); err != nil {
			t.Fatalf("write snapshot: %v", err)
		}
		copy := NewMachine()
		if err := copy.Restore(ksReadCloser(snap.Bytes())); err != nil {
			t.Fatalf("restore a snapshot this binary wrote: %v", err)
		}
		if exp, got := ksDigest(t, orig), ksDigest(t, copy); exp != got {
			t.Fatalf("digest after restore: exp %s, got %s", exp, got)
		}
		var again bytes.Buffer
		WriteSnapshot(&again, copy.st)
		if !bytes.Equal(snap.Bytes(), again.Bytes()) {
			t.Fatalf("exp the restored state to snapshot to the same %d bytes, got %d", snap.Len(), again.Len())
		}
		index++
		next := &Entry{Kind: KindCommands, TimeMs: 2, Cmds: []Cmd{
			blkCIn(0, "n9:1", 1, "RPUSH k0 z1 z2 z3"), blkCIn(1, "n9:1", 2, "RPUSH k1 z1"),
		}}
		apply(orig, next)
		apply(copy, next)
		if exp, got := ksDigest(t, orig), ksDigest(t, copy); exp != got {
			t.Fatalf("digest after the same next entry: exp %s, got %s", exp, got)
		}
	})
}

// fuzzStep turns three program bytes into one entry.
func fuzzStep(op, a, b byte, seq uint64, term *uint64) *Entry {
	key := func(x byte) string { return fmt.Sprintf("k%d", x%3) }
	db := int(a>>4) % 3
	owner := fmt.Sprintf("n%d:1", b%2)
	cmd := func(line string) *Entry {
		return &Entry{Kind: KindCommands, TimeMs: int64(seq), Cmds: []Cmd{blkCIn(db, owner, seq, line)}}
	}
	switch op % 10 {
	case 0:
		return cmd(fmt.Sprintf("RPUSH %s v%d v%d", key(a), b, seq))
	case 1:
		return cmd("LPOP " + key(a))
	case 2:
		return cmd(fmt.Sprintf("BLPOP %s %s 0", key(a), key(b)))
	case 3:
		return cmd(fmt.Sprintf("BRPOPLPUSH %s %s 0", key(a), key(b)))
	case 4:
		return cmd(fmt.Sprintf("BLMOVE %s %s LEFT RIGHT 0", key(a), key(b)))
	case 5:
		return cmd(fmt.Sprintf("SET %s s%d", key(a), b))
	case 6:
		return cmd(fmt.Sprintf("EVAL return(redis.call('rpush','%s','e%d')) 0", key(a), b))
	case 7:
		*term++
		return &Entry{Kind: KindTermStart, TimeMs: int64(seq), Node: NodeMeta{ID: owner[:2], RespAddr: "127.0.0.1:1"}}
	case 8:
		return &Entry{Kind: KindUnblock, TimeMs: int64(seq), Unblock: Unblock{
			WaiterID: WaiterID{Owner: owner, Seq: uint64(a) * 3}, Reason: []UnblockReason{UnblockTimeout, UnblockCancel, UnblockError}[b%3]}}
	default:
		if b&0x10 != 0 {
			return &Entry{Kind: KindAck, TimeMs: int64(seq), Ack: Ack{Owner: owner, Seqs: []uint64{uint64(a) * 3, uint64(a)*3 + 3}}}
		}
		return cmd(fmt.Sprintf("DEL %s", key(a)))
	}
}
