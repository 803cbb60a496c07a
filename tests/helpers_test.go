package tests

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/raftlist/raftlist/cluster/local"
)

// convergeTimeout bounds waiting for every running node to apply the
// leader's commit index.
const convergeTimeout = 60 * time.Second

// mustConverge waits until every running node has applied everything the
// leader committed and all answer the same DEBUG DIGEST, then checks the
// digests once more itself.
func mustConverge(t *testing.T, c *local.Cluster) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), convergeTimeout)
	defer cancel()
	if err := c.WaitConverged(ctx); err != nil {
		t.Fatalf("cluster did not converge: %v\n%s", err, clusterState(ctx, c))
	}
	requireEqualDigests(t, ctx, c)
}

// requireEqualDigests checks that every running node answers the same
// 40-hex-digit DEBUG DIGEST at the same applied index. Entries the nodes
// write by themselves (RAFT ACK after a blocked client is served, an
// UNBLOCK) may land between two nodes' answers: a digest is compared only
// when every node's applied index was the same before and after it was
// taken, waiting for convergence again otherwise.
func requireEqualDigests(t *testing.T, ctx context.Context, c *local.Cluster) {
	t.Helper()
	for attempt := 0; ; attempt++ {
		digests, indexes, stable := digestsAtIndex(t, ctx, c)
		if !stable && attempt < 20 {
			if err := c.WaitConverged(ctx); err != nil {
				t.Fatalf("cluster did not converge: %v\n%s", err, clusterState(ctx, c))
			}
			continue
		}
		var first, firstID string
		for id, d := range digests {
			if !digestReply.MatchString("+" + d + "\r\n") {
				t.Fatalf("DEBUG DIGEST on %s answered %q, not 40 hex digits", id, d)
			}
			if firstID == "" {
				first, firstID = d, id
			} else if d != first {
				t.Fatalf("digests differ at applied index %s: %s has %s, %s has %s (indexes %v)\n%s",
					indexes[id], firstID, first, id, d, indexes, clusterState(ctx, c))
			}
		}
		return
	}
}

// digestsAtIndex takes every running node's digest with its applied index
// read before and after; stable says whether all were taken at one index.
func digestsAtIndex(t *testing.T, ctx context.Context, c *local.Cluster) (digests, indexes map[string]string, stable bool) {
	t.Helper()
	digests, indexes, stable = map[string]string{}, map[string]string{}, true
	index := ""
	for _, n := range c.Nodes {
		if !n.Running() {
			continue
		}
		before, err := n.Info(ctx)
		if err != nil {
			t.Fatalf("INFO on %s: %v", n.ID, err)
		}
		d, err := n.Digest(ctx)
		if err != nil {
			t.Fatalf("DEBUG DIGEST on %s: %v", n.ID, err)
		}
		after, err := n.Info(ctx)
		if err != nil {
			t.Fatalf("INFO on %s: %v", n.ID, err)
		}
		at := before["raft_applied_index"]
		if index == "" {
			index = at
		}
		if after["raft_applied_index"] != at || at != index {
			stable = false
		}
		digests[n.ID], indexes[n.ID] = d, at
	}
	return digests, indexes, stable
}

// clusterState describes every node's Raft view, for failure messages.
func clusterState(ctx context.Context, c *local.Cluster) string {
	var b strings.Builder
	for _, n := range c.Nodes {
		if !n.Running() {
			fmt.Fprintf(&b, "  %s: not running\n", n.ID)
			continue
		}
		info, err := n.Info(ctx)
		if err != nil {
			fmt.Fprintf(&b, "  %s: INFO failed: %v\n", n.ID, err)
			continue
		}
		fmt.Fprintf(&b, "  %s: role=%s term=%s leader=%s commit=%s applied=%s\n", n.ID,
			info["raft_role"], info["raft_term"], info["raft_leader_id"], info["raft_commit_index"], info["raft_applied_index"])
	}
	return b.String()
}

// mustLeader returns the current leader, waiting for one.
func mustLeader(t *testing.T, c *local.Cluster) *local.Node {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	l, err := c.Leader(ctx)
	if err != nil {
		t.Fatalf("no leader: %v\n%s", err, clusterState(ctx, c))
	}
	return l
}

