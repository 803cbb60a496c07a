// Command bench measures raftlist against real redis-server processes in one
// run on one machine, and writes docs/BENCHMARKS.md:
//
//	go run ./tests/bench [--quick] [--out docs/BENCHMARKS.md]
//
// It starts redis-server three ways (no persistence; appendonly with
// appendfsync always; a primary with two replicas, every write followed by
// WAIT 2 0) and a three-node raftlist cluster of real processes, drives the
// same workloads at each from its own load generator, interleaving targets
// cell by cell so that machine noise hits all of them alike, and prints
// throughput, p50/p99/p999 latency and raftlist/Redis ratios.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// plan is what one run measures; flags fill it.
type plan struct {
	quick            bool
	out              string
	measure, warmup  time.Duration
	clients, pipes   []int
	only             map[string]bool // workload names to run in the matrix (nil: all)
	targets          map[string]bool // targets to drive (nil: all)
	phases           map[string]bool
	failoverTrials   int
	failoverTimeouts []string      // heartbeat=election timeout per failover series
	stability        time.Duration // heavy load with no fault, counting elections
	snapshotSizes    []int64
	memoryElements   int64
	expiryKeys       int64
	blpopIterations  int
	raftlistArgs     []string
	profileDir       string
	compareBinary    string   // a raftlist binary to compare with (the code before a change)
	compareArgs      []string // server flags of the compared cluster (nil: raftlistArgs)
	profileAt        string   // workload/clients/pipeline/target of the profiled cell
	keep             bool
}

var allPhases = []string{"matrix", "script", "multi", "lock", "blpop", "failover", "snapshot", "fsmsnapshot", "memory", "expiry"}

