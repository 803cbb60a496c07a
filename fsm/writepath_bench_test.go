package fsm

import (
	"strconv"
	"testing"

	"github.com/hashicorp/raft"
)

// The write path's per-entry and per-command pieces, measured without a
// cluster so allocations and ns/op can be compared on a busy machine
// (issue 19: CPU per command). An entry like the ones LPUSH from 50
// pipeline-1 clients makes: 25 commands from one node (one owner).

const benchEntryCmds = 25

func benchLPUSHEntry(owner string) *Entry {
	e := &Entry{Kind: KindCommands, TimeMs: 1_700_000_000_000}
	for i := range benchEntryCmds {
		e.Cmds = append(e.Cmds, Cmd{Owner: owner, Seq: uint64(1000 + i),
			Args: [][]byte{[]byte("LPUSH"), []byte("bench:push"), []byte("0123456789abcdef")}})
	}
	return e
}

func BenchmarkEntryEncode(b *testing.B) {
	e := benchLPUSHEntry("node1-1700000000000000000")
	b.ReportAllocs()
	for b.Loop() {
		_ = e.Encode()
	}
}

func BenchmarkEntryDecode(b *testing.B) {
	data := benchLPUSHEntry("node1-1700000000000000000").Encode()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeEntry(data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMachineApplyLPUSH is what every node does per entry: decode,
// apply 25 LPUSHes, build their replies.
func BenchmarkMachineApplyLPUSH(b *testing.B) {
	m := NewMachine()
	data := benchLPUSHEntry("node1-1700000000000000000").Encode()
	b.ReportAllocs()
	i := uint64(0)
	for b.Loop() {
		i++
		if r, ok := m.Apply(&raft.Log{Index: i, Term: 1, Data: data}).(*Result); !ok || len(r.Replies) != benchEntryCmds {
			b.Fatal("apply failed")
		}
		if i%4096 == 0 { // keep the list from growing without bound
			m.Apply(&raft.Log{Index: i + 1, Term: 1, Data: (&Entry{Kind: KindCommands, TimeMs: 1_700_000_000_000,
				Cmds: []Cmd{{Owner: "x", Seq: i, Args: [][]byte{[]byte("DEL"), []byte("bench:push")}}}}).Encode()})
			i++
		}
	}
	_ = strconv.Itoa
}
