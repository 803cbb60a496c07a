package tests

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/raftlist/raftlist/cluster/local"
)

// One three-node cluster with metrics and JSON logs serves every check of
// what a node tells about itself: starting clusters is what costs.
func TestObservability(t *testing.T) {
	c := mustStartCluster(t, 3, "--metrics", "127.0.0.1:0", "--log-format", "json")
	leader := mustLeader(t, c)
	follower := followers(c, leader)[0]
	metricsURL := map[*local.Node]string{}
	for _, n := range c.Nodes {
		metricsURL[n] = mustMetricsURL(t, n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	t.Run("ten LPUSH through a follower count on the follower and on the leader", func(t *testing.T) {
		fBefore, lBefore := scrape(t, metricsURL[follower]), scrape(t, metricsURL[leader])
		rdb := plainClient(follower.ClientAddr)
		defer rdb.Close()
		for i := 0; i < 10; i++ {
			if err := rdb.LPush(ctx, "obs-list", i).Err(); err != nil {
				t.Fatalf("LPUSH %d through %s: %v", i, follower.ID, err)
			}
		}
		fAfter, lAfter := scrape(t, metricsURL[follower]), scrape(t, metricsURL[leader])
		lpushOK := `raftlist_commands_total{command="lpush",outcome="ok"}`
		fwdOK := `raftlist_forwarded_commands_total{outcome="ok"}`
		requireDelta(t, follower.ID, fBefore, fAfter, fwdOK, 10)
		requireDelta(t, follower.ID, fBefore, fAfter, lpushOK, 10)
		requireDelta(t, leader.ID, lBefore, lAfter, lpushOK, 10)
		requireDelta(t, leader.ID, lBefore, lAfter, fwdOK, 0)
		requireDelta(t, follower.ID, fBefore, fAfter, `raftlist_command_duration_seconds_count{command="lpush"}`, 10)
	})

	t.Run("a made-up command name is counted as unknown, never as a label of its own", func(t *testing.T) {
		rdb := plainClient(leader.ClientAddr)
		defer rdb.Close()
		err := rdb.Do(ctx, "obs-made-up-command", "x").Err()
		if err == nil || !strings.HasPrefix(err.Error(), "ERR unknown command") {
			t.Fatalf("exp ERR unknown command, got %v", err)
		}
		m := scrape(t, metricsURL[leader])
		if m[`raftlist_commands_total{command="unknown",outcome="rejected"}`] < 1 {
			t.Errorf("the unknown command was not counted as unknown/rejected")
		}
		for k := range m {
			if strings.Contains(k, "made-up") {
				t.Errorf("a client-chosen name became a label: %s", k)
			}
		}
	})

	t.Run("raft gauges agree with INFO raft on every node", func(t *testing.T) {
		for _, n := range c.Nodes {
			info, m := stableInfoAndScrape(t, ctx, n, metricsURL[n])
			for field, metric := range map[string]string{
				"raft_applied_index":  "raftlist_raft_applied_index",
				"raft_commit_index":   "raftlist_raft_commit_index",
				"raft_last_log_index": "raftlist_raft_last_log_index",
				"raft_term":           "raftlist_raft_term",
			} {
				if got := strconv.FormatFloat(m[metric], 'f', -1, 64); got != info[field] {
					t.Errorf("%s: exp %s = INFO %s = %s, got %s", n.ID, metric, field, info[field], got)
				}
			}
			for _, role := range []string{"leader", "follower", "candidate"} {
				want := 0.0
				if info["raft_role"] == role {
					want = 1
				}
				key := fmt.Sprintf(`raftlist_raft_state{state=%q}`, role)
				if got, ok := m[key]; !ok || got != want {
					t.Errorf("%s (INFO raft_role %s): exp %s %v, got %v (present %v)", n.ID, info["raft_role"], key, want, got, ok)
				}
			}
		}
		if m := scrape(t, metricsURL[leader]); m[`raftlist_raft_state{state="leader"}`] != 1 {
			t.Errorf("%s leads but its role gauge says otherwise", leader.ID)
		}
	})

	t.Run("commandstats and errorstats are the metrics' counters", func(t *testing.T) {
		rdb := plainClient(follower.ClientAddr)
		defer rdb.Close()
		rdb.Set(ctx, "obs-string", "x", 0)
		if err := rdb.LPush(ctx, "obs-string", "y").Err(); err == nil || !strings.HasPrefix(err.Error(), "WRONGTYPE") {
			t.Fatalf("exp WRONGTYPE, got %v", err)
		}
		for _, n := range []*local.Node{follower, leader} {
			text, err := plainClient(n.ClientAddr).Info(ctx, "commandstats", "errorstats").Result()
			if err != nil {
				t.Fatal(err)
			}
			info := parseInfoText(text)
			m := scrape(t, metricsURL[n])
			calls := m[`raftlist_commands_total{command="lpush",outcome="ok"}`] + m[`raftlist_commands_total{command="lpush",outcome="error"}`]
			stat := info["cmdstat_lpush"]
			if !strings.HasPrefix(stat, fmt.Sprintf("calls=%d,", int(calls))) || !strings.Contains(stat, "failed_calls=1") {
				t.Errorf("%s: exp cmdstat_lpush calls=%d ... failed_calls=1, got %q", n.ID, int(calls), stat)
			}
			wrongType := m[`raftlist_error_replies_total{code="WRONGTYPE"}`]
			if want := fmt.Sprintf("count=%d", int(wrongType)); wrongType < 1 || info["errorstat_WRONGTYPE"] != want {
				t.Errorf("%s: exp errorstat_WRONGTYPE:%s, got %q", n.ID, want, info["errorstat_WRONGTYPE"])
			}
		}
	})

	t.Run("a snapshot is timed", func(t *testing.T) {
		before := scrape(t, metricsURL[leader])
		if err := plainClient(leader.ClientAddr).Do(ctx, "RAFT", "SNAPSHOT").Err(); err != nil {
			t.Fatalf("RAFT SNAPSHOT: %v", err)
		}
		after := scrape(t, metricsURL[leader])
		requireDelta(t, leader.ID, before, after, `raftlist_snapshot_duration_seconds_count{phase="capture"}`, 1)
		requireDelta(t, leader.ID, before, after, `raftlist_snapshot_duration_seconds_count{phase="persist"}`, 1)
	})

	t.Run("INFO field names are redis-server's", func(t *testing.T) {
		redisInfo := sectionFields(infoEverything(t, ctx, mustStartRedis(t).Addr))
		// A lone redis-server is a master; these are the fields a replica
		// adds (redis-server 7.0, src/server.c genRedisInfoString).
		for _, f := range []string{"master_host", "master_port", "master_link_status",
			"master_last_io_seconds_ago", "master_sync_in_progress", "slave_read_repl_offset",
			"slave_repl_offset", "master_link_down_since_seconds", "slave_priority", "slave_read_only", "replica_announced"} {
			redisInfo["replication"][f] = true
		}
		ours := sectionFields(infoEverything(t, ctx, follower.ClientAddr))
		ownFields := map[string]bool{"raftlist_version": true, "go_version": true, "metrics_addr": true,
			"forwarded_commands": true, "forwarded_commands_failed": true, "follower_reads": true,
			// Redis 7.2's name for a count 7.0 does not keep (limits.go).
			"client_output_buffer_limit_disconnections": true}
		for sec, fields := range ours {
			if sec == "raft" {
				continue
			}
			for f := range fields {
				if ownFields[f] || familyOf(f) != "" && redisInfo[sec] != nil {
					continue
				}
				if !redisInfo[sec][f] {
					t.Errorf("INFO %s field %q is not one redis-server 7.0 prints there", sec, f)
				}
			}
		}
		for _, sec := range []string{"server", "clients", "memory", "stats", "replication", "cpu", "commandstats", "errorstats", "cluster", "keyspace"} {
			if ours[sec] == nil {
				t.Errorf("INFO everything has no # %s section", sec)
			}
		}
		plain := sectionFields(infoText(t, ctx, follower.ClientAddr))
		if plain["commandstats"] != nil || plain["raft"] == nil || plain["keyspace"] == nil {
			t.Errorf("plain INFO sections: exp keyspace and raft but not commandstats, got %v", keys(plain))
		}
		info := parseInfoText(infoText(t, ctx, follower.ClientAddr))
		_, port, _ := net.SplitHostPort(follower.ClientAddr)
		checks := map[string]string{
			"tcp_port": "^" + port + "$", "run_id": "^[0-9a-f]{40}$", "role": "^slave$",
			"master_link_status": "^up$", "db0": `^keys=\d+,expires=0,avg_ttl=0$`,
			"used_memory": `^[1-9]\d*$`, "connected_clients": `^[1-9]\d*$`,
			"total_commands_processed": `^[1-9]\d*$`, "instantaneous_ops_per_sec": `^\d+$`,
		}
		for f, re := range checks {
			if !regexp.MustCompile(re).MatchString(info[f]) {
				t.Errorf("INFO %s: exp /%s/, got %q", f, re, info[f])
			}
		}
	})

	t.Run("redis-cli --stat reads the node", func(t *testing.T) {
		lines := redisCliStat(t, follower.ClientAddr)
		keys, _ := plainClient(follower.ClientAddr).DBSize(ctx).Result()
		row := strings.Fields(lines[2])
		if len(row) < 6 || row[0] != strconv.FormatInt(keys, 10) || row[2] == "0" {
			t.Errorf("exp a row with keys=%d and clients>0, got %q\n%s", keys, lines[2], strings.Join(lines, "\n"))
		}
	})

	t.Run("every log line is JSON naming its node, raft's own lines included", func(t *testing.T) {
		led := false
		for _, n := range c.Nodes {
			requireJSONLog(t, n)
			led = led || fileContains(n.LogFile, `"@message":"entering leader state"`)
		}
		if !led {
			t.Errorf("no node's log has raft's %q", "entering leader state")
		}
	})
}

// plainClient is a go-redis client that never retries, so a counted
// command is one the test sent.
func plainClient(addr string) *redis.Client {
	return redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, Protocol: 2, DisableIdentity: true,
		DialTimeout: 2 * time.Second, ReadTimeout: 10 * time.Second})
}