func parseFlags(args []string) (*plan, error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	quick := fs.Bool("quick", false, "CI-sized run (under 2 minutes)")
	out := fs.String("out", "", "write the report (markdown) to this file, and the plot next to it")
	measure := fs.Duration("duration", 0, "measured time per cell (default 800ms, quick 250ms)")
	warmup := fs.Duration("warmup", 0, "unmeasured time before each cell (default 200ms, quick 100ms)")
	clients := fs.String("clients", "", "client counts (default 1,10,50,200; quick 1,50)")
	pipes := fs.String("pipeline", "", "pipeline depths (default 1,16; quick 1,16)")
	only := fs.String("workloads", "", "matrix workloads to run, comma-separated (default all)")
	phases := fs.String("phases", strings.Join(allPhases, ","), "phases to run")
	trials := fs.Int("failover-trials", 0, "failover trials per timeout setting (default 20, quick 3)")
	stability := fs.Duration("stability-duration", 0, "heavy load (LPUSH 200 clients, pipeline 16) with no fault per failover setting, counting elections (default 20s, quick 1s)")
	timeouts := fs.String("failover-timeouts", "", "heartbeat/election timeouts to compare, \"default\" for the build's own (default 1s,default; quick default); --compare-binary adds that build's defaults")
	snaps := fs.String("snapshot-sizes", "", "list sizes snapshotted and restored in a cluster (default 1000000; quick 100000; fsm's BenchmarkSnapshot covers 1M and 10M)")
	mem := fs.Int64("memory-elements", 0, "elements loaded to measure memory (default 1000000, quick 100000)")
	blpop := fs.Int("blpop-iterations", 0, "BLPOP hand-offs per target (default 1000, quick 200)")
	expKeys := fs.Int64("expiry-keys", 0, "keys with TTLs loaded for the expiry phase (default 1000000, quick 100000)")
	rlArgs := fs.String("raftlist-args", "", "extra `raftlist server` flags for the throughput cluster")
	profile := fs.String("profile", "", "directory for CPU profiles of every node during one cell, --profile-at (nodes run with --pprof)")
	profileAt := fs.String("profile-at", "LPUSH/50/1/"+tRLLeader, "the cell to profile: workload/clients/pipeline/target")
	keep := fs.Bool("keep", false, "keep the work directory (data, logs)")
	compare := fs.String("compare-binary", "", "also run a cluster of this raftlist binary (e.g. built from the code before a change) as targets "+tBaseLeader+" and "+tBaseFollower)
	compareArgs := fs.String("compare-args", "", "extra `raftlist server` flags for the "+tBaseLeader+"/"+tBaseFollower+" cluster instead of --raftlist-args; without --compare-binary that cluster runs this build (e.g. --raftlist-args '--log-store wal' --compare-args '--log-store bolt')")
	targets := fs.String("targets", "", "targets to drive, comma-separated (default all: "+strings.Join(targetOrder, ",")+")")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	p := &plan{quick: *quick, out: *out, measure: *measure, warmup: *warmup, failoverTrials: *trials,
		memoryElements: *mem, blpopIterations: *blpop, profileDir: *profile, profileAt: *profileAt, keep: *keep}
	pick := func(flagVal, full, quick string) string {
		if flagVal != "" {
			return flagVal
		}
		if p.quick {
			return quick
		}
		return full
	}
	var err error
	if p.clients, err = ints(pick(*clients, "1,10,50,200", "1,50")); err != nil {
		return nil, err
	}
	if p.pipes, err = ints(pick(*pipes, "1,16", "1,16")); err != nil {
		return nil, err
	}
	sizes, err := ints(pick(*snaps, "1000000", "100000"))
	if err != nil {
		return nil, err
	}
	for _, s := range sizes {
		p.snapshotSizes = append(p.snapshotSizes, int64(s))
	}
	p.failoverTimeouts = strings.Split(pick(*timeouts, "1s,default", "default"), ",")
	for _, t := range p.failoverTimeouts {
		if t == "default" {
			continue
		}
		if _, err := time.ParseDuration(t); err != nil {
			return nil, fmt.Errorf("--failover-timeouts: %w", err)
		}
	}
	def := func(d *time.Duration, full, quick time.Duration) {
		if *d == 0 {
			*d = full
			if p.quick {
				*d = quick
			}
		}
	}
	def(&p.measure, 800*time.Millisecond, 250*time.Millisecond)
	def(&p.warmup, 200*time.Millisecond, 100*time.Millisecond)
	p.stability = *stability
	def(&p.stability, 20*time.Second, time.Second)
	defInt := func(v *int, full, quick int) {
		if *v == 0 {
			*v = full
			if p.quick {
				*v = quick
			}
		}
	}
	defInt(&p.failoverTrials, 20, 3)
	defInt(&p.blpopIterations, 1000, 200)
	p.expiryKeys = *expKeys
	if p.expiryKeys == 0 {
		p.expiryKeys = 1000000
		if p.quick {
			p.expiryKeys = 100000
		}
	}
	if p.memoryElements == 0 {
		p.memoryElements = 1000000
		if p.quick {
			p.memoryElements = 100000
		}
	}
	if *only != "" {
		p.only = map[string]bool{}
		for _, w := range strings.Split(*only, ",") {
			p.only[strings.ToUpper(strings.Fields(w)[0])] = true
		}
	}
	if *targets != "" {
		p.targets = map[string]bool{}
		for _, t := range strings.Split(*targets, ",") {
			p.targets[strings.TrimSpace(t)] = true
		}
	}
	p.phases = map[string]bool{}
	for _, ph := range strings.Split(*phases, ",") {
		p.phases[strings.TrimSpace(ph)] = true
	}
	p.raftlistArgs = strings.Fields(*rlArgs)
	if *compareArgs != "" {
		// Fields("") is empty but not nil, and nil means "no second cluster".
		p.compareArgs = strings.Fields(*compareArgs)
	}
	if *compare != "" {
		abs, err := filepath.Abs(*compare)
		if err != nil {
			return nil, err
		}
		p.compareBinary = abs
	}
	return p, nil
}

func ints(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("bad number %q in %q", f, s)
		}
		out = append(out, n)
	}
	return out, nil
}

