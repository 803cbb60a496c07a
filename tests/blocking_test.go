package tests

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/raftlist/raftlist/cluster/local"
	"github.com/raftlist/raftlist/fsm/resp"
)

// Multi-process tests of blocking pops (issue 4): clients blocked on every
// node are served by pushes through other nodes, first come first served
// across nodes; timeouts, disconnects and CLIENT UNBLOCK end them through
// the log; a leader killed under them leaves no client hanging and pops
// nothing for a client that cannot be answered. Every test ends with no
// waiter on any node and equal DEBUG DIGEST everywhere (blkEnd).

const (
	// blkReplyBound is how long a client that has been served, timed out
	// or unblocked may take to see its reply before the test calls it a
	// hang.
	blkReplyBound = 10 * time.Second
	// blkFailoverBound bounds how long a client blocked through a follower
	// may wait for its retry error after the leader dies: an election and
	// the new leader's first entry, with room for a slow machine.
	blkFailoverBound = 30 * time.Second
	// blkTimeoutSlack is how late after its timeout a timed-out client may
	// be answered (the owner's UNBLOCK goes through the log).
	blkTimeoutSlack = 3 * time.Second
)

// blkErrLeaderChanged is the reply of a client whose waiter a new leader
// purged.
const blkErrLeaderChanged = "-TRYAGAIN the leader changed while the client was blocked; nothing was popped for it, retry\r\n"

// ---------------------------------------------------------------------------
// Blocked calls: a command on its own raw connection whose reply is read in
// the background.

type blkCall struct {
	what string // "BLPOP k 0 on node2", for messages
	conn *rawConn
	sent time.Time
	done chan blkResult
}

type blkResult struct {
	raw []byte
	err error
	at  time.Time
}

func (r blkResult) String() string {
	if r.err != nil {
		return "error: " + r.err.Error()
	}
	return quoteRaw(r.raw)
}

// blkStart dials n and sends args on a fresh connection without waiting
// for the reply.
func blkStart(t *testing.T, n *local.Node, args ...string) *blkCall {
	t.Helper()
	return blkSendOn(t, mustDial(t, n.ClientAddr), n.ID, args...)
}

// blkSendOn sends args on conn and reads the reply in the background.
func blkSendOn(t *testing.T, conn *rawConn, where string, args ...string) *blkCall {
	t.Helper()
	call := &blkCall{
		what: quoteCommand(bargs(args...)) + " on " + where,
		conn: conn,
		done: make(chan blkResult, 1),
	}
	call.sent = time.Now()
	if err := conn.writeRaw(resp.AppendCommand(nil, bargs(args...)...)); err != nil {
		t.Fatalf("send %s: %v", call.what, err)
	}
	go func() {
		raw, err := conn.readReply()
		call.done <- blkResult{raw: raw, err: err, at: time.Now()}
	}()
	return call
}

// await waits for the reply; none within bound is a hang.
func (c *blkCall) await(t *testing.T, bound time.Duration) blkResult {
	t.Helper()
	select {
	case r := <-c.done:
		return r
	case <-time.After(bound):
		t.Fatalf("%s: no reply within %v of waiting (a hang)", c.what, bound)
	}
	return blkResult{}
}

// requireReply waits for the reply and requires it byte for byte.
func (c *blkCall) requireReply(t *testing.T, want string, bound time.Duration) blkResult {
	t.Helper()
	r := c.await(t, bound)
	if r.err != nil || string(r.raw) != want {
		hint := ""
		if want != blkErrLeaderChanged && string(r.raw) == blkErrLeaderChanged {
			hint = "\n  (the leader changed while the client was blocked: a spurious election on a loaded machine gives this too; see the node logs)"
		}
		t.Fatalf("%s:\n  exp %s\n  got %s%s", c.what, quoteRaw([]byte(want)), r, hint)
	}
	return r
}

// requirePending checks that the call has no reply yet.
func (c *blkCall) requirePending(t *testing.T) {
	t.Helper()
	select {
	case r := <-c.done:
		t.Fatalf("%s: exp it to be still blocked, got %s", c.what, r)
	default:
	}
}

// ---------------------------------------------------------------------------
// Replies, pushes and node state.

func blkBulk(s string) string { return "$" + strconv.Itoa(len(s)) + "\r\n" + s + "\r\n" }

