package tests

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/raftlist/raftlist/cluster/local"
)

// expActiveBound is how long past its deadline a key nobody touches may
// still be held while a leader is up: the leader's 100 ms look, one
// commit, and slack for a machine shared with other test runs.
const expActiveBound = 1500 * time.Millisecond

// expKey is a key written with a time to live and the window its deadline
// lies in: the leader stamps the entry between the send and the reply.
type expKey struct {
	name   string
	lo, hi time.Time
}

// expWrite sets key with a TTL of ttl through n and returns its window.
func expWrite(t *testing.T, ctx context.Context, rc *redis.Client, name string, ttl time.Duration, list bool) expKey {
	t.Helper()
	for {
		sent := time.Now()
		var err error
		if list {
			_, err = rc.TxPipelined(ctx, func(p redis.Pipeliner) error {
				p.RPush(ctx, name, "a", "b")
				p.PExpire(ctx, name, ttl)
				return nil
			})
		} else {
			err = rc.Set(ctx, name, "v", ttl).Err()
		}
		if err == nil {
			return expKey{name: name, lo: sent.Add(ttl), hi: time.Now().Add(ttl)}
		}
		if ctx.Err() != nil {
			t.Fatalf("write %s: %v", name, err)
		}
		time.Sleep(50 * time.Millisecond) // a leader change: the write was refused or its outcome unknown; rewrite
	}
}

// expChecker polls every running node and records any key read as gone
// before its deadline, or held (DBSIZE, which counts expired keys not yet
// deleted) longer than expActiveBound after it while a leader was up.
type expChecker struct {
	mu         sync.Mutex
	keys       []expKey
	violations []string
	// quiet is when the leader change ends (plus the bound): the upper
	// bound is not checked in [noLeader, quiet].
	noLeader, quiet time.Time
	checks          int
	// writing counts writes sent and not yet added: a node may hold them.
	writing int
}

func (ck *expChecker) begin() {
	ck.mu.Lock()
	ck.writing++
	ck.mu.Unlock()
}

func (ck *expChecker) add(k expKey) {
	ck.mu.Lock()
	ck.keys = append(ck.keys, k)
	ck.writing--
	ck.mu.Unlock()
}

func (ck *expChecker) fail(format string, args ...any) {
	ck.mu.Lock()
	defer ck.mu.Unlock()
	if len(ck.violations) < 20 {
		ck.violations = append(ck.violations, fmt.Sprintf(format, args...))
	}
}

// check reads one node once: KEYS (live keys, decided at the node's clock)
// and DBSIZE (every key still held).
func (ck *expChecker) check(ctx context.Context, n *local.Node, rc *redis.Client) {
	ck.mu.Lock()
	keys := append([]expKey(nil), ck.keys...)
	noLeader, quiet := ck.noLeader, ck.quiet
	ck.mu.Unlock()
	t0 := time.Now()
	live, err := rc.Keys(ctx, "exp:*").Result()
	if err != nil {
		return // the node is down or has no leader: nothing to judge
	}
	size, err := rc.DBSize(ctx).Result()
	t1 := time.Now()
	if err != nil {
		return
	}
	seen := make(map[string]bool, len(live))
	for _, k := range live {
		seen[k] = true
	}
	// Keys written while this check ran may be held too.
	ck.mu.Lock()
	mayHold := ck.writing + len(ck.keys) - len(keys)
	ck.mu.Unlock()
	mustHold := 0
	for _, k := range keys {
		if k.lo.After(t1) {
			mustHold++
			if !seen[k.name] {
				ck.fail("%s: %s read as gone %v before its earliest deadline", n.ID, k.name, k.lo.Sub(t1))
			}
		}
		if !k.hi.After(t0) && seen[k.name] {
			ck.fail("%s: %s read as live %v after its latest deadline", n.ID, k.name, t0.Sub(k.hi))
		}
		if k.hi.Add(expActiveBound).After(t0) {
			mayHold++
		}
	}
	leaderless := !noLeader.IsZero() && !t0.Before(noLeader) && (quiet.IsZero() || t0.Before(quiet))
	if int(size) > mayHold && !leaderless {
		ck.fail("%s: holds %d keys, only %d may still be held %v after their deadline", n.ID, size, mayHold, expActiveBound)
	}
	if int(size) < mustHold {
		ck.fail("%s: holds %d keys, %d are before their deadline", n.ID, size, mustHold)
	}
	ck.mu.Lock()
	ck.checks++
	ck.mu.Unlock()
}

func expClient(addr string) *redis.Client {
	return redis.NewClient(&redis.Options{
		Addr: addr, MaxRetries: -1, PoolSize: 2, Protocol: 2, DisableIdentity: true,
		DialTimeout: 300 * time.Millisecond, ReadTimeout: time.Second, WriteTimeout: time.Second,
		ContextTimeoutEnabled: true,
	})
}

