package tests

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// procNode is one `raftlist server` process that a test stops, wipes and
// starts again with the same addresses.
type procNode struct {
	id, addr, raft, data, logPath string
	cmd                           *exec.Cmd
	done                          chan error
}

func newProcNode(t *testing.T, id string) *procNode {
	dir := t.TempDir()
	return &procNode{id: id, addr: "127.0.0.1:" + strconv.Itoa(freePort(t)),
		raft: "127.0.0.1:" + strconv.Itoa(freePort(t)), data: filepath.Join(dir, "data"), logPath: filepath.Join(dir, id+".log")}
}

// start runs the node with its cluster flags; the log is appended to, so a
// restart's log follows the first run's.
func (n *procNode) start(t *testing.T, clusterArgs ...string) {
	t.Helper()
	logf, err := os.OpenFile(n.logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	args := append([]string{"server", "--id", n.id, "--listen", n.addr, "--raft", n.raft, "--data", n.data}, testTimingArgs...)
	n.cmd = exec.Command(binary, append(args, clusterArgs...)...)
	n.cmd.Stdout, n.cmd.Stderr = logf, logf
	n.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := n.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	n.done = done
	go func() { done <- n.cmd.Wait(); logf.Close() }()
	t.Cleanup(func() { n.stop() })
}

func (n *procNode) stop() {
	if n.cmd == nil {
		return
	}
	n.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-n.done:
	case <-time.After(10 * time.Second):
		n.cmd.Process.Kill()
		<-n.done
	}
	n.cmd = nil
}

func (n *procNode) log() string {
	b, _ := os.ReadFile(n.logPath)
	return string(b)
}

// info returns INFO raft of the node, or nil if it does not answer.
func (n *procNode) info() map[string]string {
	rdb := redis.NewClient(&redis.Options{Addr: n.addr, MaxRetries: -1, DialTimeout: 2 * time.Second, ReadTimeout: 2 * time.Second})
	defer rdb.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	text, err := rdb.Info(ctx, "raft").Result()
	if err != nil {
		return nil
	}
	out := map[string]string{}
	for _, line := range strings.Split(text, "\n") {
		if k, v, ok := strings.Cut(strings.TrimRight(line, "\r"), ":"); ok {
			out[k] = v
		}
	}
	return out
}

// waitRaftInfo waits until ok holds for the node's INFO raft.
func waitRaftInfo(t *testing.T, n *procNode, what string, ok func(map[string]string) bool) map[string]string {
	t.Helper()
	var last map[string]string
	for deadline := time.Now().Add(45 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if last = n.info(); last != nil && ok(last) {
			return last
		}
	}
	t.Fatalf("%s: exp %s within 45s, got INFO raft %v\nlog:\n%s", n.id, what, last, n.log())
	return nil
}

func inClusterOf(members int) func(map[string]string) bool {
	return func(m map[string]string) bool {
		return m["raft_members"] == strconv.Itoa(members) && m["raft_leader_id"] != ""
	}
}

func joinList(nodes ...*procNode) string {
	var addrs []string
	for _, n := range nodes {
		addrs = append(addrs, n.addr)
	}
	return strings.Join(addrs, ",")
}

// deadAddr is a loopback address nothing listens on.
func deadAddr(t *testing.T) string { return "127.0.0.1:" + strconv.Itoa(freePort(t)) }

func TestJoinTriesEveryAddressPastADeadFirstOne(t *testing.T) {
	n1, n2 := newProcNode(t, "n1"), newProcNode(t, "n2")
	n1.start(t, "--bootstrap")
	waitRaftInfo(t, n1, "leader of itself", func(m map[string]string) bool { return m["raft_role"] == "leader" })
	n2.start(t, "--join", deadAddr(t)+","+n1.addr, "--join-timeout", "60s")
	m := waitRaftInfo(t, n2, "a member of n1's two-node cluster", inClusterOf(2))
	if m["raft_leader_id"] != "n1" {
		t.Fatalf("n2's leader: exp n1, got %q", m["raft_leader_id"])
	}
}