// mustMetricsURL finds the metrics address a node logged (--metrics with
// port 0 picks one).
func mustMetricsURL(t *testing.T, n *local.Node) string {
	t.Helper()
	data, err := os.ReadFile(n.LogFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		var rec struct {
			Message string `json:"@message"`
			Addr    string `json:"addr"`
		}
		if json.Unmarshal([]byte(line), &rec) == nil && rec.Message == "metrics serving" {
			return rec.Addr
		}
	}
	t.Fatalf("%s never logged its metrics address", n.ID)
	return ""
}

// scrape reads a Prometheus text exposition into series → value; a series
// is written as the exposition writes it: name{label="v",...}.
func scrape(t *testing.T, url string) map[string]float64 {
	t.Helper()
	client := http.Client{Timeout: 10 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		t.Fatalf("scrape %s: %v", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("scrape %s: %s\n%s", url, resp.Status, body)
	}
	out := make(map[string]float64)
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if i < 0 || err != nil {
			t.Fatalf("scrape %s: bad line %q", url, line)
		}
		out[line[:i]] = v
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("scrape %s: %v", url, err)
	}
	return out
}

func requireDelta(t *testing.T, node string, before, after map[string]float64, series string, want float64) {
	t.Helper()
	if got := after[series] - before[series]; got != want {
		t.Errorf("%s: exp %s to rise by %v, got %v (%v -> %v)", node, series, want, got, before[series], after[series])
	}
}