func TestKeysExpireOnEveryNodeAcrossALeaderKill(t *testing.T) {
	expAcrossAFault(t, "killed", func(t *testing.T, old *local.Node) func(context.Context) error {
		old.Kill()
		return old.Restart
	})
}

func TestKeysExpireOnEveryNodeAcrossALeaderPause(t *testing.T) {
	expAcrossAFault(t, "paused", func(t *testing.T, old *local.Node) func(context.Context) error {
		old.Pause()
		return func(context.Context) error { old.Resume(); return nil }
	})
}

// expAcrossAFault writes keys with short TTLs, takes the leader down with
// fault, writes more through the new leader, brings the old one back with
// the function fault returns, and checks every node all along.
func expAcrossAFault(t *testing.T, what string, fault func(t *testing.T, old *local.Node) func(context.Context) error) {
	c := mustStartCluster(t, 3)
	old := mustLeader(t, c)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 18))
	ck := &expChecker{}

	stop := make(chan struct{})
	var wg sync.WaitGroup
	for _, n := range c.Nodes {
		wg.Add(1)
		go func(n *local.Node) {
			defer wg.Done()
			rc := expClient(n.ClientAddr)
			defer rc.Close()
			for {
				select {
				case <-stop:
					return
				case <-time.After(50 * time.Millisecond):
				}
				if n.Running() {
					cctx, ccancel := context.WithTimeout(ctx, 2*time.Second)
					ck.check(cctx, n, rc)
					ccancel()
				}
			}
		}(n)
	}

	writeSome := func(via *local.Node, prefix string, n int) {
		rc := expClient(via.ClientAddr)
		defer rc.Close()
		for i := 0; i < n; i++ {
			ttl := time.Duration(300+rng.IntN(3500)) * time.Millisecond
			ck.begin()
			ck.add(expWrite(t, ctx, rc, fmt.Sprintf("exp:%s:%d", prefix, i), ttl, i%4 == 0))
		}
	}
	writeSome(old, "first", scale(20, 60))
	// Keys that must outlive the test.
	longRC := expClient(old.ClientAddr)
	defer longRC.Close()
	for i := 0; i < 5; i++ {
		ck.begin()
		ck.add(expWrite(t, ctx, longRC, "exp:long:"+strconv.Itoa(i), 10*time.Minute, false))
	}

	time.Sleep(time.Second)
	ck.mu.Lock()
	ck.noLeader = time.Now()
	ck.mu.Unlock()
	bringBack := fault(t, old)
	nl := mustNewLeader(t, c, old)
	// The new leader's gate opens with its first entry; give active expiry
	// its bound from there.
	writeSome(nl, "second", scale(10, 30))
	ck.mu.Lock()
	ck.quiet = time.Now().Add(expActiveBound)
	ck.mu.Unlock()
	t.Logf("%s leader %s; %s leads", what, old.ID, nl.ID)
	rctx, rcancel := context.WithTimeout(ctx, startTimeout)
	if err := bringBack(rctx); err != nil {
		rcancel()
		t.Fatalf("bring %s back: %v", old.ID, err)
	}
	rcancel()
	writeSome(nl, "third", scale(10, 30))

	// Wait until every short deadline has passed by the bound.
	var last time.Time
	ck.mu.Lock()
	for _, k := range ck.keys {
		if k.hi.Before(time.Now().Add(time.Minute)) && k.hi.After(last) {
			last = k.hi
		}
	}
	ck.mu.Unlock()
	time.Sleep(time.Until(last.Add(expActiveBound + 500*time.Millisecond)))
	close(stop)
	wg.Wait()

	for _, v := range ck.violations {
		t.Error(v)
	}
	t.Logf("%d keys, %d checks across the nodes", len(ck.keys), ck.checks)
	if ck.checks < 30 {
		t.Fatalf("exp at least 30 checks of the nodes, got %d", ck.checks)
	}
	mustConverge(t, c)
	for _, n := range c.Nodes {
		rc := expClient(n.ClientAddr)
		keys, err := rc.Keys(ctx, "exp:*").Result()
		size, err2 := rc.DBSize(ctx).Result()
		rc.Close()
		if err != nil || err2 != nil {
			t.Fatalf("%s: KEYS %v, DBSIZE %v", n.ID, err, err2)
		}
		sort.Strings(keys)
		if exp := "[exp:long:0 exp:long:1 exp:long:2 exp:long:3 exp:long:4]"; fmt.Sprint(keys) != exp || size != 5 {
			t.Errorf("%s at the end: exp keys %s and DBSIZE 5, got %v and %d", n.ID, exp, keys, size)
		}
	}
}
