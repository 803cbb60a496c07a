package main

import (
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
)

// handoff is the result of tests/blocking_bench_test.go's
// BenchmarkBlockingHandoff, which this command runs rather than copies: a
// client waits in BLPOP, another LPUSHes, and the time from sending the
// push to the waiter's reply is measured, raftlist (waiter on the leader;
// waiter on a follower) and redis-server taking turns.
type handoff struct {
	command    string
	iterations int
	targets    []handoffTarget
}

type handoffTarget struct {
	name                string
	n                   int
	p50, p90, p99, pmax string
}

// The benchmark logs one line per target:
// "leader   n=2000 p50=412µs p90=520µs p99=1.2ms max=3ms".
var handoffLine = regexp.MustCompile(`([\w-]+)\s+n=(\d+) p50=(\S+) p90=(\S+) p99=(\S+) max=(\S+)`)

func runBlockingHandoff(root string, iterations int) (*handoff, error) {
	args := []string{"test", "./tests/", "-run", "^$", "-bench", "^BenchmarkBlockingHandoff$",
		"-benchtime", strconv.Itoa(iterations) + "x", "-count", "1"}
	h := &handoff{command: "go " + strings.Join(args, " "), iterations: iterations}
	logf("BLPOP hand-off: %s", h.command)
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("%s: %v\n%s", h.command, err, out)
	}
	// The testing package runs the benchmark with b.N = 1 before the real
	// run; each run logs its targets, so the last line per target counts.
	byName := map[string]int{}
	for _, m := range handoffLine.FindAllStringSubmatch(string(out), -1) {
		n, _ := strconv.Atoi(m[2])
		t := handoffTarget{name: m[1], n: n, p50: m[3], p90: m[4], p99: m[5], pmax: m[6]}
		if i, ok := byName[t.name]; ok {
			h.targets[i] = t
			continue
		}
		byName[t.name] = len(h.targets)
		h.targets = append(h.targets, t)
	}
	if len(h.targets) == 0 {
		return nil, fmt.Errorf("%s printed no results:\n%s", h.command, out)
	}
	for _, t := range h.targets {
		logf("BLPOP hand-off %-8s n=%d p50=%s p90=%s p99=%s max=%s", t.name, t.n, t.p50, t.p90, t.p99, t.pmax)
	}
	return h, nil
}