func blkArray(elems ...string) string {
	return "*" + strconv.Itoa(len(elems)) + "\r\n" + strings.Join(elems, "")
}

// blkPair is BLPOP's and BRPOP's reply: [key, element].
func blkPair(key, elem string) string { return blkArray(blkBulk(key), blkBulk(elem)) }

// blkPush runs one RPUSH key values... through addr, retrying -TRYAGAIN
// (not applied), and fails on anything but an integer reply.
func blkPush(t *testing.T, addr, key string, values ...string) {
	t.Helper()
	c := mustDial(t, addr)
	defer c.Close()
	args := append([]string{"RPUSH", key}, values...)
	deadline := time.Now().Add(blkFailoverBound)
	for {
		raw, err := c.doStr(args...)
		if err != nil {
			t.Fatalf("%s through %s: %v", quoteCommand(bargs(args...)), addr, err)
		}
		if isErrorPrefix(raw, "TRYAGAIN") && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
			continue
		}
		if len(raw) == 0 || raw[0] != ':' {
			t.Fatalf("%s through %s: exp an integer, got %s", quoteCommand(bargs(args...)), addr, quoteRaw(raw))
		}
		return
	}
}

// blkClient is a go-redis client for addr that shows every error reply as
// it is (no retries of TRYAGAIN) and lets contexts bound blocking calls.
func blkClient(t *testing.T, addr string) *redis.Client {
	t.Helper()
	rc := redis.NewClient(&redis.Options{
		Addr: addr, MaxRetries: -1, PoolSize: 1, Protocol: 2, DisableIdentity: true,
		DialTimeout: 2 * time.Second, ReadTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second,
		ContextTimeoutEnabled: true,
	})
	t.Cleanup(func() { rc.Close() })
	return rc
}

// blkInfoInt reads an integer INFO field of n.
func blkInfoInt(ctx context.Context, n *local.Node, section, field string) (int, error) {
	conn, err := dialRaw(n.ClientAddr, 2*time.Second)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	raw, err := conn.doStr("INFO", section)
	if err != nil {
		return 0, err
	}
	r, err := parseRaw(raw)
	if err != nil || r.kind != '$' {
		return 0, fmt.Errorf("INFO %s on %s: %s", section, n.ID, quoteRaw(raw))
	}
	for _, line := range strings.Split(string(r.str), "\r\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			return strconv.Atoi(v)
		}
	}
	return 0, fmt.Errorf("INFO %s on %s has no %s", section, n.ID, field)
}

// blkLive returns the running, unpaused nodes.
func blkLive(c *local.Cluster) []*local.Node {
	var out []*local.Node
	for _, n := range c.Nodes {
		if n.Running() && !n.Paused() {
			out = append(out, n)
		}
	}
	return out
}