func TestJoinGivesUpAfterJoinTimeoutAndExitsNonZero(t *testing.T) {
	n := newProcNode(t, "lonely")
	began := time.Now()
	n.start(t, "--join", deadAddr(t)+","+deadAddr(t), "--join-timeout", "3s")
	var err error
	select {
	case err = <-n.done:
		n.cmd = nil
	case <-time.After(30 * time.Second):
		t.Fatalf("a node that can join nothing still runs 30s after --join-timeout 3s\nlog:\n%s", n.log())
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() == 0 {
		t.Fatalf("exit: exp a non-zero status, got %v\nlog:\n%s", err, n.log())
	}
	if took := time.Since(began); took < 3*time.Second {
		t.Errorf("gave up after %v, before --join-timeout 3s", took)
	}
	if !strings.Contains(n.log(), "gave up joining") {
		t.Errorf("log: exp 'gave up joining', got:\n%s", n.log())
	}
}

// startExpectCluster starts three empty nodes with --bootstrap-expect 3,
// each listing the other two, and waits for one three-node cluster.
func startExpectCluster(t *testing.T) []*procNode {
	t.Helper()
	nodes := []*procNode{newProcNode(t, "n1"), newProcNode(t, "n2"), newProcNode(t, "n3")}
	for i, n := range nodes {
		n.start(t, expectArgs(nodes, i)...)
	}
	for _, n := range nodes {
		waitRaftInfo(t, n, "a member of a three-node cluster", inClusterOf(3))
	}
	return nodes
}

func expectArgs(nodes []*procNode, self int) []string {
	var others []*procNode
	for i, n := range nodes {
		if i != self {
			others = append(others, n)
		}
	}
	return []string{"--bootstrap-expect", "3", "--join", joinList(others...), "--join-timeout", "60s"}
}

func TestBootstrapExpectFoundsOneClusterOfTheExpectedNodes(t *testing.T) {
	nodes := startExpectCluster(t)
	leader := nodes[0].info()["raft_leader_id"]
	for _, n := range nodes[1:] {
		if got := n.info()["raft_leader_id"]; got != leader {
			t.Errorf("%s's leader: exp %q (n1's), got %q", n.id, leader, got)
		}
	}
	if !strings.Contains(nodes[0].log(), "bootstrapped a new cluster") {
		t.Errorf("n1, the lowest id, did not bootstrap; log:\n%s", nodes[0].log())
	}
	for _, n := range nodes[1:] {
		if strings.Contains(n.log(), "bootstrapped a new cluster") {
			t.Errorf("%s bootstrapped too; log:\n%s", n.id, n.log())
		}
	}
}

// TestAWipedBootstrapExpectNodeRejoinsItsCluster: the node that founded
// the cluster loses its disk and restarts with the same command line. While
// its peers are down it gives up (exit 1) instead of founding a cluster;
// once they are back it finds them in a cluster and joins it.
func TestAWipedBootstrapExpectNodeRejoinsItsCluster(t *testing.T) {
	nodes := startExpectCluster(t)
	n1 := nodes[0]
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: nodes[1].addr})
	defer rdb.Close()
	if err := rdb.RPush(ctx, "before-wipe", "a").Err(); err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes {
		n.stop()
	}
	if err := os.RemoveAll(n1.data); err != nil {
		t.Fatal(err)
	}

	t.Run("with its peers down it gives up rather than bootstrap", func(t *testing.T) {
		args := expectArgs(nodes, 0)
		n1.start(t, append(args[:len(args)-2], "--join-timeout", "4s")...)
		select {
		case err := <-n1.done:
			n1.cmd = nil
			if err == nil {
				t.Fatalf("exp a non-zero exit, got 0\nlog:\n%s", n1.log())
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("still running 30s after --join-timeout 4s\nlog:\n%s", n1.log())
		}
		if strings.Count(n1.log(), "bootstrapped a new cluster") != 1 {
			t.Fatalf("the wiped n1 bootstrapped again; log:\n%s", n1.log())
		}
	})

	for i, n := range nodes[1:] {
		n.start(t, expectArgs(nodes, i+1)...)
	}
	waitRaftInfo(t, nodes[1], "a leader among n2 and n3", func(m map[string]string) bool {
		return m["raft_leader_id"] == "n2" || m["raft_leader_id"] == "n3"
	})
	n1.start(t, expectArgs(nodes, 0)...)
	m := waitRaftInfo(t, n1, "back in the three-node cluster, led by n2 or n3", func(m map[string]string) bool {
		return inClusterOf(3)(m) && m["raft_leader_id"] != "n1" && m["raft_applied_index"] != "0"
	})
	if m["raft_role"] != "follower" {
		t.Errorf("n1's role: exp follower, got %q", m["raft_role"])
	}
	if strings.Count(n1.log(), "bootstrapped a new cluster") != 1 {
		t.Errorf("the wiped n1 bootstrapped again; log:\n%s", n1.log())
	}
	if !strings.Contains(n1.log(), "joined an existing cluster") {
		t.Errorf("n1's log: exp 'joined an existing cluster', got:\n%s", n1.log())
	}
	n1c := redis.NewClient(&redis.Options{Addr: n1.addr})
	defer n1c.Close()
	if err := n1c.RPush(ctx, "before-wipe", "b").Err(); err != nil {
		t.Fatalf("RPUSH through the rejoined n1: %v", err)
	}
	if got, err := rdb.LRange(ctx, "before-wipe", 0, -1).Result(); err != nil || strings.Join(got, ",") != "a,b" {
		t.Errorf("before-wipe on n2: exp [a b], got %v (%v)", got, err)
	}
}

