package local

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestParseInfoReadsFieldsAndSkipsHeaders(t *testing.T) {
	got := parseInfo("# Raft\r\nraft_node_id:node1\r\nraft_role:leader\r\n\r\n# Other\r\nraft_leader_addr:127.0.0.1:7600\r\n")
	exp := map[string]string{"raft_node_id": "node1", "raft_role": "leader", "raft_leader_addr": "127.0.0.1:7600"}
	if len(got) != len(exp) {
		t.Fatalf("exp %v, got %v", exp, got)
	}
	for k, v := range exp {
		if got[k] != v {
			t.Errorf("%s: exp %q, got %q", k, v, got[k])
		}
	}
}

func TestAgreedLeaderNeedsEveryNodeToNameIt(t *testing.T) {
	nodes := []*Node{{ID: "node1"}, {ID: "node2"}, {ID: "node3"}}
	view := func(role, leader, term string) map[string]string {
		return map[string]string{"raft_role": role, "raft_leader_id": leader, "raft_term": term}
	}
	tests := []struct {
		name  string
		views map[string]map[string]string
		exp   string // leader id, "" for an error
	}{
		{"all agree", map[string]map[string]string{
			"node1": view("leader", "node1", "2"), "node2": view("follower", "node1", "2"), "node3": view("follower", "node1", "2"),
		}, "node1"},
		{"one follower still names nobody", map[string]map[string]string{
			"node1": view("leader", "node1", "2"), "node2": view("follower", "node1", "2"), "node3": view("candidate", "", "3"),
		}, ""},
		{"a deposed leader loses to the higher term", map[string]map[string]string{
			"node1": view("leader", "node1", "2"), "node2": view("leader", "node2", "3"),
		}, ""},
		{"the higher term wins once all agree", map[string]map[string]string{
			"node1": view("leader", "node2", "3"), "node2": view("leader", "node2", "3"), "node3": view("follower", "node2", "3"),
		}, "node2"},
		{"no leader", map[string]map[string]string{
			"node1": view("candidate", "", "4"),
		}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := agreedLeader(nodes, tt.views)
			switch {
			case tt.exp == "" && err == nil:
				t.Fatalf("exp an error, got leader %s", got.ID)
			case tt.exp != "" && err != nil:
				t.Fatalf("exp %s, got error %v", tt.exp, err)
			case tt.exp != "" && got.ID != tt.exp:
				t.Fatalf("exp %s, got %s", tt.exp, got.ID)
			}
		})
	}
}

var (
	buildOnce sync.Once
	binary    string
	buildErr  error
)

// raftlistBinary builds ./cmd/raftlist once per test run.
func raftlistBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("starts real node processes; skipped under -short")
	}
	buildOnce.Do(func() {
		out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}").Output()
		if err != nil {
			buildErr = err
			return
		}
		root := strings.TrimSpace(string(out))
		dir, err := os.MkdirTemp("", "raftlist-local-test-")
		if err != nil {
			buildErr = err
			return
		}
		binary = filepath.Join(dir, "raftlist")
		cmd := exec.Command("go", "build", "-o", binary, "./cmd/raftlist")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = &buildError{err: err, out: string(out)}
		}
	})
	if buildErr != nil {
		t.Fatalf("build raftlist: %v", buildErr)
	}
	return binary
}

type buildError struct {
	err error
	out string
}

func (e *buildError) Error() string { return e.err.Error() + "\n" + e.out }

func TestMain(m *testing.M) {
	code := m.Run()
	if binary != "" {
		os.RemoveAll(filepath.Dir(binary))
	}
	os.Exit(code)
}

// mustStart starts a cluster for the test and stops it when the test ends.
func mustStart(t *testing.T, ctx context.Context, cfg Config) *Cluster {
	t.Helper()
	c, err := Start(ctx, cfg)
	if err != nil {
		t.Fatalf("start cluster: %v", err)
	}
	t.Cleanup(c.Stop)
	return c
}

