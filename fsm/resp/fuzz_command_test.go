package resp

import (
	"bytes"
	"io"
	"testing"

	"github.com/raftlist/raftlist/third_party/redcon"
)

// FuzzAppendCommand checks the encoding a follower uses to forward a
// command to the leader: the leader's request parser (redcon) must read
// back exactly the arguments sent, and ParseReply must see the same array
// of bulk strings.
func FuzzAppendCommand(f *testing.F) {
	for _, seed := range []string{
		"PING",
		"LPUSH\xffk\xffa\r\nb",
		"\xff\xff\xff",
		"EVAL\xffreturn 1\xff0",
		"$3\r\nfoo\xff*-1\r\n\xff\x00",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		args := bytes.Split(data, []byte{0xff})
		if len(args) > 64 {
			args = args[:64]
		}
		enc := AppendCommand(nil, args...)
		rd := redcon.NewReader(bytes.NewReader(enc))
		cmd, err := rd.ReadCommand()
		if err != nil {
			t.Fatalf("redcon: exp the command back, got %v", err)
		}
		if len(cmd.Args) != len(args) {
			t.Fatalf("redcon: exp %d args, got %d", len(args), len(cmd.Args))
		}
		for i := range args {
			if !bytes.Equal(cmd.Args[i], args[i]) {
				t.Fatalf("redcon: arg %d: exp %q, got %q", i, args[i], cmd.Args[i])
			}
		}
		if _, err := rd.ReadCommand(); err != io.EOF {
			t.Fatalf("redcon: exp io.EOF after the one command, got %v", err)
		}
		v, err := ParseReply(enc)
		if err != nil || v.Kind != KindArray || len(v.Array) != len(args) {
			t.Fatalf("ParseReply: exp an array of %d, got %v %v", len(args), v, err)
		}
		for i, e := range v.Array {
			if e.Kind != KindBulk || !bytes.Equal(e.Str, args[i]) {
				t.Fatalf("ParseReply: element %d: exp bulk %q, got %v", i, args[i], e)
			}
		}
	})
}
