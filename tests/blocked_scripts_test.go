package tests

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/raftlist/raftlist/cluster/local"
)

// The seed regression, Redis issue #614 (issue 5): in Redis 2.6 a Lua
// script pushing several elements onto a list that clients waited on with
// BRPOPLPUSH served them on the master, but the replica was told something
// else; it diverged and its memory grew, silently, while the master looked
// fine.
//
// TestBlockedClientsScriptsAndRemovalsKeepEveryNodeEqual does that
// on a three-node cluster of real processes, many times over: workers
// blocked in BRPOPLPUSH and BLMOVE on the leader and on both followers
// (some forever, most with short timeouts that end through the log),
// relays moving elements on to a second list other workers wait on (so
// serving one waiter readies another key), and programs from several
// goroutines through every node: the issue's own multi-element LPUSH
// script, scripts and MULTI/EXEC that push and then remove with LREM,
// LTRIM or a pop of the same element, and plain pipelines of pushes, LREMs
// and pops; workers LREM and LTRIM their own lists. Every element is
// unique and every reply that takes one names it (blocked_scripts_programs_test.go;
// the blocked clients are in blocked_scripts_clients_test.go), so at the end each
// element is accounted for exactly (blocked_scripts_ledger_test.go). Then: every
// node has the same DEBUG DIGEST; no waiter is left anywhere; every node
// holds the same lists; emptying them leaves an empty dataset (digest 40
// zeros, DBSIZE 0) on every node; and the followers' memory did not grow
// in the second half of the run (blocked_scripts_memory_test.go).
//
// -redis614.iters sets the number of programs (a soak run: 100000).
// TestScriptedPushesToBlockedClientsAnswerAsRedisInSequence (blocked_scripts_diff_test.go) runs the
// same kind of scenario one step at a time against a real redis-server
// too and requires byte-identical replies, so the scenario means what
// Redis means.

var (
	r614ItersFlag = flag.Int("redis614.iters", 0,
		"programs TestBlockedClientsScriptsAndRemovalsKeepEveryNodeEqual runs against the cluster (0: 1500 with -short, else 5000; a soak run: 100000)")
	r614SeedFlag = flag.Uint64("redis614.seed", 0, "seed of the Redis #614 tests (0: from the clock, logged)")
)

const (
	r614WorkersPerNode = 3 // clients blocked with BRPOPLPUSH/BLMOVE into their own list
	r614RelaysPerNode  = 1 // clients blocked with BLMOVE from r614Q to r614Q2
	r614Mutators       = 6 // goroutines running programs through random nodes
	r614DestMax        = 8 // a worker trims its own list beyond this
	// r614ConnTimeout bounds one reply; a blocked worker gets an element,
	// its timeout or a sentinel long before.
	r614ConnTimeout = 60 * time.Second
	// r614SampleEvery is how often every node's memory and waiters are
	// read during the run.
	r614SampleEvery = 250 * time.Millisecond
	// r614MemSlack bounds how much a follower's live heap may grow in the
	// second half of the run, and how far above its early level it may be
	// once the data is gone. Generous (twice a follower's whole live heap
	// in this scenario, about 4 MiB): it catches gross leaks in any run.
	r614MemSlack = 8 << 20
	// r614SteadyMinIters is the run length from which the memory check
	// also refuses steady growth (r614SteadyGrowth): long enough for
	// every window to hold many samples.
	r614SteadyMinIters = 20000
	// r614SteadyGrowth is how much second-half growth, at least half the
	// first half's, counts as growing steadily rather than warming up
	// (samples vary by about 0.7 MiB).
	r614SteadyGrowth = 1 << 20
	// r614DrainedSamples are taken of each node once the data is gone.
	r614DrainedSamples = 5
)

// r614Sentinel is the prefix of elements pushed at the end to release
// clients blocked forever.
const r614Sentinel = "s."

func r614Iterations() int {
	if *r614ItersFlag > 0 {
		return *r614ItersFlag
	}
	return scale(1500, 5000)
}

