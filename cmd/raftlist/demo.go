package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/raftlist/raftlist/cluster/local"
)

// demoKey is the list every write of the demo goes to.
const demoKey = "demo:list"

// demoTimeout bounds the whole demo; each wait inside has its own, smaller
// bound.
const demoTimeout = 55 * time.Second

// runDemo runs `raftlist demo failover`.
func runDemo(args []string) error {
	fs := newFlagSet("demo failover")
	port := fs.Int("port", 7400, "client port of node1 (node i: port+i-1, Raft +10000)")
	dir := fs.String("dir", "", "data and log directory, kept (default: a temporary one, removed at the end)")
	keep := fs.Bool("keep", false, "keep the temporary directory")
	writes := fs.Int("writes", 200, "numbered elements written before the failover")
	switch {
	case len(args) > 0 && isHelp(args[0]):
		return parseFlags(fs, []string{"--help"})
	case len(args) == 0 || args[0] != "failover":
		return usageError{"demo failover", errors.New("the one demo is `demo failover`")}
	}
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	bin, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find own binary: %w", err)
	}
	temp := *dir == ""
	if temp {
		if *dir, err = os.MkdirTemp("", "raftlist-demo-"); err != nil {
			return err
		}
	} else if entries, _ := os.ReadDir(*dir); len(entries) > 0 {
		return fmt.Errorf("--dir %s is not empty; the demo needs a fresh cluster", *dir)
	}

	// The writers' clients dial a dead node on purpose; the story reports
	// that, so go-redis's own log lines would only interrupt it.
	redis.SetLogger(quietLogger{})
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, demoTimeout)
	defer cancel()
	d := &demo{story: story{start: time.Now()}, writes: *writes, led: newLedger()}
	err = d.run(ctx, local.Config{Binary: bin, Nodes: 3, BasePort: *port, Dir: *dir})
	// A temporary dir goes unless asked for or needed to see what failed;
	// a dir the user named is theirs.
	if temp && !*keep && err == nil {
		os.RemoveAll(*dir)
	} else {
		fmt.Printf("data and node logs are in %s\n", *dir)
	}
	return err
}

// demo is one run of the failover story.
type demo struct {
	story
	writes  int
	led     *ledger
	cluster *local.Cluster
	killAt  atomic.Int64 // unix nanos of the SIGKILL, 0 before
	first   firstAck
	blk     *blockedStory
}

func (d *demo) run(ctx context.Context, cfg local.Config) error {
	d.step("Starting a 3-node raftlist cluster in %s", cfg.Dir)
	c, err := local.Start(ctx, cfg)
	if err != nil {
		return err
	}
	d.cluster = c
	defer c.Stop()
	for _, n := range c.Nodes {
		d.detail("%s  client %s  raft %s  pid %d  log %s", n.ID, n.ClientAddr, n.RaftAddr, n.Pid(), n.LogFile)
	}
	leader, err := c.Leader(ctx)
	if err != nil {
		return err
	}
	info, _ := leader.Info(ctx)
	d.step("%s is the leader (term %s); the others follow it", leader.ID, info["raft_term"])

	if err := d.writeNumbered(ctx); err != nil {
		return err
	}

	follower := c.Nodes[0]
	for _, n := range c.Nodes {
		if n != leader {
			follower = n
			break
		}
	}
	viaFollower := newWriter("through follower "+follower.ID, "f", follower, d)
	viaLeader := newWriter("through leader "+leader.ID, "l", leader, d)
	writers := []*writer{viaFollower, viaLeader}
	var wg sync.WaitGroup
	stopWriting := make(chan struct{})
	for _, w := range writers {
		wg.Add(1)
		go func() { defer wg.Done(); w.run(ctx, stopWriting) }()
	}
	defer func() {
		select {
		case <-stopWriting:
		default:
			close(stopWriting)
		}
		wg.Wait()
		for _, w := range writers {
			w.close()
		}
	}()
	d.step("Two clients now RPUSH without pause: one through follower %s, one through leader %s", follower.ID, leader.ID)
	// Blocked clients: some served before the kill, some still waiting at
	// it, which the failover must answer with a retry error or a closed
	// connection, never a hang, never an element both handed out and kept.
	d.blk = newBlockedStory(d)
	defer d.blk.close()
	if err := d.blk.serveBeforeKill(ctx, leader, follower); err != nil {
		return err
	}
	if err := d.blk.blockForKill(ctx, leader); err != nil {
		return err
	}
	sleepCtx(ctx, 500*time.Millisecond)
	d.detail("%d writes acknowledged so far", d.led.count(acked))

	if err := d.failover(ctx, leader, viaLeader); err != nil {
		return err
	}

	close(stopWriting)
	wg.Wait()
	d.step("Writers stopped")
	for _, w := range writers {
		d.detail("%-26s %s", w.name+":", w.summary())
	}
	return d.check(ctx)
}

