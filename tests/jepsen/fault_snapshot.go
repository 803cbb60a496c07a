package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/raftlist/raftlist/cluster/local"
)

// The snapshot-install fault: clients block on a follower, the follower
// is paused, elements are pushed through the leader (serving those
// clients' waiters), the leader snapshots and compacts its log (the nodes
// run with --trailing-logs 2 when this fault is on), and the follower is
// resumed, so that it can only catch up by installing the snapshot. Every
// blocked client must then get the element popped for it, or an explicit
// error, within its own timeout (DESIGN.md, invariant 6); the queue
// checker fails a client that got nothing (op.Hung) and does not let it
// excuse a lost element.

// snapshotArgs are the server flags a run with snapshot-install gives
// every node: any compaction leaves a lagging follower behind the log.
var snapshotArgs = []string{"--snapshot-threshold", "4", "--snapshot-interval", "2s", "--trailing-logs", "2"}

// pipelineFill is how many entries, one append each, the fault writes
// after pausing the follower and before serving its clients: more than
// the appends hashicorp/raft keeps in flight to one follower.
const pipelineFill = 160

// faultBlockers is how many clients a fault blocks on its victim.
const faultBlockers = 3

// installedMark is what hashicorp/raft logs on a follower that installed
// a snapshot sent by its leader.
const installedMark = "Installed remote snapshot"

// blockers are clients a fault blocked on one node, each waiting for its
// answer in its own goroutine.
type blockers struct {
	wg sync.WaitGroup
}

// block sends count blocking pops (BLPOP and BRPOPLPUSH alternately) on
// queue q to node, with a server-side timeout of block. Each is
// recorded when it ends as a queue operation that must be answered: a
// client that gets no reply within block plus the operation timeout hung.
// worker numbers the clients (distinct from the workloads' workers).
func (n *nemesis) block(node *local.Node, q string, count int, block time.Duration, worker int) (*blockers, error) {
	b := &blockers{}
	secs := fmt.Sprintf("%d", int(block.Seconds()))
	for i := 0; i < count; i++ {
		c, err := dialRESP(node.ID, node.ClientAddr, time.Second)
		if err != nil {
			return b, err
		}
		o := &op{Workload: "queue", Worker: worker + i, Node: node.ID, Key: q, MustAnswer: true}
		args := []string{"BLPOP", q, secs}
		o.F = "blpop"
		if i%2 == 1 {
			o.F, o.Dst = "brpoplpush", doneKey(q)
			args = []string{"BRPOPLPUSH", q, o.Dst, secs}
		}
		o.Start = n.h.hist.now()
		timeout := block + n.h.timing.opTimeout
		if err := c.send(timeout, args...); err != nil {
			c.close()
			return b, err
		}
		b.wg.Add(1)
		go func() {
			defer b.wg.Done()
			defer c.close()
			v, err := c.recv(timeout)
			o.End = n.h.hist.now()
			o.Outcome = classifyWrite(err)
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				o.Hung = true
			}
			if err == nil {
				if e, got, good := poppedElement(o.F, q, v); !good {
					o.Outcome, err = unknown, fmt.Errorf("unexpected reply %v", v)
				} else if got {
					o.Values = []string{e}
				} else {
					o.Nil = true
				}
			}
			if err != nil {
				o.Err = err.Error()
			}
			n.h.hist.add(o)
		}()
	}
	return b, nil
}

// wait waits for every blocked client to end (each has its own deadline).
func (b *blockers) wait() { b.wg.Wait() }

// waitWaiters polls node until it reports at least want blocked waiters
// (the fault's clients are registered in the replicated state), or 3 s.
func waitWaiters(ctx context.Context, node *local.Node, want int) bool {
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		ictx, cancel := context.WithTimeout(ctx, time.Second)
		v, err := node.Info(ictx)
		cancel()
		var got int
		if err == nil {
			fmt.Sscan(v["raft_blocked_waiters"], &got)
			if got >= want {
				return true
			}
		}
		if !sleepCtx(ctx, 50*time.Millisecond) {
			return false
		}
	}
	return false
}

// adminOn runs one command on one node for the harness.
func (h *harness) adminOn(node *local.Node, timeout time.Duration, args ...string) (any, error) {
	c, err := dialRESP(node.ID, node.ClientAddr, time.Second)
	if err != nil {
		return nil, err
	}
	defer c.close()
	return c.do(timeout, args...)
}

