package tests

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/raftlist/raftlist/cluster/local"
	"github.com/raftlist/raftlist/fsm/resp"
)

// RESP3 end to end (issue 17): a client that said HELLO 3 gets every reply
// in RESP3 on any node, a follower relays what the leader answers for it
// unchanged, and clients of both protocols on one follower, whose
// forwarded requests share the upstream connections, each get their own.

// mustHello3 dials addr and switches the connection to RESP3.
func mustHello3(t *testing.T, addr string) *rawConn {
	t.Helper()
	c := mustDial(t, addr)
	raw, err := c.doStr("HELLO", "3")
	if err != nil || !strings.HasPrefix(string(raw), "%7\r\n") || !strings.Contains(string(raw), "$5\r\nproto\r\n:3\r\n") {
		t.Fatalf("HELLO 3 on %s: %q %v", addr, raw, err)
	}
	return c
}

// sameBytes runs cmds on the reference connection and on got, each reply
// compared byte for byte (ids masked by the caller's choice of commands).
func sameBytes(t *testing.T, where string, ref, got *rawConn, cmds ...[]string) {
	t.Helper()
	for _, cmd := range cmds {
		want, err1 := ref.doStr(cmd...)
		have, err2 := got.doStr(cmd...)
		if err1 != nil || err2 != nil {
			t.Fatalf("%s: %s: redis %v, raftlist %v", where, quoteCommand(bargs(cmd...)), err1, err2)
		}
		if string(want) != string(have) {
			t.Fatalf("%s: %s:\n  exp (redis-server) %q\n  got (raftlist)     %q", where, quoteCommand(bargs(cmd...)), want, have)
		}
	}
}

// MULTI/EXEC and scripts with redis.setresp, in both protocols, on the
// leader and through a follower (RAFT EXEC3 / FORWARD3), byte for byte
// as redis-server 7.0.15 answers.
func TestRESP3TransactionsAndScriptsAnswerAsRedis(t *testing.T) {
	rs := mustStartRedis(t)
	c := mustStartCluster(t, 3)
	leader := mustLeader(t, c)
	follower := followers(c, leader)[0]
	cmds := [][]string{
		{"RPUSH", "k", "a", "b"},
		{"MULTI"}, {"LPOP", "nokey"}, {"LPOP", "nokey", "2"}, {"RPUSH", "k", "c"}, {"LPOS", "k", "zz"},
		{"MGET", "nokey", "k2"}, {"GET", "nokey"}, {"EXEC"},
		{"WATCH", "w"}, {"SET", "w", "1"}, {"MULTI"}, {"GET", "w"}, {"EXEC"},
		{"MULTI"}, {"LPUSH"}, {"EXEC"},
		{"EVAL", "redis.setresp(3); return {redis.call('lindex', KEYS[1], 99), 1}", "1", "k"},
		{"EVAL", "redis.setresp(3); return redis.call('lpop', KEYS[1], 99) == nil", "1", "nokey"},
		{"EVAL", "redis.setresp(3); return {map={a={double=1.5}}, x=1}", "0"},
		{"EVAL", "return {map={a={double=1.5}}}", "0"},
		{"EVAL", "redis.setresp(3); return {true, false, {set={z=true}}}", "0"},
		{"EVAL", "return {true, false, {big_number='1234567890123456789012'}}", "0"},
		{"EVAL", "return {verbatim_string={format='mkd',string='# t'}}", "0"},
		{"EVAL", "return redis.call('lpop', KEYS[1])", "1", "nokey"},
		{"BLPOP", "nokey", "0.05"}, {"BRPOPLPUSH", "nokey", "d", "0.05"}, {"BLMOVE", "nokey", "d", "LEFT", "RIGHT", "0.05"},
		{"BLMPOP", "0.05", "1", "nokey", "LEFT"}, {"BLPOP", "k", "0"}, {"LMPOP", "1", "nokey", "LEFT"},
		{"CONFIG", "GET", "nosuch*"}, {"COMMAND", "INFO", "get", "lmpop", "nosuchcmd"}, {"COMMAND", "GETKEYSANDFLAGS", "lmove", "a", "b", "left", "left"},
		{"ACL", "SETUSER", "r3u", "on", ">pw", "~*", "+@read"}, {"ACL", "GETUSER", "r3u"}, {"ACL", "GETUSER", "nosuch"},
		{"ACL", "DELUSER", "r3u"},
		{"DEL", "k", "w", "d"},
	}
	sameBytesEverywhere(t, rs.Addr, leader, follower, cmds...)
}