// writeNumbered RPUSHes d.writes numbered elements, round-robin through all
// nodes, retrying only what is certain not to have been applied.
func (d *demo) writeNumbered(ctx context.Context) error {
	d.step("Writing %d numbered elements to %q with RPUSH, round-robin through all nodes", d.writes, demoKey)
	w := newWriter("numbered", "pre", nil, d)
	defer w.close()
	perNode := make(map[string]int)
	began := time.Now()
	for i := 1; i <= d.writes; i++ {
		n := d.cluster.Nodes[(i-1)%len(d.cluster.Nodes)]
		w.target.Store(n)
		if w.pushOne(ctx, fmt.Sprintf("pre-%05d", i), nil) {
			perNode[n.ID]++
		}
	}
	var parts []string
	for _, n := range d.cluster.Nodes {
		parts = append(parts, fmt.Sprintf("%s %d", n.ID, perNode[n.ID]))
	}
	d.detail("%d of %d acknowledged in %s (%s); %s", d.led.count(acked), d.writes,
		since(began), strings.Join(parts, ", "), w.summary())
	return ctx.Err()
}

// failover kills the leader, times the election and the first write after
// it, moves the leader writer to the new leader, then restarts the old
// leader and waits for it to catch up.
func (d *demo) failover(ctx context.Context, old *local.Node, viaLeader *writer) error {
	info, err := old.Info(ctx)
	if err != nil {
		return err
	}
	oldTerm, oldApplied := info["raft_term"], info["raft_applied_index"]
	d.step("SIGKILL the leader %s (pid %d); it had applied index %s", old.ID, old.Pid(), oldApplied)
	d.killAt.Store(time.Now().UnixNano())
	old.Kill()
	killed := time.Unix(0, d.killAt.Load())

	electCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	leader, term, err := d.awaitNewLeader(electCtx, old, oldTerm)
	if err != nil {
		return fmt.Errorf("no new leader after the kill: %w", err)
	}
	d.step("%s was elected leader in term %s, %s after the kill", leader.ID, term, since(killed))
	d.blk.afterKill(old, killed)
	viaLeader.target.Store(leader)
	viaLeader.name = "through leader " + old.ID + ", then " + leader.ID
	d.detail("the leader writer now goes through %s (it got %d connection errors from dead %s)",
		leader.ID, viaLeader.refused.Load(), old.ID)

	at, via, err := d.first.wait(electCtx)
	if err != nil {
		return fmt.Errorf("no write acknowledged after the kill: %w", err)
	}
	d.step("First write acknowledged after the kill: %s after it, through %s", at.Sub(killed).Round(time.Millisecond), via)
	if err := d.blk.retryAfterKill(ctx, leader); err != nil {
		return err
	}

	d.step("Writing through the new leader %s for 3s", leader.ID)
	before := d.led.count(acked)
	sleepCtx(ctx, 3*time.Second)
	d.detail("%d more writes acknowledged", d.led.count(acked)-before)

	d.step("Restarting %s from its data dir %s", old.ID, old.DataDir)
	restarted := time.Now()
	if err := old.Restart(ctx); err != nil {
		return err
	}
	target, err := leader.Info(ctx)
	if err != nil {
		return err
	}
	catchCtx, cancel2 := context.WithTimeout(ctx, 15*time.Second)
	defer cancel2()
	caught, err := awaitApplied(catchCtx, old, target["raft_commit_index"])
	if err != nil {
		return err
	}
	d.step("%s is back as a %s of %s and caught up to index %s in %s (the leader's commit index when it came back: %s)",
		old.ID, caught["raft_role"], caught["raft_leader_id"], caught["raft_applied_index"], since(restarted), target["raft_commit_index"])
	sleepCtx(ctx, time.Second) // let it take live writes too
	return ctx.Err()
}

