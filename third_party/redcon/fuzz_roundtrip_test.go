package redcon

import (
	"bytes"
	"io"
	"testing"
)

// fuzzArgs splits fuzz bytes into command arguments at 0xff, so every
// other byte (CR, LF, NUL, quotes, '*', '$') lands inside an argument.
func fuzzArgs(data []byte) [][]byte {
	args := bytes.Split(data, []byte{0xff})
	if len(args) > 64 {
		args = args[:64]
	}
	return args
}

// FuzzCommandRoundTrip checks parse(encode(args)) == args for the RESP
// array form every client sends: whatever bytes the arguments hold, the
// reader gives back exactly those arguments, one command, and a Raw that
// is the encoding itself.
func FuzzCommandRoundTrip(f *testing.F) {
	for _, seed := range []string{
		"PING",
		"SET\xffk\xffv",
		"RPUSH\xffk\r\nx\xff\x00\xff",
		"\xff\xff",
		"*1\r\n$4\r\nPING\xff$-1\r\n\xff\"a b\"",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		args := fuzzArgs(data)
		enc := AppendArray(nil, len(args))
		for _, a := range args {
			enc = AppendBulk(enc, a)
		}
		for _, chunk := range []int{0, 1} {
			cmds, err := readAllCommands(enc, Limits{}, chunk)
			if err != io.EOF {
				t.Fatalf("chunk %d: exp io.EOF after one command, got %v", chunk, err)
			}
			if len(cmds) != 1 || !bytes.Equal(cmds[0].Raw, enc) || len(cmds[0].Args) != len(args) {
				t.Fatalf("chunk %d: exp one command of %d args, got %d commands (%q)", chunk, len(args), len(cmds), cmds)
			}
			for i := range args {
				if !bytes.Equal(cmds[0].Args[i], args[i]) {
					t.Fatalf("chunk %d: arg %d: exp %q, got %q", chunk, i, args[i], cmds[0].Args[i])
				}
			}
		}
	})
}
