package tests

import (
	"strconv"
	"strings"
	"testing"
)

// A follower forwards many clients' commands on one connection to the
// leader: a reply over client-output-buffer-limit must fail only the
// command it answers, not close that connection under the others. (The
// leader tells that connection from a client's by the cluster secret.)
func TestReplyOverTheOutputLimitThroughAFollowerFailsOnlyItsOwnCommand(t *testing.T) {
	c := mustStartSecretCluster(t, 3, "--client-output-buffer-limit", "normal 1mb 0 0")
	leader := mustLeader(t, c)
	follower := followers(c, leader)[0]

	// A list of about 2 MB, pushed 200 KB at a time.
	elem := strings.Repeat("e", 1000)
	lc := dialDeep(t, leader.ClientAddr)
	for i := 0; i < 10; i++ {
		args := []string{"RPUSH", "outlimit:big"}
		for j := 0; j < 200; j++ {
			args = append(args, elem)
		}
		if r := mustDo(t, lc, args...); r.String() != ":"+strconv.Itoa((i+1)*200) {
			t.Fatalf("RPUSH: exp %d, got %s", (i+1)*200, r)
		}
	}
	// A client of the leader itself is closed for that reply, as Redis does.
	if raw, err := lc.doStr("LRANGE", "outlimit:big", "0", "-1"); !isClosed(err) {
		t.Fatalf("LRANGE on the leader: exp the connection closed, got %d bytes, %v", len(raw), err)
	}

	// A follower serves reads itself (follower_read.go): its own client is
	// closed for that reply too.
	if raw, err := dialDeep(t, follower.ClientAddr).doStr("LRANGE", "outlimit:big", "0", "-1"); !isClosed(err) {
		t.Fatalf("LRANGE on a follower: exp the connection closed, got %d bytes, %v", len(raw), err)
	}

	// A script is forwarded (it may write), so its 2 MB reply comes back
	// over the shared forwarding connection.
	const bigScript = "return redis.call('lrange', KEYS[1], 0, -1)"
	stopOthers := startOtherClients(t, follower.ClientAddr, "outlimit:other:", 32)
	for round := 0; round < 5; round++ {
		fc := dialDeep(t, follower.ClientAddr)
		raw, err := fc.doStr("EVAL", bigScript, "1", "outlimit:big")
		if err != nil || !isErrorPrefix(raw, "ERR the reply (") {
			t.Errorf("EVAL through the follower, round %d: exp the output-limit error, got %s, %v", round, quoteRaw(raw), err)
		}
		fc.Close()
	}
	for _, e := range stopOthers() {
		t.Error("another client: " + e)
	}
	mustConverge(t, c)
}