// awaitNewLeader polls the surviving nodes until one of them leads in a
// later term than the killed leader's.
func (d *demo) awaitNewLeader(ctx context.Context, old *local.Node, oldTerm string) (*local.Node, string, error) {
	var lastErr error
	for {
		for _, n := range d.cluster.Nodes {
			if n == old {
				continue
			}
			v, err := n.Info(ctx)
			if err != nil {
				lastErr = err
				continue
			}
			if v["raft_role"] == "leader" && v["raft_term"] != oldTerm {
				return n, v["raft_term"], nil
			}
		}
		if err := sleepCtx(ctx, 10*time.Millisecond); err != nil {
			return nil, "", fmt.Errorf("%w (last error: %v)", err, lastErr)
		}
	}
}

// awaitApplied waits until n knows a leader and has applied index want,
// and returns its INFO raft. The leader may have changed meanwhile: on a
// busy machine an extra election is normal, and not what this waits for.
func awaitApplied(ctx context.Context, n *local.Node, want string) (map[string]string, error) {
	var v map[string]string
	var err error
	for {
		v, err = n.Info(ctx)
		if err == nil && v["raft_leader_id"] != "" && atoi(v["raft_applied_index"]) >= atoi(want) {
			return v, nil
		}
		if serr := sleepCtx(ctx, 20*time.Millisecond); serr != nil {
			return nil, fmt.Errorf("%s did not catch up to index %s: %w (last INFO: %v %v)", n.ID, want, serr, v, err)
		}
	}
}

// check compares the nodes and the list against the ledger of writes.
func (d *demo) check(ctx context.Context) error {
	var failed []string
	fail := func(format string, args ...any) {
		msg := fmt.Sprintf(format, args...)
		failed = append(failed, msg)
		d.detail("FAIL: %s", msg)
	}
	d.step("Checking that all nodes hold the same state")
	convCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := d.cluster.WaitConverged(convCtx); err != nil {
		fail("%v", err)
	}
	lengths := make(map[string]int64)
	for _, n := range d.cluster.Nodes {
		v, err := n.Info(ctx)
		if err != nil {
			fail("%v", err)
			continue
		}
		digest, err := n.Digest(ctx)
		if err != nil {
			fail("%v", err)
		}
		length, err := readonlyLen(ctx, n)
		if err != nil {
			fail("%s LLEN in READONLY mode: %v", n.ID, err)
		}
		lengths[n.ID] = length
		d.detail("%s  %-8s applied index %-6s digest %s  LLEN (READONLY) %d",
			n.ID, v["raft_role"], v["raft_applied_index"], digest, length)
	}

	d.step("Checking every acknowledged element is in %q exactly once", demoKey)
	leader, err := d.cluster.Leader(ctx)
	if err != nil {
		return err
	}
	elems, err := leader.Client().LRange(ctx, demoKey, 0, -1).Result()
	if err != nil {
		return fmt.Errorf("LRANGE %s: %w", demoKey, err)
	}
	for id, l := range lengths {
		if l != int64(len(elems)) {
			fail("%s has %d elements in READONLY mode, the leader %d", id, l, len(elems))
		}
	}
	for _, f := range d.led.verify(elems) {
		fail("%s", f)
	}
	d.detail("%d elements in the list; %d acknowledged writes, all present once",
		len(elems), d.led.count(acked))
	if u := d.led.uncertain(elems); len(u) > 0 {
		d.detail("%d writes had an unknown outcome (UNCERTAIN or connection lost after sending): %s",
			len(u), strings.Join(u, ", "))
	} else {
		d.detail("no write had an unknown outcome")
	}
	d.blk.check(ctx, leader)
	failed = append(failed, d.blk.failures...)
	if len(failed) > 0 {
		d.step("FAILED: %d check(s)", len(failed))
		return fmt.Errorf("%d check(s) failed: %s", len(failed), strings.Join(failed, "; "))
	}
	d.step("PASSED: the leader died mid-write, a new one took over, and no acknowledged write was lost or doubled;")
	d.detail("blocked clients were served in the order they came, told to retry or cut off by the kill, never left hanging,")
	d.detail("and no job was both handed to a client and left in the list")
	return nil
}

