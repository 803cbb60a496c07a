package raftnode

import (
	"context"
	"fmt"
	"sync"

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
	if err := n.verifier.verify(ctx); err != nil {
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

// verifier shares one VerifyLeader round (a heartbeat to a quorum) among all
// reads that arrived before the round started, so concurrent reads cost one
// round trip, not one each.
type verifier struct {
	raft    *raft.Raft
	mu      sync.Mutex
	next    *verifyRound
	running bool
}

type verifyRound struct {
	done chan struct{}
	err  error
}

func (v *verifier) verify(ctx context.Context) error {
	v.mu.Lock()
	if v.next == nil {
		v.next = &verifyRound{done: make(chan struct{})}
	}
	r := v.next
	if !v.running {
		v.running = true
		go v.loop()
	}
	v.mu.Unlock()
	select {
	case <-r.done:
		return r.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// loop runs rounds back to back while readers keep joining. A reader joins
// the round that has not started yet, never one in flight, because a round
// in flight may have begun before the reader took its read index.
func (v *verifier) loop() {
	for {
		v.mu.Lock()
		r := v.next
		v.next = nil
		if r == nil {
			v.running = false
			v.mu.Unlock()
			return
		}
		v.mu.Unlock()
		r.err = v.raft.VerifyLeader().Error()
		close(r.done)
	}
}
