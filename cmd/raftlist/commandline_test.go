package main

import (
	"bytes"
	"context"
	"errors"
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

	"github.com/redis/go-redis/v9"
)

// testVersion is what the binary under test is stamped with.
const testVersion = "v9.9.9-test"

var (
	binaryOnce sync.Once
	binaryPath string
	binaryErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binaryPath != "" {
		os.RemoveAll(filepath.Dir(binaryPath))
	}
	os.Exit(code)
}

// raftlistBinary builds the real binary once per test run, stamped with
// testVersion as a release build would be.
func raftlistBinary(t *testing.T) string {
	t.Helper()
	binaryOnce.Do(func() {
		dir, err := os.MkdirTemp("", "raftlist-cmd-test-")
		if err != nil {
			binaryErr = err
			return
		}
		binaryPath = filepath.Join(dir, "raftlist")
		out, err := exec.Command("go", "build", "-ldflags", "-X main.version="+testVersion, "-o", binaryPath, ".").CombinedOutput()
		if err != nil {
			binaryErr = errors.New(string(out))
		}
	})
	if binaryErr != nil {
		t.Fatalf("build raftlist: %v", binaryErr)
	}
	return binaryPath
}

// result is what one run of the binary did.
type result struct {
	code           int
	stdout, stderr string
}

// runBinary runs the binary with args to its end (at most 20 s).
func runBinary(t *testing.T, args ...string) result {
	t.Helper()
	bin := raftlistBinary(t) // before the clock starts: the first call builds it
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("%q: %v", args, err)
	}
	if ctx.Err() != nil {
		t.Fatalf("%q did not exit within 20 s; stderr:\n%s", args, stderr.String())
	}
	return result{cmd.ProcessState.ExitCode(), stdout.String(), stderr.String()}
}

func TestHelpExitsZeroForEveryVerb(t *testing.T) {
	for _, args := range [][]string{
		{"--help"}, {"-h"}, {"help"}, {"help", "server"}, {"help", "cluster"},
		{"server", "--help"}, {"server", "-h"}, {"server", "-help"},
		{"cluster", "--help"}, {"cluster", "up", "--help"}, {"cluster", "up", "-h"},
		{"demo", "--help"}, {"demo", "failover", "--help"},
		{"version", "--help"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			r := runBinary(t, args...)
			if r.code != 0 || !strings.HasPrefix(r.stdout, "usage: raftlist ") || r.stderr != "" {
				t.Fatalf("exp exit 0 with the usage on stdout and nothing on stderr, got exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
			}
		})
	}
	if r := runBinary(t, "server", "--help"); !strings.Contains(r.stdout, "-bootstrap") || !strings.Contains(r.stdout, "tls-port") {
		t.Errorf("server --help: exp its flags and the config file's Redis names, got:\n%s", r.stdout)
	}
}

func TestVersionIsTheOneSetAtBuildTime(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}} {
		r := runBinary(t, args...)
		if exp := "raftlist " + testVersion + " (go"; r.code != 0 || !strings.HasPrefix(r.stdout, exp) {
			t.Errorf("%q: exp exit 0 and %q..., got exit %d %q %q", args, exp, r.code, r.stdout, r.stderr)
		}
	}
}

func TestVersionFallsBackToTheBuildInfo(t *testing.T) {
	// This test binary is not stamped: the version comes from the build
	// info, which always yields something to print.
	if version != "" {
		t.Skip("stamped test binary")
	}
	if got := buildVersion(); got == "" || got == "(devel)" {
		t.Fatalf("exp a version from the build info, got %q", got)
	}
}

func TestABadCommandLineIsOneLineWithAHint(t *testing.T) {
	cases := []struct {
		args []string
		exp  string
	}{
		{[]string{"server", "--foo"}, "raftlist server: flag provided but not defined: -foo (see raftlist server --help)\n"},
		{[]string{"server", "--maxclients", "many"}, "raftlist server: invalid value \"many\" for flag -maxclients: parse error (see raftlist server --help)\n"},
		{[]string{"server", "--bootstrap", "--join", "127.0.0.1:1"}, "raftlist server: --bootstrap and --join exclude each other (see raftlist server --help)\n"},
		{[]string{"server", "--timeout", "-1"}, "raftlist server: --timeout -1: must be 0 (never) or more (see raftlist server --help)\n"},
		{[]string{"server", "--timeout", "1500ms"}, "raftlist server: invalid value \"1500ms\" for flag -timeout: want whole seconds, as Redis's timeout (see raftlist server --help)\n"},
		{[]string{"server", "--maxclients", "-1"}, "raftlist server: --maxclients -1: must be 0 (no limit) or more (see raftlist server --help)\n"},
		{[]string{"cluster", "up", "--foo"}, "raftlist cluster: flag provided but not defined: -foo (see raftlist cluster up --help)\n"},
		{[]string{"cluster", "down"}, "raftlist cluster: the one cluster command is `cluster up` (see raftlist cluster up --help)\n"},
		{[]string{"demo", "failover", "stray"}, "raftlist demo: unexpected argument \"stray\" (see raftlist demo failover --help)\n"},
		{[]string{"version", "--short"}, "raftlist version: flag provided but not defined: -short (see raftlist version --help)\n"},
		{[]string{"frobnicate"}, "raftlist: unknown command \"frobnicate\" (see raftlist --help)\n"},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			r := runBinary(t, tc.args...)
			if r.code != 2 || r.stderr != tc.exp || r.stdout != "" {
				t.Fatalf("exp exit 2 and stderr %q, got exit %d, stderr %q, stdout %q", tc.exp, r.code, r.stderr, r.stdout)
			}
		})
	}
}