// sameBytesEverywhere runs cmds on redis-server at redisAddr and on the
// leader and a follower, in RESP2 and in RESP3, each reply compared byte
// for byte.
func sameBytesEverywhere(t *testing.T, redisAddr string, leader, follower *local.Node, cmds ...[]string) {
	t.Helper()
	for _, proto := range []int{resp.RESP2, resp.RESP3} {
		for _, n := range []struct{ name, addr string }{{"leader", leader.ClientAddr}, {"follower", follower.ClientAddr}} {
			where := fmt.Sprintf("RESP%d through the %s", proto, n.name)
			ref, got := mustDial(t, redisAddr), mustDial(t, n.addr)
			if proto == resp.RESP3 {
				ref, got = mustHello3(t, redisAddr), mustHello3(t, n.addr)
			}
			sameBytes(t, where, ref, got, cmds...)
		}
	}
}

// Blocking pops in RESP3 through a follower: served (the leader's bytes
// relayed, or the follower's own FSM's outcome), timed out (RESP3's null,
// where a RESP2 client on the same follower gets *-1), for every blocking
// command.
func TestRESP3BlockingPopsThroughAFollower(t *testing.T) {
	c := mustStartCluster(t, 3)
	leader := mustLeader(t, c)
	follower := followers(c, leader)[0]
	for _, tc := range []struct {
		cmd          []string
		resp2, resp3 string
	}{
		{[]string{"BLPOP", "nokey", "0.2"}, "*-1\r\n", "_\r\n"},
		{[]string{"BRPOP", "nokey", "0.2"}, "*-1\r\n", "_\r\n"},
		{[]string{"BRPOPLPUSH", "nokey", "dst", "0.2"}, "*-1\r\n", "_\r\n"},
		{[]string{"BLMOVE", "nokey", "dst", "LEFT", "LEFT", "0.2"}, "*-1\r\n", "_\r\n"},
		{[]string{"BLMPOP", "0.2", "1", "nokey", "LEFT"}, "*-1\r\n", "_\r\n"},
	} {
		r2 := blkSendOn(t, mustDial(t, follower.ClientAddr), follower.ID, tc.cmd...)
		r3 := blkSendOn(t, mustHello3(t, follower.ClientAddr), follower.ID, tc.cmd...)
		for _, x := range []struct {
			call *blkCall
			want string
		}{{r2, tc.resp2}, {r3, tc.resp3}} {
			select {
			case res := <-x.call.done:
				if res.err != nil || string(res.raw) != x.want {
					t.Fatalf("%s timing out: exp %q, got %s", x.call.what, x.want, res)
				}
			case <-time.After(blkReplyBound):
				t.Fatalf("%s: no reply", x.call.what)
			}
		}
	}
	// Served by a later push: the value reaches the RESP3 client as the
	// follower applies the entry that served it.
	blocked := blkSendOn(t, mustHello3(t, follower.ClientAddr), follower.ID, "BLMPOP", "0", "1", "q", "RIGHT", "COUNT", "5")
	time.Sleep(200 * time.Millisecond)
	if raw, err := mustDial(t, leader.ClientAddr).doStr("RPUSH", "q", "x", "y"); err != nil || string(raw) != ":2\r\n" {
		t.Fatalf("RPUSH q x y: %q %v", raw, err)
	}
	select {
	case res := <-blocked.done:
		if want := "*2\r\n$1\r\nq\r\n*2\r\n$1\r\ny\r\n$1\r\nx\r\n"; res.err != nil || string(res.raw) != want {
			t.Fatalf("served BLMPOP: exp %q, got %s", want, res)
		}
	case <-time.After(blkReplyBound):
		t.Fatalf("%s: no reply", blocked.what)
	}
	blkEnd(t, c)
}

