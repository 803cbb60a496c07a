package tests

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"testing"
	"time"
)

// INCRBYFLOAT must store, on every node, exactly the string redis-server
// 7.0.15 stores on amd64 (x87 long double): random increments of every
// magnitude and form, sent to Redis and to a three-node cluster (leader and
// followers in turn), compared reply by reply, then the values on every
// node and the digests.
func TestIncrByFloatAgainstRedis(t *testing.T) {
	rs := mustStartRedis(t)
	c := mustStartCluster(t, 3)
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0x666c6f6174)) // "float"
	redis := mustDial(t, rs.Addr)
	defer redis.Close()
	var nodes []*rawConn
	for _, n := range c.Nodes {
		conn := mustDial(t, n.ClientAddr)
		defer conn.Close()
		nodes = append(nodes, conn)
	}
	keys := []string{"f0", "f1", "f2", ""}
	total := scale(2000, 10000)
	for sent := 0; sent < total; {
		var cmds [][][]byte
		for i := 0; i < 100 && sent < total; i, sent = i+1, sent+1 {
			key := keys[rng.IntN(len(keys))]
			if rng.IntN(12) == 0 {
				cmds = append(cmds, bargs("SET", key, floatSample(rng)))
			}
			cmds = append(cmds, bargs("INCRBYFLOAT", key, floatSample(rng)))
		}
		want, err := redis.pipeline(cmds)
		if err != nil {
			t.Fatalf("redis-server: %v", err)
		}
		node := nodes[rng.IntN(len(nodes))]
		got, err := node.pipeline(cmds)
		if err != nil {
			t.Fatalf("raftlist: %v", err)
		}
		for i := range cmds {
			if !bytes.Equal(want[i], got[i]) {
				t.Fatalf("%s: exp %s (redis-server), got %s", quoteCommand(cmds[i]), quoteRaw(want[i]), quoteRaw(got[i]))
			}
		}
	}
	mustConverge(t, c)
	for _, key := range keys {
		want := string(mustDo(t, redis, "GET", key).str)
		for i, conn := range nodes {
			mustDo(t, conn, "READONLY")
			if got := string(mustDo(t, conn, "GET", key).str); want != got {
				t.Fatalf("GET %q on %s: exp %q (redis-server), got %q", key, c.Nodes[i].ID, want, got)
			}
		}
	}
}

// floatSample is an INCRBYFLOAT argument or a value for it to find:
// decimals of any magnitude (float64's range and long double's beyond
// it), hex floats, exact binary fractions whose 18th decimal is a tie,
// subnormals, and forms strtold refuses.
func floatSample(rng *rand.Rand) string {
	switch rng.IntN(12) {
	case 0:
		return genFloats[rng.IntN(len(genFloats))]
	case 1, 2:
		return strconv.FormatFloat(rng.NormFloat64()*1000, 'g', -1, 64)
	case 3:
		return fmt.Sprintf("%de%d", rng.Int64N(1_000_000_000)-500_000_000, rng.IntN(80)-40)
	case 4:
		return fmt.Sprintf("%.*f", rng.IntN(25), rng.Float64()*float64(rng.IntN(100000)))
	case 5:
		return fmt.Sprintf("0x%xp%d", rng.Uint64(), rng.IntN(200)-100)
	case 6:
		return fmt.Sprintf("%.3e", rng.NormFloat64()*1e300)
	case 7:
		return fmt.Sprintf("0x%xp-%d", rng.IntN(100000), 18+rng.IntN(60))
	case 8:
		return fmt.Sprintf("0x%xp-%d", rng.Uint64(), 16400+rng.IntN(120))
	case 9:
		return fmt.Sprintf("%de-%d", rng.IntN(100000), 4930+rng.IntN(30))
	case 10:
		return fmt.Sprintf("%de%d", 1+rng.IntN(9), 4900+rng.IntN(40))
	}
	return fmt.Sprintf("%d.%d", rng.Int64N(100)-50, rng.Int64N(1_000_000_000_000))
}

// counterClient sends increments of one counter through the running
// nodes, never retrying one: INCR, an EVAL that INCRs, or MULTI INCR EXEC.
type counterClient struct {
	mode  int // 0 INCR, 1 EVAL, 2 MULTI/EXEC
	key   string
	addrs func() []string
}

// counterLedger is what the clients learnt about their increments.
type counterLedger struct {
	mu        sync.Mutex
	acked     []int64 // the counter's value each acknowledged increment answered
	rejected  int     // -TRYAGAIN: not applied
	uncertain int     // -UNCERTAIN, timeout or closed connection: applied or not
	errs      []string
}

func (l *counterLedger) counts() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return fmt.Sprintf("%d acknowledged, %d rejected (TRYAGAIN), %d uncertain", len(l.acked), l.rejected, l.uncertain)
}