func r614Seed(t *testing.T) uint64 {
	seed := *r614SeedFlag
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (rerun with -redis614.seed %d)", seed, seed)
	return seed
}

func TestBlockedClientsScriptsAndRemovalsKeepEveryNodeEqual(t *testing.T) {
	iters := r614Iterations()
	seed := r614Seed(t)
	c := mustStartCluster(t, 3)
	leader := mustLeader(t, c)
	run := &r614Run{
		t: t, c: c, leader: leader, iters: iters, seed: seed,
		ledger: newR614Ledger(), recent: &r614Recent{}, stop: make(chan struct{}),
		dests: map[string]*r614Dest{},
	}
	run.prepare()
	began := time.Now()
	run.runAll()
	took := time.Since(began)
	final := run.end()
	run.checkAccounts(final)
	run.drain(final)
	run.checkMemory()
	t.Logf("%d programs in %v (%.0f/s) through %d nodes, %d blocked-client goroutines, %d program goroutines%s",
		iters, took.Round(time.Millisecond), float64(iters)/took.Seconds(), len(c.Nodes),
		len(c.Nodes)*(r614WorkersPerNode+r614RelaysPerNode), r614Mutators, run.ledger.summary())
}

// r614Run is one run of the scenario.
type r614Run struct {
	t      *testing.T
	c      *local.Cluster
	leader *local.Node
	iters  int
	seed   uint64
	sha    string
	purge  bool // MEMORY PURGE works: samples are live heap after a GC

	ledger *r614Ledger
	recent *r614Recent
	next   atomic.Int64 // iterations handed out
	done   atomic.Int64 // iterations finished
	stop   chan struct{}

	mu        sync.Mutex
	dests     map[string]*r614Dest // every worker list, by key
	samples   []r614Sample
	drained   []r614Sample
	sentinels int
}

// r614Dest is a worker's own list as the worker knows it.
type r614Dest struct {
	model   []string // head first
	tainted bool     // an operation on it had an unknown outcome
}

// r614Sample is one node's INFO at one moment.
type r614Sample struct {
	node       string
	role       string
	iter       int64
	running    bool // programs were still running
	usedMemory int64
	applied    int64 // raft_applied_index
	waiters    int
	blocked    int
}

func (r *r614Run) blockers() int {
	return len(r.c.Nodes) * (r614WorkersPerNode + r614RelaysPerNode)
}

// prepare loads the script and finds out whether MEMORY PURGE exists.
func (r *r614Run) prepare() {
	conn := mustDial(r.t, r.leader.ClientAddr)
	reply := r614Retry(r.t, conn, "script", "load", r614Script)
	if reply.kind != '$' || len(reply.str) != 40 {
		r.t.Fatalf("SCRIPT LOAD: exp a 40-digit sha, got %s", reply)
	}
	r.sha = string(reply.str)
	r.purge = mustDo(r.t, conn, "memory", "purge").String() == "+OK"
	if !r.purge {
		r.t.Logf("MEMORY PURGE is not available: memory samples are INFO used_memory as it is (heap in use, garbage included); the check takes the lowest sample in each window")
	}
}

// r614Retry runs a command until it is not answered -TRYAGAIN.
func r614Retry(t *testing.T, conn *rawConn, args ...string) reply {
	t.Helper()
	for attempt := 0; ; attempt++ {
		r := mustDo(t, conn, args...)
		if r.kind == '-' && strings.HasPrefix(string(r.str), "TRYAGAIN") && attempt < 100 {
			time.Sleep(50 * time.Millisecond)
			continue
		}
		return r
	}
}

