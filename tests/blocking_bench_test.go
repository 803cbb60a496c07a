package tests

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/raftlist/raftlist/cluster/local"
	"github.com/raftlist/raftlist/fsm/resp"
)

// BenchmarkBlockingHandoff measures hand-off latency: a client waits in
// BLPOP, another client LPUSHes, and the time counted runs from sending
// the LPUSH to receiving the BLPOP reply. Every iteration measures three
// targets in turn, in the same run on the same machine: raftlist with the
// waiting client on the leader, raftlist with it on a follower (the push
// goes through the leader in both), and a real redis-server. Before each
// push the waiter is confirmed blocked (INFO), so only the hand-off is
// timed. It reports p50 and p99 of each in microseconds and raftlist's
// ratios to Redis:
//
//	go test ./tests/ -run '^$' -bench BlockingHandoff -benchtime 2000x
//
// With RAFTLIST_BENCH_COMPARE_BINARY (another raftlist build, e.g. the code
// before a change) or RAFTLIST_BENCH_COMPARE_ARGS (extra server flags, e.g.
// "--log-store wal"), a second cluster runs beside the first and its leader
// and follower take their turns too, as base-leader and base-follower, so
// the two are compared under the same machine noise.
//
// It is a benchmark, not a test: nothing here asserts a time.
func BenchmarkBlockingHandoff(b *testing.B) {
	rs := blkStartRedis(b)
	c := blkStartCluster(b, binary, testStoreArgs())
	targets := blkClusterTargets(b, c, "")
	redis := blkNewHandoff(b, "redis", rs, rs, rs, "clients", "blocked_clients")
	targets = append(targets, redis)
	cmpBin, cmpArgs := os.Getenv("RAFTLIST_BENCH_COMPARE_BINARY"), strings.Fields(os.Getenv("RAFTLIST_BENCH_COMPARE_ARGS"))
	if cmpBin != "" || len(cmpArgs) > 0 {
		if cmpBin == "" {
			cmpBin = binary
		}
		base := blkStartCluster(b, cmpBin, append(testStoreArgs(), cmpArgs...))
		targets = append(targets, blkClusterTargets(b, base, "base-")...)
	}
	for _, h := range targets {
		for i := 0; i < 20; i++ { // warm up connections and caches
			h.once(b)
		}
		h.samples = h.samples[:0]
	}

	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, h := range targets {
			h.once(b)
		}
	}
	b.StopTimer()

	redisP50, redisP99 := redis.percentile(50), redis.percentile(99)
	for _, h := range targets {
		p50, p99 := h.percentile(50), h.percentile(99)
		b.ReportMetric(blkUS(p50), "p50-"+h.name+"-us")
		b.ReportMetric(blkUS(p99), "p99-"+h.name+"-us")
		if h.name != "redis" {
			b.ReportMetric(float64(p50)/float64(redisP50), "p50-"+h.name+"/redis")
			b.ReportMetric(float64(p99)/float64(redisP99), "p99-"+h.name+"/redis")
		}
		b.Logf("%-8s n=%d p50=%v p90=%v p99=%v max=%v", h.name, len(h.samples), p50, h.percentile(90), p99, h.percentile(100))
	}
	b.ReportMetric(0, "ns/op") // an iteration's time includes the waits for BLPOP to block
}

// blkClusterTargets are a cluster's two hand-off targets: the waiter on
// the leader, and on a follower; the push goes to the leader in both.
func blkClusterTargets(b *testing.B, c *local.Cluster, prefix string) []*blkHandoff {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	leader, err := c.Leader(ctx)
	if err != nil {
		b.Fatal(err)
	}
	var follower *local.Node
	for _, n := range c.Nodes {
		if n != leader {
			follower = n
			break
		}
	}
	return []*blkHandoff{
		blkNewHandoff(b, prefix+"leader", leader.ClientAddr, leader.ClientAddr, leader.ClientAddr, "raft", "raft_blocked_waiters"),
		blkNewHandoff(b, prefix+"follower", follower.ClientAddr, leader.ClientAddr, follower.ClientAddr, "raft", "raft_blocked_waiters"),
	}
}

