package raftnode

import (
	"context"
	"sync"
)

// Rounds shares one call of Fetch among the callers that arrived before the
// call started, so that a burst of reads costs one round trip, not one
// each: the leader's VerifyLeader round, a follower's read index from the
// leader. A caller joins the round that has not started yet, never one in
// flight, because a call in flight may have begun before the caller
// arrived and its answer may then be too old for it (a read must see
// everything committed before it arrived).
type Rounds[T any] struct {
	Fetch   func() (T, error)
	mu      sync.Mutex
	next    *round[T]
	running bool
}

type round[T any] struct {
	done chan struct{}
	val  T
	err  error
}

// Get waits for the answer of a round that started after the call.
func (rs *Rounds[T]) Get(ctx context.Context) (T, error) {
	rs.mu.Lock()
	if rs.next == nil {
		rs.next = &round[T]{done: make(chan struct{})}
	}
	r := rs.next
	if !rs.running {
		rs.running = true
		go rs.loop()
	}
	rs.mu.Unlock()
	select {
	case <-r.done:
		return r.val, r.err
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
}

// loop runs rounds back to back while callers keep joining.
func (rs *Rounds[T]) loop() {
	for {
		rs.mu.Lock()
		r := rs.next
		rs.next = nil
		if r == nil {
			rs.running = false
			rs.mu.Unlock()
			return
		}
		rs.mu.Unlock()
		r.val, r.err = rs.Fetch()
		close(r.done)
	}
}
