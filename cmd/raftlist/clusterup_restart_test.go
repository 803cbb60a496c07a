package main

import (
	"bufio"
	"context"
	"math/rand/v2"
	"net"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// TestClusterUpRestartsFromItsOwnHint runs the real `cluster up` on ports
// other than the defaults, writes, stops it with Ctrl-C, and runs the
// command its hint printed: the same nodes must come back on the same
// ports, elect a leader and hold the write. (A hint that dropped --port
// started nodes whose Raft addresses matched no member of the stored
// configuration, so they never elected a leader.)
func TestClusterUpRestartsFromItsOwnHint(t *testing.T) {
	port, raftPort := freePortRun(t, 3), freePortRun(t, 3)
	for raftPort > port-3 && raftPort < port+3 {
		raftPort = freePortRun(t, 3)
	}
	dir := filepath.Join(t.TempDir(), "data")
	first := []string{"cluster", "up", "--port", strconv.Itoa(port), "--raft-port", strconv.Itoa(raftPort), "--dir", dir,
		"--", "--heartbeat-timeout", "500ms", "--election-timeout", "500ms"}
	addr := "127.0.0.1:" + strconv.Itoa(port+1)

	out := runClusterUpUntilInterrupted(t, first, func() {
		c := redis.NewClient(&redis.Options{Addr: addr})
		defer c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := c.RPush(ctx, "restart-check", "kept").Err(); err != nil {
			t.Fatalf("RPUSH through %s: %v", addr, err)
		}
	})
	hint := regexp.MustCompile("stopped; `(raftlist cluster up [^`]*)` brings the same data back").FindStringSubmatch(out)
	if hint == nil {
		t.Fatalf("exp a restart hint, got:\n%s", out)
	}
	words := strings.Fields(hint[1])
	for _, want := range []string{"--port", "--raft-port", "--election-timeout"} {
		if !strings.Contains(hint[1], want) {
			t.Errorf("hint %q lacks %s", hint[1], want)
		}
	}

	runClusterUpUntilInterrupted(t, words[1:], func() {
		c := redis.NewClient(&redis.Options{Addr: addr})
		defer c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		got, err := c.LRange(ctx, "restart-check", 0, -1).Result()
		if err != nil || len(got) != 1 || got[0] != "kept" {
			t.Fatalf("after restarting from the hint %q: exp [kept], got %v (%v)", hint[1], got, err)
		}
	})
}

// runClusterUpUntilInterrupted starts the binary with args, waits until it
// reports a leader, runs while, then sends SIGINT and returns everything it
// printed once it has exited.
func runClusterUpUntilInterrupted(t *testing.T, args []string, while func()) string {
	t.Helper()
	cmd := exec.Command(raftlistBinary(t), args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 1000)
	go func() {
		s := bufio.NewScanner(stdout)
		for s.Scan() {
			lines <- s.Text()
		}
		close(lines)
	}()
	var out strings.Builder
	deadline := time.After(90 * time.Second)
	for up := false; !up; {
		select {
		case line, ok := <-lines:
			if !ok {
				cmd.Wait()
				t.Fatalf("%v exited before reporting a leader:\n%s", args, out.String())
			}
			out.WriteString(line + "\n")
			up = strings.HasPrefix(line, "raftlist cluster up: 3 nodes, leader ")
		case <-deadline:
			cmd.Process.Kill()
			t.Fatalf("%v reported no leader within 90 s:\n%s", args, out.String())
		}
	}
	func() {
		defer cmd.Process.Signal(syscall.SIGINT)
		while()
	}()
	for line := range lines {
		out.WriteString(line + "\n")
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("%v after Ctrl-C: exp exit 0, got %v:\n%s", args, err, out.String())
	}
	return out.String()
}

// freePortRun returns the first of n consecutive ports free on 127.0.0.1.
func freePortRun(t *testing.T, n int) int {
	t.Helper()
	for range 200 {
		base := 20000 + rand.IntN(30000)
		free := true
		for p := base; p < base+n && free; p++ {
			l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
			if err != nil {
				free = false
				continue
			}
			l.Close()
		}
		if free {
			return base
		}
	}
	t.Fatalf("no %d consecutive free ports", n)
	return 0
}
