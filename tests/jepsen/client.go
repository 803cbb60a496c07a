package main

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"time"
)

// target is a node a client can connect to.
type target struct{ id, addr string }

// errDropped is the client-side fault: the harness closed the connection
// after sending the command, before reading its reply.
var errDropped = errors.New("connection dropped by the harness mid-command")

// dropChance is how often, during a clientdrop window, a command's
// connection is dropped mid-command.
const dropChance = 0.1

// client is one worker's connection. It connects to a node picked at
// random (leader or follower alike), moves to another one every few dozen
// operations, and reconnects after any failure: an error may leave a reply
// in flight that must not be read as the next command's.
type client struct {
	h        *harness
	workload string
	worker   int
	rng      *rand.Rand
	conn     *rconn
	left     int    // operations before moving to another node
	last     string // the node the last command went to
}

func (h *harness) newClient(workload string, worker int) *client {
	return &client{h: h, workload: workload, worker: worker, rng: h.workerRand(workload, worker)}
}

// startWorkers runs work in --concurrency workers of a workload, each on
// a client of its own.
func (h *harness) startWorkers(ctx context.Context, wg *sync.WaitGroup, workload string, work func(context.Context, *client)) {
	for i := 0; i < max(1, h.o.Concurrency); i++ {
		wg.Add(1)
		go func() { defer wg.Done(); work(ctx, h.newClient(workload, i)) }()
	}
}

// begin starts an operation: after a few dozen operations on one node the
// client moves to another, picked at random.
func (cl *client) begin() {
	if cl.left--; cl.left <= 0 {
		cl.reset()
	}
}

// connect dials a node picked at random, unless connected.
func (cl *client) connect() error {
	if cl.conn != nil {
		return nil
	}
	ts := cl.h.targets()
	if len(ts) == 0 {
		return errNotSent
	}
	t := ts[cl.rng.IntN(len(ts))]
	c, err := dialRESP(t.id, t.addr, time.Second)
	if err != nil {
		cl.last = t.id
		return err
	}
	cl.conn, cl.left = c, 20+cl.rng.IntN(40)
	return nil
}

func (cl *client) reset() {
	if cl.conn != nil {
		cl.conn.close()
		cl.conn = nil
	}
}

// do runs one command, connecting first if needed. extra is added to the
// operation timeout (a blocking command's own timeout). Any error closes
// the connection, so a transaction must stop at its first error. During a
// clientdrop window a command may be sent and its connection closed at
// once: the error is errDropped.
func (cl *client) do(extra time.Duration, args ...string) (any, error) {
	if err := cl.connect(); err != nil {
		return nil, err
	}
	cl.last = cl.conn.node
	timeout := cl.h.timing.opTimeout + extra
	if cl.h.dropping.Load() && cl.rng.Float64() < dropChance {
		err := cl.conn.send(timeout, args...)
		time.Sleep(time.Duration(cl.rng.IntN(3000)) * time.Microsecond)
		cl.reset()
		if err != nil {
			return nil, err
		}
		return nil, errDropped
	}
	v, err := cl.conn.do(timeout, args...)
	if err != nil {
		cl.reset()
	}
	return v, err
}

// think pauses briefly between operations, so a long run's history stays
// a size the checkers can read.
func (cl *client) think(ctx context.Context) bool {
	select {
	case <-ctx.Done():
		return false
	case <-time.After(time.Duration(cl.rng.IntN(int(cl.h.timing.think))) + time.Millisecond):
		return true
	}
}

// record fills in the operation's common fields and adds it to the history.
func (cl *client) record(o *op, start time.Duration, err error) {
	o.Workload, o.Worker, o.Start, o.End = cl.workload, cl.worker, start, cl.h.hist.now()
	if o.Node == "" {
		o.Node = cl.last
	}
	if err != nil {
		o.Err = err.Error()
		o.Dropped = errors.Is(err, errDropped)
	}
	cl.h.hist.add(o)
}
