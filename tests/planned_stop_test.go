package tests

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// A planned stop (SIGTERM) of the leader hands leadership to a follower
// before the node goes: the others never wait out an election timeout, and
// clients of the other nodes see no refusal — every acknowledged write is
// in the list, and at most the write each had in flight at the hand-off
// is left uncertain.
func TestAPlannedStopOfTheLeaderHandsLeadershipOnWithoutAnElection(t *testing.T) {
	c := mustStartCluster(t, 3)
	leader := mustLeader(t, c)
	others := followers(c, leader)
	elections := func() int {
		k := 0
		for _, n := range others {
			data, _ := os.ReadFile(n.LogFile)
			k += strings.Count(string(data), "heartbeat timeout reached, starting election")
		}
		return k
	}
	before := elections()

	o := newOutcomes()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	addrs := func() []string { return []string{others[0].ClientAddr, others[1].ClientAddr} }
	for _, name := range []string{"a", "b", "c", "d"} {
		wg.Add(1)
		go writer(stop, &wg, o, name, "planned", addrs, 5*time.Second)
	}
	time.Sleep(500 * time.Millisecond)
	leader.Stop()
	time.Sleep(500 * time.Millisecond)
	close(stop)
	wg.Wait()

	next := mustNewLeader(t, c, leader)
	if !fileContains(leader.LogFile, "leadership handed off") {
		t.Errorf("%s stopped without handing leadership off; last lines:\n%s", leader.ID, leader.LogTail(15))
	}
	if k := elections() - before; k != 0 {
		t.Errorf("%d election(s) by timeout after the planned stop: the hand-off did not happen in time", k)
	}
	t.Logf("%s handed off to %s; writers: %s", leader.ID, next.ID, o.counts())
	// A write whose entry the old leader had appended when it stepped down
	// may answer UNCERTAIN (the old leader can no longer learn whether it
	// committed): at most the one each writer had in flight. Nothing is
	// refused.
	if len(o.rejected) != 0 || len(o.uncertain) > 4 || len(o.acked) == 0 {
		t.Errorf("clients of the other nodes saw the stop: %s", o.counts())
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := leader.Restart(ctx); err != nil {
		t.Fatalf("restart %s: %v", leader.ID, err)
	}
	mustConverge(t, c)
	requireOutcomes(t, o, mustRange(t, next.ClientAddr, "planned", false))
}

// When no follower can take over (both frozen), the hand-off gives up
// after the election timeout and the node stops as after a crash, losing
// nothing. (The followers are thawed 3 s into the stop: with peers frozen
// for good, raft's own shutdown waits out its 10 s transport timeout, as
// it did before the hand-off existed.)
func TestAPlannedStopEndsWhenNoFollowerCanTakeOver(t *testing.T) {
	c := mustStartCluster(t, 3)
	leader := mustLeader(t, c)
	mustPush(t, leader.ClientAddr, "frozen", "before")
	others := followers(c, leader)
	for _, n := range others {
		n.Pause()
	}
	thaw := time.AfterFunc(3*time.Second, func() {
		for _, n := range others {
			n.Resume()
		}
	})
	defer thaw.Stop()
	leader.Stop()
	if !fileContains(leader.LogFile, "leadership hand-off failed") {
		t.Errorf("%s: no failed hand-off logged; last lines:\n%s", leader.ID, leader.LogTail(15))
	}
	// Stop escalates to SIGKILL after 5 s: a node stuck in the hand-off
	// would have been killed rather than stopped.
	if err := leader.ExitError(); err != nil {
		t.Errorf("%s did not exit cleanly: %v\n%s", leader.ID, err, leader.LogTail(15))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := leader.Restart(ctx); err != nil {
		t.Fatalf("restart %s: %v", leader.ID, err)
	}
	mustConverge(t, c)
	requireList(t, mustLeader(t, c).ClientAddr, "frozen", false, []string{"before"})
}

// A script chooses its own error text: one that writes and then answers
// with raftlist's own "not applied" refusal, sent through a follower alone
// and in a pipeline, must run exactly once — a follower that took the text
// at its word and resent it would apply it again.
func TestAScriptForgingANotAppliedRefusalRunsOnce(t *testing.T) {
	c := mustStartCluster(t, 3)
	leader := mustLeader(t, c)
	f := followers(c, leader)[0]
	const forged = `redis.call('rpush', KEYS[1], ARGV[1]); return redis.error_reply('TRYAGAIN no leader is known right now; the command was not applied, retry')`
	conn := mustDial(t, f.ClientAddr)
	raw, err := conn.doStr("EVAL", forged, "1", "forged", "alone")
	if err != nil || !isErrorPrefix(raw, "TRYAGAIN") {
		t.Fatalf("EVAL through %s: %q %v", f.ID, raw, err)
	}
	var batch [][][]byte
	for i := 0; i < 5; i++ {
		batch = append(batch, bargs("EVAL", forged, "1", "forged", fmt.Sprintf("piped-%d", i)))
	}
	if _, err := conn.pipeline(batch); err != nil {
		t.Fatalf("pipelined EVALs through %s: %v", f.ID, err)
	}
	mustConverge(t, c)
	requireList(t, leader.ClientAddr, "forged", false,
		[]string{"alone", "piped-0", "piped-1", "piped-2", "piped-3", "piped-4"})
}