// readonlyLen reads the list's length from n's own state (READONLY mode),
// without going to the leader.
func readonlyLen(ctx context.Context, n *local.Node) (int64, error) {
	conn := n.Client().Conn()
	defer conn.Close()
	if err := conn.Do(ctx, "READONLY").Err(); err != nil {
		return 0, err
	}
	return conn.LLen(ctx, demoKey).Result()
}

// outcome is what the demo knows about one element it tried to write.
type outcome int

const (
	pending   outcome = iota // being written
	acked                    // the server acknowledged it: it must be there, once
	uncertain                // the answer was lost or UNCERTAIN: it may be there, at most once
	refused                  // only errors that guarantee it was not applied: it must be absent
)

// ledger records the outcome of every element written.
type ledger struct {
	mu     sync.Mutex
	status map[string]outcome
}

func newLedger() *ledger { return &ledger{status: make(map[string]outcome)} }

func (l *ledger) set(elem string, o outcome) {
	l.mu.Lock()
	l.status[elem] = o
	l.mu.Unlock()
}

func (l *ledger) count(o outcome) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, s := range l.status {
		if s == o {
			n++
		}
	}
	return n
}

// verify returns what is wrong with elems given the ledger.
func (l *ledger) verify(elems []string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	seen := make(map[string]int, len(elems))
	for _, e := range elems {
		seen[e]++
	}
	var bad []string
	for e, n := range seen {
		if _, ok := l.status[e]; !ok {
			bad = append(bad, fmt.Sprintf("%q is in the list but was never written", e))
		} else if n > 1 {
			bad = append(bad, fmt.Sprintf("%q is in the list %d times", e, n))
		}
	}
	for e, s := range l.status {
		switch {
		case s == acked && seen[e] == 0:
			bad = append(bad, fmt.Sprintf("acknowledged %q is missing", e))
		case (s == refused || s == pending) && seen[e] > 0:
			bad = append(bad, fmt.Sprintf("%q is in the list although every attempt was refused with a not-applied error", e))
		}
	}
	sort.Strings(bad)
	return bad
}

// uncertain lists the elements with an unknown outcome and whether each
// ended up in the list.
func (l *ledger) uncertain(elems []string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	in := make(map[string]bool, len(elems))
	for _, e := range elems {
		in[e] = true
	}
	var out []string
	for e, s := range l.status {
		if s == uncertain {
			where := "absent"
			if in[e] {
				where = "present"
			}
			out = append(out, e+" ("+where+")")
		}
	}
	sort.Strings(out)
	return out
}

// firstAck remembers the first write acknowledged that was sent after the
// kill.
type firstAck struct {
	mu   sync.Mutex
	at   time.Time
	via  string
	done chan struct{}
	once sync.Once
}

func (f *firstAck) note(at time.Time, via string) {
	f.init()
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.at.IsZero() {
		f.at, f.via = at, via
		close(f.done)
	}
}

func (f *firstAck) init() { f.once.Do(func() { f.done = make(chan struct{}) }) }

func (f *firstAck) wait(ctx context.Context) (time.Time, string, error) {
	f.init()
	select {
	case <-f.done:
		f.mu.Lock()
		defer f.mu.Unlock()
		return f.at, f.via, nil
	case <-ctx.Done():
		return time.Time{}, "", ctx.Err()
	}
}

// writer RPUSHes fresh numbered elements through one node at a time, with
// its own clients that never retry by themselves: a retry after a lost
// answer could apply an element twice, so only errors that guarantee
// nothing was applied (TRYAGAIN, a refused connection) are retried, with the
// same element.
type writer struct {
	name, prefix string
	target       atomic.Pointer[local.Node]
	d            *demo
	clients      map[*local.Node]*redis.Client // used by the writer's goroutine only

	acks, tryAgain, uncertainReplies, refused, lost, other atomic.Int64
	lastOther                                              atomic.Value // string
}

