package fsm

import (
	"testing"

	"github.com/raftlist/raftlist/fsm/resp"
)

// arrayDepth is how deeply arrays nest in r, counted without recursion.
func arrayDepth(r resp.Reply) int {
	depth := 0
	for {
		a, ok := r.(resp.Array)
		if !ok {
			return depth
		}
		depth++
		if len(a) == 0 {
			return depth
		}
		r = a[0]
	}
}

// Nodes that relay replies size their limits by MaxReplyDepth: no reply
// may nest deeper, and the deepest one reaches it.
func TestMaxReplyDepthIsTheDeepestReplyTheStateMachineGives(t *testing.T) {
	selfContaining := []byte("local t = {} t[1] = t return t")
	n := txNewNode(t)
	eval := n.do(0, "EVAL return{{{1}}} 0")
	if exp, got := 3, arrayDepth(eval); exp != got {
		t.Fatalf("a 3-deep table: exp %d, got %d", exp, got)
	}
	e := txEntry(0, nil)
	e.Tx.Cmds = [][][]byte{{[]byte("EVAL"), selfContaining, []byte("0")}}
	res := n.apply(e)
	if exp, got := resp.MaxReplyDepth, arrayDepth(res.Replies[0]); exp != got {
		t.Fatalf("EXEC of a script returning a table that contains itself: exp depth %d, got %d", exp, got)
	}
}
