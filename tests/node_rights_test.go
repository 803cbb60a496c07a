package tests

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Node rights (membership, forwarding with any owner, purging waiters)
// need the cluster secret, which the client password does not reveal
// (issue 16, item 2).

// TestTheClientPasswordGivesNoNodeRights: an attacker who knows only the
// client password tries to log in as the cluster with it and to remove a
// member, forge a forwarded write and purge another node's waiters.
func TestTheClientPasswordGivesNoNodeRights(t *testing.T) {
	c := mustStartAuthCluster(t, 3, authPassword)
	leader := mustLeader(t, c)
	victim := followers(c, leader)[0]
	for _, n := range c.Nodes {
		conn := mustDial(t, n.ClientAddr)
		if r := mustDo(t, conn, "AUTH", "raftlist-cluster", authPassword); r.String() != "-WRONGPASS invalid username-password pair or user is disabled." {
			t.Errorf("AUTH raftlist-cluster <password> on %s: exp WRONGPASS, got %s", n.ID, r)
		}
		// Whatever AUTH said, try the node commands on the same connection.
		for _, cmd := range [][]string{
			{"RAFT", "REMOVENODE", victim.ID},
			{"RAFT", "FORWARD", "0", victim.ID + "/forged", "1", "RPUSH", "forged", "v"},
			{"RAFT", "PURGEOWNER", victim.ID, "none"},
		} {
			r := mustDo(t, conn, cmd...)
			if !strings.HasPrefix(r.String(), "-NOAUTH") {
				t.Errorf("%v on %s after the refused AUTH: exp NOAUTH, got %s", cmd, n.ID, r)
			}
		}
		mustDo(t, conn, "AUTH", authPassword)
		if r := mustDo(t, conn, "RAFT", "REMOVENODE", victim.ID); r.String() != "-NOPERM this user has no permissions to run the 'raft|removenode' command" {
			t.Errorf("RAFT REMOVENODE as the default user on %s: exp NOPERM, got %s", n.ID, r)
		}
		conn.Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	members, err := leader.Members(ctx)
	if err != nil || len(members) != 3 {
		t.Fatalf("members after the attempts: exp 3, got %v (%v)", members, err)
	}
	if n, err := leader.Client().Exists(ctx, "forged").Result(); err != nil || n != 0 {
		t.Fatalf("EXISTS forged: exp 0, got %d (%v)", n, err)
	}
	mustConverge(t, c)
}

// startServer runs `raftlist server args...` with its output in a log file
// and returns the log's path and a channel that gets the exit error.
func startServer(t *testing.T, args ...string) (logPath string, done <-chan error) {
	t.Helper()
	logPath = filepath.Join(t.TempDir(), "server.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(binary, append([]string{"server"}, args...)...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ch := make(chan error, 1)
	go func() {
		ch <- cmd.Wait()
		logf.Close()
	}()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-ch:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
		}
	})
	return logPath, ch
}

// TestAPasswordAloneRunsOneNodeAndJoinsNothing: `server --bootstrap
// --requirepass x` keeps working as a one-node server, but the password is
// not the cluster secret there either, and a node that would join with only
// a password refuses to start, saying how to set a secret.
func TestAPasswordAloneRunsOneNodeAndJoinsNothing(t *testing.T) {
	addr := "127.0.0.1:" + strconv.Itoa(freePort(t))
	args := []string{"--id", "solo", "--listen", addr, "--raft", "127.0.0.1:" + strconv.Itoa(freePort(t)),
		"--data", filepath.Join(t.TempDir(), "solo"), "--bootstrap", "--requirepass", authPassword}
	logPath, done := startServer(t, append(args, testTimingArgs...)...)
	var conn *rawConn
	for deadline := time.Now().Add(30 * time.Second); conn == nil; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(logPath)
			t.Fatalf("the one-node server does not take a write after 30s:\n%s", log)
		}
		c, err := dialRaw(addr, 10*time.Second)
		if err != nil {
			continue
		}
		if raws, err := c.pipeline([][][]byte{bargs("AUTH", authPassword), bargs("RPUSH", "solo:list", "a")}); err == nil && string(raws[1]) == ":1\r\n" {
			conn = c
			continue
		}
		c.Close()
	}
	defer conn.Close()
	if r := mustDo(t, conn, "AUTH", "raftlist-cluster", authPassword); !strings.HasPrefix(r.String(), "-WRONGPASS") {
		t.Errorf("AUTH raftlist-cluster <password>: exp WRONGPASS, got %s", r)
	}
	// A blocking pop's timeout is an internal UNBLOCK the node proposes to
	// itself: the node keeps its own rights.
	start := time.Now()
	if r := mustDo(t, conn, "BLPOP", "solo:nothing", "1"); r.String() != "(nil array)" {
		t.Errorf("BLPOP with a 1s timeout: exp a nil reply, got %s", r)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("BLPOP 1 took %v", took)
	}
	if r := mustDo(t, conn, "RAFT", "REMOVENODE", "solo"); !strings.HasPrefix(r.String(), "-NOPERM") {
		t.Errorf("RAFT REMOVENODE with the password: exp NOPERM, got %s", r)
	}
	select {
	case err := <-done:
		log, _ := os.ReadFile(logPath)
		t.Fatalf("the one-node server exited: %v\n%s", err, log)
	default:
	}

	// A second node with only the password cannot join it.
	joinLog, joinDone := startServer(t, "--id", "joiner", "--listen", "127.0.0.1:"+strconv.Itoa(freePort(t)),
		"--raft", "127.0.0.1:"+strconv.Itoa(freePort(t)), "--data", filepath.Join(t.TempDir(), "joiner"),
		"--join", addr, "--requirepass", authPassword)
	select {
	case err := <-joinDone:
		log, _ := os.ReadFile(joinLog)
		if err == nil || !bytes.Contains(log, []byte("--cluster-secret")) {
			t.Errorf("a node joining with only a password: exp a failed start naming --cluster-secret, got %v:\n%s", err, log)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("a node joining with only a password still runs after 20s")
	}
}
