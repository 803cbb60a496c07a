package tests

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/raftlist/raftlist/cluster/local"
)

// CLIENT KILL acts on this node's clients only; a killed blocked client's
// waiter ends through the log on every node, and no acknowledged element
// is lost to a client killed mid-EXEC or mid-blocking-pop.

// clientFields parses one CLIENT INFO / CLIENT LIST line.
func clientFields(line string) map[string]string {
	out := map[string]string{}
	for _, f := range strings.Fields(line) {
		if k, v, ok := strings.Cut(f, "="); ok {
			out[k] = v
		}
	}
	return out
}

// clientLines is a node's CLIENT LIST, one field map per client.
func clientLines(t *testing.T, conn *rawConn) []map[string]string {
	t.Helper()
	var out []map[string]string
	for _, line := range strings.Split(strings.TrimSpace(string(mustDo(t, conn, "client", "list").str)), "\n") {
		out = append(out, clientFields(line))
	}
	return out
}

// waitWaiters waits until every node reports want blocked waiters.
func waitWaiters(t *testing.T, c *local.Cluster, want int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var got []string
		ok := true
		for _, n := range c.Nodes {
			conn, err := dialRaw(n.ClientAddr, 5*time.Second)
			if err != nil {
				t.Fatalf("dial %s: %v", n.ID, err)
			}
			w, err := r614InfoInt(conn, "raft", "raft_blocked_waiters")
			conn.Close()
			got = append(got, fmt.Sprintf("%s=%d(%v)", n.ID, w, err))
			ok = ok && err == nil && w == want
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("raft_blocked_waiters: exp %d on every node, got %v", want, got)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestClientKillEndsBlockedWaiterThroughTheLog kills a client blocked in
// BLPOP, on a follower and on the leader: the kill answers once the
// waiter has ended, every node drops it, the client gets no reply, and a
// push right after the kill stays in the list. Another node's CLIENT KILL
// cannot touch it.
func TestClientKillEndsBlockedWaiterThroughTheLog(t *testing.T) {
	c := mustStartCluster(t, 3)
	leader := mustLeader(t, c)
	f := followers(c, leader)[0]
	cases := []struct {
		home, other *local.Node
		kill        func(id, addr, laddr string) []string
		want        string
	}{
		{f, leader, func(id, addr, laddr string) []string {
			return []string{"client", "kill", "id", id, "addr", addr, "laddr", laddr, "type", "normal", "user", "default"}
		}, ":1"},
		{leader, f, func(_, addr, _ string) []string { return []string{"client", "kill", addr} }, "+OK"},
	}
	for i := range scale(6, 20) {
		tc := cases[i%len(cases)]
		key := fmt.Sprintf("ck%d", i)
		victim := mustDial(t, tc.home.ClientAddr)
		info := clientFields(string(mustDo(t, victim, "client", "info").str))
		if err := victim.writeRaw(encodeArgs("blpop", key, "0")); err != nil {
			t.Fatal(err)
		}
		waitWaiters(t, c, 1)

		// The same address on another node is nobody there.
		other := mustDial(t, tc.other.ClientAddr)
		defer other.Close()
		if got := mustDo(t, other, "client", "kill", "addr", info["addr"], "skipme", "no").String(); got != ":0" {
			t.Fatalf("CLIENT KILL on %s of %s's client: exp :0, got %s", tc.other.ID, tc.home.ID, got)
		}

		// The push is pipelined behind the kill: the waiter ended before
		// the kill answered, so the push is not served to the killed
		// client.
		killer := mustDial(t, tc.home.ClientAddr)
		for _, l := range clientLines(t, killer) {
			if l["id"] == info["id"] && (l["flags"] != "b" || l["cmd"] != "blpop") {
				t.Fatalf("a client blocked in BLPOP: exp flags=b cmd=blpop, got %v", l)
			}
		}
		replies, err := killer.pipeline([][][]byte{bargs(tc.kill(info["id"], info["addr"], info["laddr"])...), bargs("rpush", key, "x")})
		if err != nil {
			t.Fatalf("CLIENT KILL, RPUSH on %s: %v", tc.home.ID, err)
		}
		if got := string(replies[0]) + string(replies[1]); got != tc.want+"\r\n:1\r\n" {
			t.Fatalf("CLIENT KILL, RPUSH on %s: exp %s, :1, got %q", tc.home.ID, tc.want, got)
		}
		if raw, err := victim.readReply(); !isClosed(err) {
			t.Fatalf("killed client: exp a closed connection, got %s (%v)", quoteRaw(raw), err)
		}
		waitWaiters(t, c, 0)
		requireList(t, leader.ClientAddr, key, false, []string{"x"})
		for _, l := range clientLines(t, killer) {
			if l["id"] == info["id"] {
				t.Fatalf("killed client still listed: %v", l)
			}
		}
	}
	mustConverge(t, c)
}

// encodeArgs is a command in RESP.
func encodeArgs(args ...string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	return []byte(b.String())
}

// TestClientKillSparesNodeLinks: the connections a follower forwards its
// clients' commands on are, on the leader, clients of no one there; no
// filter of CLIENT KILL reaches them, with a cluster secret or without.
func TestClientKillSparesNodeLinks(t *testing.T) {
	for _, secret := range []bool{false, true} {
		t.Run(fmt.Sprintf("secret=%v", secret), func(t *testing.T) {
			var c *local.Cluster
			if secret {
				c = mustStartSecretCluster(t, 3)
			} else {
				c = mustStartCluster(t, 3)
			}
			leader := mustLeader(t, c)
			fs := followers(c, leader)
			for _, f := range fs {
				mustPush(t, f.ClientAddr, "links", "a")
			}
			k := mustDial(t, leader.ClientAddr)
			var links []map[string]string
			for _, l := range clientLines(t, k) {
				if strings.HasPrefix(l["cmd"], "raft|") || (l["user"] != "default" && l["user"] != "") {
					links = append(links, l)
				}
			}
			if len(links) == 0 {
				t.Fatalf("no forwarding connection listed on the leader: %v", clientLines(t, k))
			}
			for _, l := range links {
				for _, cmd := range [][]string{
					{"client", "kill", "id", l["id"]},
					{"client", "kill", "addr", l["addr"]},
					{"client", "kill", "laddr", l["laddr"], "id", l["id"]},
					{"client", "kill", "user", l["user"], "addr", l["addr"]},
				} {
					if l["user"] != "default" && cmd[2] == "user" {
						continue // a user only the secret makes exist
					}
					if got := mustDo(t, k, cmd...).String(); got != ":0" {
						t.Fatalf("%q on the leader: exp :0, got %s (%v)", cmd, got, l)
					}
				}
				if got := mustDo(t, k, "client", "kill", l["addr"]).String(); got != "-ERR No such client" {
					t.Fatalf("CLIENT KILL %s (a forwarding connection): got %s", l["addr"], got)
				}
			}
			mustDo(t, k, "client", "kill", "type", "normal")
			mustDo(t, k, "client", "kill", "laddr", leader.ClientAddr, "skipme", "yes")
			after := map[string]bool{}
			for _, l := range clientLines(t, k) {
				after[l["id"]] = true
			}
			for _, l := range links {
				if !after[l["id"]] {
					t.Fatalf("forwarding connection %s was killed; left: %v", l["id"], clientLines(t, k))
				}
			}
			for _, f := range fs {
				mustPush(t, f.ClientAddr, "links", "b")
			}
			requireList(t, leader.ClientAddr, "links", false, []string{"a", "a", "b", "b"})
			mustConverge(t, c)
		})
	}
}

// killLedger is what the clients of TestClientKillLosesNoAcknowledgedElement
// saw acknowledged and received.
type killLedger struct {
	mu       sync.Mutex
	pushed   []string // RPUSH q answered with an integer
	received []string // handed to a client by BLPOP or an EXEC's LPOP
	execed   []string // EXEC's RPUSH m answered
	kills    int
}

func (l *killLedger) add(to *[]string, v string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	*to = append(*to, v)
}

// TestClientKillLosesNoAcknowledgedElement kills, at random moments,
// clients blocked in BLPOP and clients running MULTI/EXEC that pop, on
// every node, while a pusher nobody kills feeds the list. Every element
// whose push was acknowledged is at the end either in the list or was
// received by exactly one client; every acknowledged EXEC's push is
// there; waiters are gone and the nodes' digests are equal.
func TestClientKillLosesNoAcknowledgedElement(t *testing.T) {
	c := mustStartCluster(t, 3)
	mustLeader(t, c)
	var addrs []string
	for _, n := range c.Nodes {
		addrs = append(addrs, n.ClientAddr)
	}
	led := &killLedger{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	stopped := func() bool {
		select {
		case <-stop:
			return true
		default:
			return false
		}
	}
	// dial connects as a victim (named so the killer finds it).
	dial := func(i int) *rawConn {
		for !stopped() {
			conn, err := dialRaw(addrs[i%len(addrs)], 10*time.Second)
			if err == nil {
				if raw, err := conn.doStr("client", "setname", "victim"); err == nil && string(raw) == "+OK\r\n" {
					return conn
				}
				conn.Close()
			}
			time.Sleep(20 * time.Millisecond)
		}
		return nil
	}
	for i := 0; i < 3; i++ { // blocked consumers
		wg.Add(1)
		go func() {
			defer wg.Done()
			var conn *rawConn
			for !stopped() {
				if conn == nil {
					if conn = dial(i); conn == nil {
						return
					}
				}
				raw, err := conn.doStr("blpop", "kq", "1")
				if err != nil {
					conn.Close()
					conn = nil
					continue
				}
				if r, _ := parseRaw(raw); r.kind == '*' && len(r.elems) == 2 {
					led.add(&led.received, string(r.elems[1].str))
				}
			}
			if conn != nil {
				conn.Close()
			}
		}()
	}
	for i := 0; i < 2; i++ { // transactions that push and pop
		wg.Add(1)
		go func() {
			defer wg.Done()
			var conn *rawConn
			for n := 0; !stopped(); n++ {
				if conn == nil {
					if conn = dial(i + 1); conn == nil {
						return
					}
				}
				e := fmt.Sprintf("e%d-%d", i, n)
				replies, err := conn.pipeline([][][]byte{bargs("multi"), bargs("rpush", "km", e), bargs("lpop", "kq"), bargs("exec")})
				if err != nil || len(replies) < 4 {
					conn.Close()
					conn = nil
					continue
				}
				if r, _ := parseRaw(replies[3]); r.kind == '*' && len(r.elems) == 2 {
					led.add(&led.execed, e)
					if !r.elems[1].null {
						led.add(&led.received, string(r.elems[1].str))
					}
				}
			}
			if conn != nil {
				conn.Close()
			}
		}()
	}
	wg.Add(1)
	go func() { // the pusher, never killed
		defer wg.Done()
		conns := make([]*rawConn, len(addrs))
		for n := 0; !stopped(); n++ {
			i := n % len(addrs)
			if conns[i] == nil {
				conn, err := dialRaw(addrs[i], 10*time.Second)
				if err != nil {
					continue
				}
				conns[i] = conn
			}
			v := fmt.Sprintf("p%d", n)
			raw, err := conns[i].doStr("rpush", "kq", v)
			if err != nil {
				conns[i].Close()
				conns[i] = nil
				continue
			}
			if len(raw) > 0 && raw[0] == ':' {
				led.add(&led.pushed, v)
			}
			time.Sleep(2 * time.Millisecond)
		}
		for _, conn := range conns {
			if conn != nil {
				conn.Close()
			}
		}
	}()
	wg.Add(1)
	go func() { // the killer
		defer wg.Done()
		rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 17))
		for !stopped() {
			time.Sleep(time.Duration(5+rng.IntN(60)) * time.Millisecond)
			conn, err := dialRaw(addrs[rng.IntN(len(addrs))], 10*time.Second)
			if err != nil {
				continue
			}
			raw, err := conn.doStr("client", "list")
			r, _ := parseRaw(raw)
			var ids []string
			for _, line := range strings.Split(string(r.str), "\n") {
				if f := clientFields(line); f["name"] == "victim" {
					ids = append(ids, f["id"])
				}
			}
			if err == nil && len(ids) > 0 {
				if raw, err := conn.doStr("client", "kill", "id", ids[rng.IntN(len(ids))]); err == nil && string(raw) == ":1\r\n" {
					led.mu.Lock()
					led.kills++
					led.mu.Unlock()
				}
			}
			conn.Close()
		}
	}()
	time.Sleep(time.Duration(scale(4, 10)) * time.Second)
	close(stop)
	wg.Wait()

	waitWaiters(t, c, 0)
	leader := mustLeader(t, c)
	left := mustRange(t, leader.ClientAddr, "kq", false)
	seen := map[string]int{}
	for _, v := range append(slices.Clone(left), led.received...) {
		seen[v]++
	}
	for v, n := range seen {
		if n > 1 {
			t.Errorf("element %s handed out %d times (list and clients)", v, n)
		}
	}
	for _, v := range led.pushed {
		if seen[v] == 0 {
			t.Errorf("acknowledged element %s lost: neither in the list nor received", v)
		}
	}
	km := map[string]bool{}
	for _, v := range mustRange(t, leader.ClientAddr, "km", false) {
		km[v] = true
	}
	for _, e := range led.execed {
		if !km[e] {
			t.Errorf("acknowledged EXEC's element %s missing", e)
		}
	}
	t.Logf("kills %d, pushed %d, received %d, left %d, transactions %d", led.kills, len(led.pushed), len(led.received), len(left), len(led.execed))
	if led.kills == 0 || len(led.pushed) == 0 {
		t.Fatalf("the test killed %d clients and pushed %d elements: it tested nothing", led.kills, len(led.pushed))
	}
	mustConverge(t, c)
}
