package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The benchmark command is a tool people run by hand, rarely; this runs a
// very small plan of it end to end (real redis-servers, a real cluster,
// every phase that fits in seconds) so CI notices when it stops working or
// starts reporting nonsense. It asserts that each target measured something,
// not how fast: speed is never asserted in a test.
func TestSmallRunWritesAReport(t *testing.T) {
	if testing.Short() {
		t.Skip("starts five redis-servers and two clusters")
	}
	if _, err := exec.LookPath("redis-server"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("redis-server is not installed; CI must install it")
		}
		t.Skip("redis-server is not installed (apt-get install redis-server)")
	}
	out := filepath.Join(t.TempDir(), "B.md")
	args := []string{"--quick", "--phases", "matrix,multi,failover,memory",
		"--workloads", "LPUSH,LRANGE", "--clients", "2", "--pipeline", "1,4",
		"--duration", "150ms", "--warmup", "50ms", "--failover-trials", "1",
		"--memory-elements", "20000", "--out", out}
	p, err := parseFlags(args)
	if err != nil {
		t.Fatal(err)
	}
	if err := run(p, args); err != nil {
		t.Fatalf("bench run: %v", err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	md := string(b)
	if _, err := os.Stat(filepath.Join(filepath.Dir(out), "B-throughput.svg")); err != nil {
		t.Errorf("no plot next to the report: %v", err)
	}
	// LPUSH at 2 clients, pipeline 1: redis, redis-aof, redis-wait2,
	// redis-wait2-aof, raftlist leader, raftlist follower each measured (a
	// number, k or not; WAIT timeouts may follow redis-wait2-aof's).
	row := regexp.MustCompile(`(?m)^\| LPUSH \| 2 \| 1 \|((?: [0-9.]+k?(?: \(\d+ WAIT<2\))? \|){6})`)
	if !row.MatchString(md) {
		t.Errorf("no LPUSH 2x1 row with six measured targets in the report:\n%s", md)
	}
	// And its CPU per command for each of them.
	cpuRow := regexp.MustCompile(`(?m)^### CPU µs per command, all nodes[^#]*\| LPUSH \| 2 \| 1 \|((?: [0-9.]+ \|){6})`)
	if !cpuRow.MatchString(md) {
		t.Errorf("no CPU per command row for LPUSH 2x1 with six targets")
	}
	for _, want := range []string{"| LRANGE 0 99 | 2 | 4 |", "MULTI/EXEC (10 LPUSH)", "### Failover", "### Memory per element", "raftlist node1"} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("report:\n%s", md)
	}
}

// A default run measures one raftlist cluster; the second (base-*) cluster
// runs only when asked for, since an idle cluster still costs CPU.
func TestDefaultRunHasNoComparedCluster(t *testing.T) {
	p, err := parseFlags(nil)
	if err != nil {
		t.Fatal(err)
	}
	if p.compareBinary != "" || p.compareArgs != nil {
		t.Fatalf("default plan compares: binary %q args %q", p.compareBinary, p.compareArgs)
	}
	p, err = parseFlags([]string{"--compare-args", "--log-store bolt"})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.compareArgs) != 2 {
		t.Fatalf("--compare-args: got %q", p.compareArgs)
	}
}
