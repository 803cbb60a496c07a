// Command jepsen is raftlist's Jepsen-style fault test: real node
// processes on their own loopback IPs, real faults on a schedule drawn from
// a seed (iptables partitions, SIGKILL, SIGSTOP, membership changes,
// connections dropped mid-command), recorded client histories and
// checkers that can fail (a queue, per-key linearizability with porcupine,
// conserved transfers, convergence of every node's digest).
//
//	go run ./tests/jepsen --duration 10m --seed 7 --nodes 5
//
// It exits 0 only when every checker passes, 1 when one fails, 2 when the
// run could not be carried out or was interrupted. See README "Fault
// testing". `go test ./tests/jepsen/` runs the short mode and proves the
// checkers catch deliberately broken builds.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/raftlist/raftlist/raftnode"
)

func main() {
	os.Exit(mainErr(os.Args[1:], os.Stdout, os.Stderr))
}

func mainErr(args []string, stdout, stderr io.Writer) int {
	o, tags, err := parseFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(stderr, "jepsen:", err)
		return 2
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	go func() {
		<-sigs
		fmt.Fprintln(stderr, "jepsen: interrupted; healing and stopping the cluster (again to force)")
		cancel()
		<-sigs
		liveNet.Load().cleanup()
		os.Exit(2)
	}()

	if o.Binary == "" {
		if o.Binary, err = buildBinary(ctx, o.Out, tags); err != nil {
			fmt.Fprintln(stderr, "jepsen:", err)
			return 2
		}
	}
	res, err := run(ctx, o, func(s string) { fmt.Fprintf(stderr, "jepsen: %s\n", s) })
	if err != nil {
		fmt.Fprintln(stderr, "jepsen:", err)
		return 2
	}
	fmt.Fprint(stdout, summary(res, false))
	switch {
	case res.interrupted:
		return 2
	case res.pass():
		return 0
	default:
		return 1
	}
}

func parseFlags(args []string, stderr io.Writer) (options, string, error) {
	fs := flag.NewFlagSet("jepsen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	var faults, workloads, tags string
	fs.DurationVar(&o.Duration, "duration", 0, "how long workloads and faults run (default 60s with --short, 5m without)")
	fs.Uint64Var(&o.Seed, "seed", 0, "seed of the fault schedule and of every client's choices (default: from the clock)")
	fs.StringVar(&faults, "faults", "all", "comma-separated: all, none, partition, "+strings.Join(faultKinds, ", "))
	fs.StringVar(&workloads, "workloads", "all", "comma-separated: all, "+strings.Join(workloadNames, ", ")+" (convergence is always checked)")
	fs.IntVar(&o.Concurrency, "concurrency", 4, "workers per workload (the queue runs this many producers and as many consumers)")
	fs.IntVar(&o.Nodes, "nodes", 3, "cluster size: 3 or 5")
	fs.StringVar(&o.Out, "out", "", "report directory (default jepsen-report-<seed>)")
	fs.BoolVar(&o.Short, "short", false, "CI's preset: 60s, tight bounds, and every fault kind at least once")
	fs.StringVar(&o.Binary, "binary", "", "raftlist binary to test (default: build ./cmd/raftlist into the report directory)")
	var timeout time.Duration
	fs.DurationVar(&timeout, "raft-timeout", raftnode.DefaultElectionTimeout, "the nodes' --heartbeat-timeout and --election-timeout (default: the server's default)")
	fs.StringVar(&tags, "tags", "", "build tags for the binary built when --binary is not given (e.g. jepsen_break_follower_local_reads)")
	if err := fs.Parse(args); err != nil {
		return o, "", err
	}
	if fs.NArg() > 0 {
		return o, "", fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	var err error
	if o.Faults, err = parseFaults(faults); err != nil {
		return o, "", err
	}
	if o.Workloads, err = parseWorkloads(workloads); err != nil {
		return o, "", err
	}
	if o.Nodes != 3 && o.Nodes != 5 {
		return o, "", fmt.Errorf("--nodes must be 3 or 5, not %d", o.Nodes)
	}
	if o.Concurrency < 1 || o.Concurrency > 64 {
		return o, "", fmt.Errorf("--concurrency must be 1..64, not %d", o.Concurrency)
	}
	if o.Duration == 0 {
		o.Duration = 5 * time.Minute
		if o.Short {
			o.Duration = 60 * time.Second
		}
	}
	if o.Duration < 5*time.Second || o.Duration > 48*time.Hour {
		return o, "", fmt.Errorf("--duration must be between 5s and 48h, not %s", o.Duration)
	}
	if o.Seed == 0 {
		o.Seed = uint64(time.Now().UnixNano() % 1e9)
	}
	if o.Out == "" {
		o.Out = fmt.Sprintf("jepsen-report-%d", o.Seed)
	}
	if o.Out, err = filepath.Abs(o.Out); err != nil {
		return o, "", err
	}
	o.Timing = defaultTiming(o.Short)
	if timeout <= 0 {
		return o, "", fmt.Errorf("--raft-timeout must be positive, not %s", timeout)
	}
	o.Timing.election = timeout
	return o, tags, nil
}

// buildBinary builds ./cmd/raftlist (with tags) into dir.
func buildBinary(ctx context.Context, dir, tags string) (string, error) {
	root, err := moduleRoot(ctx)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "raftlist")
	args := []string{"build", "-o", bin}
	if tags != "" {
		args = append(args, "-tags", tags)
	}
	cmd := exec.CommandContext(ctx, "go", append(args, "./cmd/raftlist")...)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return bin, nil
}

func moduleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "list", "-m", "-f", "{{.Dir}}").Output()
	if err != nil {
		return "", fmt.Errorf("find the module root (go list -m): %w", err)
	}
	return strings.TrimSpace(string(out)), nil
}