// stableInfoAndScrape returns INFO raft and a scrape taken between two
// INFO raft answers that agree, so both saw the same applied index.
func stableInfoAndScrape(t *testing.T, ctx context.Context, n *local.Node, url string) (map[string]string, map[string]float64) {
	t.Helper()
	for attempt := 0; attempt < 50; attempt++ {
		a, err := n.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		m := scrape(t, url)
		b, err := n.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if a["raft_applied_index"] == b["raft_applied_index"] && a["raft_commit_index"] == b["raft_commit_index"] &&
			a["raft_role"] == b["raft_role"] && a["raft_term"] == b["raft_term"] {
			return b, m
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s: INFO raft never held still", n.ID)
	return nil, nil
}

func infoText(t *testing.T, ctx context.Context, addr string, sections ...string) string {
	t.Helper()
	rdb := plainClient(addr)
	defer rdb.Close()
	text, err := rdb.Info(ctx, sections...).Result()
	if err != nil {
		t.Fatalf("INFO on %s: %v", addr, err)
	}
	return text
}

func infoEverything(t *testing.T, ctx context.Context, addr string) string {
	return infoText(t, ctx, addr, "everything")
}

func parseInfoText(text string) map[string]string {
	out := make(map[string]string)
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimRight(line, "\r")
		if k, v, ok := strings.Cut(line, ":"); ok && !strings.HasPrefix(line, "#") {
			out[k] = v
		}
	}
	return out
}

// sectionFields maps each INFO section (lower case) to its field names.
func sectionFields(text string) map[string]map[string]bool {
	out := make(map[string]map[string]bool)
	sec := ""
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimRight(line, "\r")
		switch {
		case strings.HasPrefix(line, "# "):
			sec = strings.ToLower(line[2:])
			out[sec] = make(map[string]bool)
		case sec != "" && strings.Contains(line, ":"):
			k, _, _ := strings.Cut(line, ":")
			out[sec][k] = true
		}
	}
	return out
}

