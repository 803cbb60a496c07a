package tests

import (
	"bytes"
	"fmt"
	"os/exec"
	"strconv"
	"sync"
	"testing"

	"github.com/raftlist/raftlist/cluster/resp"
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
	stop := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for i := 0; i < 32; i++ {
		conn := dialDeep(t, follower.ClientAddr)
		key := "deep:other:" + strconv.Itoa(i)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 1; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				raws, err := conn.pipeline([][][]byte{
					bargs("RPUSH", key, strconv.Itoa(n)),
					bargs("LRANGE", key, "-1", "-1"),
				})
				exp := []string{":" + strconv.Itoa(n) + "\r\n", "*1\r\n$" + strconv.Itoa(len(strconv.Itoa(n))) + "\r\n" + strconv.Itoa(n) + "\r\n"}
				if err != nil || len(raws) != 2 || string(raws[0]) != exp[0] || string(raws[1]) != exp[1] {
					errs <- fmt.Sprintf("%s, push %d: exp %q, got %q, %v", key, n, exp, raws, err)
					return
				}
			}
		}()
	}

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
	close(stop)
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error("another client: " + e)
	}
	mustConverge(t, c)
}
