package raftnode

import (
	"context"
	"fmt"

	"github.com/hashicorp/raft"
)

// ReadBarrier returns once a read of the local state machine is
// linearizable: this node led, with its gate open, at a moment after the
// call began, and has applied everything committed before that moment. It
// never writes to the log.
func (n *Node) ReadBarrier(ctx context.Context) error {
	if breakFollowerLocalReads && n.raft.State() != raft.Leader { // jepsen_break_* builds only (break.go)
		return nil
	}
	if err := n.checkGate(); err != nil {
		return err
	}
	term := n.gateTerm.Load()
	readIndex := n.raft.CommitIndex()
	if _, err := n.verifier.Get(ctx); err != nil {
		return fmt.Errorf("confirm leadership: %w", classify(err))
	}
	if n.raft.CurrentTerm() != term {
		return ErrNotLeader
	}
	if err := n.machine.WaitApplied(ctx, readIndex); err != nil {
		return fmt.Errorf("wait for read index: %w", err)
	}
	return nil
}
