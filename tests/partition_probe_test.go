package tests

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/raftlist/raftlist/cluster/local"
)

// TestStatusAndReadyzOnANodeCutOffFromTheOthers cuts one follower's Raft
// traffic with iptables (each node on its own loopback IP; clients and the
// metrics listeners untouched), as a network partition does. Its /readyz
// turns 503 while /healthz stays 200, and `raftlist status` asked through
// the cut-off node still names the leader the others follow, says that the
// asked node knows of none, and exits 1.
func TestStatusAndReadyzOnANodeCutOffFromTheOthers(t *testing.T) {
	cut := mustLoopbackFirewall(t)
	hosts := []string{"127.0.0.41", "127.0.0.42", "127.0.0.43"}
	c := mustStartClusterWith(t, 3, func(cfg *local.Config) { cfg.Hosts = hosts }, "--metrics", "127.0.0.1:0")
	leader := mustLeader(t, c)
	island := followers(c, leader)[0]
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	metrics := mustMetricsAddr(t, ctx, island)
	waitProbe(t, metrics+"/readyz", http.StatusOK, 20*time.Second)

	for _, n := range c.Nodes {
		if n != island {
			cut(island.RaftAddr, n.RaftAddr)
		}
	}
	body := waitProbe(t, metrics+"/readyz", http.StatusServiceUnavailable, 30*time.Second)
	t.Logf("%s /readyz while cut off: %s", island.ID, strings.TrimSpace(body))
	if code, body := probe(t, metrics+"/healthz"); code != http.StatusOK {
		t.Errorf("%s /healthz while cut off: exp 200, got %d %q", island.ID, code, body)
	}

	stdout, stderr, code := runStatusCmd(t, "--addr", island.ClientAddr, "--json")
	if code != 1 {
		t.Fatalf("status through the cut-off %s: exp exit 1, got %d\n%s%s", island.ID, code, stdout, stderr)
	}
	r := parseStatus(t, stdout)
	if r.Leader != leader.ID {
		t.Errorf("status through the cut-off %s: exp the leader the others follow, %s, got %q\n%s", island.ID, leader.ID, r.Leader, stdout)
	}
	if !strings.Contains(stderr, island.ID+" ("+island.ClientAddr+") knows of no leader") {
		t.Errorf("status through the cut-off %s: exp stderr to say it knows of no leader, got\n%s", island.ID, stderr)
	}
	for _, n := range r.Nodes {
		if !n.Reachable || (n.ID == island.ID) == (n.Problem == "") {
			t.Errorf("status through the cut-off %s: exp every node reachable and a problem for %s alone, got %+v", island.ID, island.ID, n)
		}
	}
}

// mustLoopbackFirewall skips the test where iptables cannot be used, and
// returns cut(a, b): drop the TCP traffic from Raft address a to Raft
// address b and back, on loopback, until the test ends. A node's Raft
// stream dials from its own --raft IP, so (source IP, destination IP,
// destination port) cuts exactly one link; every rule carries a comment
// naming this test run and is removed at cleanup.
func mustLoopbackFirewall(t *testing.T) func(a, b string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("iptables needs root")
	}
	if _, err := exec.LookPath("iptables"); err != nil {
		t.Skip("iptables is not installed")
	}
	tag := fmt.Sprintf("raftlist-test-%d", os.Getpid())
	rule := func(src, dst, dport string) []string {
		return []string{"OUTPUT", "-o", "lo", "-s", src, "-d", dst, "-p", "tcp", "--dport", dport,
			"-m", "comment", "--comment", tag, "-j", "DROP"}
	}
	run := func(action string, spec []string) error {
		out, err := exec.Command("iptables", append([]string{"-w", "5", action}, spec...)...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("iptables %s %s: %v: %s", action, strings.Join(spec, " "), err, out)
		}
		return nil
	}
	probe := rule("127.0.0.254", "127.0.0.254", "9")
	if err := run("-A", probe); err != nil {
		t.Skipf("iptables cannot add a rule here: %v", err)
	}
	if err := run("-D", probe); err != nil {
		t.Fatal(err)
	}
	var added [][]string
	t.Cleanup(func() {
		for _, spec := range added {
			if err := run("-D", spec); err != nil {
				t.Error(err)
			}
		}
	})
	return func(a, b string) {
		t.Helper()
		aIP, aPort, err := net.SplitHostPort(a)
		if err != nil {
			t.Fatal(err)
		}
		bIP, bPort, err := net.SplitHostPort(b)
		if err != nil {
			t.Fatal(err)
		}
		for _, spec := range [][]string{rule(aIP, bIP, bPort), rule(bIP, aIP, aPort)} {
			if err := run("-A", spec); err != nil {
				t.Fatal(err)
			}
			added = append(added, spec)
		}
	}
}