// countInLog counts the lines of node's log that contain mark.
func countInLog(node *local.Node, mark string) int {
	data, err := os.ReadFile(node.LogFile)
	if err != nil {
		return 0
	}
	return strings.Count(string(data), mark)
}

// snapshotInstall runs the snapshot-install fault; heal resumes the
// follower and waits for its blocked clients.
func (n *nemesis) snapshotInstall(ctx context.Context) (func(context.Context) error, string, error) {
	l := n.leader(ctx)
	if l == nil {
		return nil, "", errors.New("no leader")
	}
	var followers []*local.Node
	for _, node := range n.members() {
		if node != l {
			followers = append(followers, node)
		}
	}
	if len(followers) == 0 {
		return nil, "", errors.New("no running follower")
	}
	f := followers[n.rng.IntN(len(followers))]
	cur := n.current()
	installed := countInLog(f, installedMark)
	detail := fmt.Sprintf("%d clients block on %s (follower), SIGSTOP it", faultBlockers, f.ID)

	// The clients' own timeout must outlast the pause, the pushes and the
	// snapshot, so that only the install can answer them.
	block := 8 * time.Second
	q := n.h.newFaultQueue()
	b, err := n.block(f, q, faultBlockers, block, 1000+100*len(n.faults()))
	if err != nil {
		b.wait()
		return nil, detail, fmt.Errorf("block clients on %s: %w", f.ID, err)
	}
	if !waitWaiters(ctx, l, faultBlockers) {
		detail += " (their waiters were not all seen on the leader within 3s)"
	}
	f.Pause()

	// hashicorp/raft's leader keeps sending a paused follower appends until
	// rpcMaxPipeline (128) of them are in flight, and the follower reads
	// them when it resumes. So first enough entries of their own that the
	// pushes below cannot reach it that way: then only the snapshot can
	// tell it its clients were served.
	fill := func(count int) {
		c, err := dialRESP(l.ID, l.ClientAddr, time.Second)
		if err != nil {
			return
		}
		defer c.close()
		for i := 0; i < count; i++ {
			if _, err := c.do(n.h.timing.opTimeout, "SET", q+":filler", strconv.Itoa(i)); err != nil {
				return
			}
		}
	}
	fill(pipelineFill)
	// Serve every waiter through the leader, then write a few entries
	// more, so that the compaction leaves the follower behind the log.
	pushed := 0
	for i := 0; i < faultBlockers; i++ {
		e := fmt.Sprintf("%s-%d", q, i)
		o := &op{Workload: "queue", Worker: 999, Node: l.ID, F: "rpush", Key: q, Values: []string{e}, Start: n.h.hist.now()}
		v, err := n.h.adminOn(l, n.h.timing.opTimeout, "RPUSH", q, e)
		o.End, o.Outcome = n.h.hist.now(), classifyWrite(err)
		if err != nil {
			o.Err = err.Error()
		} else if k, isInt := v.(int64); isInt {
			o.N = k
			pushed++
		}
		n.h.hist.add(o)
	}
	fill(4)
	detail += fmt.Sprintf(", %d pushes to %s through %s (leader)", pushed, q, l.ID)
	snap, serr := n.h.adminOn(l, 10*time.Second, "RAFT", "SNAPSHOT")
	if serr != nil {
		detail += ", RAFT SNAPSHOT: " + serr.Error()
	} else if arr, isArr := snap.([]any); isArr && len(arr) == 3 {
		detail += fmt.Sprintf(", RAFT SNAPSHOT at index %v", arr[0])
	}
	return func(ctx context.Context) error {
		f.Resume()
		b.wait()
		// The clients may be answered before the install is logged.
		deadline := time.Now().Add(5 * time.Second)
		for countInLog(f, installedMark) == installed && time.Now().Before(deadline) && sleepCtx(ctx, 100*time.Millisecond) {
		}
		got := countInLog(f, installedMark) - installed
		n.mu.Lock()
		defer n.mu.Unlock()
		if got <= 0 {
			cur.Detail += ", SIGCONT: it installed no snapshot"
			return fmt.Errorf("%s caught up without installing a snapshot: the fault did not reach its path", f.ID)
		}
		cur.Detail += fmt.Sprintf(", SIGCONT: it installed %d snapshot(s)", got)
		return nil
	}, detail, serr
}