// runAll runs the blocked clients, the programs and the sampler, and
// returns once every blocked client has ended, released by sentinels.
func (r *r614Run) runAll() {
	var clients, mutators sync.WaitGroup
	rnd := rand.New(rand.NewPCG(r.seed, 1))
	for i, n := range r.c.Nodes {
		for j := 0; j < r614WorkersPerNode; j++ {
			id := i*r614WorkersPerNode + j
			w := &r614Worker{run: r, name: "w" + strconv.Itoa(id), addr: n.ClientAddr, forever: j == 0,
				r: rand.New(rand.NewPCG(r.seed, uint64(100+id)))}
			w.dest = w.destKey()
			clients.Add(1)
			go w.loop(&clients)
		}
		for j := 0; j < r614RelaysPerNode; j++ {
			id := i*r614RelaysPerNode + j
			rl := &r614Relay{run: r, name: "r" + strconv.Itoa(id), addr: n.ClientAddr,
				r: rand.New(rand.NewPCG(r.seed, uint64(200+id)))}
			clients.Add(1)
			go rl.loop(&clients)
		}
	}
	samplerDone := make(chan struct{})
	samplerStop := make(chan struct{})
	go r.sampler(samplerStop, samplerDone)
	for i := 0; i < r614Mutators; i++ {
		mutators.Add(1)
		go r.mutator(i, rnd.Uint64(), &mutators)
	}
	mutators.Wait()
	close(r.stop)
	r.release(&clients)
	close(samplerStop)
	<-samplerDone
}

// release pushes sentinels onto both source lists until every blocked
// client has returned: the ones blocked forever need an element.
func (r *r614Run) release(clients *sync.WaitGroup) {
	ended := make(chan struct{})
	go func() { clients.Wait(); close(ended) }()
	conn := mustDial(r.t, r.leader.ClientAddr)
	deadline := time.After(60 * time.Second)
	for {
		select {
		case <-ended:
			return
		case <-deadline:
			r.t.Fatalf("blocked clients did not all return within 60 s of the end (sentinels pushed: %d)", r.sentinels)
		case <-time.After(100 * time.Millisecond):
		}
		for _, key := range []string{r614Q, r614Q2} {
			r.sentinels++
			e := r614Sentinel + strconv.Itoa(r.sentinels)
			op := r614Op{name: "rpush", key: key, elems: []string{e}}
			if !r.runPlainOp(conn, op, "sentinel") {
				conn = mustDial(r.t, r.leader.ClientAddr)
			}
		}
	}
}

// ---------------------------------------------------------------------------
// Programs.

func (r *r614Run) mutator(i int, seed uint64, wg *sync.WaitGroup) {
	defer wg.Done()
	g := newR614Gen(seed, "m"+strconv.Itoa(i)+".", r.recent)
	g.keepEvery = 25
	conns := make([]*rawConn, len(r.c.Nodes))
	defer func() {
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
	}()
	for r.next.Add(1) <= int64(r.iters) {
		p := g.next()
		k := g.r.IntN(len(conns))
		if conns[k] == nil {
			c, err := dialRaw(r.c.Nodes[k].ClientAddr, r614ConnTimeout)
			if err != nil {
				r.ledger.problem("m%d: connect to %s: %v", i, r.c.Nodes[k].ID, err)
				return
			}
			conns[k] = c
		}
		by := "m" + strconv.Itoa(i) + " " + p.form.String() + " " + p.shape
		if !r.runProg(conns[k], p, by) {
			conns[k].Close()
			conns[k] = nil
		}
		r.ledger.count("programs "+p.form.String(), 1)
		r.done.Add(1)
	}
}

