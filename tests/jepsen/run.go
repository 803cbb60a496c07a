package main

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/raftlist/raftlist/cluster/local"
)

// options are what a run is asked to do (the command line's flags).
type options struct {
	Binary      string        // the raftlist binary the nodes run
	Duration    time.Duration // how long the workloads and faults run
	Seed        uint64        // the fault schedule, targets and client choices follow from it
	Faults      []string      // fault kinds (faultKinds)
	Workloads   []string      // workloads (workloadNames)
	Concurrency int           // workers per workload
	Nodes       int           // 3 or 5
	Out         string        // report directory
	Short       bool          // CI's preset: every fault at least once, tighter bounds
	Timing      timing
}

// timing holds every bound of a run; defaultTiming derives it from Short.
type timing struct {
	quietMin, quietMax time.Duration // between faults
	holdMin, holdMax   time.Duration // how long a fault lasts
	election           time.Duration // the nodes' election and heartbeat timeouts (--raft-timeout)
	opTimeout          time.Duration // a client's wait for one reply
	think              time.Duration // upper bound of a worker's pause between operations
	settle             time.Duration // waiting for a leader after healing one fault
	converge           time.Duration // the final convergence check
	drain              time.Duration // reading the final state
	opsPerKey          int           // linearizability: operations per key
	linCheck           time.Duration // porcupine's budget per key
	linBudget          time.Duration // porcupine's budget for all keys
	overrun            time.Duration // short mode may run this much longer to fit every fault in
}

func defaultTiming(short bool) timing {
	if short {
		return timing{
			quietMin: 800 * time.Millisecond, quietMax: 1500 * time.Millisecond,
			holdMin: 3 * time.Second, holdMax: 4 * time.Second,
			opTimeout: 3 * time.Second, think: 3 * time.Millisecond,
			settle: 20 * time.Second, converge: 20 * time.Second, drain: 30 * time.Second,
			opsPerKey: 80, linCheck: 20 * time.Second, linBudget: 60 * time.Second, overrun: 60 * time.Second,
		}
	}
	return timing{
		quietMin: 2 * time.Second, quietMax: 6 * time.Second,
		holdMin: 4 * time.Second, holdMax: 12 * time.Second,
		opTimeout: 5 * time.Second, think: 5 * time.Millisecond,
		settle: 30 * time.Second, converge: 120 * time.Second, drain: 60 * time.Second,
		opsPerKey: 120, linCheck: 60 * time.Second, linBudget: 15 * time.Minute, overrun: 0,
	}
}

// nodeHosts are the loopback IPs the nodes listen on: node i gets
// 127.0.0.(10+i), nodes added by membership changes the next ones (after
// 244 nodes they wrap around, long after the first ones were removed).
func nodeHosts() []string {
	hosts := make([]string, 0, 244)
	for i := 11; i <= 254; i++ {
		hosts = append(hosts, "127.0.0."+strconv.Itoa(i))
	}
	return hosts
}

// harness is one run's shared state.
type harness struct {
	o      options
	timing timing
	hist   *history
	c      *local.Cluster
	nem    *nemesis

	mu          sync.Mutex
	tgts        []target
	faultQueues []string // queues faults made for their own blocked clients (newFaultQueue)

	// dropping is set during clientdrop windows.
	dropping atomic.Bool
}

func (h *harness) targets() []target {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.tgts
}

// setTargets publishes the nodes clients may connect to. Only the nemesis
// changes the cluster's membership; workers read this copy.
func (h *harness) setTargets(nodes []*local.Node) {
	ts := make([]target, 0, len(nodes))
	for _, n := range nodes {
		ts = append(ts, target{id: n.ID, addr: n.ClientAddr})
	}
	h.mu.Lock()
	h.tgts = ts
	h.mu.Unlock()
}

// workerRand is a worker's own generator, derived from the seed.
func (h *harness) workerRand(workload string, worker int) *rand.Rand {
	f := fnv.New64a()
	fmt.Fprintf(f, "%s/%d", workload, worker)
	return rand.New(rand.NewPCG(h.o.Seed, f.Sum64()))
}

