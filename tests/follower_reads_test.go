package tests

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/raftlist/raftlist/cluster/local"
)

// statsField reads one field of a node's INFO stats.
func statsField(t *testing.T, n *local.Node, field string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	text, err := n.Client().Info(ctx, "stats").Result()
	if err != nil {
		t.Fatalf("%s INFO stats: %v", n.ID, err)
	}
	for _, line := range strings.Split(text, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), field+":"); ok {
			k, err := strconv.Atoi(v)
			if err != nil {
				t.Fatalf("%s INFO %s: %q", n.ID, field, v)
			}
			return k
		}
	}
	t.Fatalf("%s INFO stats has no %s", n.ID, field)
	return 0
}

// Followers serve reads from their own state after the leader's read
// index, and such a read is linearizable: a value acknowledged by the
// leader is in the next read on any follower, never an older state — also
// on a follower that was frozen while the value was written and has only
// just been thawed (it must wait to apply the index, not answer from what
// it has).
func TestFollowersServeLinearizableReadsThemselves(t *testing.T) {
	c := mustStartCluster(t, 3)
	leader := mustLeader(t, c)
	fs := followers(c, leader)
	w := mustDial(t, leader.ClientAddr)
	readers := []*rawConn{mustDial(t, fs[0].ClientAddr), mustDial(t, fs[1].ClientAddr)}
	before := []int{statsField(t, fs[0], "follower_reads"), statsField(t, fs[1], "follower_reads")}
	const n = 100
	for i := 0; i < n; i++ {
		v := fmt.Sprintf("v%d", i)
		if r := mustDo(t, w, "RPUSH", "fr", v); r.String() != ":"+strconv.Itoa(i+1) {
			t.Fatalf("RPUSH fr %s: %s", v, r)
		}
		if r := mustDo(t, readers[i%2], "LINDEX", "fr", "-1"); r.String() != strconv.Quote(v) {
			t.Fatalf("read %d on %s right after the leader acknowledged %s: got %s (a stale read)", i, fs[i%2].ID, v, r)
		}
	}
	for i, f := range fs {
		if got := statsField(t, f, "follower_reads") - before[i]; got < n/2 {
			t.Errorf("%s served %d of its %d reads itself; the rest went to the leader", f.ID, got, n/2)
		}
		if got := statsField(t, f, "forwarded_commands"); got != 0 {
			t.Errorf("%s forwarded %d commands; its reads should not be forwarded", f.ID, got)
		}
	}

	lagging := fs[0]
	for i := 0; i < 5; i++ {
		v := fmt.Sprintf("while-frozen-%d", i)
		lagging.Pause()
		r := mustDo(t, w, "RPUSH", "fr", v)
		lagging.Resume()
		if r.String() != ":"+strconv.Itoa(n+i+1) {
			t.Fatalf("RPUSH fr %s with %s frozen: %s", v, lagging.ID, r)
		}
		if got := mustDo(t, readers[0], "LINDEX", "fr", "-1"); got.String() != strconv.Quote(v) {
			t.Fatalf("read on %s just after it was thawed: got %s, want %s (a stale read)", lagging.ID, got, v)
		}
	}
	mustConverge(t, c)
}
