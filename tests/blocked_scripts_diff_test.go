package tests

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/raftlist/raftlist/fsm/resp"
)

// TestScriptedPushesToBlockedClientsAnswerAsRedisInSequence runs the Redis #614 scenario one
// step at a time against a real redis-server and a three-node raftlist
// cluster, and requires byte-identical replies: the programs of
// blocked_scripts_programs_test.go (the script, scripts and MULTI/EXEC that
// push and remove, plain pipelines), clients blocked in BRPOPLPUSH and
// BLMOVE (on the leader and on the followers for raftlist; relays among
// them, so serving one readies another list), and those clients' plain
// LREM and LTRIM of their own lists. After each program, the same clients
// must have been served the same elements. One step at a time, nothing is
// left to timing, so any difference is a difference in meaning.

// r614DiffSteps is how many steps the sequential comparison takes.
func r614DiffSteps() int { return scale(250, 800) }

const (
	r614DiffClients = 6 // blocked clients on each side; the last two are relays
	r614DiffRelays  = 2 // of those, how many move r614Q → r614Q2
	r614DiffBound   = 10 * time.Second
)

func TestScriptedPushesToBlockedClientsAnswerAsRedisInSequence(t *testing.T) {
	seed := r614Seed(t)
	steps := r614DiffSteps()
	redisSrv := mustStartRedis(t)
	c := mustStartCluster(t, 3)
	leader := mustLeader(t, c)
	d := &r614Diff{t: t, r: rand.New(rand.NewPCG(seed, 2)), counts: map[string]int{}}
	d.ref = d.side("redis", []string{redisSrv.Addr}, func(conn *rawConn) (int, error) {
		return r614InfoInt(conn, "clients", "blocked_clients")
	}, redisSrv.Addr)
	addrs := make([]string, len(c.Nodes))
	for i, n := range c.Nodes {
		addrs[i] = n.ClientAddr
	}
	d.sut = d.side("raftlist", addrs, func(conn *rawConn) (int, error) {
		return r614InfoInt(conn, "raft", "raft_blocked_waiters")
	}, leader.ClientAddr)
	d.models = make([][]string, r614DiffClients)

	d.sha = string(d.both(0, "script", "load", r614Script))
	g := newR614Gen(seed, "e", &r614Recent{})
	// Short lists, so that blocking commands block and programs serve them.
	g.keepEvery, g.keepLen = 4, 1
	for step := 0; step < steps; step++ {
		d.step = step
		switch x := d.r.IntN(100); {
		case x < 40:
			if i, ok := d.idleClient(); ok {
				d.block(i)
				continue
			}
			d.program(g.next())
		case x < 50:
			if i, ok := d.idleClient(); ok && len(d.models[i]) > 0 && i < r614DiffClients-r614DiffRelays {
				d.tend(i)
				continue
			}
			d.program(g.next())
		default:
			d.program(g.next())
		}
		if step%50 == 49 {
			d.compareData()
		}
	}
	d.releaseAll()
	d.compareData()
	mustConverge(t, c)
	t.Logf("%d steps, byte-identical to redis-server 7.0.15:%s", steps, d.summary())
}

// r614Diff is one sequential comparison.
type r614Diff struct {
	t        *testing.T
	r        *rand.Rand
	ref, sut *r614DiffSide
	sha      string
	step     int
	models   [][]string // each worker's own list (the same on both sides)
	counts   map[string]int
	history  []string
}

// r614DiffSide is one server (or cluster) under comparison.
type r614DiffSide struct {
	name    string
	progs   []*rawConn // program connections (raftlist: one per node)
	clients []*r614DiffClient
	admin   *rawConn // where blocked clients are counted
	waiters func(*rawConn) (int, error)
}

// r614DiffClient is a connection that blocks.
type r614DiffClient struct {
	conn    *rawConn
	where   string
	src     string // the list it is blocked on, while blocked
	toHead  bool   // where its move puts the element
	blocked bool
	reply   chan blkResult
}