// runResult is everything the report shows.
type runResult struct {
	o           options
	began       time.Time
	took        time.Duration
	checks      []checkResult
	faults      []*fault
	skipped     map[string]string // fault kind -> why it could not run
	ops         []*op
	leaders     leaderLog
	evalUsed    bool
	evalNote    string
	interrupted bool
	rulesLeft   int // iptables rules of this run still in place after healing (must be 0)
	notes       []string
}

// pass reports whether every checker passed.
func (r *runResult) pass() bool {
	if r.interrupted || len(r.checks) == 0 {
		return false
	}
	for _, c := range r.checks {
		if !c.Pass {
			return false
		}
	}
	return true
}

// checkResult is one checker's verdict.
type checkResult struct {
	Name   string
	Pass   bool
	Counts counts   // the workload's operations
	Detail []string // lines for the summary
}

// run starts a cluster, runs the workloads under the fault schedule, heals
// everything, reads the final state, checks, and writes the report. Its
// error is for a run that could not be carried out (no cluster); a
// checker's failure is in the result.
func run(ctx context.Context, o options, progress func(string)) (*runResult, error) {
	if err := clearReport(o.Out); err != nil {
		return nil, err
	}
	h := &harness{o: o, timing: o.Timing}
	res := &runResult{o: o, began: time.Now(), skipped: map[string]string{}}

	nem, err := newNemesis(h, res)
	if err != nil {
		return nil, err
	}
	h.nem = nem
	defer nem.net.cleanup() // every rule this run added, whatever happens

	progress(fmt.Sprintf("starting %d nodes (%s ...) from %s", o.Nodes, nodeHosts()[0], o.Binary))
	startCtx, cancel := context.WithTimeout(ctx, 90*time.Second)
	// Small snapshots, so restarted and new nodes catch up from one.
	snapArgs := []string{"--snapshot-threshold", "1024", "--snapshot-interval", "2s", "--trailing-logs", "512"}
	if slices.Contains(nem.kinds, "snapshot-install") {
		snapArgs = snapshotArgs
	}
	if slices.Contains(o.Workloads, "ttl") {
		// Each leader change away from node1 hands the log to a leader
		// whose clock is behind the log clock (wl_ttl.go).
		snapArgs = append(slices.Clip(snapArgs), "--test-clock-skew", "node1="+ttlSkew.String())
	}
	c, err := local.Start(startCtx, local.Config{
		Binary: o.Binary, Nodes: o.Nodes, Hosts: nodeHosts(),
		Dir: filepath.Join(o.Out, "data"), LogDir: filepath.Join(o.Out, "logs"),
		ExtraArgs: append([]string{
			"--election-timeout", o.Timing.election.String(), "--heartbeat-timeout", o.Timing.election.String(),
		}, snapArgs...),
	})
	cancel()
	if err != nil {
		return nil, fmt.Errorf("start cluster: %w", err)
	}
	defer c.Stop()
	h.c = c
	h.setTargets(c.Nodes)

	h.hist = newHistory(time.Now())
	res.began = h.hist.start
	wls, err := newWorkloads(h, o.Workloads)
	if err != nil {
		return nil, err
	}
	setupCtx, cancel := context.WithTimeout(ctx, 60*time.Second)
	evalOK, evalNote := probeEval(setupCtx, h)
	res.evalUsed, res.evalNote = evalOK, evalNote
	for _, w := range wls {
		if err := w.setup(setupCtx, evalOK); err != nil {
			cancel()
			return nil, fmt.Errorf("set up %s: %w", w.name(), err)
		}
	}
	cancel()

	progress(fmt.Sprintf("running %s of %v with faults %v", o.Duration, o.Workloads, nem.kinds))
	wctx, stopWorkers := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, w := range wls {
		w.start(wctx, &wg)
	}
	sampled := make(chan leaderLog, 1)
	go func() { sampled <- sampleLeaders(wctx, h) }()
	nemDone := make(chan struct{})
	go func() {
		defer close(nemDone)
		nem.run(ctx, h.hist.start.Add(o.Duration))
	}()
	select {
	case <-ctx.Done():
	case <-time.After(o.Duration):
		select {
		case <-ctx.Done():
		case <-nemDone:
		}
	}
	stopWorkers()
	wg.Wait()
	<-nemDone
	res.leaders = <-sampled
	workEnd := h.hist.now()

	// Heal whatever is still broken, even when interrupted.
	healCtx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	nem.healAll(healCtx)
	cancel()
	res.rulesLeft = nem.net.count()
	res.faults = nem.faults()
	if ctx.Err() != nil {
		res.interrupted = true
		res.ops = h.hist.all()
		res.took = time.Since(res.began)
		return res, writeReport(res)
	}

	progress("healed; reading the final state and checking")
	drainCtx, cancel := context.WithTimeout(ctx, o.Timing.drain)
	for _, w := range wls {
		if err := w.drain(drainCtx); err != nil {
			res.notes = append(res.notes, fmt.Sprintf("%s: final read failed: %v", w.name(), err))
		}
	}
	cancel()
	conv := checkConvergence(ctx, h)
	members := checkMembership(ctx, h, nem.memberAcks())

	res.ops = h.hist.all()
	for _, w := range wls {
		res.checks = append(res.checks, w.check(res))
	}
	res.checks = append(res.checks, conv, members)
	res.took = time.Since(res.began)
	res.notes = append(res.notes, fmt.Sprintf("workload phase ended at +%.1fs", workEnd.Seconds()))
	if err := writeReport(res); err != nil {
		return res, fmt.Errorf("write report: %w", err)
	}
	if res.pass() {
		os.RemoveAll(filepath.Join(o.Out, "data")) // logs stay; data only matters for a failure
	}
	return res, nil
}