// blkAwaitCounts waits until every running node answers want for an INFO
// field: raft_blocked_waiters (the replicated waiter table) or
// blocked_clients (the clients the node itself holds). per, when set, gives
// each node's own expected value instead.
func blkAwaitCounts(t *testing.T, c *local.Cluster, section, field string, want int, per map[*local.Node]int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	for {
		var got []string
		ok := true
		for _, n := range blkLive(c) {
			exp := want
			if per != nil {
				exp = per[n]
			}
			v, err := blkInfoInt(ctx, n, section, field)
			if err != nil || v != exp {
				ok = false
			}
			got = append(got, fmt.Sprintf("%s=%d (exp %d, err %v)", n.ID, v, exp, err))
		}
		if ok {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s did not settle: %s", field, strings.Join(got, ", "))
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// blkAwaitWaiters waits until every running node's state machine holds
// exactly want waiters.
func blkAwaitWaiters(t *testing.T, c *local.Cluster, want int) {
	t.Helper()
	blkAwaitCounts(t, c, "raft", "raft_blocked_waiters", want, nil)
}

// blkEnd is how every blocking test ends: no waiter in any node's state
// machine, no client held blocked by any node, and every running node at
// the leader's commit index with the same DEBUG DIGEST.
func blkEnd(t *testing.T, c *local.Cluster) {
	t.Helper()
	blkAwaitWaiters(t, c, 0)
	blkAwaitCounts(t, c, "clients", "blocked_clients", 0, nil)
	mustConverge(t, c)
	blkAwaitWaiters(t, c, 0)
}

// blkForm is one blocking pop as a client blocks with it on key (moving
// to dst), and what it answers and leaves behind when key gets [x1 x2].
type blkForm struct {
	name     string
	args     func(key, dst, timeout string) []string
	reply    func(key string) string
	src, dst []string
}

// blkForms are the five blocking pops. BLPOP and BLMPOP wait on a second,
// empty key first, so the client is served from the key that got data.
var blkForms = []blkForm{
	{"BLPOP", func(k, _, to string) []string { return []string{"BLPOP", k + ":none", k, to} },
		func(k string) string { return blkPair(k, "x1") }, []string{"x2"}, nil},
	{"BRPOP", func(k, _, to string) []string { return []string{"BRPOP", k, to} },
		func(k string) string { return blkPair(k, "x2") }, []string{"x1"}, nil},
	{"BRPOPLPUSH", func(k, d, to string) []string { return []string{"BRPOPLPUSH", k, d, to} },
		func(string) string { return blkBulk("x2") }, []string{"x1"}, []string{"x2"}},
	{"BLMOVE", func(k, d, to string) []string { return []string{"BLMOVE", k, d, "LEFT", "RIGHT", to} },
		func(string) string { return blkBulk("x1") }, []string{"x2"}, []string{"x1"}},
	{"BLMPOP", func(k, _, to string) []string {
		return []string{"BLMPOP", to, "2", k + ":none", k, "RIGHT", "COUNT", "5"}
	},
		func(k string) string { return blkArray(blkBulk(k), blkArray(blkBulk("x2"), blkBulk("x1"))) }, nil, nil},
}

// ---------------------------------------------------------------------------
// The tests.

func TestBlockedClientsOnEveryNodeAreServedByPushesThroughOtherNodes(t *testing.T) {
	c := mustStartCluster(t, 3)
	leader := mustLeader(t, c)
	type blocked struct {
		call     *blkCall
		form     blkForm
		key, dst string
		via      *local.Node
	}
	var all []blocked
	held := map[*local.Node]int{}
	for i, n := range c.Nodes {
		via := c.Nodes[(i+1)%len(c.Nodes)]
		for _, f := range blkForms {
			key := "every:" + n.ID + ":" + f.name
			b := blocked{form: f, key: key, dst: key + ":dst", via: via}
			b.call = blkStart(t, n, f.args(b.key, b.dst, "0")...)
			all = append(all, b)
			held[n]++
		}
	}
	t.Logf("leader %s; %d clients blocked, %d on each node", leader.ID, len(all), len(blkForms))
	blkAwaitWaiters(t, c, len(all))
	blkAwaitCounts(t, c, "clients", "blocked_clients", 0, held)
	for _, b := range all {
		b.call.requirePending(t)
	}

	pushed := make([]time.Time, len(all))
	for i, b := range all {
		pushed[i] = time.Now()
		blkPush(t, b.via.ClientAddr, b.key, "x1", "x2")
	}
	for i, b := range all {
		r := b.call.requireReply(t, b.form.reply(b.key), blkReplyBound)
		t.Logf("%s, pushed through %s: answered %v after the push was sent", b.call.what, b.via.ID, r.at.Sub(pushed[i]).Round(time.Millisecond))
	}

	blkEnd(t, c)
	for _, n := range c.Nodes {
		for _, b := range all {
			requireList(t, n.ClientAddr, b.key, true, b.form.src)
			requireList(t, n.ClientAddr, b.dst, true, b.form.dst)
		}
	}
}

func TestBlockedClientsAcrossNodesAreServedFirstComeFirstServed(t *testing.T) {
	c := mustStartCluster(t, 3)
	leader := mustLeader(t, c)
	fs := followers(c, leader)
	orders := [][]*local.Node{{fs[0], fs[1], leader}, {leader, fs[1], fs[0]}, {fs[1], leader, fs[0]}}
	orders = orders[:scale(2, 3)]

	type popped struct {
		v   []string
		err error
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for r, order := range orders {
		key := "fifo:" + strconv.Itoa(r)
		var names []string
		var got []chan popped
		for i, n := range order {
			rc := blkClient(t, n.ClientAddr)
			ch := make(chan popped, 1)
			go func() {
				v, err := rc.BLPop(ctx, 0, key).Result()
				ch <- popped{v, err}
			}()
			got = append(got, ch)
			names = append(names, n.ID)
			// The next client blocks only once this one's waiter is in
			// the log: that fixes the order.
			blkAwaitWaiters(t, c, i+1)
		}
		// Two elements in one push, through the node holding the third
		// client: the first two clients get them in the order they came.
		blkPush(t, order[2].ClientAddr, key, "first", "second")
		for i, want := range []string{"first", "second"} {
			select {
			case p := <-got[i]:
				if p.err != nil || len(p.v) != 2 || p.v[0] != key || p.v[1] != want {
					t.Fatalf("round %d (blocked in order %v): client %d on %s: exp [%s %s], got %v %v", r, names, i+1, order[i].ID, key, want, p.v, p.err)
				}
			case <-time.After(blkReplyBound):
				t.Fatalf("round %d: client %d on %s was not served", r, i+1, order[i].ID)
			}
		}
		select {
		case p := <-got[2]:
			t.Fatalf("round %d: the third client on %s was served with %v %v, but only two elements were pushed", r, order[2].ID, p.v, p.err)
		default:
		}
		blkAwaitWaiters(t, c, 1)
		blkPush(t, order[0].ClientAddr, key, "third")
		select {
		case p := <-got[2]:
			if p.err != nil || len(p.v) != 2 || p.v[1] != "third" {
				t.Fatalf("round %d: third client on %s: exp [%s third], got %v %v", r, order[2].ID, key, p.v, p.err)
			}
		case <-time.After(blkReplyBound):
			t.Fatalf("round %d: the third client on %s was not served", r, order[2].ID)
		}
		t.Logf("round %d: blocked in order %v, served in that order", r, names)
	}
	blkEnd(t, c)
	for _, n := range c.Nodes {
		for r := range orders {
			requireList(t, n.ClientAddr, "fifo:"+strconv.Itoa(r), true, nil)
		}
	}
}

func TestBlockingTimeoutAnswersNilAfterTheTimeoutNeverBefore(t *testing.T) {
	c := mustStartCluster(t, 3)
	const timeout = 500 * time.Millisecond
	var calls []*blkCall
	for _, n := range c.Nodes {
		for _, f := range blkForms {
			key := "timeout:" + n.ID + ":" + f.name
			calls = append(calls, blkStart(t, n, f.args(key, key+":dst", "0.5")...))
		}
	}
	var slowest time.Duration
	for _, call := range calls {
		r := call.requireReply(t, "*-1\r\n", timeout+blkReplyBound)
		took := r.at.Sub(call.sent)
		switch {
		case took < timeout:
			t.Errorf("%s answered after %v, before its timeout", call.what, took)
		case took > timeout+blkTimeoutSlack:
			t.Errorf("%s answered after %v, %v past its timeout", call.what, took, took-timeout)
		}
		slowest = max(slowest, took)
	}
	t.Logf("%d clients timed out after 0.5 s; the slowest answer came %v after sending", len(calls), slowest.Round(time.Millisecond))

	// go-redis sees redis.Nil (its smallest timeout is 1 s).
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	errs := make(chan error, len(c.Nodes))
	for _, n := range c.Nodes {
		rc := blkClient(t, n.ClientAddr)
		go func() {
			began := time.Now()
			_, err := rc.BLPop(ctx, time.Second, "timeout:go-redis:"+n.ID).Result()
			took := time.Since(began)
			switch {
			case !errors.Is(err, redis.Nil):
				errs <- fmt.Errorf("go-redis BLPOP 1 on %s: exp redis.Nil, got %v", n.ID, err)
			case took < time.Second:
				errs <- fmt.Errorf("go-redis BLPOP 1 on %s: answered after %v, before its timeout", n.ID, took)
			default:
				errs <- nil
			}
		}()
	}
	for range c.Nodes {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	blkEnd(t, c)
}

func TestBlockingTimeoutLosesToAPushJustBeforeItNeverBoth(t *testing.T) {
	c := mustStartCluster(t, 3)
	leader := mustLeader(t, c)
	f := followers(c, leader)[0]
	const timeout = time.Second
	// lead is how long before the client's timeout the push is sent. With
	// 400 ms to spare the element must be the answer; closer to the
	// timeout either answer is right, but exactly one of them: the element
	// (and the list without it) or nil (and the element still in the list).
	leads := []time.Duration{400 * time.Millisecond, 50 * time.Millisecond, 20 * time.Millisecond,
		5 * time.Millisecond, 0, -5 * time.Millisecond}
	type edge struct {
		lead       time.Duration
		key        string
		holder, by *local.Node
		call       *blkCall
		pusher     *rawConn
	}
	var edges []*edge
	for i, lead := range leads {
		for _, holder := range []*local.Node{f, leader} {
			e := &edge{lead: lead, key: fmt.Sprintf("edge:%d:%s", i, holder.ID), holder: holder, by: leader}
			if holder == leader {
				e.by = f
			}
			e.pusher = mustDial(t, e.by.ClientAddr)
			edges = append(edges, e)
		}
	}
	pushErrs := make(chan error, len(edges))
	for _, e := range edges {
		e.call = blkStart(t, e.holder, "BLPOP", e.key, "1")
		time.AfterFunc(time.Until(e.call.sent.Add(timeout-e.lead)), func() {
			raw, err := e.pusher.doStr("RPUSH", e.key, "v")
			if err == nil && string(raw) != ":1\r\n" {
				err = fmt.Errorf("exp :1, got %s", quoteRaw(raw))
			}
			if err != nil {
				err = fmt.Errorf("RPUSH %s through %s: %w", e.key, e.by.ID, err)
			}
			pushErrs <- err
		})
	}
	for range edges {
		if err := <-pushErrs; err != nil {
			t.Fatal(err)
		}
	}
	var served, timedOut []string
	for _, e := range edges {
		r := e.call.await(t, timeout+blkReplyBound)
		what := fmt.Sprintf("%s pushed %v before the timeout through %s", e.call.what, e.lead, e.by.ID)
		switch {
		case r.err == nil && string(r.raw) == blkPair(e.key, "v"):
			served = append(served, fmt.Sprintf("%v/%s", e.lead, e.holder.ID))
			requireList(t, leader.ClientAddr, e.key, false, nil)
		case r.err == nil && string(r.raw) == "*-1\r\n" && e.lead < 400*time.Millisecond:
			timedOut = append(timedOut, fmt.Sprintf("%v/%s", e.lead, e.holder.ID))
			requireList(t, leader.ClientAddr, e.key, false, []string{"v"})
		default:
			t.Fatalf("%s: exp %s, got %s", what, quoteRaw([]byte(blkPair(e.key, "v"))), r)
		}
	}
	t.Logf("served with the element (lead/holder): %v; timed out, element kept: %v", served, timedOut)
	blkEnd(t, c)
}

func TestDisconnectedBlockedClientIsCancelledAndNothingIsPoppedForIt(t *testing.T) {
	c := mustStartCluster(t, 3)
	leader := mustLeader(t, c)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var raws []*blkCall
	var rcs []*redis.Client
	goRedisDone := make(chan error, len(c.Nodes))
	var keys, dsts []string
	for _, n := range c.Nodes {
		key := "gone:raw:" + n.ID
		raws = append(raws, blkStart(t, n, "BLPOP", key, "0"))
		keys = append(keys, key)

		key = "gone:go-redis:" + n.ID
		rc := blkClient(t, n.ClientAddr)
		rcs = append(rcs, rc)
		go func() { goRedisDone <- rc.BRPopLPush(ctx, key, key+":dst", 0).Err() }()
		keys = append(keys, key)
		dsts = append(dsts, key+":dst")
	}
	blkAwaitWaiters(t, c, 2*len(c.Nodes))

	for _, call := range raws {
		call.conn.Close()
	}
	for _, rc := range rcs {
		rc.Close()
	}
	for range rcs {
		if err := <-goRedisDone; err == nil {
			t.Fatal("a go-redis BRPOPLPUSH whose client was closed returned no error")
		}
	}
	began := time.Now()
	blkAwaitWaiters(t, c, 0)
	blkAwaitCounts(t, c, "clients", "blocked_clients", 0, nil)
	t.Logf("all %d waiters cancelled on every node %v after the clients went away", 2*len(c.Nodes), blkSince(began))

	for i, key := range keys {
		blkPush(t, c.Nodes[i%len(c.Nodes)].ClientAddr, key, "kept")
	}
	blkEnd(t, c)
	for _, n := range c.Nodes {
		for _, key := range keys {
			requireList(t, n.ClientAddr, key, true, []string{"kept"})
		}
		for _, dst := range dsts {
			requireList(t, n.ClientAddr, dst, true, nil)
		}
	}
	requireList(t, leader.ClientAddr, keys[0], false, []string{"kept"})
}

func blkSince(t time.Time) time.Duration { return time.Since(t).Round(time.Millisecond) }

func TestClientUnblockEndsABlockedClientThroughItsNode(t *testing.T) {
	c := mustStartCluster(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for i, n := range c.Nodes {
		other := c.Nodes[(i+1)%len(c.Nodes)]
		key, dst := "unblock:"+n.ID, "unblock:"+n.ID+":dst"
		a := mustDial(t, n.ClientAddr)
		ctl := mustDial(t, n.ClientAddr)
		idReply := mustDo(t, a, "CLIENT", "ID")
		if idReply.kind != ':' {
			t.Fatalf("CLIENT ID on %s: exp an integer, got %s", n.ID, idReply)
		}
		id := strconv.FormatInt(idReply.n, 10)
		unblock := func(want string, args ...string) {
			t.Helper()
			got := mustDo(t, ctl, append([]string{"CLIENT", "UNBLOCK", id}, args...)...)
			if got.String() != want {
				t.Fatalf("CLIENT UNBLOCK %s %v on %s: exp %s, got %s", id, args, n.ID, want, got)
			}
		}

		unblock(":0") // not blocked yet
		call := blkSendOn(t, a, n.ID, "BLPOP", key, "0")
		blkAwaitWaiters(t, c, 1)
		unblock("-ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR", "SOON")
		call.requirePending(t)
		unblock(":1")
		call.requireReply(t, "*-1\r\n", blkReplyBound)

		call = blkSendOn(t, a, n.ID, "BLMOVE", key, dst, "LEFT", "RIGHT", "0")
		blkAwaitWaiters(t, c, 1)
		unblock(":1", "ERROR")
		call.requireReply(t, "-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n", blkReplyBound)

		call = blkSendOn(t, a, n.ID, "BLMPOP", "0", "1", key, "LEFT")
		blkAwaitWaiters(t, c, 1)
		unblock(":1", "TIMEOUT")
		call.requireReply(t, "*-1\r\n", blkReplyBound)
		unblock(":0") // no longer blocked

		// go-redis's CLIENT UNBLOCK ... ERROR, against a go-redis client.
		rc, ctlrc := blkClient(t, n.ClientAddr), blkClient(t, n.ClientAddr)
		rcID, err := rc.ClientID(ctx).Result()
		if err != nil {
			t.Fatalf("go-redis CLIENT ID on %s: %v", n.ID, err)
		}
		done := make(chan error, 1)
		go func() { done <- rc.BRPop(ctx, 0, key).Err() }()
		blkAwaitWaiters(t, c, 1)
		if v, err := ctlrc.ClientUnblockWithError(ctx, rcID).Result(); err != nil || v != 1 {
			t.Fatalf("go-redis CLIENT UNBLOCK %d ERROR on %s: exp 1, got %d %v", rcID, n.ID, v, err)
		}
		select {
		case err := <-done:
			if err == nil || err.Error() != "UNBLOCKED client unblocked via CLIENT UNBLOCK" {
				t.Fatalf("go-redis BRPOP after CLIENT UNBLOCK ERROR on %s: exp the UNBLOCKED error, got %v", n.ID, err)
			}
		case <-time.After(blkReplyBound):
			t.Fatalf("go-redis BRPOP on %s: no reply after CLIENT UNBLOCK ERROR", n.ID)
		}

		// Nothing is popped for an unblocked client later.
		blkAwaitWaiters(t, c, 0)
		blkPush(t, other.ClientAddr, key, "kept")
		requireList(t, n.ClientAddr, key, false, []string{"kept"})
		requireList(t, n.ClientAddr, dst, false, nil)
		t.Logf("%s: CLIENT UNBLOCK (TIMEOUT, ERROR) ended raw and go-redis clients; a later push through %s stayed in the list", n.ID, other.ID)
	}
	blkEnd(t, c)
}