// The attack on the shared upstream: RESP2 and RESP3 clients of one
// follower pipeline requests whose replies differ only by protocol (nil
// replies) at the same time, so that their forwarded runs interleave on
// the follower's shared connections to the leader. Each must get its own
// protocol's bytes, every time.
func TestRESP3AndRESP2ClientsOfOneFollowerNeverGetEachOthersReplies(t *testing.T) {
	c := mustStartCluster(t, 3)
	leader := mustLeader(t, c)
	follower := followers(c, leader)[0]
	const clients, rounds = 8, 60
	var wg sync.WaitGroup
	errs := make(chan string, clients)
	for i := 0; i < clients; i++ {
		proto := resp.RESP2 + i%2
		conn := mustDial(t, follower.ClientAddr)
		if proto == resp.RESP3 {
			conn = mustHello3(t, follower.ClientAddr)
		}
		null, nullArray := "$-1\r\n", "*-1\r\n"
		if proto == resp.RESP3 {
			null, nullArray = "_\r\n", "_\r\n"
		}
		key := fmt.Sprintf("attack%d", i)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := 0; r < rounds; r++ {
				// Writes (LPOP, LMPOP, RPUSH) are forwarded; EVAL too.
				cmds := [][][]byte{
					bargs("LPOP", key), bargs("LMPOP", "1", key, "LEFT"), bargs("RPUSH", key, "v"),
					bargs("LPOP", key, "5"), bargs("LPOP", key, "5"),
					bargs("EVAL", "return redis.call('lpop', KEYS[1])", "1", key),
				}
				want := []string{null, nullArray, ":1\r\n", "*1\r\n$1\r\nv\r\n", nullArray, null}
				got, err := conn.pipeline(cmds)
				if err != nil {
					errs <- fmt.Sprintf("RESP%d client %d: %v", proto, i, err)
					return
				}
				for k := range want {
					if string(got[k]) != want[k] {
						errs <- fmt.Sprintf("RESP%d client %d, round %d, %s: exp %q, got %q", proto, i, r, quoteCommand(cmds[k]), want[k], got[k])
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// go-redis v9 speaking RESP3 (Protocol: 3) does ordinary list work on a
// follower and on the leader: nil replies are redis.Nil, CONFIG GET a map,
// a script's RESP3 map a Go map.
func TestRESP3GoRedisClientDoesListWork(t *testing.T) {
	c := mustStartCluster(t, 3)
	leader := mustLeader(t, c)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for _, n := range append(followers(c, leader), leader) {
		rdb := redis.NewClient(&redis.Options{Addr: n.ClientAddr, Protocol: 3, MaxRetries: 20})
		defer rdb.Close()
		key := "gr3:" + n.ID
		if err := rdb.RPush(ctx, key, "a", "b", "c").Err(); err != nil {
			t.Fatalf("%s: RPUSH: %v", n.ID, err)
		}
		if got, err := rdb.LRange(ctx, key, 0, -1).Result(); err != nil || strings.Join(got, ",") != "a,b,c" {
			t.Fatalf("%s: LRANGE: %v %v", n.ID, got, err)
		}
		if got, err := rdb.LPop(ctx, key).Result(); err != nil || got != "a" {
			t.Fatalf("%s: LPOP: %q %v", n.ID, got, err)
		}
		if _, err := rdb.LPos(ctx, key, "zz", redis.LPosArgs{}).Result(); err != redis.Nil {
			t.Fatalf("%s: LPOS of a missing element: exp redis.Nil, got %v", n.ID, err)
		}
		if _, err := rdb.LIndex(ctx, key, 99).Result(); err != redis.Nil {
			t.Fatalf("%s: LINDEX out of range: exp redis.Nil, got %v", n.ID, err)
		}
		if _, err := rdb.BLPop(ctx, 200*time.Millisecond, "gr3:empty").Result(); err != redis.Nil {
			t.Fatalf("%s: BLPOP timing out: exp redis.Nil, got %v", n.ID, err)
		}
		if got, err := rdb.BLMove(ctx, key, key+":d", "LEFT", "RIGHT", time.Second).Result(); err != nil || got != "b" {
			t.Fatalf("%s: BLMOVE: %q %v", n.ID, got, err)
		}
		if got, err := rdb.ConfigGet(ctx, "nosuch").Result(); err != nil || len(got) != 0 {
			t.Fatalf("%s: CONFIG GET nosuch: %v %v", n.ID, got, err)
		}
		got, err := rdb.Eval(ctx, "return {map={k=KEYS[1]}}", []string{key}).Result()
		if m, ok := got.(map[interface{}]interface{}); err != nil || !ok || m["k"] != key {
			t.Fatalf("%s: a script's map: %#v %v", n.ID, got, err)
		}
		if got, err := rdb.Eval(ctx, "return {double=2.5}", nil).Result(); err != nil || got != 2.5 {
			t.Fatalf("%s: a script's double: %#v %v", n.ID, got, err)
		}
		if got, err := rdb.Info(ctx, "server").Result(); err != nil || !strings.Contains(got, "redis_version:") {
			t.Fatalf("%s: INFO: %q %v", n.ID, got, err)
		}
		if got, err := rdb.Do(ctx, "HELLO").Result(); err != nil {
			t.Fatalf("%s: HELLO: %v", n.ID, err)
		} else if m, ok := got.(map[interface{}]interface{}); !ok || m["proto"] != int64(3) {
			t.Fatalf("%s: HELLO: exp a map with proto 3, got %#v", n.ID, got)
		}
	}
	mustConverge(t, c)
}

// A RESP3 client blocked on a follower whose waiter times out while the
// follower is away learns it from the snapshot it installs: the outcome
// kept in the replicated state is RESP2's *-1, and the RESP3 client must
// get RESP3's null, the RESP2 client beside it *-1.
func TestRESP3BlockedClientTimedOutWhileItsFollowerWasAwayGetsRESP3Null(t *testing.T) {
	c := mustStartCluster(t, 3, "--trailing-logs", "2", "--snapshot-threshold", "4",
		"--heartbeat-timeout", "5s", "--election-timeout", "5s")
	leader := mustLeader(t, c)
	f := followers(c, leader)[0]
	call3 := blkSendOn(t, mustHello3(t, f.ClientAddr), f.ID, "BLPOP", "q3", "1")
	call2 := blkSendOn(t, mustDial(t, f.ClientAddr), f.ID, "BRPOPLPUSH", "q3", "d3", "1")
	blkAwaitWaiters(t, c, 2)

	f.Pause()
	conn := mustDial(t, leader.ClientAddr)
	fillSendWindow(t, conn)
	// The leader's expiry entries time both waiters out at their deadline.
	deadline := time.Now().Add(8 * time.Second)
	for {
		info, err := leader.Info(context.Background())
		if err == nil && info["raft_blocked_waiters"] == "0" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the leader did not time the waiters out: %v %v", info["raft_blocked_waiters"], err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for i := 0; i < 30; i++ {
		mustDo(t, conn, "RPUSH", "q3:filler", "x")
	}
	if got := mustDo(t, conn, "RAFT", "SNAPSHOT"); got.kind != '*' {
		t.Fatalf("RAFT SNAPSHOT on the leader: exp [index size ms], got %s", got)
	}
	f.Resume()
	call3.requireReply(t, "_\r\n", 8*time.Second)
	call2.requireReply(t, "*-1\r\n", 8*time.Second)
	if !waitLogged(f, "Installed remote snapshot", 10*time.Second) {
		t.Fatalf("%s never logged %q: the test did not exercise a snapshot install", f.ID, "Installed remote snapshot")
	}
	mustDo(t, conn, "DEL", "q3:filler")
	blkEnd(t, c)
}