func (d *r614Diff) side(name string, addrs []string, waiters func(*rawConn) (int, error), adminAddr string) *r614DiffSide {
	s := &r614DiffSide{name: name, waiters: waiters, admin: mustDial(d.t, adminAddr)}
	for _, a := range addrs {
		s.progs = append(s.progs, mustDial(d.t, a))
	}
	for i := 0; i < r614DiffClients; i++ {
		a := addrs[i%len(addrs)]
		s.clients = append(s.clients, &r614DiffClient{conn: mustDial(d.t, a), where: a})
	}
	return s
}

func (d *r614Diff) fail(format string, args ...any) {
	d.t.Helper()
	start := max(0, len(d.history)-15)
	d.t.Fatalf("step %d: %s\nlast steps:\n  %s", d.step, fmt.Sprintf(format, args...), strings.Join(d.history[start:], "\n  "))
}

func (d *r614Diff) note(format string, args ...any) {
	d.history = append(d.history, fmt.Sprintf("%d: ", d.step)+fmt.Sprintf(format, args...))
	if len(d.history) > 200 {
		d.history = d.history[100:]
	}
}

// both sends one command on program connection k of both sides (for
// raftlist, node k mod 3) and requires equal replies; it returns the
// reply's bulk string, if any.
func (d *r614Diff) both(k int, args ...string) []byte {
	d.t.Helper()
	want := d.doRetry(d.ref.progs[0], args)
	got := d.doRetry(d.sut.progs[k%len(d.sut.progs)], args)
	if string(want) != string(got) {
		d.fail("%s: redis %s, raftlist %s", r614Short(args), quoteRaw(want), quoteRaw(got))
	}
	r, _ := parseRaw(want)
	return r.str
}

// doRetry runs one command, retrying -TRYAGAIN (not applied).
func (d *r614Diff) doRetry(conn *rawConn, args []string) []byte {
	d.t.Helper()
	for attempt := 0; ; attempt++ {
		raw, err := conn.doStr(args...)
		if err != nil {
			d.fail("%s on %s: %v", r614Short(args), conn.addr, err)
		}
		if isErrorPrefix(raw, "TRYAGAIN") && attempt < 100 {
			d.counts["TRYAGAIN (retried)"]++
			time.Sleep(50 * time.Millisecond)
			continue
		}
		if isErrorPrefix(raw, "UNCERTAIN") {
			d.fail("%s on %s answered %s: the outcome is unknown, so the comparison cannot go on", r614Short(args), conn.addr, quoteRaw(raw))
		}
		return raw
	}
}

// pipelineRetry sends cmds in one pipeline and retries the tail of it
// that was answered -TRYAGAIN (not applied, and nothing after it was).
func (d *r614Diff) pipelineRetry(conn *rawConn, cmds [][]string) [][]byte {
	d.t.Helper()
	var out [][]byte
	for attempt := 0; len(cmds) > 0; attempt++ {
		raws, err := conn.pipeline(r614Bargs(cmds))
		if err != nil {
			d.fail("pipeline %s on %s: %v", r614Short(cmds[0]), conn.addr, err)
		}
		i := slices.IndexFunc(raws, func(raw []byte) bool { return isErrorPrefix(raw, "TRYAGAIN") })
		if i < 0 || attempt >= 100 {
			out = append(out, raws...)
			break
		}
		for _, raw := range raws[i:] {
			if !isErrorPrefix(raw, "TRYAGAIN") {
				d.fail("a pipeline on %s was answered -TRYAGAIN at command %d but not after: %s", conn.addr, i+1, quoteRaw(raw))
			}
		}
		d.counts["TRYAGAIN (retried)"]++
		out = append(out, raws[:i]...)
		cmds = cmds[i:]
		time.Sleep(50 * time.Millisecond)
	}
	for _, raw := range out {
		if isErrorPrefix(raw, "UNCERTAIN") {
			d.fail("a pipeline on %s answered %s: the outcome is unknown, so the comparison cannot go on", conn.addr, quoteRaw(raw))
		}
	}
	return out
}

// idleClient picks a client that is not blocked.
func (d *r614Diff) idleClient() (int, bool) {
	var idle []int
	for i, c := range d.ref.clients {
		if !c.blocked {
			idle = append(idle, i)
		}
	}
	if len(idle) == 0 {
		return 0, false
	}
	return idle[d.r.IntN(len(idle))], true
}