func blkUS(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

// blkHandoff is one target of the benchmark: a waiting connection, a
// pushing connection and a connection asking whether the waiter blocked.
type blkHandoff struct {
	name          string
	wait, push    *rawConn
	admin         *rawConn
	section, stat string
	samples       []time.Duration
}

func blkNewHandoff(b *testing.B, name, waitAddr, pushAddr, adminAddr, section, stat string) *blkHandoff {
	h := &blkHandoff{name: name, section: section, stat: stat}
	for _, p := range []struct {
		conn **rawConn
		addr string
	}{{&h.wait, waitAddr}, {&h.push, pushAddr}, {&h.admin, adminAddr}} {
		conn, err := dialRaw(p.addr, 10*time.Second)
		if err != nil {
			b.Fatalf("%s: connect to %s: %v", name, p.addr, err)
		}
		b.Cleanup(func() { conn.Close() })
		*p.conn = conn
	}
	return h
}

var (
	blkBenchBLPOP = resp.AppendCommand(nil, []byte("BLPOP"), []byte("handoff"), []byte("0"))
	blkBenchLPUSH = resp.AppendCommand(nil, []byte("LPUSH"), []byte("handoff"), []byte("v"))
)

// once blocks the waiter, confirms it is blocked, pushes, and records the
// time from the push to the waiter's reply.
func (h *blkHandoff) once(b *testing.B) {
	if err := h.wait.writeRaw(blkBenchBLPOP); err != nil {
		b.Fatalf("%s: send BLPOP: %v", h.name, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for h.blocked(b) != 1 {
		if time.Now().After(deadline) {
			b.Fatalf("%s: BLPOP did not block within 10s", h.name)
		}
		time.Sleep(50 * time.Microsecond)
	}
	began := time.Now()
	if err := h.push.writeRaw(blkBenchLPUSH); err != nil {
		b.Fatalf("%s: send LPUSH: %v", h.name, err)
	}
	raw, err := h.wait.readReply()
	took := time.Since(began)
	if err != nil || string(raw) != "*2\r\n$7\r\nhandoff\r\n$1\r\nv\r\n" {
		b.Fatalf("%s: BLPOP reply %q %v", h.name, raw, err)
	}
	if raw, err := h.push.readReply(); err != nil || string(raw) != ":1\r\n" {
		b.Fatalf("%s: LPUSH reply %q %v", h.name, raw, err)
	}
	h.samples = append(h.samples, took)
}

// blocked reads the target's count of blocked clients.
func (h *blkHandoff) blocked(b *testing.B) int {
	raw, err := h.admin.doStr("INFO", h.section)
	if err != nil {
		b.Fatalf("%s: INFO %s: %v", h.name, h.section, err)
	}
	_, rest, ok := strings.Cut(string(raw), h.stat+":")
	if !ok {
		b.Fatalf("%s: INFO %s has no %s", h.name, h.section, h.stat)
	}
	v, _, _ := strings.Cut(rest, "\r\n")
	n, _ := strconv.Atoi(v)
	return n
}

func (h *blkHandoff) percentile(p int) time.Duration {
	s := slices.Clone(h.samples)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	i := (len(s)*p + 99) / 100
	return s[max(0, min(len(s)-1, i-1))]
}

// blkStartCluster starts a 3-node cluster of bin with extra server flags
// for a benchmark (the tests' mustStartCluster takes a *testing.T).
func blkStartCluster(tb testing.TB, bin string, extra []string) *local.Cluster {
	tb.Helper()
	dir := tb.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	c, err := local.Start(ctx, local.Config{Binary: bin, Nodes: 3, BasePort: freeBasePort(tb), Dir: dir, ExtraArgs: extra})
	if err != nil {
		tb.Fatalf("start a 3-node cluster: %v", err)
	}
	tb.Cleanup(c.Stop)
	return c
}

// blkStartRedis starts redis-server for a benchmark, without persistence,
// and returns its address.
func blkStartRedis(tb testing.TB) string {
	tb.Helper()
	path, err := exec.LookPath("redis-server")
	if err != nil {
		tb.Skip("redis-server is not installed (apt-get install redis-server)")
	}
	port := freePort(tb)
	addr := "127.0.0.1:" + strconv.Itoa(port)
	dir := tb.TempDir()
	cmd := exec.Command(path, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", dir, "--logfile", filepath.Join(dir, "redis.log"))
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		tb.Fatalf("start redis-server: %v", err)
	}
	tb.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	if err := waitPing(addr, 10*time.Second); err != nil {
		tb.Fatalf("redis-server on %s: %v", addr, err)
	}
	return addr
}
