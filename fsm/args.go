package fsm

import (
	"bytes"

	"github.com/raftlist/raftlist/fsm/resp"
)

// intArg parses an integer argument or returns Redis's "not an integer"
// error.
func intArg(b []byte) (int64, error) {
	v, ok := resp.ParseInt(b)
	if !ok {
		return 0, resp.ErrNotInteger
	}
	return v, nil
}

// isWord reports whether arg is the option word as Redis's strcasecmp
// decides: ASCII case ignored, and the argument read only up to a NUL byte
// (Redis compares C strings), so "sync\x00junk" is SYNC.
func isWord(arg []byte, word string) bool {
	arg = cString(arg)
	return len(arg) == len(word) && bytes.EqualFold(arg, []byte(word))
}

// cString cuts arg at its first NUL, as C sees a string.
func cString(arg []byte) []byte {
	if i := bytes.IndexByte(arg, 0); i >= 0 {
		return arg[:i]
	}
	return arg
}