// block sends a blocking move from client i on both sides and requires
// both to block, or both to answer the same at once.
func (d *r614Diff) block(i int) {
	src, dst := r614Q, "r614:p:c"+strconv.Itoa(i)
	if d.r.IntN(4) == 0 {
		src = r614Q2
	}
	isRelay := i >= r614DiffClients-r614DiffRelays
	if isRelay {
		src, dst = r614Q, r614Q2
	}
	timeout := []string{"0", "3600"}[d.r.IntN(2)]
	args := []string{"BRPOPLPUSH", src, dst, timeout}
	toHead := true
	if isRelay || d.r.IntN(2) == 0 {
		from, to := []string{"LEFT", "RIGHT"}[d.r.IntN(2)], []string{"LEFT", "RIGHT"}[d.r.IntN(2)]
		args = []string{"BLMOVE", src, dst, from, to, timeout}
		toHead = to == "LEFT"
	}
	d.note("client %d: %s", i, r614Short(args))
	d.counts["blocking commands ("+args[0]+")"]++
	var outcome [2]string
	before := d.blockedCount()
	for k, s := range []*r614DiffSide{d.ref, d.sut} {
		cl := s.clients[i]
		cl.src, cl.toHead = src, toHead
		cl.reply = make(chan blkResult, 1)
		if err := cl.conn.writeRaw(resp.AppendCommand(nil, bargs(args...)...)); err != nil {
			d.fail("send %s on %s %s: %v", r614Short(args), s.name, cl.where, err)
		}
		go func(conn *rawConn, ch chan blkResult) {
			raw, err := conn.readReply()
			ch <- blkResult{raw: raw, err: err, at: time.Now()}
		}(cl.conn, cl.reply)
		outcome[k] = d.awaitBlockedOrReply(s, cl, before+1)
	}
	if outcome[0] != outcome[1] {
		d.fail("client %d %s: redis %s, raftlist %s", i, r614Short(args), outcome[0], outcome[1])
	}
	if outcome[0] == "blocked" {
		d.counts["clients that blocked"]++
		return
	}
	d.note("  client %d answered at once %s", i, outcome[0])
	d.served(i, outcome[0])
	// A relay's move that did not block pushed onto r614Q2, where others
	// may wait: it serves them, as a program would.
	d.settle()
}

// blockedCount is how many clients the bookkeeping says are blocked.
func (d *r614Diff) blockedCount() int {
	n := 0
	for _, c := range d.ref.clients {
		if c.blocked {
			n++
		}
	}
	return n
}

