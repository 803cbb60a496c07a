package raftnode

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/raftlist/raftlist/fsm"
)

// Proposals from many connections are carried in few entries: Raft's cost
// is per entry (encode, store, fsync, replicate, apply), so a batch of k
// commands pays it once. The batcher keeps at most maxInflight entries in
// flight; while they are, new commands queue and leave together in the next
// entry. One command alone still leaves at once. The state machine applies
// a batch exactly as if its commands had arrived one by one, serving
// blocked clients after each.
//
// One entry in flight, up to 2048 commands: measured with go run
// ./tests/bench on a 2-core machine (docs/BENCHMARKS.md), every entry costs
// about 1.4 ms of CPU across three nodes (two fdatasyncs per bolt commit on
// each, RPCs, msgpack) however many commands it carries, so several small
// entries in flight only add CPU. Against 4 in flight and 512 commands,
// LPUSH through the leader did 1.3-2.2x the throughput at 50 and 200
// clients, pipelines 1 and 16, with 30-40% less CPU per command; 2 in
// flight was in between.
const (
	maxInflight   = 1
	maxBatchCmds  = 2048
	maxBatchBytes = 4 << 20
)

// Group commit across connections. A connection that pipelines nothing
// sends its next command only after its reply, so with one entry in flight
// the callers of the entry that just finished are still reading their
// replies when the next entry leaves with whatever queued meanwhile: 50
// such clients settle into two groups of ~25 taking turns, each paying a
// whole round. So after an entry completes, the next one waits (briefly:
// a quarter of the last round, at most maxLinger) until as many proposals
// as that entry carried have joined the queue; the groups merge and each
// round carries everyone. A proposal arriving at an idle batcher, with
// nothing expected, still leaves at once.
const (
	minLinger = 100 * time.Microsecond
	maxLinger = time.Millisecond
)

// Arrival order across connections (cluster/arrival.go). A proposal
// carries when its command arrived at this node, and the queue is kept in
// that order. A proposal at the head leaves at once when no command that
// arrived on another connection can still be on its way to the queue
// (Arrival.OthersPending); otherwise it waits until ArrivalWindow after
// its arrival, so that an earlier command whose connection's goroutine was
// scheduled later (Go's netpoller readies goroutines newest first) still
// reaches the queue in time to go first, and an entry takes only the
// proposals that are that old. A command that waits longer than the window
// for a CPU may still be overtaken, as linearizability allows for commands
// that overlap. A lone client never waits; when clients contend, an entry
// is usually in flight for longer than the window anyway.
const ArrivalWindow = time.Millisecond

// Arrival is what the front door knows of when a proposal's commands
// arrived.
type Arrival struct {
	// At is the kernel's receive time of the commands' bytes.
	At time.Time
	// OthersPending reports whether a command that arrived on another
	// connection may not have reached the queue yet: bytes unread, or
	// read and not proposed. Nil means it may.
	OthersPending func() bool
	// Queued, if set, is called once the proposal is in the queue.
	Queued func()
}

type arrivalKey struct{}

// WithArrival returns ctx carrying when the commands proposed with it
// arrived at this node, which orders them against other connections'.
func WithArrival(ctx context.Context, a Arrival) context.Context {
	return context.WithValue(ctx, arrivalKey{}, a)
}

// arrivalIn is the Arrival WithArrival put in ctx, its time at most now:
// an arrival later than now (the wall clock stepped back since the kernel
// stamped it) counts as now, so no proposal waits longer than the window.
// Without one (a proposal of the node's own) the proposal arrived now and
// waits for no one.
func arrivalIn(ctx context.Context) Arrival {
	now := time.Now()
	a, ok := ctx.Value(arrivalKey{}).(Arrival)
	if !ok {
		return Arrival{At: now, OthersPending: func() bool { return false }}
	}
	if a.At.IsZero() || !a.At.Before(now) {
		a.At = now
	}
	return a
}

type batcher struct {
	n        *Node
	mu       sync.Mutex
	queue    []*proposal
	inflight int

	expect      int       // queued proposals that let the next entry leave
	lingerUntil time.Time // ... or this time, whichever comes first
	timer       *time.Timer
}

// proposal is one caller's commands, kept contiguous inside an entry.
type proposal struct {
	cmds    []fsm.Cmd
	size    int
	arrival time.Time
	// othersPending is Arrival.OthersPending (never nil).
	othersPending func() bool
	done          chan proposalResult
}

type proposalResult struct {
	res *fsm.Result
	err error
}