// mustNewLeader waits for a running leader other than old.
func mustNewLeader(t *testing.T, c *local.Cluster, old *local.Node) *local.Node {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		for _, n := range c.Nodes {
			if n == old || !n.Running() {
				continue
			}
			ictx, icancel := context.WithTimeout(ctx, 2*time.Second)
			info, err := n.Info(ictx)
			icancel()
			if err == nil && info["raft_role"] == "leader" {
				return n
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("no new leader other than %s within 30s\n%s", old.ID, clusterState(context.Background(), c))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// followers returns the running nodes other than leader.
func followers(c *local.Cluster, leader *local.Node) []*local.Node {
	var out []*local.Node
	for _, n := range c.Nodes {
		if n != leader && n.Running() {
			out = append(out, n)
		}
	}
	return out
}

// mustDial opens a raw RESP connection.
func mustDial(t *testing.T, addr string) *rawConn {
	t.Helper()
	c, err := dialRaw(addr, 30*time.Second)
	if err != nil {
		t.Fatalf("connect to %s: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// mustPush RPUSHes values one command each through addr, retrying
// -TRYAGAIN, and fails the test on anything but an integer reply.
func mustPush(t *testing.T, addr, key string, values ...string) {
	t.Helper()
	c := mustDial(t, addr)
	for _, v := range values {
		for attempt := 0; ; attempt++ {
			raw, err := c.doStr("RPUSH", key, v)
			if err != nil {
				t.Fatalf("RPUSH %s %s through %s: %v", key, v, addr, err)
			}
			if isErrorPrefix(raw, "TRYAGAIN") && attempt < 100 {
				time.Sleep(100 * time.Millisecond)
				continue
			}
			if len(raw) == 0 || raw[0] != ':' {
				t.Fatalf("RPUSH %s %s through %s: exp an integer, got %s", key, v, addr, quoteRaw(raw))
			}
			break
		}
	}
}

// mustRange reads a whole list through addr; readonly reads the node's
// local state (READONLY) instead of a linearizable read.
func mustRange(t *testing.T, addr, key string, readonly bool) []string {
	t.Helper()
	c := mustDial(t, addr)
	if readonly {
		if r := mustDo(t, c, "READONLY"); r.String() != "+OK" {
			t.Fatalf("READONLY on %s: exp +OK, got %s", addr, r)
		}
	}
	for attempt := 0; ; attempt++ {
		r := mustDo(t, c, "LRANGE", key, "0", "-1")
		if r.kind == '-' && strings.HasPrefix(string(r.str), "TRYAGAIN") && attempt < 100 {
			time.Sleep(100 * time.Millisecond)
			continue
		}
		if r.kind != '*' {
			t.Fatalf("LRANGE %s 0 -1 on %s: exp an array, got %s", key, addr, r)
		}
		return r.strings()
	}
}

// values returns prefix-0 .. prefix-(n-1).
func values(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = prefix + "-" + strconv.Itoa(i)
	}
	return out
}

// requireList checks that a list read from addr holds exactly want.
func requireList(t *testing.T, addr, key string, readonly bool, want []string) {
	t.Helper()
	got := mustRange(t, addr, key, readonly)
	if !slices.Equal(got, want) {
		t.Fatalf("LRANGE %s 0 -1 on %s (readonly=%v):\n  exp %d elements %s\n  got %d elements %s",
			key, addr, readonly, len(want), abbreviate(want), len(got), abbreviate(got))
	}
}

func abbreviate(xs []string) string {
	if len(xs) <= 12 {
		return fmt.Sprint(xs)
	}
	return fmt.Sprintf("%v ... %v", xs[:6], xs[len(xs)-6:])
}

// ---------------------------------------------------------------------------
// Writers that keep an honest account of what was acknowledged.

// outcomes is what a set of writers learnt about each value they sent.
type outcomes struct {
	mu        sync.Mutex
	acked     []string        // the server answered with an integer
	rejected  map[string]bool // -TRYAGAIN: not applied
	uncertain map[string]bool // -UNCERTAIN, timeout or closed connection
	transport int             // how many of those were a timeout or a closed connection
	errs      []string        // any other reply: a failure
}

func newOutcomes() *outcomes {
	return &outcomes{rejected: map[string]bool{}, uncertain: map[string]bool{}}
}

func (o *outcomes) counts() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return fmt.Sprintf("%d acknowledged, %d rejected (TRYAGAIN), %d uncertain (%d of them timeouts or closed connections)",
		len(o.acked), len(o.rejected), len(o.uncertain), o.transport)
}

// writer RPUSHes name-0, name-1, ... to key through the addresses in turn
// (moving on after a connection failure) until stop closes, recording
// every outcome. A value is sent once and never retried: each attempt has
// a value of its own, so a retry cannot hide a lost or doubled write.
func writer(stop <-chan struct{}, wg *sync.WaitGroup, o *outcomes, name, key string, addrs func() []string, timeout time.Duration) {
	defer wg.Done()
	var conn *rawConn
	defer func() {
		if conn != nil {
			conn.Close()
		}
	}()
	next := 0
	for k := 0; ; k++ {
		select {
		case <-stop:
			return
		default:
		}
		if conn == nil {
			as := addrs()
			if len(as) == 0 {
				time.Sleep(50 * time.Millisecond)
				continue
			}
			c, err := dialRaw(as[next%len(as)], timeout)
			next++
			if err != nil {
				time.Sleep(50 * time.Millisecond)
				continue
			}
			conn = c
		}
		v := fmt.Sprintf("%s-%d", name, k)
		raw, err := conn.doStr("RPUSH", key, v)
		o.mu.Lock()
		switch {
		case err != nil:
			o.uncertain[v] = true
			o.transport++
			conn.Close()
			conn = nil
		case len(raw) > 0 && raw[0] == ':':
			o.acked = append(o.acked, v)
		case isErrorPrefix(raw, "TRYAGAIN"):
			o.rejected[v] = true
		case isErrorPrefix(raw, "UNCERTAIN"):
			o.uncertain[v] = true
		default:
			o.errs = append(o.errs, fmt.Sprintf("RPUSH %s %s: %s", key, v, quoteRaw(raw)))
		}
		o.mu.Unlock()
		if err != nil || (len(raw) > 0 && raw[0] == '-') {
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// requireOutcomes checks a final list against what the writers learnt:
// every acknowledged value present, nothing rejected, nothing unknown,
// nothing twice, and each writer's acknowledged values in the order it
// sent them.
func requireOutcomes(t *testing.T, o *outcomes, list []string) {
	t.Helper()
	o.mu.Lock()
	defer o.mu.Unlock()
	reported := 0
	errorf := func(format string, args ...any) {
		t.Helper()
		if reported++; reported <= 20 {
			t.Errorf(format, args...)
		} else if reported == 21 {
			t.Errorf("(more problems with the list not shown)")
		}
	}
	if len(o.errs) > 0 {
		errorf("writers got unexpected replies (%d), first: %s", len(o.errs), o.errs[0])
	}
	pos := make(map[string]int, len(list))
	for i, v := range list {
		if _, dup := pos[v]; dup {
			errorf("value %s is in the list twice", v)
		}
		pos[v] = i
	}
	ackedSet := make(map[string]bool, len(o.acked))
	lastPos := map[string]int{}
	for _, v := range o.acked {
		ackedSet[v] = true
		p, ok := pos[v]
		if !ok {
			errorf("acknowledged write %s is missing", v)
			continue
		}
		w := v[:strings.LastIndexByte(v, '-')]
		if last, seen := lastPos[w]; seen && p < last {
			errorf("writer %s's acknowledged values are out of order at %s", w, v)
		}
		lastPos[w] = p
	}
	for _, v := range list {
		switch {
		case o.rejected[v]:
			errorf("value %s is in the list although its RPUSH was answered TRYAGAIN (not applied)", v)
		case !ackedSet[v] && !o.uncertain[v]:
			errorf("value %s is in the list but was never sent", v)
		}
	}
}
