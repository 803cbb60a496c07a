package tests

import (
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
// TestRedis614 does that on a three-node cluster of real processes, many
// times over: workers blocked in BRPOPLPUSH and BLMOVE on the leader and on
// both followers (some forever, most with short timeouts that end through
// the log), relays moving elements on to a second list other workers wait
// on (so serving one waiter readies another key), and programs from
// several goroutines through every node: the issue's own multi-element
// LPUSH script, scripts and MULTI/EXEC that push and then remove with
// LREM, LTRIM or a pop of the same element, and plain pipelines of pushes,
// LREMs and pops; workers LREM and LTRIM their own lists. Every element is
// unique and every reply that takes one names it (redis614_prog_test.go),
// so at the end each element is accounted for exactly
// (redis614_ledger_test.go). Then: every node has the same DEBUG DIGEST;
// no waiter is left anywhere; every node holds the same lists; emptying
// them leaves an empty dataset (digest 40 zeros, DBSIZE 0) on every node;
// and the followers' memory did not grow in the second half of the run.
//
// -redis614.iters sets the number of programs (a soak run: 100000).
// TestRedis614SequentialRepliesMatchRedis (redis614_diff_test.go) runs the
// same kind of scenario one step at a time against a real redis-server
// too and requires byte-identical replies, so the scenario means what
// Redis means.

var (
	r614ItersFlag = flag.Int("redis614.iters", 0,
		"programs TestRedis614 runs against the cluster (0: 1500 with -short, else 5000; a soak run: 100000)")
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
	// once the data is gone. Generous: it is there to catch growth that
	// goes on with the iterations.
	r614MemSlack = 16 << 20
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

func TestRedis614BlockedClientsScriptsAndRemovalsKeepEveryNodeEqual(t *testing.T) {
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
			r.runPlainOp(conn, op, "sentinel")
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
		for _, op := range p.ops {
			if !r.runPlainOp(conn, op, by) {
				return false
			}
		}
		return true
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
// Blocked clients.

// r614Worker blocks with BRPOPLPUSH or BLMOVE from a source list into its
// own list, whose contents it knows exactly (model), and now and then
// removes from that list with plain LREM and LTRIM.
type r614Worker struct {
	run     *r614Run
	name    string
	addr    string
	forever bool // blocks with timeout 0, so the end must push to it
	r       *rand.Rand
	conn    *rawConn
	gen     int
	dest    string
	model   []string
}

func (w *r614Worker) destKey() string { return "r614:p:" + w.name + "." + strconv.Itoa(w.gen) }

func (w *r614Worker) loop(wg *sync.WaitGroup) {
	defer wg.Done()
	defer w.close()
	for !w.run.stopped() {
		w.block()
		if len(w.model) > r614DestMax || (len(w.model) > 0 && w.r.IntN(3) == 0) {
			w.tend()
		}
	}
	w.run.keepDest(w.dest, w.model, false)
}

func (r *r614Run) stopped() bool {
	select {
	case <-r.stop:
		return true
	default:
		return false
	}
}

// do sends one command on the worker's connection, dialling if needed; a
// transport error closes it.
func r614Do(conn **rawConn, addr string, args ...string) ([]byte, error) {
	if *conn == nil {
		c, err := dialRaw(addr, r614ConnTimeout)
		if err != nil {
			return nil, err
		}
		*conn = c
	}
	raw, err := (*conn).doStr(args...)
	if err != nil {
		(*conn).Close()
		*conn = nil
	}
	return raw, err
}

func (w *r614Worker) close() {
	if w.conn != nil {
		w.conn.Close()
	}
}

// r614Timeouts are the blocking timeouts of workers and relays that do not
// wait forever: most end through the log (an UNBLOCK entry).
var r614Timeouts = []string{"0.05", "0.1", "0.2", "0.5", "1"}

// block runs one blocking move into the worker's list.
func (w *r614Worker) block() {
	src := r614Q
	if w.r.IntN(4) == 0 {
		src = r614Q2
	}
	timeout := "0"
	if !w.forever {
		timeout = r614Timeouts[w.r.IntN(len(r614Timeouts))]
	}
	args := []string{"BRPOPLPUSH", src, w.dest, timeout}
	toHead := true
	if w.r.IntN(2) == 0 {
		from, to := []string{"LEFT", "RIGHT"}[w.r.IntN(2)], []string{"LEFT", "RIGHT"}[w.r.IntN(2)]
		args = []string{"BLMOVE", src, w.dest, from, to, timeout}
		toHead = to == "LEFT"
	}
	by := w.name + " " + args[0]
	raw, err := r614Do(&w.conn, w.addr, args...)
	e, outcome := r614BlockingOutcome(raw, err)
	switch outcome {
	case "element":
		w.run.ledger.moved(e, src, w.dest, by)
		w.run.ledger.count("elements served to workers from "+src, 1)
		if toHead {
			w.model = append([]string{e}, w.model...)
		} else {
			w.model = append(w.model, e)
		}
	case "timeout":
		w.run.ledger.count("blocking timeouts", 1)
	case "tryagain":
		w.run.ledger.count("blocking TRYAGAIN (retried)", 1)
		time.Sleep(50 * time.Millisecond)
	case "unknown":
		w.run.ledger.maybeMoved(src, w.dest, "", by)
		w.taint()
	default:
		w.run.ledger.problem("%s %s on %s: %s", by, quoteCommand(bargs(args...)), w.addr, outcome)
		w.taint()
	}
}

// r614BlockingOutcome classifies a blocking move's reply: "element" (e),
// "timeout", "tryagain", "unknown" (-UNCERTAIN or a transport error), or
// a description of a reply that should not happen.
func r614BlockingOutcome(raw []byte, err error) (string, string) {
	switch {
	case err != nil:
		return "", "unknown"
	case string(raw) == "*-1\r\n" || string(raw) == "$-1\r\n":
		return "", "timeout"
	case isErrorPrefix(raw, "TRYAGAIN"):
		return "", "tryagain"
	case isErrorPrefix(raw, "UNCERTAIN"):
		return "", "unknown"
	}
	r, perr := parseRaw(raw)
	if perr != nil || r.kind != '$' || r.null {
		return "", "unexpected reply " + quoteRaw(raw)
	}
	return string(r.str), "element"
}

// tend removes from the worker's own list with a plain LREM of a named
// element or a plain LTRIM whose effect the model predicts, or checks the
// list against the model.
func (w *r614Worker) tend() {
	switch x := w.r.IntN(10); {
	case x < 4 && len(w.model) <= r614DestMax:
		i := w.r.IntN(len(w.model))
		e := w.model[i]
		count := strconv.Itoa([]int{1, -1, 0}[w.r.IntN(3)])
		raw, ok := w.plain("LREM", w.dest, count, e)
		if !ok {
			w.run.ledger.maybeMoved(w.dest, "", e, w.name+" LREM")
			w.taint()
			return
		}
		if string(raw) != ":1\r\n" {
			w.run.ledger.problem("%s LREM %s %s %s: exp :1 (the worker's reply put it there), got %s", w.name, w.dest, count, e, quoteRaw(raw))
			w.taint()
			return
		}
		w.run.ledger.moved(e, w.dest, "", w.name+" LREM")
		w.run.ledger.count("elements removed by workers (LREM)", 1)
		w.model = slices.Delete(w.model, i, i+1)
	case x < 9 || len(w.model) > r614DestMax:
		k := 1 + w.r.IntN(len(w.model))
		args := []string{"LTRIM", w.dest, "0", strconv.Itoa(-k - 1)} // drops k from the tail
		gone := w.model[len(w.model)-k:]
		keep := w.model[:len(w.model)-k]
		if w.r.IntN(2) == 0 {
			args = []string{"LTRIM", w.dest, strconv.Itoa(k), "-1"} // drops k from the head
			gone, keep = w.model[:k], w.model[k:]
		}
		raw, ok := w.plain(args...)
		if !ok {
			w.run.ledger.maybeMoved(w.dest, "", "", w.name+" LTRIM")
			w.taint()
			return
		}
		if string(raw) != "+OK\r\n" {
			w.run.ledger.problem("%s %s: exp +OK, got %s", w.name, quoteCommand(bargs(args...)), quoteRaw(raw))
			w.taint()
			return
		}
		for _, e := range gone {
			w.run.ledger.moved(e, w.dest, "", w.name+" LTRIM")
		}
		w.run.ledger.count("elements removed by workers (LTRIM)", len(gone))
		w.model = slices.Clone(keep)
	default:
		raw, ok := w.plain("LRANGE", w.dest, "0", "-1")
		if !ok {
			return
		}
		r, err := parseRaw(raw)
		if err != nil || r.kind != '*' || !slices.Equal(r.strings(), w.model) {
			w.run.ledger.problem("%s LRANGE %s 0 -1: exp %q (what its replies put there), got %s", w.name, w.dest, w.model, quoteRaw(raw))
			w.taint()
		}
	}
}

// plain runs a command on the worker's own list, retrying -TRYAGAIN; ok is
// false if its outcome is unknown.
func (w *r614Worker) plain(args ...string) ([]byte, bool) {
	for attempt := 0; attempt < 200; attempt++ {
		raw, err := r614Do(&w.conn, w.addr, args...)
		switch {
		case err != nil || isErrorPrefix(raw, "UNCERTAIN"):
			return nil, false
		case isErrorPrefix(raw, "TRYAGAIN"):
			w.run.ledger.count("TRYAGAIN (retried)", 1)
			time.Sleep(50 * time.Millisecond)
		default:
			return raw, true
		}
	}
	return nil, false
}

// taint gives up on the worker's list after an operation on it with an
// unknown outcome: the worker goes on with a new list, and the old one is
// left as it is, checked by the ledger alone.
func (w *r614Worker) taint() {
	w.run.keepDest(w.dest, w.model, true)
	w.gen++
	w.dest = w.destKey()
	w.model = nil
	w.close()
	w.conn = nil
}

// keepDest remembers a worker list and what it must hold at the end.
func (r *r614Run) keepDest(key string, model []string, tainted bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.dests[key] = &r614Dest{model: slices.Clone(model), tainted: tainted}
}

// r614Relay blocks with BLMOVE from r614Q to r614Q2, where workers wait
// too: an element pushed by a script can be served to a relay and, in the
// same entry, on to a worker.
type r614Relay struct {
	run  *r614Run
	name string
	addr string
	r    *rand.Rand
	conn *rawConn
}

func (rl *r614Relay) loop(wg *sync.WaitGroup) {
	defer wg.Done()
	defer func() {
		if rl.conn != nil {
			rl.conn.Close()
		}
	}()
	for !rl.run.stopped() {
		from, to := []string{"LEFT", "RIGHT"}[rl.r.IntN(2)], []string{"LEFT", "RIGHT"}[rl.r.IntN(2)]
		args := []string{"BLMOVE", r614Q, r614Q2, from, to, r614Timeouts[rl.r.IntN(len(r614Timeouts))]}
		by := rl.name + " BLMOVE"
		raw, err := r614Do(&rl.conn, rl.addr, args...)
		e, outcome := r614BlockingOutcome(raw, err)
		switch outcome {
		case "element":
			rl.run.ledger.moved(e, r614Q, r614Q2, by)
			rl.run.ledger.count("elements relayed from "+r614Q+" to "+r614Q2, 1)
		case "timeout":
			rl.run.ledger.count("blocking timeouts", 1)
		case "tryagain":
			rl.run.ledger.count("blocking TRYAGAIN (retried)", 1)
			time.Sleep(50 * time.Millisecond)
		case "unknown":
			rl.run.ledger.maybeMoved(r614Q, r614Q2, "", by)
		default:
			rl.run.ledger.problem("%s %s on %s: %s", by, quoteCommand(bargs(args...)), rl.addr, outcome)
		}
	}
}

// ---------------------------------------------------------------------------
// Sampling the nodes.

func (r *r614Run) sampler(stop, done chan struct{}) {
	defer close(done)
	conns := make([]*rawConn, len(r.c.Nodes))
	defer func() {
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
	}()
	for {
		for i, n := range r.c.Nodes {
			if s, ok := r.sample(&conns[i], n); ok {
				r.mu.Lock()
				r.samples = append(r.samples, s)
				r.mu.Unlock()
			}
		}
		select {
		case <-stop:
			return
		case <-time.After(r614SampleEvery):
		}
	}
}

// sample reads one node's memory (after MEMORY PURGE, if it exists),
// waiters and blocked clients.
func (r *r614Run) sample(conn **rawConn, n *local.Node) (r614Sample, bool) {
	s := r614Sample{node: n.ID, iter: r.done.Load()}
	s.running = s.iter < int64(r.iters)
	if r.purge {
		if _, err := r614Do(conn, n.ClientAddr, "memory", "purge"); err != nil {
			return s, false
		}
	}
	raw, err := r614Do(conn, n.ClientAddr, "info", "memory", "raft", "clients")
	if err != nil {
		return s, false
	}
	info, err := parseRaw(raw)
	if err != nil || info.kind != '$' {
		return s, false
	}
	fields := map[string]string{}
	for _, line := range strings.Split(string(info.str), "\r\n") {
		if k, v, ok := strings.Cut(line, ":"); ok {
			fields[k] = v
		}
	}
	s.role = fields["raft_role"]
	s.usedMemory, _ = strconv.ParseInt(fields["used_memory"], 10, 64)
	s.applied, _ = strconv.ParseInt(fields["raft_applied_index"], 10, 64)
	s.waiters, _ = strconv.Atoi(fields["raft_blocked_waiters"])
	s.blocked, _ = strconv.Atoi(fields["blocked_clients"])
	return s, true
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
			r.t.Fatalf("blocked clients remain after every client returned: %s", strings.Join(bad, "; "))
		}
		time.Sleep(50 * time.Millisecond)
	}
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
		s, ok := r.sample(&c, n)
		if !ok || s.waiters != 0 {
			t.Errorf("%s raft_blocked_waiters at the end: exp 0, got %d (read: %v)", n.ID, s.waiters, ok)
			continue
		}
		r.mu.Lock()
		r.drained = append(r.drained, s)
		r.mu.Unlock()
	}
}