func TestThreeNodesStartSurviveALeaderKillAndComeBackFromDisk(t *testing.T) {
	bin := raftlistBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	base, err := FreeBasePort("127.0.0.1", 4)
	if err != nil {
		t.Fatal(err)
	}
	var progress []string
	cfg := Config{Binary: bin, BasePort: base, Dir: t.TempDir(), Progress: func(what string) { progress = append(progress, what) }}
	c := mustStart(t, ctx, cfg)
	if len(c.Nodes) != 3 {
		t.Fatalf("exp 3 nodes, got %d", len(c.Nodes))
	}
	// node1 bootstraps alone first: Start waits for it to listen or lead.
	if len(progress) == 0 || (progress[0] != "waiting for a leader" && !strings.HasPrefix(progress[0], "waiting for node1 to listen on ")) {
		t.Errorf("exp Progress to hear first that Start waits for node1 or a leader, got %q", progress)
	}
	leader, err := c.Leader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	members, err := leader.Members(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(members) != 3 {
		t.Fatalf("exp 3 members, got %v", members)
	}

	follower := c.Nodes[0]
	if follower == leader {
		follower = c.Nodes[1]
	}
	if err := follower.Client().RPush(ctx, "k", "a", "b").Err(); err != nil {
		t.Fatalf("RPUSH through follower %s: %v", follower.ID, err)
	}
	if err := c.WaitConverged(ctx); err != nil {
		t.Fatal(err)
	}

	t.Run("a killed leader is replaced and catches up after a restart", func(t *testing.T) {
		leader.Kill()
		if leader.Running() {
			t.Fatal("exp the killed leader not running")
		}
		next, err := c.Leader(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if next == leader {
			t.Fatalf("exp a new leader, got %s again", next.ID)
		}
		if err := next.Client().RPush(ctx, "k", "c").Err(); err != nil {
			t.Fatalf("RPUSH on new leader %s: %v", next.ID, err)
		}
		if err := leader.Restart(ctx); err != nil {
			t.Fatal(err)
		}
		if err := c.WaitConverged(ctx); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("a fourth node joins and is removed", func(t *testing.T) {
		n4, err := c.AddNode(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n4.ID != "node4" || len(c.Nodes) != 4 {
			t.Fatalf("exp node4 as 4th node, got %s of %d", n4.ID, len(c.Nodes))
		}
		if err := c.WaitConverged(ctx); err != nil {
			t.Fatal(err)
		}
		if err := c.RemoveNode(ctx, n4); err != nil {
			t.Fatal(err)
		}
		if n4.Running() || len(c.Nodes) != 3 {
			t.Fatalf("exp node4 stopped and dropped, got running=%v nodes=%d", n4.Running(), len(c.Nodes))
		}
		l, err := c.Leader(ctx)
		if err != nil {
			t.Fatal(err)
		}
		members, err := l.Members(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if slices.ContainsFunc(members, func(m Member) bool { return m.ID == "node4" }) {
			t.Fatalf("exp node4 gone from RAFT NODES, got %v", members)
		}
	})

	t.Run("a paused follower is left out and catches up after resume", func(t *testing.T) {
		l, err := c.Leader(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var f *Node
		for _, n := range c.Nodes {
			if n != l {
				f = n
				break
			}
		}
		f.Pause()
		if err := l.Client().RPush(ctx, "k", "d").Err(); err != nil {
			t.Fatalf("RPUSH with %s paused: %v", f.ID, err)
		}
		if err := c.WaitConverged(ctx); err != nil {
			t.Fatalf("exp the unpaused nodes to converge: %v", err)
		}
		f.Resume()
		if err := c.WaitConverged(ctx); err != nil {
			t.Fatal(err)
		}
	})

	digest, err := c.Nodes[0].Digest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c.Stop()
	for _, n := range c.Nodes {
		if n.Running() {
			t.Fatalf("exp %s stopped", n.ID)
		}
	}

	t.Run("the same config brings the data back", func(t *testing.T) {
		again := mustStart(t, ctx, cfg)
		if err := again.WaitConverged(ctx); err != nil {
			t.Fatal(err)
		}
		got, err := again.Nodes[1].Client().LRange(ctx, "k", 0, -1).Result()
		if err != nil {
			t.Fatal(err)
		}
		if exp := []string{"a", "b", "c", "d"}; !slices.Equal(got, exp) {
			t.Fatalf("exp %v, got %v", exp, got)
		}
		d, err := again.Nodes[2].Digest(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if d != digest {
			t.Fatalf("exp digest %s after restart, got %s", digest, d)
		}
	})
}

func TestStartFailsFastWithTheNodeLogWhenANodeExits(t *testing.T) {
	bin := raftlistBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	began := time.Now()
	c, err := Start(ctx, Config{Binary: bin, Dir: t.TempDir(), ExtraArgs: []string{"--no-such-flag"}})
	if err == nil {
		c.Stop()
		t.Fatal("exp an error, got a cluster")
	}
	if !strings.Contains(err.Error(), "node1 exited early") || !strings.Contains(err.Error(), "no-such-flag") {
		t.Fatalf("exp the exit and the log tail in the error, got: %v", err)
	}
	if took := time.Since(began); took > 10*time.Second {
		t.Fatalf("exp a fast failure, took %s", took)
	}
}
