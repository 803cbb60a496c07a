// Package tests holds raftlist's black-box tests: they build the real
// binary once, start real node processes through cluster/local, and speak
// RESP to them (and to a real redis-server for the differential test).
package tests

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/raftlist/raftlist/cluster/local"
)

// binary is the raftlist binary TestMain builds once for every test.
var binary string

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "raftlist-tests-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "tests: temp dir:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	root, err := moduleRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, "tests:", err)
		return 1
	}
	binary = filepath.Join(dir, "raftlist")
	build := exec.Command("go", "build", "-o", binary, "./cmd/raftlist")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "tests: go build ./cmd/raftlist: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// moduleRoot is the directory holding go.mod, found with `go env GOMOD` so
// that the tests build from wherever `go test` runs them.
func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("not inside a module (go env GOMOD = %q)", gomod)
	}
	return filepath.Dir(gomod), nil
}

// scale picks a size for the mode the tests run in: -short gets the small
// one.
func scale(short, full int) int {
	if testing.Short() {
		return short
	}
	return full
}

// ---------------------------------------------------------------------------
// Free ports.

// portSpan is the most ports one test cluster's nodes take from its base
// (three nodes and room for added ones), on the client side and again on
// the Raft side.
const portSpan = 8

var (
	portMu    sync.Mutex
	usedBases = map[int]bool{}
)

// freeBasePort finds a base port for a test cluster whose client and Raft
// ports are all free right now, probing with cluster/local.FreeBasePort,
// which draws bases at random below the ephemeral port range and binds each
// port to check it. Test binaries running in parallel (go test ./... runs
// packages at once) therefore practically never pick overlapping ranges,
// and a range in use is skipped. Within this process a range is never
// handed out twice: a cluster just stopped may still hold its ports.
func freeBasePort(t testing.TB) int {
	t.Helper()
	portMu.Lock()
	defer portMu.Unlock()
	for attempt := 0; attempt < 100; attempt++ {
		base, err := local.FreeBasePort("127.0.0.1", portSpan)
		if err != nil {
			t.Fatalf("free ports: %v", err)
		}
		clash := false
		for b := range usedBases {
			if base < b+portSpan && b < base+portSpan {
				clash = true
			}
		}
		if !clash {
			usedBases[base] = true
			return base
		}
	}
	t.Fatal("no unused free port range found on 127.0.0.1")
	return 0
}

// freePort returns one free port on 127.0.0.1, as the kernel chooses it.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// ---------------------------------------------------------------------------
// raftlist clusters.

// startTimeout bounds starting a cluster: building no longer counts here,
// only processes, elections and joins.
const startTimeout = 60 * time.Second

// mustStartCluster starts n real node processes on free loopback ports with
// extraArgs added to every node's command line. The cluster is stopped when
// the test ends; if the test failed, the tail of every node's log is
// printed first.
// testTimingArgs give test clusters Raft timeouts well above the default
// (300 ms): a
// two-core CI machine running race-detector tests beside three nodes starves
// heartbeats, and a leader that steps down turns a differential comparison
// into a (correct) UNCERTAIN. A test's own flags come later and win.
var testTimingArgs = []string{"--heartbeat-timeout", "2s", "--election-timeout", "2s"}

// testStoreArgs run the test clusters on another Raft log store:
// RAFTLIST_TEST_LOG_STORE=wal go test ./tests/ -run ... (default: the
// server's default, bolt).
func testStoreArgs() []string {
	if s := os.Getenv("RAFTLIST_TEST_LOG_STORE"); s != "" {
		return []string{"--log-store", s}
	}
	return nil
}

func mustStartCluster(t *testing.T, n int, extraArgs ...string) *local.Cluster {
	t.Helper()
	return mustStartClusterWith(t, n, func(*local.Config) {}, extraArgs...)
}

// mustStartSecretCluster is mustStartCluster with a cluster secret: only
// with one is a follower's forwarding connection told from a client (by
// its proof), and spared what clients are subject to.
func mustStartSecretCluster(t *testing.T, n int, extraArgs ...string) *local.Cluster {
	t.Helper()
	return mustStartClusterWith(t, n, func(cfg *local.Config) { cfg.ClusterSecret = "test-cluster-secret" }, extraArgs...)
}

