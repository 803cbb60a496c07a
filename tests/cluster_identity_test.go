package tests

import (
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestANodeOfAnotherClusterIsRefusedAtJoin: b founded a cluster of its
// own; restarted with --join pointing at cluster a, it must stop with a
// clear error rather than be admitted and have a's leader overwrite its
// log. A node with an empty data dir joins a and learns a's id.
func TestANodeOfAnotherClusterIsRefusedAtJoin(t *testing.T) {
	a, b, c := newProcNode(t, "a1"), newProcNode(t, "b1"), newProcNode(t, "c1")
	a.start(t, "--bootstrap")
	b.start(t, "--bootstrap")
	ia := waitRaftInfo(t, a, "leader of itself", func(m map[string]string) bool { return m["raft_role"] == "leader" })
	ib := waitRaftInfo(t, b, "leader of itself", func(m map[string]string) bool { return m["raft_role"] == "leader" })
	if ia["raft_cluster_id"] == "" || ia["raft_cluster_id"] == ib["raft_cluster_id"] {
		t.Fatalf("exp two different cluster ids, got %q and %q", ia["raft_cluster_id"], ib["raft_cluster_id"])
	}
	c.start(t, "--join", a.addr)
	if ic := waitRaftInfo(t, c, "a member of a's cluster", inClusterOf(2)); ic["raft_cluster_id"] != ia["raft_cluster_id"] {
		t.Fatalf("the joined node's cluster id: exp %q, got %q", ia["raft_cluster_id"], ic["raft_cluster_id"])
	}

	b.stop()
	b.start(t, "--join", a.addr, "--join-timeout", "20s")
	var err error
	select {
	case err = <-b.done:
		b.cmd = nil
	case <-time.After(40 * time.Second):
		t.Fatalf("b, of another cluster, still runs 40s after --join to a\nlog:\n%s\na's INFO raft: %v", b.log(), a.info())
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() == 0 {
		t.Fatalf("exit: exp a non-zero status, got %v\nlog:\n%s", err, b.log())
	}
	if !strings.Contains(b.log(), "a node never moves between clusters") {
		t.Errorf("log: exp the reason, got:\n%s", b.log())
	}
	if m := a.info(); m["raft_members"] != "2" {
		t.Fatalf("a's members after b's attempt: exp 2, got %q", m["raft_members"])
	}
}