// familyOf names the field families whose members depend on traffic
// (cmdstat_lpush, errorstat_ERR, db0): only their section is compared.
func familyOf(field string) string {
	for _, p := range []string{"cmdstat_", "errorstat_", "db"} {
		if strings.HasPrefix(field, p) {
			return p
		}
	}
	return ""
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// redisCliStat runs `redis-cli --stat` (which never ends by itself) for a
// moment and returns its lines: two header lines, then one row per
// interval. stdbuf keeps its output line-buffered into the pipe.
func redisCliStat(t *testing.T, addr string) []string {
	t.Helper()
	if _, err := exec.LookPath("redis-cli"); err != nil {
		msg := "redis-cli is not installed (apt-get install redis-tools)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	host, port, _ := net.SplitHostPort(addr)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	out, _ := exec.CommandContext(ctx, "stdbuf", "-oL", "redis-cli", "-h", host, "-p", port, "--stat", "-i", "0.2").Output()
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) < 3 || !strings.Contains(lines[1], "keys") {
		t.Fatalf("redis-cli --stat printed no rows:\n%s", out)
	}
	return lines
}

// requireJSONLog checks that every line of n's log is a JSON object that
// names n (the logger's @module starts with its id, and node_id is it) and
// that hashicorp/raft's own messages are among them.
func requireJSONLog(t *testing.T, n *local.Node) {
	t.Helper()
	data, err := os.ReadFile(n.LogFile)
	if err != nil {
		t.Fatal(err)
	}
	raftLines := 0
	for i, line := range strings.Split(strings.TrimRight(string(data), "\n"), "\n") {
		if strings.HasPrefix(line, "=== ") && strings.Contains(line, " cluster/local: ") {
			continue // the launcher's header before each start, not the node's
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Errorf("%s log line %d is not JSON: %v\n%s", n.ID, i+1, err, line)
			continue
		}
		module, _ := rec["@module"].(string)
		if rec["node_id"] != n.ID || (module != n.ID && !strings.HasPrefix(module, n.ID+".")) {
			t.Errorf("%s log line %d does not name the node: %s", n.ID, i+1, line)
		}
		if module == n.ID+".raft" {
			raftLines++
		}
	}
	if raftLines == 0 {
		t.Errorf("%s: no line from hashicorp/raft (@module %s.raft) in its log", n.ID, n.ID)
	}
	if !fileContains(n.LogFile, `"@message":"entering follower state"`) {
		t.Errorf("%s: raft's %q is not in its log", n.ID, "entering follower state")
	}
}
