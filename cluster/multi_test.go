package cluster

import (
	"reflect"
	"testing"

	"github.com/raftlist/raftlist/fsm"
	"github.com/raftlist/raftlist/fsm/resp"
)

// txSample is a transaction with every part of RAFT EXEC's format.
var txSample = fsm.Transaction{
	DB: 15, Owner: "node2/abc", Seq: 1<<64 - 1,
	Watches: []fsm.Watch{{DB: 0, Key: []byte("k"), Since: 7}, {DB: 15, Key: []byte("\x00\r\n"), Since: 0}},
	Cmds:    [][][]byte{{[]byte("RPUSH"), []byte("l"), []byte(""), []byte("b")}, {[]byte("SELECT"), []byte("2")}, {[]byte("PING")}},
}

func TestRaftExecArgsRoundTrip(t *testing.T) {
	for _, tx := range []fsm.Transaction{txSample, {Owner: "o"}} {
		args := raftExecArgs(&tx, resp.RESP2)
		got, ok := parseRaftExec(args[2:])
		if !ok {
			t.Fatalf("exp %q to parse", args)
		}
		if len(tx.Cmds) == 0 {
			tx.Cmds = nil
		}
		if !reflect.DeepEqual(tx, got) {
			t.Fatalf("exp %+v, got %+v", tx, got)
		}
	}
}

func TestParseRaftExecRefusesMalformedInput(t *testing.T) {
	s := func(args ...string) [][]byte {
		out := make([][]byte, len(args))
		for i, a := range args {
			out[i] = []byte(a)
		}
		return out
	}
	for _, tc := range []struct {
		name string
		args [][]byte
	}{
		{"nothing", nil},
		{"database 16", s("16", "o", "1", "0", "0")},
		{"a negative database", s("-1", "o", "1", "0", "0")},
		{"a sequence that is not a number", s("0", "o", "x", "0", "0")},
		{"a watch count past the arguments", s("0", "o", "1", "2", "0", "k", "1", "0")},
		{"a watch in database 16", s("0", "o", "1", "1", "16", "k", "1", "0")},
		{"a command count past the arguments", s("0", "o", "1", "0", "5", "1", "PING")},
		{"an argument count past the arguments", s("0", "o", "1", "0", "1", "3", "PING")},
		{"a command without arguments", s("0", "o", "1", "0", "1", "0")},
		{"a huge count", s("0", "o", "1", "0", "18446744073709551615", "1", "PING")},
		{"trailing arguments", s("0", "o", "1", "0", "1", "1", "PING", "extra")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tx, ok := parseRaftExec(tc.args); ok {
				t.Fatalf("exp a refusal, got %+v", tx)
			}
		})
	}
}

func FuzzParseRaftExec(f *testing.F) {
	f.Add([]byte("15\x00o\x001\x001\x000\x00k\x007\x001\x001\x00PING"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var args [][]byte
		start := 0
		for i, c := range data {
			if c == 0 {
				args = append(args, data[start:i])
				start = i + 1
			}
		}
		args = append(args, data[start:])
		tx, ok := parseRaftExec(args)
		if !ok {
			return
		}
		// What parses is a transaction the entry format encodes and
		// decodes: it can be proposed.
		e := fsm.Entry{Kind: fsm.KindExec, Tx: tx}
		if _, err := fsm.DecodeEntry(e.Encode()); err != nil {
			t.Fatalf("parsed %+v, but its entry does not decode: %v", tx, err)
		}
		// And it forwards unchanged: encoding it again parses to the same.
		again, ok := parseRaftExec(raftExecArgs(&tx, resp.RESP2)[2:])
		if !ok || !reflect.DeepEqual(tx, again) {
			t.Fatalf("exp %+v to survive raftExecArgs, got %+v (ok %v)", tx, again, ok)
		}
	})
}