// clearReport makes dir ready for a fresh run: a previous run's data
// would bring its cluster (on other ports) back instead of a new one.
func clearReport(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	old, _ := filepath.Glob(filepath.Join(dir, "lin-*.html"))
	old = append(old, "data", "logs", "summary.txt", "latency.svg", "history.jsonl.gz")
	for _, p := range old {
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		if err := os.RemoveAll(p); err != nil {
			return err
		}
	}
	return nil
}

// adminDo runs one command for the harness itself (final reads, probes)
// on each node in turn until one answers, retrying while the cluster has
// no answer (TRYAGAIN, UNCERTAIN, no reply) until ctx ends. Any other
// error reply is the answer.
func (h *harness) adminDo(ctx context.Context, args ...string) (any, error) {
	var last error
	for {
		for _, t := range h.targets() {
			c, err := dialRESP(t.id, t.addr, time.Second)
			if err != nil {
				last = err
				continue
			}
			v, err := c.do(h.timing.opTimeout, args...)
			c.close()
			var re respError
			if err == nil || (errors.As(err, &re) && classifyWrite(err) == unknown && !strings.HasPrefix(string(re), "UNCERTAIN ")) {
				return v, err
			}
			last = fmt.Errorf("%s: %w", t.id, err)
		}
		select {
		case <-ctx.Done():
			return nil, errors.Join(ctx.Err(), last)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// adminWrite runs a write for the harness until it is known to have been
// applied or not: an unknown outcome is settled by reading back with
// check. It gives up when ctx ends.
func (h *harness) adminWrite(ctx context.Context, check func(context.Context) (bool, error), args ...string) error {
	for {
		ts := h.targets()
		t := ts[rand.IntN(len(ts))]
		c, err := dialRESP(t.id, t.addr, time.Second)
		if err == nil {
			_, err = c.do(h.timing.opTimeout, args...)
			c.close()
		}
		switch classifyWrite(err) {
		case ok:
			return nil
		case unknown:
			done, cerr := check(ctx)
			if cerr == nil && done {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%v: %w (last: %v)", args, ctx.Err(), err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// probeEval decides whether producers and movers use scripts: EVAL is
// used only if a script that pushes answers as RPUSH would.
func probeEval(ctx context.Context, h *harness) (bool, string) {
	const key = "jepsen:probe"
	v, err := h.adminDo(ctx, "EVAL", "return redis.call('RPUSH', KEYS[1], ARGV[1])", "1", key, "x")
	var re respError
	if errors.As(err, &re) {
		return false, "EVAL not used: it answers " + string(re)
	}
	if err != nil {
		return false, "EVAL not used: " + err.Error()
	}
	h.adminDo(ctx, "DEL", key)
	if n, isInt := v.(int64); !isInt || n != 1 {
		return false, fmt.Sprintf("EVAL not used: a pushing script answered %v, not 1", v)
	}
	return true, "EVAL used by producers and movers"
}
