package tests

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/raftlist/raftlist/cluster/local"
)

// TestObservabilityReadyzFollowsContactWithTheLeader stops the leader and
// the other follower (SIGSTOP), so the remaining follower can neither hear
// from a leader nor elect one: its /readyz turns 503 with a reason while
// /healthz stays 200; once they continue, /readyz is 200 again. /metrics
// carries hashicorp/raft's own series, and the leader-change counter rises
// when the leader is stopped until another is elected; the metrics address
// chosen with port 0 shows in CONFIG GET and INFO.
func TestObservabilityReadyzFollowsContactWithTheLeader(t *testing.T) {
	c := mustStartCluster(t, 3, "--metrics", "127.0.0.1:0")
	leader := mustLeader(t, c)
	fs := followers(c, leader)
	watched, other := fs[0], fs[1]
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	base := map[*local.Node]string{}
	for _, n := range c.Nodes {
		base[n] = mustMetricsAddr(t, ctx, n)
	}

	for _, n := range c.Nodes {
		waitProbe(t, base[n]+"/readyz", http.StatusOK, 20*time.Second)
		if code, body := probe(t, base[n]+"/healthz"); code != http.StatusOK {
			t.Errorf("%s /healthz: exp 200, got %d %q", n.ID, code, body)
		}
	}
	m := scrape(t, base[leader]+"/metrics")
	for _, series := range []string{
		`raft_replication_appendEntries_rpc_count{peer_id="` + watched.ID + `"}`,
		`raft_replication_heartbeat_count{peer_id="` + watched.ID + `"}`,
		`raft_commitTime_count`,
		`raftlist_raft_peer_match_index{peer="` + watched.ID + `"}`,
		`raftlist_raft_log_bytes`,
	} {
		if m[series] <= 0 {
			t.Errorf("%s /metrics: exp %s > 0, got %v", leader.ID, series, m[series])
		}
	}
	before := scrape(t, base[watched]+"/metrics")
	if before["raftlist_raft_leader_changes_total"] < 1 {
		t.Errorf("%s: exp raftlist_raft_leader_changes_total >= 1, got %v", watched.ID, before["raftlist_raft_leader_changes_total"])
	}

	leader.Pause()
	other.Pause()
	paused := true
	defer func() {
		if paused {
			for _, n := range c.Nodes {
				n.Resume()
			}
		}
	}()
	body := waitProbe(t, base[watched]+"/readyz", http.StatusServiceUnavailable, 30*time.Second)
	t.Logf("%s /readyz while cut off: %s", watched.ID, strings.TrimSpace(body))
	if !strings.HasPrefix(body, "not ready: ") || strings.Count(body, "\n") != 1 {
		t.Errorf("%s /readyz while cut off: exp one line \"not ready: <reason>\", got %q", watched.ID, body)
	}
	if code, body := probe(t, base[watched]+"/healthz"); code != http.StatusOK {
		t.Errorf("%s /healthz while cut off: exp 200, got %d %q", watched.ID, code, body)
	}

	leader.Resume()
	other.Resume()
	paused = false
	waitProbe(t, base[watched]+"/readyz", http.StatusOK, 60*time.Second)

	// The cut-off follower's pre-votes need not have changed the term, so
	// force a leader change: stop the leader alone until the others elect
	// another, and see the counter rise on a node that saw it.
	old := mustLeader(t, c)
	seen := watched
	if seen == old {
		seen = other
	}
	before = scrape(t, base[seen]+"/metrics")
	old.Pause()
	paused = true
	mustNewLeader(t, c, old)
	old.Resume()
	paused = false
	after := scrape(t, base[seen]+"/metrics")
	if after["raftlist_raft_leader_changes_total"] <= before["raftlist_raft_leader_changes_total"] {
		t.Errorf("%s: exp raftlist_raft_leader_changes_total to rise when %s was stopped and another elected, got %v -> %v",
			seen.ID, old.ID, before["raftlist_raft_leader_changes_total"], after["raftlist_raft_leader_changes_total"])
	}
	waitProbe(t, base[old]+"/readyz", http.StatusOK, 60*time.Second)
}

// mustMetricsAddr returns http://HOST:PORT of n's metrics listener as
// CONFIG GET metrics names it, checking that INFO's metrics_addr agrees
// and that port 0 was resolved.
func mustMetricsAddr(t *testing.T, ctx context.Context, n *local.Node) string {
	t.Helper()
	rdb := plainClient(n.ClientAddr)
	defer rdb.Close()
	v, err := rdb.ConfigGet(ctx, "metrics").Result()
	if err != nil {
		t.Fatalf("%s CONFIG GET metrics: %v", n.ID, err)
	}
	addr := v["metrics"]
	if addr == "" || strings.HasSuffix(addr, ":0") {
		t.Fatalf("%s CONFIG GET metrics: exp the port chosen, got %q", n.ID, addr)
	}
	if info := parseInfoText(infoText(t, ctx, n.ClientAddr, "server")); info["metrics_addr"] != addr {
		t.Errorf("%s INFO metrics_addr: exp %q (CONFIG GET), got %q", n.ID, addr, info["metrics_addr"])
	}
	return "http://" + addr
}

func probe(t *testing.T, url string) (int, string) {
	t.Helper()
	client := http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// waitProbe polls url until it answers want, and returns the body.
func waitProbe(t *testing.T, url string, want int, within time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		code, body := probe(t, url)
		if code == want {
			return body
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: exp %d within %s, still %d %q", url, want, within, code, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