// TestAWipedBootstrapNodeFoundsASecondCluster shows what the installer no
// longer does: its old unit ran the first node with --bootstrap on every
// start. After a reboot of the whole cluster in which node1's disk was
// wiped, node1 comes up first and founds a new one-node cluster that
// acknowledges writes. Before cluster ids, its old peers came back with
// --join, were taken into that cluster and had the old data overwritten;
// now each refuses to join a cluster it was not a member of and stops,
// its data kept for an operator (issue 16). --bootstrap keeps its meaning
// for `cluster up` and tests; deployments use --bootstrap-expect.
func TestAWipedBootstrapNodeFoundsASecondCluster(t *testing.T) {
	n1, n2, n3 := newProcNode(t, "n1"), newProcNode(t, "n2"), newProcNode(t, "n3")
	n1.start(t, "--bootstrap")
	waitRaftInfo(t, n1, "leader of itself", func(m map[string]string) bool { return m["raft_role"] == "leader" })
	n2.start(t, "--join", n1.addr)
	n3.start(t, "--join", n1.addr)
	for _, n := range []*procNode{n1, n2, n3} {
		waitRaftInfo(t, n, "a member of a three-node cluster", inClusterOf(3))
	}
	ctx := context.Background()
	old := redis.NewClient(&redis.Options{Addr: n2.addr})
	defer old.Close()
	if err := old.RPush(ctx, "old", "data").Err(); err != nil {
		t.Fatal(err)
	}
	for _, n := range []*procNode{n1, n2, n3} {
		n.stop()
	}
	os.RemoveAll(n1.data)
	n1.start(t, "--bootstrap")
	waitRaftInfo(t, n1, "leader of a new one-node cluster (the hazard)", func(m map[string]string) bool {
		return m["raft_role"] == "leader" && m["raft_members"] == "1"
	})
	c := redis.NewClient(&redis.Options{Addr: n1.addr})
	defer c.Close()
	if err := c.RPush(ctx, "split", "brain").Err(); err != nil {
		t.Fatalf("the second cluster refused a write: %v", err)
	}
	n2.start(t, "--join", n1.addr, "--join-timeout", "20s")
	select {
	case <-n2.done:
		n2.cmd = nil
	case <-time.After(40 * time.Second):
		t.Fatalf("n2, of the first cluster, still runs 40s after --join to the second\nlog:\n%s\nn1's INFO raft: %v", n2.log(), n1.info())
	}
	if !strings.Contains(n2.log(), "a node never moves between clusters") {
		t.Errorf("n2's log: exp the reason it stopped, got:\n%s", n2.log())
	}
	if m := n1.info(); m["raft_members"] != "1" {
		t.Fatalf("the second cluster's members after n2's attempt: exp 1, got %q", m["raft_members"])
	}
	// n2's data is the first cluster's, untouched: with n3 (both started
	// on their data, no --join) it is a majority of that cluster, which
	// elects a leader and still holds the acknowledged write.
	n2.start(t)
	n3.start(t)
	waitRaftInfo(t, n2, "the first cluster's majority with a leader", func(m map[string]string) bool { return m["raft_leader_id"] != "" })
	var got []string
	var err error
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if got, err = old.LRange(ctx, "old", 0, -1).Result(); err == nil && len(got) > 0 {
			break
		}
	}
	if len(got) != 1 || got[0] != "data" {
		t.Fatalf("the first cluster after refusing the second: exp old=[data], got %v (%v)", got, err)
	}
}
