package tests

import (
	"strings"
	"testing"
	"time"

	"github.com/raftlist/raftlist/fsm/resp"
)

// Issue 17, arrival order across kinds of forwarded command: Redis's
// "BRPOPLPUSH does not affect WATCH while still blocked" (unit/type/list)
// as a Go test. A client blocks in BRPOPLPUSH srclist dstlist; a second
// WATCHes dstlist and sends MULTI, GET, EXEC; a third sends LPUSH srclist
// once EXEC has been sent, without waiting for its reply. The follower
// reads EXEC first, so EXEC must be applied first and answer somevalue.
// Through a follower raftlist failed every time: EXEC went to the leader
// through the arrival gate on a connection of its own, the LPUSH on a
// shared forwarding connection that skipped the gate, reached the log
// first, served the blocked client into dstlist and aborted EXEC.
//
// As in TestBlockedClientsAreServedInArrivalOrder, one inversion on a
// loaded machine is no bug; more than maxInversions of arrivalTries is.
func TestFollowerKeepsReadOrderBetweenExecAndPlainWrite(t *testing.T) {
	c := mustStartCluster(t, 3)
	leader := mustLeader(t, c)
	for _, n := range []string{leader.ClientAddr, followers(c, leader)[0].ClientAddr} {
		got := execAborts(t, n, arrivalTries)
		t.Logf("%s: EXEC aborted by the later LPUSH in %d of %d tries (redis-server: 0)", n, got, arrivalTries)
		if got > maxInversions {
			t.Errorf("%s: EXEC aborted by an LPUSH read after it in %d of %d tries, exp at most %d",
				n, got, arrivalTries, maxInversions)
		}
	}
}

// execAborts runs the suite test's shape tries times against addr and
// counts the tries whose EXEC answered nil.
func execAborts(t *testing.T, addr string, tries int) int {
	t.Helper()
	aborts := 0
	for try := 0; try < tries; try++ {
		conns := dialRawN(t, addr, 3)
		blocked, watching, r := conns[0], conns[1], conns[2]
		mustRaw(t, r, "DEL", "srclist{t}", "dstlist{t}", "somekey{t}")
		mustRaw(t, r, "SET", "somekey{t}", "somevalue")
		if err := blocked.writeRaw(resp.AppendCommand(nil, bargs("BRPOPLPUSH", "srclist{t}", "dstlist{t}", "0")...)); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(20 * time.Second)
		for !strings.Contains(string(mustRaw(t, r, "INFO", "clients")), "blocked_clients:1\r\n") {
			if time.Now().After(deadline) {
				t.Fatalf("%s: BRPOPLPUSH never blocked", addr)
			}
			time.Sleep(5 * time.Millisecond)
		}
		mustRaw(t, watching, "WATCH", "dstlist{t}")
		mustRaw(t, watching, "MULTI")
		mustRaw(t, watching, "GET", "somekey{t}")
		if err := watching.writeRaw(resp.AppendCommand(nil, bargs("EXEC")...)); err != nil {
			t.Fatal(err)
		}
		mustRaw(t, r, "LPUSH", "srclist{t}", "element")
		raw, err := watching.rd.ReadReply()
		if err != nil {
			t.Fatalf("%s: EXEC: %v", addr, err)
		}
		switch string(raw) {
		case "*1\r\n$9\r\nsomevalue\r\n":
		case "*-1\r\n":
			aborts++
		default:
			t.Fatalf("%s: EXEC answered %q", addr, raw)
		}
		if raw, err := blocked.rd.ReadReply(); err != nil || string(raw) != "$7\r\nelement\r\n" {
			t.Fatalf("%s: BRPOPLPUSH: %q %v", addr, raw, err)
		}
	}
	return aborts
}
