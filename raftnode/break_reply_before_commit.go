//go:build jepsen_break_reply_before_commit

package raftnode

import (
	"context"
	"sync"
	"time"

	"github.com/raftlist/raftlist/fsm"
)

// A deliberately broken build for tests/jepsen; it never ships. The leader
// answers every proposal at once from a speculative copy of its state, the
// way a primary that replies before replicating does, and hands the entry to
// Raft without waiting for it to commit. Without faults the answers are
// right; an acknowledged write is lost when the leader is deposed before the
// entry commits, and a read can miss a write already acknowledged.

func init() { breakReplyBeforeCommit = speculate }

// spec is the leader's speculative state: the state machine as of the
// term's first speculation, plus every entry this leader proposed since, in
// the order it handed them to Raft.
var spec struct {
	mu    sync.Mutex
	st    *fsm.State
	term  uint64
	index uint64
}

func speculate(n *Node, e *fsm.Entry) (*fsm.Result, bool) {
	if e.Kind == fsm.KindTermStart {
		return nil, false // the gate opens on the real, committed path
	}
	spec.mu.Lock()
	defer spec.mu.Unlock()
	term := n.raft.CurrentTerm()
	if spec.st == nil || spec.term != term {
		last := n.raft.LastIndex()
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := n.machine.WaitApplied(ctx, last)
		cancel()
		if err != nil {
			return nil, false
		}
		var st *fsm.State
		if n.machine.View(func(s *fsm.State) { st = s.Clone() }) != nil {
			return nil, false
		}
		spec.st, spec.term, spec.index = st, term, last
	}
	spec.index++
	res := spec.st.Apply(spec.index, term, e)
	n.raft.Apply(e.Encode(), n.cfg.ProposeTimeout) // committed later, or never
	return res, true
}