// runProg runs one program through conn and records what its replies
// say. It reports false if the connection is no longer usable.
func (r *r614Run) runProg(conn *rawConn, p r614Prog, by string) bool {
	if !p.form.atomic() {
		return r.runPipeline(conn, p.ops, by)
	}
	cmds := p.commands(r.sha)
	for attempt := 0; ; attempt++ {
		raws, err := conn.pipeline(r614Bargs(cmds))
		if err != nil {
			r.uncertain(p.ops, by)
			return false
		}
		last := raws[len(raws)-1]
		if isErrorPrefix(last, "TRYAGAIN") && attempt < 200 {
			r.ledger.count("TRYAGAIN (retried)", 1)
			time.Sleep(50 * time.Millisecond)
			continue
		}
		if isErrorPrefix(last, "UNCERTAIN") {
			r.uncertain(p.ops, by)
			return false
		}
		results, err := p.results(raws)
		if err != nil {
			r.ledger.problem("%s %s: %v", by, r614Describe(p), err)
			r.uncertain(p.ops, by)
			return true
		}
		for i, op := range p.ops {
			if op.want != nil {
				if msg := op.want(results[i]); msg != "" {
					r.ledger.problem("%s %s: operation %d (%s) ran in one entry, so %s", by, r614Describe(p), i+1, op.name, msg)
				}
			}
			r.applied(op, results[i], by)
		}
		return true
	}
}

// runPipeline sends plain operations (one command each) in one pipeline,
// which the node may propose as one entry: waiters must still be served
// after each command. An operation answered -TRYAGAIN was not applied and
// runs again on its own afterwards; each reply is accounted for by itself.
func (r *r614Run) runPipeline(conn *rawConn, ops []r614Op, by string) bool {
	cmds := make([][]string, len(ops))
	for i, op := range ops {
		cmds[i] = op.commands()[0]
	}
	raws, err := conn.pipeline(r614Bargs(cmds))
	var again []r614Op
	for i, op := range ops {
		switch {
		case i >= len(raws):
			r.uncertain([]r614Op{op}, by)
		case isErrorPrefix(raws[i], "TRYAGAIN"):
			r.ledger.count("TRYAGAIN (retried)", 1)
			again = append(again, op)
		case isErrorPrefix(raws[i], "UNCERTAIN"):
			r.uncertain([]r614Op{op}, by)
		default:
			res, perr := parseRaw(raws[i])
			if perr != nil {
				r.ledger.problem("%s %s: unparsable reply %s", by, quoteCommand(bargs(cmds[i]...)), quoteRaw(raws[i]))
				r.uncertain([]r614Op{op}, by)
				continue
			}
			r.applied(op, res, by)
		}
	}
	if err != nil {
		return false // the operations answered -TRYAGAIN were not applied: nothing to record
	}
	for _, op := range again {
		if !r.runPlainOp(conn, op, by) {
			return false
		}
	}
	return true
}

// runPlainOp runs one operation as one plain command, retrying -TRYAGAIN.
func (r *r614Run) runPlainOp(conn *rawConn, op r614Op, by string) bool {
	cmd := op.commands()
	if len(cmd) != 1 {
		panic("r614: a plain program with a two-command operation")
	}
	for attempt := 0; ; attempt++ {
		raw, err := conn.do(bargs(cmd[0]...)...)
		if err != nil {
			r.uncertain([]r614Op{op}, by)
			return false
		}
		if isErrorPrefix(raw, "TRYAGAIN") && attempt < 200 {
			r.ledger.count("TRYAGAIN (retried)", 1)
			time.Sleep(50 * time.Millisecond)
			continue
		}
		if isErrorPrefix(raw, "UNCERTAIN") {
			r.uncertain([]r614Op{op}, by)
			return false
		}
		res, err := parseRaw(raw)
		if err != nil {
			r.ledger.problem("%s %s: unparsable reply %s", by, quoteCommand(bargs(cmd[0]...)), quoteRaw(raw))
			r.uncertain([]r614Op{op}, by)
			return false
		}
		r.applied(op, res, by)
		return true
	}
}

// applied records an operation that ran, from its reply.
func (r *r614Run) applied(op r614Op, res reply, by string) {
	removed, err := op.removed(res)
	if err != nil {
		r.ledger.problem("%s: %v", by, err)
		r.uncertain([]r614Op{op}, by)
		return
	}
	switch op.name {
	case "lpush", "rpush":
		r.ledger.pushed(op.elems, op.key, by, true)
	default:
		for _, e := range removed {
			r.ledger.moved(e, op.key, "", by+" "+op.name)
		}
		r.ledger.count("elements removed by programs ("+op.name+")", len(removed))
	}
}