func main() {
	cleanUpOnSignal()
	p, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	if err := run(p, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// run is the whole benchmark: one phase after another, each starting and
// stopping what it needs, so phases do not load the machine for each other.
func run(p *plan, args []string) error {
	began := time.Now()
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "raftlist-bench-")
	if err != nil {
		return err
	}
	if p.keep {
		logf("work directory %s (kept)", work)
	} else {
		defer onExit(func() { os.RemoveAll(work) })()
	}
	rep := &report{cmdline: "go run ./tests/bench " + strings.Join(args, " "), facts: machineFacts(), plan: p}
	rep.facts.loadBefore = loadAvg()
	logf("building raftlist")
	bin, err := buildRaftlist(root, work)
	if err != nil {
		return err
	}
	// The hand-off benchmark runs first, alone on an idle machine: it
	// starts its own cluster and Redis (tests/blocking_bench_test.go).
	if p.phases["blpop"] {
		if rep.blpop, err = runBlockingHandoff(root, p.blpopIterations); err != nil {
			rep.notes = append(rep.notes, "BLPOP hand-off: "+err.Error())
			logf("BLPOP hand-off failed: %v", err)
		}
	}
	if p.phases["matrix"] || p.phases["script"] || p.phases["multi"] || p.phases["lock"] {
		if err := runThroughput(p, rep, bin, filepath.Join(work, "throughput")); err != nil {
			return err
		}
	}
	if p.phases["failover"] {
		if err := runFailover(p, rep, bin, filepath.Join(work, "failover")); err != nil {
			return err
		}
	}
	if p.phases["snapshot"] || p.phases["memory"] {
		if err := runData(p, rep, bin, filepath.Join(work, "data")); err != nil {
			return err
		}
	}
	if p.phases["expiry"] {
		if err := runExpiry(p, rep, bin, filepath.Join(work, "expiry")); err != nil {
			return fmt.Errorf("expiry: %w", err)
		}
	}
	if p.phases["fsmsnapshot"] && !p.quick {
		if rep.fsmSnapshots, rep.fsmSnapshotCmd, err = runFSMSnapshot(root); err != nil {
			rep.notes = append(rep.notes, "state machine snapshot benchmark: "+err.Error())
		}
	}
	rep.facts.loadAfter = loadAvg()
	rep.took = time.Since(began)
	fmt.Println()
	fmt.Print(rep.text())
	if p.out != "" {
		if err := rep.write(p.out); err != nil {
			return err
		}
		logf("wrote %s", p.out)
	}
	return nil
}

// runThroughput starts every Redis and the raftlist cluster, then runs the
// matrix and the script and transaction workloads against all of them.
func runThroughput(p *plan, rep *report, bin, dir string) error {
	logf("starting redis-server x8 (plain, aof, primary + 2 replicas, the same with aof)")
	rs, err := startRedisSet(filepath.Join(dir, "redis"))
	defer onExit(rs.stop)()
	if err != nil {
		return err
	}
	extra := append([]string(nil), p.raftlistArgs...)
	if p.profileDir != "" {
		extra = append(extra, "--pprof", "127.0.0.1:0")
	}
	logf("starting a 3-node raftlist cluster %v", extra)
	c, err := startCluster(bin, filepath.Join(dir, "raftlist"), extra)
	if err != nil {
		return err
	}
	defer onExit(c.Stop)()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, _, rlTargets, err := clusterTargets(ctx, c, tRLLeader, tRLFollower)
	if err != nil {
		return err
	}
	if p.compareBinary != "" || p.compareArgs != nil {
		baseBin, baseArgs := p.compareBinary, p.raftlistArgs
		if baseBin == "" {
			baseBin = bin
		}
		if p.compareArgs != nil {
			baseArgs = p.compareArgs
		}
		logf("starting a second 3-node cluster of %s %v", baseBin, baseArgs)
		base, err := startCluster(baseBin, filepath.Join(dir, "base"), baseArgs)
		if err != nil {
			return err
		}
		defer onExit(base.Stop)()
		_, _, baseTargets, err := clusterTargets(ctx, base, tBaseLeader, tBaseFollower)
		if err != nil {
			return err
		}
		rlTargets = append(rlTargets, baseTargets...)
	}
	var targets []*target
	for _, t := range append(rs.targets(), rlTargets...) {
		if p.targets == nil || p.targets[t.name] {
			targets = append(targets, t)
		}
	}
	termBefore := clusterTerm(c)
	if p.phases["matrix"] {
		if err := runMatrix(p, rep, targets, c); err != nil {
			return err
		}
	}
	if p.phases["script"] {
		if err := runScripts(p, rep, targets); err != nil {
			return err
		}
	}
	if p.phases["multi"] {
		if err := runMulti(p, rep, targets); err != nil {
			return err
		}
	}
	if p.phases["lock"] {
		if err := runLock(p, rep, targets); err != nil {
			return err
		}
	}
	rep.elections = clusterTerm(c) - termBefore
	return nil
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s  %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}