// awaitBlockedOrReply waits until the client's command is answered, or the
// side counts want blocked clients (then the client is blocked).
func (d *r614Diff) awaitBlockedOrReply(s *r614DiffSide, cl *r614DiffClient, want int) string {
	d.t.Helper()
	deadline := time.Now().Add(r614DiffBound)
	for {
		select {
		case r := <-cl.reply:
			if r.err != nil {
				d.fail("%s %s: %v", s.name, cl.where, r.err)
			}
			return quoteRaw(r.raw)
		default:
		}
		n, err := s.waiters(s.admin)
		if err != nil {
			d.fail("%s: counting blocked clients: %v", s.name, err)
		}
		if n == want {
			cl.blocked = true
			return "blocked"
		}
		if time.Now().After(deadline) {
			d.fail("%s %s: neither answered nor blocked within %v (%d blocked, exp %d)", s.name, cl.where, r614DiffBound, n, want)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// served updates client i's list from its reply (the same on both sides).
func (d *r614Diff) served(i int, quoted string) {
	e, err := strconv.Unquote(quoted)
	if err != nil {
		d.fail("reply %s", quoted)
	}
	r, perr := parseRaw([]byte(e))
	if perr != nil || r.kind != '$' || r.null {
		d.fail("client %d answered %s, exp an element", i, quoted)
	}
	d.counts["elements served"]++
	cl := d.ref.clients[i]
	if i >= r614DiffClients-r614DiffRelays {
		return // a relay: the element went on to r614Q2
	}
	if cl.toHead {
		d.models[i] = append([]string{string(r.str)}, d.models[i]...)
	} else {
		d.models[i] = append(d.models[i], string(r.str))
	}
}

// program runs a program through both sides and requires equal replies,
// then requires the same clients served with the same replies.
func (d *r614Diff) program(p r614Prog) {
	d.note("program %s", r614Describe(p))
	d.counts["programs "+p.form.String()]++
	cmds := p.commands(d.sha)
	k := d.step % len(d.sut.progs)
	var want, got [][]byte
	if p.form.atomic() {
		want = d.atomic(d.ref.progs[0], cmds)
		got = d.atomic(d.sut.progs[k], cmds)
	} else {
		want = d.pipelineRetry(d.ref.progs[0], cmds)
		got = d.pipelineRetry(d.sut.progs[k], cmds)
	}
	for j := range want {
		if j >= len(got) || string(want[j]) != string(got[j]) {
			g := []byte("(none)")
			if j < len(got) {
				g = got[j]
			}
			d.fail("%s, reply %d of %d (%s):\n  redis    %s\n  raftlist %s", r614Describe(p), j+1, len(want), r614Short(cmds[j]), quoteRaw(want[j]), quoteRaw(g))
		}
	}
	d.settle()
}

// atomic sends a script or a MULTI ... EXEC in one pipeline, retrying
// the whole of it on -TRYAGAIN (EXEC's, for a transaction).
func (d *r614Diff) atomic(conn *rawConn, cmds [][]string) [][]byte {
	d.t.Helper()
	for attempt := 0; ; attempt++ {
		raws, err := conn.pipeline(r614Bargs(cmds))
		if err != nil {
			d.fail("%s on %s: %v", r614Short(cmds[0]), conn.addr, err)
		}
		last := raws[len(raws)-1]
		if isErrorPrefix(last, "TRYAGAIN") && attempt < 100 {
			d.counts["TRYAGAIN (retried)"]++
			time.Sleep(50 * time.Millisecond)
			continue
		}
		if isErrorPrefix(last, "UNCERTAIN") {
			d.fail("%s on %s answered %s: the outcome is unknown, so the comparison cannot go on", r614Short(cmds[0]), conn.addr, quoteRaw(last))
		}
		return raws
	}
}

// settle finds the clients a write just served on each side: the side's
// count of blocked clients says how many (Redis serves them before
// answering the write; raftlist's leader has applied the entry), and
// their replies say which. Both sides must agree on both.
func (d *r614Diff) settle() {
	d.t.Helper()
	before := d.blockedCount()
	var replies [2]map[int]string
	for k, s := range []*r614DiffSide{d.ref, d.sut} {
		after, err := s.waiters(s.admin)
		if err != nil {
			d.fail("%s: counting blocked clients: %v", s.name, err)
		}
		replies[k] = d.collect(s, before-after)
	}
	if fmt.Sprint(replies[0]) != fmt.Sprint(replies[1]) {
		d.fail("served clients differ:\n  redis    %v\n  raftlist %v", replies[0], replies[1])
	}
	idx := make([]int, 0, len(replies[0]))
	for i := range replies[0] {
		idx = append(idx, i)
	}
	sort.Ints(idx)
	for _, i := range idx {
		d.ref.clients[i].blocked, d.sut.clients[i].blocked = false, false
		d.note("  client %d served %s", i, replies[0][i])
		d.served(i, replies[0][i])
	}
}

// collect waits for n of the side's blocked clients to answer.
func (d *r614Diff) collect(s *r614DiffSide, n int) map[int]string {
	d.t.Helper()
	out := map[int]string{}
	deadline := time.Now().Add(r614DiffBound)
	for len(out) < n {
		for i, cl := range s.clients {
			if _, done := out[i]; done || !cl.blocked {
				continue
			}
			select {
			case r := <-cl.reply:
				if r.err != nil {
					d.fail("%s client %d on %s: %v", s.name, i, cl.where, r.err)
				}
				out[i] = quoteRaw(r.raw)
			default:
			}
		}
		if len(out) < n && time.Now().After(deadline) {
			d.fail("%s: %d of its blocked clients should have been served, %d answered within %v: %v", s.name, n, len(out), r614DiffBound, out)
		}
		if len(out) < n {
			time.Sleep(2 * time.Millisecond)
		}
	}
	return out
}

// tend runs a worker's plain LREM or LTRIM of its own list on its own
// connection, on both sides.
func (d *r614Diff) tend(i int) {
	dst := "r614:p:c" + strconv.Itoa(i)
	m := d.models[i]
	var args []string
	if d.r.IntN(2) == 0 {
		j := d.r.IntN(len(m))
		args = []string{"LREM", dst, strconv.Itoa([]int{1, -1, 0}[d.r.IntN(3)]), m[j]}
		d.models[i] = slices.Delete(slices.Clone(m), j, j+1)
	} else {
		k := 1 + d.r.IntN(len(m))
		if d.r.IntN(2) == 0 {
			args = []string{"LTRIM", dst, "0", strconv.Itoa(-k - 1)}
			d.models[i] = slices.Clone(m[:len(m)-k])
		} else {
			args = []string{"LTRIM", dst, strconv.Itoa(k), "-1"}
			d.models[i] = slices.Clone(m[k:])
		}
	}
	d.note("client %d: %s", i, r614Short(args))
	d.counts["worker "+args[0]]++
	want := d.doRetry(d.ref.clients[i].conn, args)
	got := d.doRetry(d.sut.clients[i].conn, args)
	if string(want) != string(got) {
		d.fail("client %d %s: redis %s, raftlist %s", i, r614Short(args), quoteRaw(want), quoteRaw(got))
	}
}

// releaseAll pushes sentinels onto the list a blocked client waits on until
// nobody is blocked, comparing every step.
func (d *r614Diff) releaseAll() {
	for n := 1; d.blockedCount() > 0; n++ {
		var src string
		for _, c := range d.ref.clients {
			if c.blocked {
				src = c.src
				break
			}
		}
		d.program(r614Prog{form: r614Plain, shape: "sentinel", ops: []r614Op{
			{name: "rpush", key: src, elems: []string{r614Sentinel + strconv.Itoa(n)}},
		}})
		if n > 10*r614DiffClients {
			d.fail("clients still blocked after %d sentinels", n)
		}
	}
	for _, s := range []*r614DiffSide{d.ref, d.sut} {
		if n, err := s.waiters(s.admin); err != nil || n != 0 {
			d.fail("%s: exp no blocked client at the end, got %d (%v)", s.name, n, err)
		}
	}
}

// compareData requires every key and list equal on both sides.
func (d *r614Diff) compareData() {
	d.t.Helper()
	want := r614ReadAll(d.t, d.ref.progs[0].addr, false)
	got := r614ReadAll(d.t, d.sut.progs[d.step%len(d.sut.progs)].addr, false)
	if diff := r614DiffLists(want, got); diff != "" {
		d.fail("datasets differ (redis vs raftlist): %s", diff)
	}
	for i, m := range d.models {
		key := "r614:p:c" + strconv.Itoa(i)
		if l, ok := want[key]; (ok || len(m) > 0) && !slices.Equal(l, m) {
			d.fail("%s is %q, but its worker's replies put %q there", key, l, m)
		}
	}
	d.counts["dataset comparisons"]++
}

func (d *r614Diff) summary() string {
	var names []string
	for k := range d.counts {
		names = append(names, k)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, k := range names {
		fmt.Fprintf(&b, "\n  %-32s %d", k, d.counts[k])
	}
	return b.String()
}

// r614InfoInt reads an integer INFO field on conn.
func r614InfoInt(conn *rawConn, section, field string) (int, error) {
	raw, err := conn.doStr("INFO", section)
	if err != nil {
		return 0, err
	}
	r, err := parseRaw(raw)
	if err != nil || r.kind != '$' {
		return 0, fmt.Errorf("INFO %s: %s", section, quoteRaw(raw))
	}
	for _, line := range strings.Split(string(r.str), "\r\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			return strconv.Atoi(v)
		}
	}
	return 0, fmt.Errorf("INFO %s has no %s", section, field)
}

// r614Short renders a command without a script's source.
func r614Short(args []string) string {
	out := slices.Clone(args)
	if len(out) > 1 && strings.EqualFold(out[0], "eval") && len(out[1]) > 60 {
		out[1] = "<script>"
	}
	if len(out) > 2 && strings.EqualFold(out[0], "script") && len(out[2]) > 60 {
		out[2] = "<script>"
	}
	return quoteCommand(bargs(out...))
}
