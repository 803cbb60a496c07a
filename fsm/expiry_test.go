package fsm

import (
	"bytes"
	"testing"

	"github.com/raftlist/raftlist/fsm/resp"
)

// exNode is a node whose entries carry the leader time the test chooses,
// so expiry can be driven across its boundaries.
type exNode struct {
	t     *testing.T
	m     *Machine
	index uint64
	term  uint64
}

func exNewNode(t *testing.T) *exNode { return &exNode{t: t, m: NewMachine(), term: 1} }

// at applies args as one entry stamped with leader time ms (a write) or
// reads it at read time ms (a read-only command), as a node would.
func (n *exNode) at(ms int64, args ...string) resp.Reply {
	n.t.Helper()
	argv := ksArgv(args)
	cmd, err := Validate(argv)
	if err != nil {
		return asError(err)
	}
	if cmd.Flags&resp.Write == 0 {
		var r resp.Reply
		before := n.digest()
		if err := n.m.View(func(s *State) { r = s.ReadAt(0, ms, argv) }); err != nil {
			n.t.Fatalf("view: %v", err)
		}
		if exp, got := before, n.digest(); exp != got {
			n.t.Fatalf("read %q changed the state: exp digest %s, got %s", args, exp, got)
		}
		return r
	}
	return n.entry(&Entry{Kind: KindCommands, TimeMs: ms, Cmds: []Cmd{{Owner: "ex", Seq: n.index + 1, Args: argv}}}).Replies[0]
}

// entry applies e as the next log entry.
func (n *exNode) entry(e *Entry) *Result {
	n.t.Helper()
	n.index++
	res, ok := n.m.Apply(ksMakeLog(n.index, n.term, e)).(*Result)
	if !ok {
		n.t.Fatalf("apply %+v: got %#v", e, res)
	}
	return res
}

func (n *exNode) clock() int64 {
	var c int64
	n.m.View(func(s *State) { c = s.Clock() })
	return c
}

func (n *exNode) digest() string {
	var d string
	n.m.View(func(s *State) { d = s.Digest() })
	return d
}

// restart replaces the machine with one restored from its snapshot.
func (n *exNode) restart() {
	n.t.Helper()
	m := NewMachine()
	if err := m.Restore(ksReadCloser(ksSnapshotBytes(n.t, n.m))); err != nil {
		n.t.Fatalf("restore: %v", err)
	}
	if exp, got := n.digest(), func() string { var d string; m.View(func(s *State) { d = s.Digest() }); return d }(); exp != got {
		n.t.Fatalf("restore changed the digest: exp %s, got %s", exp, got)
	}
	n.m = m
}

func TestLogClockNeverGoesBack(t *testing.T) {
	n := exNewNode(t)
	for _, step := range []struct{ entry, clock int64 }{
		{1000, 1000},
		{900, 1000}, // a new leader whose clock is behind
		{1000, 1000},
		{1500, 1500},
		{0, 1500},
	} {
		n.at(step.entry, "del", "x")
		if exp, got := step.clock, n.clock(); exp != got {
			t.Fatalf("after an entry at %d: exp clock %d, got %d", step.entry, exp, got)
		}
	}
	n.restart()
	if exp, got := int64(1500), n.clock(); exp != got {
		t.Fatalf("after restore: exp clock %d, got %d", exp, got)
	}
	n.at(1200, "del", "x")
	if exp, got := int64(1500), n.clock(); exp != got {
		t.Fatalf("after restore and a late entry: exp clock %d, got %d", exp, got)
	}
}

func TestLogClockMovesOnEveryKindOfEntry(t *testing.T) {
	n := exNewNode(t)
	n.entry(&Entry{Kind: KindTermStart, TimeMs: 42, Node: NodeMeta{ID: "a", RespAddr: "x"}})
	if exp, got := int64(42), n.clock(); exp != got {
		t.Fatalf("exp clock %d, got %d", exp, got)
	}
}

func TestVersion2SnapshotRestoresWithClockZero(t *testing.T) {
	b := []byte(snapshotMagic)
	b = append(b, 2, recMeta, 1, 7)
	b = append(b, ksRecord(recString, 0, "k", "v")...)
	b = append(b, recEnd)
	st, err := ReadSnapshot(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("read version 2 snapshot: %v", err)
	}
	if st.clock != 0 || st.applied != 7 || st.DB(0).Get([]byte("k")) == nil {
		t.Fatalf("exp clock 0, applied 7 and key k, got clock %d, applied %d", st.clock, st.applied)
	}
}