// freeLoopbackPort returns a port free on 127.0.0.1 whose +10000 is free
// too (the server's default Raft port).
func freeLoopbackPort(t *testing.T) int {
	t.Helper()
	for range 100 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if port > 55000 {
			continue
		}
		if r, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port+10000)); err == nil {
			r.Close()
			return port
		}
	}
	t.Fatal("no free port pair")
	return 0
}

// startServer starts `raftlist server args...`, to be stopped by the
// returned stop (SIGTERM, then its exit error) or at the end of the test.
// stderr goes to a log file whose text logOf returns.
func startServer(t *testing.T, args ...string) (stop func() error, logOf func() string) {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), "node.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(raftlistBinary(t), append([]string{"server"}, args...)...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var exitErr error
	done := make(chan struct{})
	go func() { exitErr = cmd.Wait(); logf.Close(); close(done) }()
	stop = func() error {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		return exitErr
	}
	t.Cleanup(func() { stop() })
	logOf = func() string { b, _ := os.ReadFile(logPath); return string(b) }
	return stop, logOf
}

// waitWritable waits until a write through addr succeeds.
func waitWritable(t *testing.T, addr string, logOf func() string) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	t.Cleanup(func() { c.Close() })
	deadline := time.Now().Add(15 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := c.RPush(ctx, "k", "v").Err()
		cancel()
		if err == nil {
			return c
		}
		if time.Now().After(deadline) {
			t.Fatalf("no write through %s within 15 s: %v\nnode log:\n%s", addr, err, logOf())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestALoneServerRefusesAnEmptyDataDirButResumesItsOwn(t *testing.T) {
	port := freeLoopbackPort(t)
	listen := "127.0.0.1:" + strconv.Itoa(port)
	data := filepath.Join(t.TempDir(), "data")
	timing := []string{"--heartbeat-timeout", "300ms", "--election-timeout", "300ms"}

	r := runBinary(t, append([]string{"server", "--listen", listen, "--data", data}, timing...)...)
	if r.code != 1 || !strings.Contains(r.stderr, "neither --bootstrap nor --join") || !strings.Contains(r.stderr, "--join HOST:PORT") {
		t.Fatalf("exp exit 1 saying neither --bootstrap nor --join was given, with a hint, got exit %d:\n%s", r.code, r.stderr)
	}

	t.Run("a bootstrapped node restarted without --bootstrap resumes its cluster", func(t *testing.T) {
		stop, logOf := startServer(t, append([]string{"--listen", listen, "--data", data, "--bootstrap"}, timing...)...)
		waitWritable(t, listen, logOf)
		if err := stop(); err != nil {
			t.Fatalf("exp a clean stop, got %v\n%s", err, logOf())
		}
		_, logOf = startServer(t, append([]string{"--listen", listen, "--data", data}, timing...)...)
		c := waitWritable(t, listen, logOf)
		if got, err := c.LRange(context.Background(), "k", 0, -1).Result(); err != nil || len(got) < 2 {
			t.Fatalf("exp the first run's element and the new one, got %v (%v)", got, err)
		}
	})
}

func TestAConfigFileWithRedisNamesRunsANode(t *testing.T) {
	port := freeLoopbackPort(t)
	data := filepath.Join(t.TempDir(), "data")
	path := writeConfig(t, "# redis.conf names\nport "+strconv.Itoa(port)+"\nbind 127.0.0.1\ndir "+data+
		"\nloglevel warning\ntls-port 0\nbootstrap yes\nelection-timeout 300ms\nheartbeat-timeout 300ms\n")
	addr := "127.0.0.1:" + strconv.Itoa(port)
	_, logOf := startServer(t, path)
	c := waitWritable(t, addr, logOf)
	got, err := c.ConfigGet(context.Background(), "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	for key, exp := range map[string]string{
		"port": strconv.Itoa(port), "bind": "127.0.0.1", "dir": data, "loglevel": "warning",
		"log-level": "warn", "tls-port": "0", "listen": addr, "data": data,
	} {
		if got[key] != exp {
			t.Errorf("CONFIG GET %s: exp %q, got %q", key, exp, got[key])
		}
	}
	if entries, err := os.ReadDir(data); err != nil || len(entries) == 0 {
		t.Errorf("exp the node's data in %s (dir), got %v", data, err)
	}
}

// One --test-clock-skew list serves every node of a test cluster: each
// takes its own entry, and a malformed list is refused at parse time.
func TestClockSkewListGivesEachNodeItsOwn(t *testing.T) {
	for _, tc := range []struct {
		list, id string
		want     time.Duration
	}{
		{"node1=1s", "node1", time.Second},
		{"node1=1s", "node2", 0},
		{"node1=+1s,node2=-250ms", "node2", -250 * time.Millisecond},
		{"", "node1", 0},
	} {
		if got, err := clockSkewOf(tc.list, tc.id); err != nil || got != tc.want {
			t.Errorf("%q for %s: exp %v, got %v (%v)", tc.list, tc.id, tc.want, got, err)
		}
	}
	for _, bad := range []string{"node1", "node1=fast", "=1s,node2"} {
		if _, err := parseServerFlags([]string{"--test-clock-skew", bad}); err == nil || !strings.Contains(err.Error(), "--test-clock-skew") {
			t.Errorf("%q: exp a usage error naming the flag, got %v", bad, err)
		}
	}
}