// uncertain records operations whose outcome is unknown.
func (r *r614Run) uncertain(ops []r614Op, by string) {
	for _, op := range ops {
		switch op.name {
		case "lpush", "rpush":
			r.ledger.pushed(op.elems, op.key, by, false)
		case "lrem":
			r.ledger.maybeMoved(op.key, "", op.elems[0], by+" "+op.name)
		default:
			r.ledger.maybeMoved(op.key, "", "", by+" "+op.name)
		}
	}
}

func r614Bargs(cmds [][]string) [][][]byte {
	out := make([][][]byte, len(cmds))
	for i, c := range cmds {
		out[i] = bargs(c...)
	}
	return out
}

// r614Describe renders a program without the script source.
func r614Describe(p r614Prog) string {
	var parts []string
	for _, op := range p.ops {
		parts = append(parts, strings.Join(op.scriptArgs(), " "))
	}
	return p.form.String() + " [" + strings.Join(parts, "; ") + "]"
}

// ---------------------------------------------------------------------------
// The end.

// end waits until no waiter is left anywhere and every node has applied
// the same log, then reads every node's lists (its own state, READONLY)
// and requires them equal. It returns them.
func (r *r614Run) end() map[string][]string {
	t := r.t
	t.Helper()
	r.awaitNoWaiters()
	mustConverge(t, r.c)
	var first map[string][]string
	var firstID string
	for _, n := range r.c.Nodes {
		lists := r614ReadAll(t, n.ClientAddr, true)
		if first == nil {
			first, firstID = lists, n.ID
			continue
		}
		if d := r614DiffLists(first, lists); d != "" {
			t.Fatalf("after convergence %s and %s hold different lists: %s", firstID, n.ID, d)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for key := range first {
		if key != r614Q && key != r614Q2 && r.dests[key] == nil {
			t.Errorf("key %s exists at the end, but no client of the test wrote it", key)
		}
	}
	for key, d := range r.dests {
		if !d.tainted && !slices.Equal(first[key], d.model) {
			t.Errorf("%s holds %q at the end; the worker's replies say %q", key, first[key], d.model)
		}
	}
	return first
}

// awaitNoWaiters waits until every node has no waiter in its state
// machine and holds no blocked client.
func (r *r614Run) awaitNoWaiters() {
	deadline := time.Now().Add(20 * time.Second)
	for {
		var bad []string
		for _, n := range r.c.Nodes {
			conn, err := dialRaw(n.ClientAddr, 5*time.Second)
			var s r614Sample
			ok := err == nil
			if ok {
				s, ok = r.sample(&conn, n)
				conn.Close()
			}
			if !ok || s.waiters != 0 || s.blocked != 0 {
				bad = append(bad, fmt.Sprintf("%s: raft_blocked_waiters=%d blocked_clients=%d (read: %v)", n.ID, s.waiters, s.blocked, ok))
			}
		}
		if len(bad) == 0 {
			return
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("blocked clients remain after every client returned: %s\n%s", strings.Join(bad, "; "), r614Digests(r.c))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// r614Digests describes every node's Raft view and DEBUG DIGEST, for
// failure messages.
func r614Digests(c *local.Cluster) string {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var b strings.Builder
	b.WriteString(clusterState(ctx, c))
	for _, n := range c.Nodes {
		d, err := n.Digest(ctx)
		fmt.Fprintf(&b, "  %s: DEBUG DIGEST %s %v\n", n.ID, d, err)
	}
	return b.String()
}

// r614ReadAll reads every key and its list through addr; readonly reads
// that node's own state.
func r614ReadAll(t *testing.T, addr string, readonly bool) map[string][]string {
	t.Helper()
	conn := mustDial(t, addr)
	defer conn.Close()
	if readonly {
		if r := mustDo(t, conn, "READONLY"); r.String() != "+OK" {
			t.Fatalf("READONLY on %s: %s", addr, r)
		}
	}
	keys := r614Retry(t, conn, "KEYS", "*")
	if keys.kind != '*' {
		t.Fatalf("KEYS * on %s: %s", addr, keys)
	}
	out := map[string][]string{}
	for _, k := range keys.strings() {
		r := r614Retry(t, conn, "LRANGE", k, "0", "-1")
		if r.kind != '*' {
			t.Fatalf("LRANGE %s 0 -1 on %s: %s", k, addr, r)
		}
		out[k] = r.strings()
	}
	return out
}

// r614DiffLists describes how two datasets differ, or "".
func r614DiffLists(a, b map[string][]string) string {
	var keys []string
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var diffs []string
	for _, k := range keys {
		av, aok := a[k]
		bv, bok := b[k]
		if aok != bok || !slices.Equal(av, bv) {
			diffs = append(diffs, fmt.Sprintf("%s: %s vs %s", k, r614Show(av, aok), r614Show(bv, bok)))
		}
	}
	return strings.Join(diffs, "; ")
}

func r614Show(xs []string, ok bool) string {
	if !ok {
		return "(no key)"
	}
	return abbreviate(xs)
}

// checkAccounts checks every element against the ledger.
func (r *r614Run) checkAccounts(final map[string][]string) {
	problems := r.ledger.verify(final)
	for i, p := range problems {
		if i == 30 {
			r.t.Errorf("... and %d more problems", len(problems)-30)
			break
		}
		r.t.Error(p)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	maxWaiters := 0
	for _, s := range r.samples {
		maxWaiters = max(maxWaiters, s.waiters)
	}
	r.ledger.count("most waiters seen on a node at once", maxWaiters)
	if maxWaiters > r.blockers() {
		r.t.Errorf("a node reported %d waiters at once; only %d clients ever block", maxWaiters, r.blockers())
	}
}

// drain empties every list with a script that answers what it held (which
// must be what every node held), flushes the script cache, and requires an
// empty dataset on every node: digest 40 zeros, DBSIZE 0, no waiter.
func (r *r614Run) drain(final map[string][]string) {
	t := r.t
	conn := mustDial(t, r.leader.ClientAddr)
	for key, want := range final {
		got := r614Retry(t, conn, "EVAL", r614DrainScript, "1", key)
		if got.kind != '*' || !slices.Equal(got.strings(), want) {
			t.Errorf("draining %s answered %s, exp %s", key, got, abbreviate(want))
		}
	}
	if got := r614Retry(t, conn, "SCRIPT", "FLUSH"); got.String() != "+OK" {
		t.Fatalf("SCRIPT FLUSH: %s", got)
	}
	mustConverge(t, r.c)
	zeros := strings.Repeat("0", 40)
	for _, n := range r.c.Nodes {
		c := mustDial(t, n.ClientAddr)
		mustDo(t, c, "READONLY")
		if d := mustDo(t, c, "DEBUG", "DIGEST"); d.String() != "+"+zeros {
			t.Errorf("%s DEBUG DIGEST after emptying every list and the script cache: exp %s (an empty dataset), got %s", n.ID, zeros, d)
		}
		if d := mustDo(t, c, "DBSIZE"); d.String() != ":0" {
			t.Errorf("%s DBSIZE after emptying every list: exp :0, got %s", n.ID, d)
		}
		// The lowest of a few samples, as during the run: one sample may
		// catch a Raft batch or a reply buffer in flight.
		var low r614Sample
		for i := 0; i < r614DrainedSamples; i++ {
			s, ok := r.sample(&c, n)
			if !ok || s.waiters != 0 {
				t.Fatalf("%s raft_blocked_waiters at the end: exp 0, got %d (read: %v)", n.ID, s.waiters, ok)
			}
			if i == 0 || s.usedMemory < low.usedMemory {
				low = s
			}
			time.Sleep(r614SampleEvery)
		}
		r.mu.Lock()
		r.drained = append(r.drained, low)
		r.mu.Unlock()
	}
}