// mustStartClusterWith starts n nodes with the tests' timing and log store
// and extraArgs, after edit has changed the config.
func mustStartClusterWith(t *testing.T, n int, edit func(*local.Config), extraArgs ...string) *local.Cluster {
	t.Helper()
	dir := t.TempDir()
	return startLocalCluster(t, fmt.Sprintf("a %d-node cluster", n), func(attempt int) local.Config {
		cfg := local.Config{
			Binary:    binary,
			Nodes:     n,
			BasePort:  freeBasePort(t),
			Host:      "127.0.0.1",
			Dir:       filepath.Join(dir, fmt.Sprintf("try%d", attempt)),
			ExtraArgs: append(append(append([]string(nil), testTimingArgs...), testStoreArgs()...), extraArgs...),
			LogDir:    filepath.Join(dir, "logs", fmt.Sprintf("try%d", attempt)),
		}
		edit(&cfg)
		return cfg
	})
}

// startLocalCluster starts the cluster config describes for an attempt
// (1 to 3; it picks fresh ports and directories each time), and stops it
// when the test ends, printing the nodes' logs if the test failed.
func startLocalCluster(t *testing.T, what string, config func(attempt int) local.Config) *local.Cluster {
	t.Helper()
	var lastErr error
	for attempt := 1; attempt <= 3; attempt++ {
		cfg := config(attempt)
		ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
		c, err := local.Start(ctx, cfg)
		cancel()
		if err == nil {
			t.Cleanup(func() {
				c.Stop()
				if t.Failed() {
					dumpLogs(t, c.Config().LogDir)
				}
			})
			return c
		}
		lastErr = err
		// A port another process grabbed between the probe and the
		// start is the one failure worth a second try.
		if !strings.Contains(err.Error(), "address already in use") {
			dumpLogs(t, cfg.LogDir)
			break
		}
		t.Logf("starting %s (attempt %d): %v", what, attempt, err)
	}
	t.Fatalf("start %s: %v", what, lastErr)
	return nil
}

// logTailLines is how much of each node's log a failed test prints.
const logTailLines = 80

// dumpLogs prints the last lines of every log file under dir.
func dumpLogs(t *testing.T, dir string) {
	t.Helper()
	filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return nil
		}
		lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
		if len(lines) > logTailLines {
			lines = lines[len(lines)-logTailLines:]
		}
		t.Logf("---- %s (last %d lines) ----\n%s", path, len(lines), strings.Join(lines, "\n"))
		return nil
	})
}

// fileContains reports whether the file at path holds text.
func fileContains(path, text string) bool {
	data, err := os.ReadFile(path)
	return err == nil && bytes.Contains(data, []byte(text))
}

// ---------------------------------------------------------------------------
// A real redis-server.

// redisServer is a redis-server process the test started.
type redisServer struct {
	Addr string
	cmd  *exec.Cmd
	log  *bytes.Buffer
}

// mustStartRedis starts redis-server on a free loopback port without
// persistence. Without redis-server installed the test is skipped, except
// in CI (CI=true), where the missing server is a failure.
func mustStartRedis(t *testing.T) *redisServer {
	t.Helper()
	path, err := exec.LookPath("redis-server")
	if err != nil {
		msg := "redis-server is not installed (apt-get install redis-server); the differential test needs a real Redis"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		port := freePort(t)
		srv := &redisServer{Addr: "127.0.0.1:" + strconv.Itoa(port), log: &bytes.Buffer{}}
		srv.cmd = exec.Command(path,
			"--port", strconv.Itoa(port), "--bind", "127.0.0.1",
			"--save", "", "--appendonly", "no",
			"--dir", t.TempDir(), "--logfile", "")
		srv.cmd.Stdout = srv.log
		srv.cmd.Stderr = srv.log
		// Killed with the test binary, even if it dies without cleanup.
		srv.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		if err := srv.cmd.Start(); err != nil {
			t.Fatalf("start redis-server: %v", err)
		}
		if lastErr = waitPing(srv.Addr, 10*time.Second); lastErr == nil {
			t.Cleanup(func() {
				srv.cmd.Process.Kill()
				srv.cmd.Wait()
			})
			return srv
		}
		srv.cmd.Process.Kill()
		srv.cmd.Wait()
		t.Logf("redis-server on %s did not come up: %v\n%s", srv.Addr, lastErr, srv.log)
	}
	t.Fatalf("redis-server did not start: %v", lastErr)
	return nil
}

// waitPing waits until addr answers PING with PONG.
func waitPing(addr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var err error
	for time.Now().Before(deadline) {
		if err = pingOnce(addr); err == nil {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return err
}

func pingOnce(addr string) error {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := conn.Write([]byte("*1\r\n$4\r\nPING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return err
	}
	if line != "+PONG\r\n" {
		return fmt.Errorf("PING answered %q", line)
	}
	return nil
}
