package fsm

import (
	"bytes"
	"encoding/binary"
	"testing"
)

func TestCmdSizeIsExactlyWhatEncodeWrites(t *testing.T) {
	cmds := []Cmd{
		{DB: 0, Owner: "n1/abc", Seq: 1, Args: [][]byte{[]byte("PING")}},
		{DB: 15, Owner: "", Seq: 1 << 63, Args: [][]byte{[]byte("SET"), []byte("k"), bytes.Repeat([]byte("v"), 200)}},
		{DB: 3, Owner: string(bytes.Repeat([]byte("o"), 130)), Seq: 300, Args: [][]byte{{}, bytes.Repeat([]byte("x"), 70000)}},
	}
	for i := range cmds {
		e := Entry{Kind: KindCommands, TimeMs: 1700000000000, Cmds: cmds[i : i+1]}
		header := 2 + binary.PutVarint(make([]byte, binary.MaxVarintLen64), e.TimeMs) + 1 + checksumLen
		if exp, got := len(e.Encode())-header, CmdSize(&cmds[i]); exp != got {
			t.Errorf("command %d: exp %d, got %d", i, exp, got)
		}
		if header > EntryHeaderMax {
			t.Errorf("header %d over EntryHeaderMax %d", header, EntryHeaderMax)
		}
	}
}
