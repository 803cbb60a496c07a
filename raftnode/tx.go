package raftnode

import (
	"context"

	"github.com/raftlist/raftlist/fsm"
)

// ProposeTx appends one MULTI/EXEC transaction to the log as its own entry
// and waits until this node has applied it. Result.Replies holds one reply:
// the EXEC's array, or a nil array when a WATCHed key changed. A
// transaction is never batched with other proposals: it is one entry, so
// nothing can interleave with it and waiters are served after all of it.
func (n *Node) ProposeTx(ctx context.Context, tx fsm.Transaction) (*fsm.Result, error) {
	return n.proposeEntry(ctx, fsm.Entry{Kind: fsm.KindExec, Tx: tx})
}

// ReadIndex returns a log index at or after every write acknowledged before
// the call began, confirmed by the leader's read barrier: WATCH records it,
// and EXEC aborts if a watched key changed at a later index. It is the
// commit index after the barrier: every entry up to it was committed before
// the call returned, so it may count as before the WATCH.
func (n *Node) ReadIndex(ctx context.Context) (uint64, error) {
	if err := n.ReadBarrier(ctx); err != nil {
		return 0, err
	}
	return n.raft.CommitIndex(), nil
}

// ProposeACL appends an ACL change (ACL SETUSER, ACL DELUSER) as an entry
// of its own and waits until this node has applied it. Result.Replies
// holds the command's one reply.
func (n *Node) ProposeACL(ctx context.Context, c fsm.ACLChange) (*fsm.Result, error) {
	return n.proposeEntry(ctx, fsm.Entry{Kind: fsm.KindACL, ACL: c})
}