func newWriter(name, prefix string, n *local.Node, d *demo) *writer {
	w := &writer{name: name, prefix: prefix, d: d, clients: make(map[*local.Node]*redis.Client)}
	w.target.Store(n)
	return w
}

func (w *writer) client(n *local.Node) *redis.Client {
	c, ok := w.clients[n]
	if !ok {
		c = redis.NewClient(&redis.Options{
			Addr: n.ClientAddr, MaxRetries: -1, PoolSize: 1, Protocol: 2, DisableIdentity: true,
			DialTimeout: time.Second, ReadTimeout: 5 * time.Second, WriteTimeout: 2 * time.Second,
		})
		w.clients[n] = c
	}
	return c
}

func (w *writer) close() {
	for _, c := range w.clients {
		c.Close()
	}
}

// run writes until stop is closed.
func (w *writer) run(ctx context.Context, stop <-chan struct{}) {
	for seq := 1; ; seq++ {
		select {
		case <-stop:
			return
		default:
		}
		w.pushOne(ctx, fmt.Sprintf("%s-%05d", w.prefix, seq), stop)
	}
}

// pushOne writes elem until it is acknowledged, its outcome becomes
// unknown, or stop closes while only not-applied errors were seen. It
// reports whether elem was acknowledged.
func (w *writer) pushOne(ctx context.Context, elem string, stop <-chan struct{}) bool {
	w.d.led.set(elem, pending)
	for {
		n := w.target.Load()
		began := time.Now()
		err := w.client(n).RPush(ctx, demoKey, elem).Err()
		var re redis.Error
		var op *net.OpError
		switch {
		case err == nil:
			w.acks.Add(1)
			w.d.led.set(elem, acked)
			if kill := w.d.killAt.Load(); kill != 0 && began.UnixNano() > kill {
				w.d.first.note(time.Now(), n.ID)
			}
			return true
		case errors.As(err, &re) && strings.HasPrefix(err.Error(), "TRYAGAIN"):
			w.tryAgain.Add(1)
		case errors.As(err, &re) && strings.HasPrefix(err.Error(), "UNCERTAIN"):
			w.uncertainReplies.Add(1)
			w.d.led.set(elem, uncertain)
			return false
		case errors.As(err, &op) && op.Op == "dial":
			w.refused.Add(1)
		case errors.As(err, &re):
			// Some other error reply: the node may have applied it.
			w.other.Add(1)
			w.lastOther.Store(err.Error())
			w.d.led.set(elem, uncertain)
			return false
		default:
			// The connection broke or timed out after sending.
			w.lost.Add(1)
			w.d.led.set(elem, uncertain)
			return false
		}
		select {
		case <-stop:
			w.d.led.set(elem, refused)
			return false
		case <-ctx.Done():
			w.d.led.set(elem, refused)
			return false
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (w *writer) summary() string {
	s := fmt.Sprintf("%d acknowledged, %d TRYAGAIN (retried), %d UNCERTAIN, %d refused connections (retried), %d connections lost after sending",
		w.acks.Load(), w.tryAgain.Load(), w.uncertainReplies.Load(), w.refused.Load(), w.lost.Load())
	if n := w.other.Load(); n > 0 {
		s += fmt.Sprintf(", %d other errors (last: %v)", n, w.lastOther.Load())
	}
	return s
}

// quietLogger drops go-redis's log lines.
type quietLogger struct{}

func (quietLogger) Printf(context.Context, string, ...any) {}

// story prints the demo as timestamped steps with indented details.
type story struct{ start time.Time }

func (s *story) step(format string, args ...any) {
	fmt.Printf("[%6.2fs] %s\n", time.Since(s.start).Seconds(), fmt.Sprintf(format, args...))
}

func (s *story) detail(format string, args ...any) {
	fmt.Printf("           %s\n", fmt.Sprintf(format, args...))
}

func since(t time.Time) time.Duration { return time.Since(t).Round(time.Millisecond) }

func sleepCtx(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

func atoi(s string) int64 {
	var n int64
	fmt.Sscan(s, &n)
	return n
}
