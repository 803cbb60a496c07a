package tests

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Redis 7.0.15's own Tcl test suite, run against a raftlist follower
// (issue 17: "Redis's own list and transaction semantics hold through a
// follower"). The harness and the units are vendored under redis-suite/
// (BSD-3, COPYING; PATCHES.md lists the two changed lines); the tests
// that cannot hold here are in redis-suite/skip.txt, one reason per
// group. docs/testing/redis-suite.md has the counts and how to run the
// suite by hand against redis-server, a leader or a follower.

// redisSuiteUnits are the units run, in this order.
var redisSuiteUnits = []string{
	"unit/type/list", "unit/type/list-2", "unit/type/list-3", "unit/multi",
	"unit/type/incr", "unit/type/string", "unit/expire", "unit/dump", "unit/keyspace", "unit/scripting", "unit/protocol",
	"unit/info-command", "unit/functions",
}

// redisSuiteDeniedTags are the suite's own tags for what raftlist does not
// have: DEBUG's tuning and introspection, replication streams, maxmemory,
// streams.
const redisSuiteDeniedTags = "-needs:debug -needs:repl -needs:config-maxmemory -repl -stream"

// redisSuiteSlowTests are long stress and fuzz loops, each thousands of
// writes through the log (minutes each on a loaded machine); they run
// only with RAFTLIST_REDIS_SUITE=full, with longer timeouts (the CI
// budget is minutes).
var redisSuiteSlowTests = []string{
	"LTRIM stress testing - linkedlist",
	"LTRIM stress testing - ziplist",
	"ziplist implementation: value encoding and backlink",
	"ziplist implementation: encoding stress testing",
	"Stress tester for #3343-alike bugs comp: 0",
	"Stress tester for #3343-alike bugs comp: 1",
	"Stress tester for #3343-alike bugs comp: 2",
	"SETBIT fuzzing",
	"GETRANGE fuzzing",
	"SET 10000 numeric keys and access all them in reverse order",
	"SETNX against expired volatile key",
}

func TestRedisSuiteThroughFollower(t *testing.T) {
	tclsh := findTclsh()
	if tclsh == "" {
		t.Skip("tclsh is not installed (apt-get install tcl): Redis's Tcl suite cannot run")
	}
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	suite := filepath.Join(root, "tests", "redis-suite")
	if _, err := os.Stat(filepath.Join(suite, "tests", "test_helper.tcl")); err != nil {
		t.Skipf("the vendored Redis suite is missing: %v", err)
	}
	// The harness writes under tests/tmp: run a copy.
	work := t.TempDir()
	if out, err := exec.Command("cp", "-r", suite+"/.", work).CombinedOutput(); err != nil {
		t.Fatalf("copy the suite: %v\n%s", err, out)
	}
	skipfile := filepath.Join(work, "skip.txt")
	full := os.Getenv("RAFTLIST_REDIS_SUITE") == "full"
	if !full {
		f, err := os.OpenFile(skipfile, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(f, "\n%s\n", strings.Join(redisSuiteSlowTests, "\n"))
		f.Close()
	}

	c := mustStartCluster(t, 3)
	follower := followers(c, mustLeader(t, c))[0]
	host, port, _ := net.SplitHostPort(follower.ClientAddr)

	units := redisSuiteUnits
	if only := os.Getenv("RAFTLIST_REDIS_SUITE_UNITS"); only != "" {
		units = strings.Split(only, ",") // by hand: some units only
	}
	var total suiteCounts
	for _, unit := range units {
		got := runRedisSuiteUnit(t, tclsh, work, host, port, skipfile, unit, full)
		t.Logf("%-18s %s", unit, got)
		total.add(got)
	}
	t.Logf("through follower %s: %s", follower.ID, total)
	if total.ok == 0 {
		t.Errorf("no Redis test passed")
	}
}

// suiteCounts are what the harness reported for a run.
type suiteCounts struct {
	ok, err, exception, skipped, ignored int
	failures                             []string
}

func (s *suiteCounts) add(o suiteCounts) {
	s.ok += o.ok
	s.err += o.err
	s.exception += o.exception
	s.skipped += o.skipped
	s.ignored += o.ignored
}

func (s suiteCounts) String() string {
	return fmt.Sprintf("passed %d, failed %d, exceptions %d, skipped by skip.txt %d, skipped by tag %d",
		s.ok, s.err, s.exception, s.skipped, s.ignored)
}

var suiteStatus = regexp.MustCompile(`^\[(ok|err|exception|skip|ignore|TIMEOUT)\]: (.*)$`)

// runRedisSuiteUnit runs one unit against host:port and fails t on any
// failed test, exception (which ends the unit) or timeout.
func runRedisSuiteUnit(t *testing.T, tclsh, dir, host, port, skipfile, unit string, full bool) suiteCounts {
	t.Helper()
	// The harness gives up after idle seconds without a test ending.
	limit, idle := 5*time.Minute, "120"
	if full {
		limit, idle = 40*time.Minute, "1200"
	}
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	// The harness's own server listens on the first free port of the 32
	// below --baseport.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := l.Addr().(*net.TCPAddr).Port + 32
	l.Close()
	cmd := exec.CommandContext(ctx, tclsh, "tests/test_helper.tcl",
		"--host", host, "--port", port, "--baseport", strconv.Itoa(base),
		"--single", unit, "--tags", redisSuiteDeniedTags, "--skipfile", skipfile,
		"--timeout", idle)
	cmd.Dir = dir
	// TERM=dumb: no colours in the status lines parsed below.
	cmd.Env = append(os.Environ(), "TERM=dumb")
	out, runErr := cmd.CombinedOutput()
	var got suiteCounts
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		m := suiteStatus.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		switch m[1] {
		case "ok":
			got.ok++
		case "err":
			got.err++
			got.failures = append(got.failures, m[2])
		case "exception", "TIMEOUT":
			got.exception++
			got.failures = append(got.failures, m[1]+": "+m[2])
		case "skip":
			got.skipped++
		case "ignore":
			got.ignored++
		}
	}
	if runErr != nil || got.err > 0 || got.exception > 0 {
		t.Errorf("%s: %s (exit: %v); failed:\n  %s\n--- output ---\n%s", unit, got, runErr,
			strings.Join(got.failures, "\n  "), out)
	}
	return got
}

func findTclsh() string {
	for _, name := range []string{"tclsh8.6", "tclsh8.7", "tclsh8.5", "tclsh"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}