func (b *batcher) propose(ctx context.Context, cmds []fsm.Cmd) (*fsm.Result, error) {
	a := arrivalIn(ctx)
	p := &proposal{cmds: cmds, size: cmdsSize(cmds), arrival: a.At, othersPending: a.OthersPending,
		done: make(chan proposalResult, 1)}
	if p.othersPending == nil {
		p.othersPending = func() bool { return true }
	}
	if err := b.n.checkCmdsSize(p.size, len(cmds)); err != nil {
		return nil, err
	}
	b.mu.Lock()
	b.enqueueLocked(p)
	b.flushLocked()
	b.mu.Unlock()
	if a.Queued != nil {
		a.Queued()
	}
	select {
	case r := <-p.done:
		return r.res, r.err
	case <-ctx.Done():
		// Queued or in flight: it may still be applied.
		return nil, errors.Join(ErrUnknownOutcome, fmt.Errorf("wait for proposal: %w", ctx.Err()))
	}
}

// enqueueLocked puts p in the queue in arrival order; it almost always
// goes last, so the search starts there.
func (b *batcher) enqueueLocked(p *proposal) {
	i := len(b.queue)
	for i > 0 && b.queue[i-1].arrival.After(p.arrival) {
		i--
	}
	b.queue = slices.Insert(b.queue, i, p)
}

// flushLocked starts entries while there is room in flight.
func (b *batcher) flushLocked() {
	for b.inflight < maxInflight && len(b.queue) > 0 {
		now := time.Now()
		ripe := now.Add(-ArrivalWindow)
		if head := b.queue[0]; head.arrival.After(ripe) {
			if !head.othersPending() {
				ripe = now // nothing earlier can still come: everyone queued may go
			} else {
				b.wakeAfterLocked(head.arrival.Sub(ripe))
				return
			}
		}
		if len(b.queue) < b.expect {
			if wait := b.lingerUntil.Sub(now); wait > 0 {
				b.wakeAfterLocked(wait)
				return
			}
		}
		b.expect = 0
		n, cmds := nextBatch(b.queue, batchBytes(b.n.cfg.MaxEntrySize), ripe)
		batch := b.queue[:n:n]
		b.queue = b.queue[n:]
		b.inflight++
		go b.run(batch, cmds)
	}
}

// run proposes one batch and hands every caller its own replies.
func (b *batcher) run(batch []*proposal, ncmds int) {
	cmds := make([]fsm.Cmd, 0, ncmds)
	for _, p := range batch {
		cmds = append(cmds, p.cmds...)
	}
	began := time.Now()
	e := fsm.Entry{Kind: fsm.KindCommands, TimeMs: b.n.nowMs(), Cmds: cmds}
	res, err := b.n.apply(context.Background(), &e)
	round := time.Since(began)
	offset := 0
	for _, p := range batch {
		if err != nil {
			p.done <- proposalResult{err: err}
			continue
		}
		end := offset + len(p.cmds)
		p.done <- proposalResult{res: &fsm.Result{Index: res.Index, Replies: res.Replies[offset:end:end]}}
		offset = end
	}
	b.mu.Lock()
	b.inflight--
	b.expectLocked(len(batch), round)
	b.flushLocked()
	b.mu.Unlock()
}

// expectLocked notes that an entry of k proposals took round: its callers
// are likely to propose again within a fraction of a round.
func (b *batcher) expectLocked(k int, round time.Duration) {
	b.expect = min(len(b.queue)+k, maxBatchCmds)
	b.lingerUntil = time.Now().Add(max(minLinger, min(maxLinger, round/4)))
}

func (b *batcher) wakeAfterLocked(d time.Duration) {
	if b.timer == nil {
		b.timer = time.AfterFunc(d, func() {
			b.mu.Lock()
			b.flushLocked()
			b.mu.Unlock()
		})
		return
	}
	b.timer.Reset(d)
}

// nextBatch returns how many proposals at the head of queue go in the next
// entry, and how many commands they hold: at most maxBatchCmds commands
// and maxBytes of encoded commands, only proposals that arrived by ripe
// (a later one may still be overtaken by an earlier arrival), except that
// the first proposal always goes, alone if it must (propose refused any
// that cannot fit an entry).
func nextBatch(queue []*proposal, maxBytes int, ripe time.Time) (n, cmds int) {
	size := 0
	for n < len(queue) {
		p := queue[n]
		if n > 0 && (cmds+len(p.cmds) > maxBatchCmds || size+p.size > maxBytes || p.arrival.After(ripe)) {
			break
		}
		n, cmds, size = n+1, cmds+len(p.cmds), size+p.size
	}
	return n, cmds
}

// batchBytes is the most encoded command bytes one entry may carry.
func batchBytes(maxEntrySize int) int {
	return min(maxBatchBytes, maxEntrySize-fsm.EntryHeaderMax)
}

// cmdsSize is the exact size of cmds inside an entry, which is what
// max-entry-size bounds.
func cmdsSize(cmds []fsm.Cmd) int {
	size := 0
	for i := range cmds {
		size += fsm.CmdSize(&cmds[i])
	}
	return size
}