func (cc *counterClient) run(stop <-chan struct{}, wg *sync.WaitGroup, l *counterLedger, first int) {
	defer wg.Done()
	var conn *rawConn
	defer func() {
		if conn != nil {
			conn.Close()
		}
	}()
	next := first
	for {
		select {
		case <-stop:
			return
		default:
		}
		if conn == nil {
			as := cc.addrs()
			if len(as) == 0 {
				time.Sleep(50 * time.Millisecond)
				continue
			}
			c, err := dialRaw(as[next%len(as)], 10*time.Second)
			next++
			if err != nil {
				time.Sleep(50 * time.Millisecond)
				continue
			}
			conn = c
		}
		v, raw, err := cc.increment(conn)
		l.mu.Lock()
		switch {
		case err != nil:
			l.uncertain++
			conn.Close()
			conn = nil
		case v > 0:
			l.acked = append(l.acked, v)
		case isErrorPrefix(raw, "TRYAGAIN"):
			l.rejected++
		case isErrorPrefix(raw, "UNCERTAIN"):
			l.uncertain++
		default:
			l.errs = append(l.errs, fmt.Sprintf("mode %d: %s", cc.mode, quoteRaw(raw)))
		}
		l.mu.Unlock()
		if err != nil || v == 0 {
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// increment sends one increment and returns the counter's value it
// answered (0 when it answered something else, in raw).
func (cc *counterClient) increment(conn *rawConn) (int64, []byte, error) {
	switch cc.mode {
	case 0:
		raw, err := conn.doStr("INCR", cc.key)
		return intReply(raw), raw, err
	case 1:
		raw, err := conn.doStr("EVAL", "return redis.call('incr', KEYS[1])", "1", cc.key)
		return intReply(raw), raw, err
	}
	// MULTI, INCR and EXEC in one write: the increment is sent only with
	// the EXEC, so any failure before EXEC's reply is uncertain.
	raws, err := conn.pipeline([][][]byte{bargs("MULTI"), bargs("INCR", cc.key), bargs("EXEC")})
	if err != nil {
		return 0, nil, err
	}
	exec := raws[2]
	if bytes.HasPrefix(exec, []byte("*1\r\n")) {
		return intReply(exec[4:]), exec, nil
	}
	return 0, exec, nil
}

// intReply is the integer of ":N\r\n", or 0.
func intReply(raw []byte) int64 {
	if len(raw) < 3 || raw[0] != ':' {
		return 0
	}
	v, err := strconv.ParseInt(string(bytes.TrimSuffix(raw[1:], []byte("\r\n"))), 10, 64)
	if err != nil {
		return 0
	}
	return v
}

// Concurrent increments through the leader and the followers, as INCR, in
// scripts and in transactions, while the leader is killed: every
// acknowledged increment is counted exactly once. Each applied increment
// answers a distinct value 1, 2, ... up to the final count, so no two
// acknowledgements may carry the same value, none may exceed the final
// value, and the final value can exceed the acknowledgements only by
// increments whose outcome the client could not know (a reply lost when
// the leader died, UNCERTAIN): those may or may not have been applied.
// TRYAGAIN ones were not.
func TestConcurrentIncrAcrossLeaderKill(t *testing.T) {
	c := mustStartCluster(t, 3)
	old := mustLeader(t, c)
	l := &counterLedger{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	clients := scale(9, 18)
	for i := 0; i < clients; i++ {
		wg.Add(1)
		cc := &counterClient{mode: i % 3, key: "ctr", addrs: runningAddrs(c)}
		go cc.run(stop, &wg, l, i)
	}
	time.Sleep(time.Duration(scale(700, 1500)) * time.Millisecond)
	old.Kill()
	t.Logf("killed leader %s (%s)", old.ID, l.counts())
	nl := mustNewLeader(t, c, old)
	t.Logf("new leader %s", nl.ID)
	time.Sleep(time.Duration(scale(700, 1500)) * time.Millisecond)
	close(stop)
	wg.Wait()
	t.Logf("clients done: %s", l.counts())

	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	if err := old.Restart(ctx); err != nil {
		t.Fatalf("restart %s: %v", old.ID, err)
	}
	mustConverge(t, c)

	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.errs) > 0 {
		t.Fatalf("unexpected replies: %q", l.errs[:min(len(l.errs), 10)])
	}
	if len(l.acked) == 0 {
		t.Fatal("no increment was acknowledged at all")
	}
	var final int64
	for _, n := range c.Nodes {
		conn := mustDial(t, n.ClientAddr)
		mustDo(t, conn, "READONLY")
		got := mustDo(t, conn, "GET", "ctr")
		conn.Close()
		v, err := strconv.ParseInt(string(got.str), 10, 64)
		if err != nil {
			t.Fatalf("GET ctr on %s: %s is not an integer", n.ID, got)
		}
		if final != 0 && v != final {
			t.Fatalf("GET ctr: %d on one node, %d on %s", final, v, n.ID)
		}
		final = v
	}
	seen := make(map[int64]bool, len(l.acked))
	for _, v := range l.acked {
		if seen[v] {
			t.Fatalf("two acknowledged increments both answered %d: one was applied twice or one was lost", v)
		}
		seen[v] = true
		if v > final {
			t.Fatalf("an increment answered %d, but the final count is %d: an acknowledged increment was lost", v, final)
		}
	}
	acks := int64(len(l.acked))
	if final < acks || final > acks+int64(l.uncertain) {
		t.Fatalf("final count %d: exp between %d acknowledged and %d (with every uncertain one applied)", final, acks, acks+int64(l.uncertain))
	}
	t.Logf("final count %d = %d acknowledged + %d of %d uncertain applied", final, acks, final-acks, l.uncertain)
}
