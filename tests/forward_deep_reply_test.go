package tests

import (
	"bytes"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/raftlist/raftlist/fsm/resp"
)

// nestedScript returns a table nested depth levels below the top one.
func nestedScript(depth int) string {
	return fmt.Sprintf("local t={} local c=t for i=1,%d do local n={} c[1]=n c=n end return t", depth)
}

// dialDeep is mustDial with a reader that accepts any nesting, so that
// only the servers' limits are under test.
func dialDeep(t *testing.T, addr string) *rawConn {
	c := mustDial(t, addr)
	c.rd.SetLimits(resp.Limits{MaxBulk: maxReplyBulk, MaxDepth: 1 << 20})
	return c
}

// A script's deeply nested reply through a follower is relayed byte for
// byte, as the leader (and redis-server) answers it, while other clients'
// commands share the follower's forwarding connections and see no error.
func TestFollowerRelaysDeeplyNestedScriptRepliesWithoutFailingOtherClients(t *testing.T) {
	c := mustStartCluster(t, 3)
	leader := mustLeader(t, c)
	follower := followers(c, leader)[0]

	want := map[int][]byte{}
	leaderConn := dialDeep(t, leader.ClientAddr)
	for _, depth := range []int{100, 1000} {
		raw, err := leaderConn.doStr("EVAL", nestedScript(depth), "0")
		if err != nil || !bytes.HasPrefix(raw, []byte("*1\r\n*1\r\n")) {
			t.Fatalf("EVAL %d deep on the leader: %s, %v", depth, quoteRaw(raw), err)
		}
		want[depth] = raw
	}
	if _, err := exec.LookPath("redis-server"); err == nil {
		rs := dialDeep(t, mustStartRedis(t).Addr)
		for depth, raw := range want {
			if got, err := rs.doStr("EVAL", nestedScript(depth), "0"); err != nil || !bytes.Equal(got, raw) {
				t.Errorf("EVAL %d deep: the leader answers %d bytes, redis-server %d bytes (%v): %s",
					depth, len(raw), len(got), err, quoteRaw(got))
			}
		}
	} else {
		t.Log("redis-server is not installed: not compared with it")
	}

	// Other clients push to and read their own lists through the
	// follower until the deep scripts are done.
	stopOthers := startOtherClients(t, follower.ClientAddr, "deep:other:", 32)
	deepConn := dialDeep(t, follower.ClientAddr)
	for round := 0; round < 10; round++ {
		for _, depth := range []int{100, 1000} {
			got, err := deepConn.doStr("EVAL", nestedScript(depth), "0")
			if err != nil || !bytes.Equal(got, want[depth]) {
				t.Errorf("EVAL %d deep through the follower, round %d: exp the leader's %d bytes, got %s, %v",
					depth, round, len(want[depth]), quoteRaw(got), err)
			}
		}
	}
	// The deepest replies there are: a table that contains itself stops
	// at Redis's Lua stack limit, and EXEC (a dedicated connection from a
	// follower) wraps it in one more array.
	selfContaining := "local t = {} t[1] = t return t"
	for i, cmds := range [][][][]byte{
		{bargs("EVAL", selfContaining, "0")},
		{bargs("MULTI"), bargs("EVAL", selfContaining, "0"), bargs("EXEC")},
	} {
		want, err := leaderConn.pipeline(cmds)
		if err != nil {
			t.Fatalf("%s on the leader: %v", quoteCommand(cmds[len(cmds)-1]), err)
		}
		exp := strings.Repeat("*1\r\n", 7995+i) + "-ERR reached lua stack limit\r\n"
		if last := want[len(want)-1]; string(last) != exp {
			t.Fatalf("%s on the leader: exp %d arrays around the stack-limit error, got %s",
				quoteCommand(cmds[len(cmds)-1]), 7995+i, quoteRaw(last))
		}
		got, err := deepConn.pipeline(cmds)
		if err != nil {
			t.Fatalf("%s through the follower: %v", quoteCommand(cmds[len(cmds)-1]), err)
		}
		if !bytes.Equal(got[len(got)-1], want[len(want)-1]) {
			t.Errorf("%s through the follower: exp the leader's %d bytes, got %s",
				quoteCommand(cmds[len(cmds)-1]), len(want[len(want)-1]), quoteRaw(got[len(got)-1]))
		}
	}
	for _, e := range stopOthers() {
		t.Error("another client: " + e)
	}
	mustConverge(t, c)
}

// startOtherClients starts n clients that RPUSH to and read back their own
// lists (keyPrefix + i) through addr, each checking every reply, until the
// returned function stops them and returns what went wrong.
func startOtherClients(t *testing.T, addr, keyPrefix string, n int) (stop func() []string) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan string, n)
	for i := 0; i < n; i++ {
		conn := dialDeep(t, addr)
		key := keyPrefix + strconv.Itoa(i)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 1; ; n++ {
				select {
				case <-done:
					return
				default:
				}
				v := strconv.Itoa(n)
				raws, err := conn.pipeline([][][]byte{bargs("RPUSH", key, v), bargs("LRANGE", key, "-1", "-1")})
				exp := []string{":" + v + "\r\n", "*1\r\n$" + strconv.Itoa(len(v)) + "\r\n" + v + "\r\n"}
				if err != nil || len(raws) != 2 || string(raws[0]) != exp[0] || string(raws[1]) != exp[1] {
					errs <- fmt.Sprintf("%s, push %d: exp %q, got %q, %v", key, n, exp, raws, err)
					return
				}
			}
		}()
	}
	return func() []string {
		close(done)
		wg.Wait()
		close(errs)
		var out []string
		for e := range errs {
			out = append(out, e)
		}
		return out
	}
}
