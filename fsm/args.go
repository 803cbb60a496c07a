package fsm

import (
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
