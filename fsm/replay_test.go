package fsm

// The replay checker: determinism (DESIGN.md invariants 1 and 5) as a test.
//
// One generated log (replay_gen_test.go, replay_lua_test.go) is fed to
// state machines that live different histories, and after every entry
// their replies (with the waiters it ended and the redis.log lines it
// wrote), their digests and their bookkeeping (term, WATCH versions,
// waiter counter, members) must be equal:
//
//   - A is applied straight through.
//   - B is snapshotted at random indexes (WriteSnapshot, and of a Clone,
//     both byte-equal to A's) and continues as the State ReadSnapshot
//     builds: a restored node, whose Lua machines are cold.
//   - C's Lua machines are warm: before the run and between entries a
//     scratch State sharing C's pool runs the hostile corpus.
//   - D's Lua machines are cold: a new pool before every entry.
//   - E is the log applied again in goroutines under GOMAXPROCS 1 and 2,
//     machines running concurrently; their per-entry streams must equal A's.
//
// Now and then every machine also answers the same read (State.Read, the
// read path: EVAL_RO observers and read commands), which must change nothing.
//
// The default run is sized for CI (go test -race -p 1 on two cores). A long
// run names its budgets; it goes on with seed after seed until both are met,
// and prints what it checked (-v):
//
//	go test ./fsm -run 'TestReplay$' -v -timeout 0 \
//	    -replay.scripts 1000000 -replay.restores 100000 -replay.seed 1000
//
// (-replay.heavy 0.002 adds runaway scripts that budgets stop.)
// A failure names its seed and entry and prints the one command that
// replays exactly that log (docs/testing/replay.md).

import (
	"bytes"
	"crypto/sha1"
	"encoding/binary"
	"encoding/hex"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	lua "github.com/yuin/gopher-lua"
)

var (
	replaySeed     = flag.Uint64("replay.seed", 1, "replay checker: the first seed")
	replaySeeds    = flag.Int("replay.seeds", 0, "replay checker: how many seeds at least (0: the default run's)")
	replayEntries  = flag.Int("replay.entries", 0, "replay checker: entries per log (0: the default)")
	replayScripts  = flag.Int("replay.scripts", 0, "replay checker: go on with more seeds until this many script commands were checked")
	replayRestores = flag.Int("replay.restores", 0, "replay checker: go on with more seeds until this many restore points were checked")
	replayHeavy    = flag.Float64("replay.heavy", 0, "replay checker: chance that an EVAL is a runaway script a budget stops (about a second each)")
	replayShrink   = flag.Bool("replay.shrink", true, "replay checker: shrink a failing log to a small one that still fails")
)

// The default run, sized to stay well under 45 s with -race on two cores.
const (
	replayDefaultSeeds   = 12
	replayDefaultEntries = 300
)

// replayConfig is how a run treats its machines. The chances are fixed:
// a seed replays the same way only with the same ones.
type replayConfig struct {
	restoreChance float64 // B: a restore point after an entry
	warmChance    float64 // C: warm-ups before an entry that runs scripts
	readChance    float64 // every machine answers a read after an entry
	concurrent    bool    // E: replay under GOMAXPROCS 1 and 2
	// warmFirst is what C runs before the log; nil: the whole corpus.
	warmFirst []replayProbe
	// Hooks for the checker's own tests: they break one machine.
	afterRestore func(st *State)
	afterWarm    func(p *scrVMPool)
}

var replayDefaultConfig = replayConfig{restoreChance: 0.08, warmChance: 0.5, readChance: 0.05, concurrent: true}

// replayStats is what a run checked.
type replayStats struct {
	seeds, entries, scripts, restores, warmups, reads, concurrent int
}

func (s *replayStats) add(o replayStats) {
	s.seeds += o.seeds
	s.entries += o.entries
	s.scripts += o.scripts
	s.restores += o.restores
	s.warmups += o.warmups
	s.reads += o.reads
	s.concurrent += o.concurrent
}

func (s replayStats) String() string {
	return fmt.Sprintf("%d seeds, %d entries (each on every machine, compared after every entry), %d script commands in the logs, "+
		"%d restore points, %d warm-up scripts on C, %d reads, %d concurrent replays",
		s.seeds, s.entries, s.scripts, s.restores, s.warmups, s.reads, s.concurrent)
}

func TestReplay(t *testing.T) {
	entries := *replayEntries
	if entries == 0 {
		entries = replayDefaultEntries
	}
	seeds := *replaySeeds
	if seeds == 0 && *replayScripts == 0 && *replayRestores == 0 {
		seeds = replayDefaultSeeds
	}
	defer replayWatch()()
	var total replayStats
	for seed := *replaySeed; total.seeds < seeds || total.scripts < *replayScripts || total.restores < *replayRestores; seed++ {
		log := replayGenerate(seed, entries)
		stats, bad := replayCheck(replayDefaultConfig, log)
		total.add(stats)
		if bad != nil {
			report := bad.String()
			if *replayShrink {
				report += replayShrinkReport(replayDefaultConfig, log, bad)
			}
			t.Fatalf("%s\nchecked before the failure: %s", report, total)
		}
		if testing.Verbose() && total.seeds%100 == 0 {
			t.Logf("after seed %d: %s", seed, total)
		}
	}
	t.Logf("replay checked %s", total)
}

// replayAt names the entry the checker is applying, for replayWatch.
var replayAt atomic.Pointer[string]

// replayWatch prints which entry the checker is on when one entry takes
// longer than a minute: a script no budget stops would otherwise hang the
// test until go test's timeout with no seed to replay. It asserts nothing;
// the returned function stops it.
func replayWatch() (stop func()) {
	done := make(chan struct{})
	go func() {
		tick := time.NewTicker(time.Minute)
		defer tick.Stop()
		var last *string
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				if at := replayAt.Load(); at != nil && at == last {
					fmt.Fprintf(os.Stderr, "replay: still applying %s, for over a minute\n", *at)
				} else {
					last = at
				}
			}
		}
	}()
	return func() { close(done) }
}

// replayMachine is one state machine with its history.
type replayMachine struct {
	name string
	desc string
	st   *State
	// history says what happened to it lately (restores, warm-ups).
	history []string
}

func (m *replayMachine) note(s string) {
	m.history = append(m.history, s)
	if len(m.history) > 6 {
		m.history = m.history[len(m.history)-6:]
	}
}

// replayObs is what a machine showed after one entry or read.
type replayObs struct {
	reply  string // replies, ended waiters, redis.log lines, in wire form
	digest string // Digest()
	books  string // what the digest leaves out: term, versions, ...
}

func (o replayObs) String() string {
	return fmt.Sprintf("digest %s, bookkeeping %s, reply %s", o.digest, o.books, replayClip(strconv.Quote(o.reply), 1500))
}

// replayObserve records a machine's answer to an entry and its state after.
func replayObserve(st *State, res *Result) replayObs {
	var b []byte
	if res != nil {
		b = fmt.Appendf(b, "index %d: ", res.Index)
		for _, r := range res.Replies {
			b = AppendRESP(b, r)
		}
		for _, s := range res.Served {
			b = fmt.Appendf(b, " served %s/%d: ", s.Owner, s.Seq)
			b = AppendRESP(b, s.Reply)
		}
	}
	lines, dropped := st.TakeScriptLogs()
	for _, l := range lines {
		b = fmt.Appendf(b, " log %d %q", l.Level, l.Line)
	}
	if dropped > 0 {
		b = fmt.Appendf(b, " log dropped %d", dropped)
	}
	return replayObs{reply: string(b), digest: st.Digest(), books: replayBooks(st)}
}

// replayBooks digests the replicated bookkeeping Digest leaves out: the
// term, the applied index, the members, WATCH versions and their floor,
// the waiter counter.
func replayBooks(st *State) string {
	h := sha1.New()
	var b []byte
	b = binary.AppendUvarint(b, st.term)
	b = binary.AppendUvarint(b, st.applied)
	b = binary.AppendUvarint(b, st.ver.floor)
	b = binary.AppendUvarint(b, st.blk.nextOrder)
	b = binary.AppendUvarint(b, uint64(len(st.blk.waiters)))
	for _, n := range st.Nodes() {
		b = appendBytes(appendBytes(b, []byte(n.ID)), []byte(n.RespAddr))
	}
	for _, v := range st.sortedVersions() {
		b = binary.AppendUvarint(b, uint64(v.key.db))
		b = appendBytes(b, []byte(v.key.key))
		b = binary.AppendUvarint(b, v.version)
	}
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// replayMismatch is the checker's finding: machines that disagree.
type replayMismatch struct {
	seed    uint64
	entries int    // the length asked for, which replays the seed's log
	shrunk  bool   // the log is a shrunk one, not the seed's
	at      int    // position in the log (0-based) of the entry
	what    string // what was compared: the entry, a read after it, ...
	log     []replayEntry
	read    []string // the read's command, for a read
	names   []string // machine name and history
	obs     []replayObs
}

func (m *replayMismatch) String() string {
	var b strings.Builder
	e := m.log[m.at]
	fmt.Fprintf(&b, "replay: %s, seed %d, entry %d of %d (log index %d, term %d, %s)\n",
		m.what, m.seed, m.at+1, len(m.log), m.at+1, e.term, e.note)
	fmt.Fprintf(&b, "entry: %s\n", replayDescribe(e.e))
	if m.read != nil {
		fmt.Fprintf(&b, "read after it: %s\n", replayQuoteArgs(replayArgv(m.read)))
	}
	for i, name := range m.names {
		o := m.obs[i]
		if o.digest == "" {
			continue // not applied yet
		}
		fmt.Fprintf(&b, "  machine %s\n      digest %s, bookkeeping %s\n", name, o.digest, o.books)
		if i == 0 || o.reply == m.obs[0].reply {
			fmt.Fprintf(&b, "      reply %s\n", replayClip(strconv.Quote(o.reply), 800))
			continue
		}
		at := replayFirstDiff(m.obs[0].reply, o.reply)
		from := max(0, at-120)
		fmt.Fprintf(&b, "      reply differs from A's at byte %d: A has %s, %s has %s\n", at,
			strconv.Quote(m.obs[0].reply[from:min(len(m.obs[0].reply), at+200)]), name[:1], strconv.Quote(o.reply[from:min(len(o.reply), at+200)]))
	}
	b.WriteString("earlier scripts and probes in the log, newest first:\n")
	shown := 0
	for i := m.at - 1; i >= 0 && shown < 6; i-- {
		if d := replayDescribe(m.log[i].e); strings.Contains(strings.ToLower(d), "eval") || strings.Contains(d, "SCRIPT") {
			fmt.Fprintf(&b, "  entry %d (%s): %s\n", i+1, m.log[i].note, replayClip(d, 600))
			shown++
		}
	}
	if m.shrunk {
		b.WriteString("(a shrunk log; the seed's whole log replays with the command above)\n")
		return b.String()
	}
	heavy := ""
	if *replayHeavy > 0 {
		heavy = fmt.Sprintf(" -replay.heavy %g", *replayHeavy)
	}
	fmt.Fprintf(&b, "replay exactly this log: go test ./fsm -count=1 -run 'TestReplay$' -replay.seed %d -replay.seeds 1 -replay.entries %d%s\n", m.seed, m.entries, heavy)
	return b.String()
}

// replayDescribe decodes an entry for people.
func replayDescribe(e *Entry) string {
	switch e.Kind {
	case KindCommands:
		parts := make([]string, len(e.Cmds))
		for i, c := range e.Cmds {
			parts[i] = fmt.Sprintf("[db %d, owner %s seq %d] %s", c.DB, c.Owner, c.Seq, replayQuoteArgs(c.Args))
		}
		return fmt.Sprintf("commands (time %d): %s", e.TimeMs, strings.Join(parts, "; "))
	case KindExec:
		var b strings.Builder
		fmt.Fprintf(&b, "exec [db %d, owner %s seq %d] watches", e.Tx.DB, e.Tx.Owner, e.Tx.Seq)
		for _, w := range e.Tx.Watches {
			fmt.Fprintf(&b, " (db %d %q since %d)", w.DB, w.Key, w.Since)
		}
		for _, c := range e.Tx.Cmds {
			b.WriteString("; " + replayQuoteArgs(c))
		}
		return b.String()
	case KindTermStart, KindNodeMeta:
		return fmt.Sprintf("kind %d node %+v", e.Kind, e.Node)
	case KindUnblock:
		return fmt.Sprintf("unblock %s/%d reason %d", e.Unblock.Owner, e.Unblock.Seq, e.Unblock.Reason)
	case KindPurgeOwner:
		return fmt.Sprintf("purge owner %+v", e.Purge)
	case KindAck:
		return fmt.Sprintf("ack %s seqs %v", e.Ack.Owner, e.Ack.Seqs)
	}
	return fmt.Sprintf("kind %d", e.Kind)
}

// replayFirstDiff is the offset of the first byte where a and b differ.
func replayFirstDiff(a, b string) int {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	return i
}

func replayQuoteArgs(args [][]byte) string {
	parts := make([]string, len(args))
	for i, a := range args {
		parts[i] = replayClip(strconv.Quote(string(a)), 900)
	}
	return strings.Join(parts, " ")
}

func replayClip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + fmt.Sprintf("…(%d bytes)", len(s))
}

// replayScriptEntry reports whether an entry runs scripts.
func replayScriptEntry(e *Entry) bool {
	var cmds [][][]byte
	for _, c := range e.Cmds {
		cmds = append(cmds, c.Args)
	}
	cmds = append(cmds, e.Tx.Cmds...)
	for _, args := range cmds {
		if strings.HasPrefix(strings.ToLower(string(args[0])), "eval") {
			return true
		}
	}
	return false
}

// replayCheck runs one log through machines A to E and returns what it
// checked and the first disagreement, if any. Its own choices (restore
// points, warm-ups, reads) come from the log's seed.
func replayCheck(cfg replayConfig, log *replayLog) (replayStats, *replayMismatch) {
	stats := replayStats{seeds: 1, scripts: log.scripts}
	r := rand.New(rand.NewPCG(log.seed, 0x636865636b)) // "check"
	a := &replayMachine{name: "A", desc: "straight through", st: NewState()}
	b := &replayMachine{name: "B", desc: "restored from snapshots", st: NewState()}
	c := &replayMachine{name: "C", desc: "Lua machines warmed by the hostile corpus", st: NewState()}
	d := &replayMachine{name: "D", desc: "cold Lua machines for every entry", st: NewState()}
	machines := []*replayMachine{a, b, c, d}
	scratch := NewState()
	scratch.vms = c.st.vms
	// The seal (script_seal.go) retires a Lua machine that a run changed,
	// so a hole in the sandbox shows in no later reply; scrTaintedVMs
	// counts them, and any rise names the probe or entry that made it.
	var sealed string
	warm := func(probes []replayProbe) {
		for _, p := range probes {
			stats.warmups++
			tainted := scrTaintedVMs.Load()
			scratch.Apply(scratch.applied+1, 1, &Entry{Kind: KindCommands,
				Cmds: []Cmd{{Owner: "warm/1", Seq: uint64(stats.warmups), Args: replayArgv(p.eval("warm-" + strconv.Itoa(stats.warmups)))}}})
			scratch.TakeScriptLogs()
			if scrTaintedVMs.Load() > tainted && sealed == "" {
				sealed = fmt.Sprintf("the seal retired C's Lua machine, which warm-up probe %q changed (script_seal.go): %q", p.name, p.body)
			}
		}
		if cfg.afterWarm != nil {
			cfg.afterWarm(c.st.vms)
		}
	}
	first := cfg.warmFirst
	if first == nil {
		first = replayHostile
	}
	warm(first)
	c.note(fmt.Sprintf("warmed with %d probes before the log", len(first)))
	mismatch := func(at int, what string, read []string, obs []replayObs) *replayMismatch {
		m := &replayMismatch{seed: log.seed, entries: log.n, at: at, what: what, log: log.entries, read: read, obs: obs}
		for _, mc := range machines {
			h := ""
			if len(mc.history) > 0 {
				h = "; lately: " + strings.Join(mc.history, ", ")
			}
			m.names = append(m.names, mc.name+" ("+mc.desc+h+")")
		}
		return m
	}
	var stream []string // A's observations, for E
	obs := make([]replayObs, len(machines))
	for i, le := range log.entries {
		index := uint64(i + 1)
		d.st.vms = &scrVMPool{}
		if replayScriptEntry(le.e) && r.Float64() < cfg.warmChance {
			p := []replayProbe{replayHostile[r.IntN(len(replayHostile))], replayHostile[r.IntN(len(replayHostile))]}
			warm(p)
			c.note(fmt.Sprintf("before entry %d warmed with %q and %q", index, p[0].name, p[1].name))
		}
		at := fmt.Sprintf("seed %d entry %d (%s); replay: go test ./fsm -count=1 -run 'TestReplay$' -replay.seed %d -replay.seeds 1 -replay.entries %d",
			log.seed, index, le.note, log.seed, log.n)
		replayAt.Store(&at)
		clear(obs)
		if sealed != "" {
			return stats, mismatch(i, sealed+" (before this entry)", nil, obs)
		}
		for j, m := range machines {
			e, err := DecodeEntry(le.data)
			if err != nil {
				panic(fmt.Sprintf("replay: generated entry %d does not decode: %v", index, err))
			}
			tainted := scrTaintedVMs.Load()
			obs[j] = replayObserve(m.st, m.st.Apply(index, le.term, e))
			if scrTaintedVMs.Load() > tainted {
				return stats, mismatch(i, "the seal retired machine "+m.name+"'s Lua machine, which this entry changed (script_seal.go)", nil, obs)
			}
		}
		stats.entries++
		stream = append(stream, obs[0].reply+" "+obs[0].digest+" "+obs[0].books)
		if replayDiffer(obs) {
			return stats, mismatch(i, "machines disagree on the entry's replies or the state after it", nil, obs)
		}
		if r.Float64() < cfg.readChance {
			before := obs[0].digest
			read := replayRead(r)
			for j, m := range machines {
				o := replayObserve(m.st, &Result{Replies: []Reply{m.st.Read(read.db, replayArgv(read.args))}})
				o.reply = fmt.Sprintf("db %d: %s", read.db, o.reply)
				obs[j] = o
			}
			stats.reads++
			if replayDiffer(obs) || obs[0].digest != before {
				return stats, mismatch(i, "machines disagree on a read after the entry", read.args, obs)
			}
		}
		if r.Float64() < cfg.restoreChance {
			if bad := replayRestore(cfg, a, b, index); bad != "" {
				obs[1].reply = bad
				return stats, mismatch(i, "machines disagree on snapshots taken after the entry", nil, obs)
			}
			stats.restores++
		}
	}
	if cfg.concurrent {
		n, bad := replayConcurrently(log, stream)
		stats.concurrent += n
		if bad != nil {
			return stats, bad
		}
		n, bad = replayConcurrentReads(log, a.st, r)
		stats.reads += n
		if bad != nil {
			return stats, bad
		}
	}
	return stats, nil
}

// replayConcurrentReads has readers in goroutines share one State, as the
// read path does under the machine's read lock (EVAL_RO runs there, taking
// Lua machines from the one pool): every read must answer as it does alone
// and change nothing. Under -race this also finds a write on the read path.
func replayConcurrentReads(log *replayLog, st *State, r *rand.Rand) (int, *replayMismatch) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	reads := make([]replayReadCmd, 8)
	exp := make([]string, len(reads))
	for i := range reads {
		reads[i] = replayRead(r)
		exp[i] = string(AppendRESP(nil, st.Read(reads[i].db, replayArgv(reads[i].args))))
	}
	digest := st.Digest()
	got := make([][]string, 3)
	var wg sync.WaitGroup
	for g := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[g] = make([]string, len(reads))
			for k := range reads {
				i := (k + g) % len(reads) // each reader in its own order
				got[g][i] = string(AppendRESP(nil, st.Read(reads[i].db, replayArgv(reads[i].args))))
			}
		}()
	}
	wg.Wait()
	n := len(reads) * (len(got) + 1)
	for g := range got {
		for i := range reads {
			if got[g][i] != exp[i] || st.Digest() != digest {
				last := len(log.entries) - 1
				return n, &replayMismatch{seed: log.seed, entries: log.n, at: last, log: log.entries,
					what: fmt.Sprintf("machines disagree on a read by concurrent readers of one state after the last entry (reader %d)", g), read: reads[i].args,
					names: []string{"A (alone)", fmt.Sprintf("A (reader %d of %d, concurrently)", g, len(got))},
					obs:   []replayObs{{reply: exp[i], digest: digest}, {reply: got[g][i], digest: st.Digest()}}}
			}
		}
	}
	return n, nil
}

func replayDiffer(obs []replayObs) bool {
	for _, o := range obs[1:] {
		if o != obs[0] {
			return true
		}
	}
	return false
}

// replayRestore snapshots B (itself and a Clone, as raft's Snapshot does)
// and A, requires the bytes to be equal, and makes B the restored state.
// It returns what differed, or "".
func replayRestore(cfg replayConfig, a, b *replayMachine, index uint64) string {
	var sa, sb, sc bytes.Buffer
	for _, w := range []struct {
		buf *bytes.Buffer
		st  *State
	}{{&sa, a.st}, {&sb, b.st}, {&sc, b.st.Clone()}} {
		if err := WriteSnapshot(w.buf, w.st); err != nil {
			return "WriteSnapshot: " + err.Error()
		}
	}
	if !bytes.Equal(sa.Bytes(), sb.Bytes()) {
		return fmt.Sprintf("snapshots differ: exp A's %q, got B's %q", replayClip(sa.String(), 3000), replayClip(sb.String(), 3000))
	}
	if !bytes.Equal(sb.Bytes(), sc.Bytes()) {
		return fmt.Sprintf("a Clone's snapshot differs: exp %q, got %q", replayClip(sb.String(), 3000), replayClip(sc.String(), 3000))
	}
	st, err := ReadSnapshot(&sb)
	if err != nil {
		return "ReadSnapshot: " + err.Error()
	}
	var again bytes.Buffer
	if err := WriteSnapshot(&again, st); err != nil || !bytes.Equal(again.Bytes(), sa.Bytes()) {
		return fmt.Sprintf("a restored state snapshots differently: exp %q, got %q (%v)", replayClip(sa.String(), 3000), replayClip(again.String(), 3000), err)
	}
	if cfg.afterRestore != nil {
		cfg.afterRestore(st)
	}
	b.st = st
	b.note(fmt.Sprintf("restored after entry %d", index))
	return ""
}

// replayReadCmd is a read every machine answers.
type replayReadCmd struct {
	db   int
	args []string
}

// replayRead is a random read: an EVAL_RO observer, or a read command.
func replayRead(r *rand.Rand) replayReadCmd {
	key := replayKeys[r.IntN(len(replayKeys))]
	db := replayDBs[r.IntN(len(replayDBs))]
	reads := [][]string{
		replayObserverEval("eval_ro", key),
		{"lrange", key, "0", "-1"},
		{"get", key},
		{"keys", "*"},
		{"scan", "0", "COUNT", "2"},
		{"eval_ro", "return {redis.call('lrange', KEYS[1], 0, -1), math.random(100), tostring({})}", "1", key},
		{"evalsha_ro", ScriptSHA([]byte(replayObserverBody)), "1", key},
	}
	return replayReadCmd{db: db, args: reads[r.IntN(len(reads))]}
}

// replayConcurrently is machine E: the log applied again by machines in
// goroutines, two at a time, under GOMAXPROCS 1 and then 2; each stream of
// replies and digests must equal A's.
func replayConcurrently(log *replayLog, exp []string) (int, *replayMismatch) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	runs := 0
	for _, procs := range []int{1, 2} {
		runtime.GOMAXPROCS(procs)
		got := make([][]string, 2)
		var wg sync.WaitGroup
		for g := range got {
			wg.Add(1)
			go func() {
				defer wg.Done()
				st := NewState()
				for i, le := range log.entries {
					e, err := DecodeEntry(le.data)
					if err != nil {
						panic(err)
					}
					o := replayObserve(st, st.Apply(uint64(i+1), le.term, e))
					got[g] = append(got[g], o.reply+" "+o.digest+" "+o.books)
				}
			}()
		}
		wg.Wait()
		runs += len(got)
		for g, stream := range got {
			for i := range stream {
				if stream[i] != exp[i] {
					return runs, &replayMismatch{seed: log.seed, entries: log.n, at: i, log: log.entries,
						what:  fmt.Sprintf("machines disagree on the entry, replayed concurrently (GOMAXPROCS %d, goroutine %d)", procs, g),
						names: []string{"A (straight through)", fmt.Sprintf("E (GOMAXPROCS %d, goroutine %d)", procs, g)},
						obs:   []replayObs{replayStreamObs(exp[i]), replayStreamObs(stream[i])}}
				}
			}
		}
	}
	return runs, nil
}

// replayStreamObs splits a stream record back into its parts.
func replayStreamObs(s string) replayObs {
	i := strings.LastIndexByte(s, ' ')
	j := strings.LastIndexByte(s[:i], ' ')
	return replayObs{reply: s[:j], digest: s[j+1 : i], books: s[i+1:]}
}

// replayShrinkReport looks for a short log that still makes machines
// disagree: the log up to the failing entry, then without every chunk of
// entries it can do without (delta debugging, a few hundred runs at most).
// When C's warm-ups matter, it names the probes that alone are enough.
func replayShrinkReport(cfg replayConfig, log *replayLog, bad *replayMismatch) string {
	cfg.concurrent = cfg.concurrent && strings.Contains(bad.what, "concurrently")
	check := func(cfg replayConfig, entries []replayEntry) *replayMismatch {
		_, m := replayCheck(cfg, &replayLog{seed: log.seed, n: log.n, entries: entries})
		if m != nil {
			m.shrunk = true
		}
		return m
	}
	cur := append([]replayEntry(nil), log.entries[:bad.at+1]...)
	if check(cfg, cur) == nil {
		return "\n(shrinking: the failing prefix alone does not fail)\n"
	}
	runs := 0
	for chunk := len(cur) / 2; chunk >= 1 && runs < 400; {
		removed := false
		for start := 0; start < len(cur) && runs < 400; {
			end := min(start+chunk, len(cur))
			try := append(append([]replayEntry(nil), cur[:start]...), cur[end:]...)
			runs++
			if len(try) > 0 && check(cfg, try) != nil {
				cur, removed = try, true
				continue
			}
			start = end
		}
		if !removed {
			chunk /= 2
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\nshrunk (%d runs) to %d entries that still fail, with the same seed's checker choices:\n", runs, len(cur))
	for i, e := range cur {
		fmt.Fprintf(&b, "  %d (term %d, %s): %s\n", i+1, e.term, e.note, replayClip(replayDescribe(e.e), 1200))
	}
	cold := cfg
	cold.warmFirst, cold.warmChance = []replayProbe{}, 0
	if m := check(cold, cur); m != nil {
		fmt.Fprintf(&b, "they fail without any warm-up of C:\n%s", m)
		return b.String()
	}
	b.WriteString("they fail only after C's warm-ups; each of these probes alone, run once on C before them, is enough:\n")
	found := 0
	var last *replayMismatch
	for _, p := range replayHostile {
		one := cold
		one.warmFirst = []replayProbe{p}
		if m := check(one, cur); m != nil {
			fmt.Fprintf(&b, "  probe %q: %q\n", p.name, p.body)
			found++
			last = m
		}
	}
	if last != nil {
		fmt.Fprintf(&b, "where, after the last of them:\n%s", last)
	} else {
		b.WriteString("  (none alone; it takes several)\n")
	}
	return b.String()
}

func TestReplayGeneratesEveryCommand(t *testing.T) {
	for _, c := range Commands() {
		if replayCommandGens[c.Name] == nil {
			t.Errorf("command %q: exp a generator in replayCommandGens (replay_gen_test.go), got none", c.Name)
		}
	}
	for _, name := range replaySortedKeys(replayCommandGens) {
		if Lookup([]byte(name)) == nil {
			t.Errorf("generator %q: exp a command of that name in the command table, got none", name)
		}
	}
	seen := map[string]bool{}
	log := replayGenerate(1, 3000)
	for _, le := range log.entries {
		for _, c := range le.e.Cmds {
			seen[strings.ToLower(string(c.Args[0]))] = true
		}
		for _, args := range le.e.Tx.Cmds {
			seen[strings.ToLower(string(args[0]))] = true
		}
	}
	for _, c := range Commands() {
		if !seen[c.Name] {
			t.Errorf("command %q: exp it in a log of 3000 entries, got none", c.Name)
		}
	}
}

func TestReplayGeneratesEveryEntryKind(t *testing.T) {
	// Every kind DecodeEntry knows, found by asking it: a new kind makes
	// this test fail until the generator writes it.
	seen := map[Kind]bool{}
	for _, le := range replayGenerate(1, 3000).entries {
		seen[le.e.Kind] = true
	}
	for k := 1; k < 256; k++ {
		_, err := DecodeEntry([]byte{FormatVersion, byte(k), 0})
		if err != nil && strings.Contains(err.Error(), "unknown kind") {
			continue
		}
		if !seen[Kind(k)] {
			t.Errorf("entry kind %d: exp it in a log of 3000 entries (replay_gen_test.go), got none", k)
		}
	}
}

func TestReplayLogsReachEveryPath(t *testing.T) {
	// A generator whose scripts all fail to compile, or whose WATCHes always
	// hold, would check little: one log must reach every way an entry ends.
	st := NewState()
	seen := map[string]int{}
	log := replayGenerate(1, 3000)
	for i, le := range log.entries {
		res := st.Apply(uint64(i+1), le.term, le.e)
		for j, r := range res.Replies {
			wire := string(AppendRESP(nil, r))
			switch {
			case le.e.Kind == KindExec && r == NullArray:
				seen["an EXEC aborted by a WATCH"]++
			case le.e.Kind == KindExec:
				seen["an EXEC that ran"]++
			case r == Blocked:
				seen["a client blocked"]++
			case le.e.Kind != KindCommands:
			case strings.HasPrefix(strings.ToLower(string(le.e.Cmds[j].Args[0])), "evalsha") && r != ErrNoScript:
				seen["an EVALSHA of a cached script"]++
			case strings.HasPrefix(strings.ToLower(string(le.e.Cmds[j].Args[0])), "eval") && strings.HasPrefix(wire, "-"):
				seen["a script that failed"]++
			case strings.HasPrefix(strings.ToLower(string(le.e.Cmds[j].Args[0])), "eval"):
				seen["a script that ran to its end"]++
			case strings.HasPrefix(wire, "-ERR wrong number of arguments"):
				seen["a wrong arity"]++
			}
		}
		for _, sv := range res.Served {
			switch wire := string(AppendRESP(nil, sv.Reply)); {
			case sv.Reply == ErrLeaderChanged:
				seen["a waiter purged by a new term"]++
			case sv.Reply == ErrOwnerGone:
				seen["a waiter purged with its owner"]++
			case sv.Reply == NullArray:
				seen["a waiter timed out"]++
			case sv.Reply == ErrUnblocked:
				seen["a waiter unblocked with an error"]++
			case strings.HasPrefix(wire, "*2"), strings.HasPrefix(wire, "$"):
				seen["a waiter served"]++
			}
		}
		st.TakeScriptLogs()
	}
	for _, path := range []string{"an EXEC aborted by a WATCH", "an EXEC that ran", "a client blocked", "an EVALSHA of a cached script",
		"a script that failed", "a script that ran to its end", "a wrong arity", "a waiter purged by a new term",
		"a waiter purged with its owner", "a waiter timed out", "a waiter unblocked with an error", "a waiter served"} {
		if seen[path] == 0 {
			t.Errorf("%s: exp at least one in a log of 3000 entries, got none", path)
		}
	}
	if ran, failed := seen["a script that ran to its end"], seen["a script that failed"]; ran < failed/2 {
		t.Errorf("generated scripts: exp at least a third to run to their end, got %d of %d", ran, ran+failed)
	}
	t.Logf("paths reached: %v", seen)
}

func TestReplayGeneratesTheSameLogFromTheSameSeed(t *testing.T) {
	a, b := replayGenerate(7, 200), replayGenerate(7, 200)
	for i := range a.entries {
		if exp, got := a.entries[i].data, b.entries[i].data; !bytes.Equal(exp, got) {
			t.Fatalf("entry %d: exp %q, got %q", i+1, exp, got)
		}
	}
}

func TestReplayCatchesAStateThatDropsAKeyAfterARestore(t *testing.T) {
	cfg := replayDefaultConfig
	cfg.concurrent = false
	dropped := false
	cfg.afterRestore = func(st *State) {
		for _, d := range st.dbs {
			if keys := d.SortedKeys(); len(keys) > 0 && !dropped {
				delete(d.keys, keys[0])
				dropped = true
			}
		}
	}
	_, bad := replayCheck(cfg, replayWithoutScripts(replayGenerate(3, 200)))
	if !dropped {
		t.Fatal("exp a restore point with a key to drop, got none: pick another seed")
	}
	if bad == nil {
		t.Fatal("exp the checker to catch B's missing key, got no mismatch")
	}
	if exp, got := "B (", bad.names[1]; !strings.HasPrefix(got, exp) {
		t.Fatalf("exp machine %q..., got %q", exp, got)
	}
	if exp, got := bad.obs[0].digest, bad.obs[1].digest; exp == got {
		t.Fatalf("exp B's digest to differ from A's %s, got the same", exp)
	}
	for _, exp := range []string{"seed 3", "-replay.seed 3 -replay.seeds 1 -replay.entries 200", "machine A", "machine B"} {
		if got := bad.String(); !strings.Contains(got, exp) {
			t.Fatalf("exp the report to say %q, got:\n%s", exp, got)
		}
	}
}

func TestReplayCatchesAWarmLuaMachineThatKeepsSomething(t *testing.T) {
	// Numbers have no metatable in the sandbox; here C's machines get one
	// behind the sandbox's back, as a hole in it would. No other script
	// runs, so nothing else can make the machines disagree.
	cfg := replayDefaultConfig
	cfg.concurrent, cfg.warmFirst, cfg.warmChance = false, []replayProbe{}, 0
	cfg.afterWarm = func(p *scrVMPool) {
		vm := p.get()
		idx := vm.L.NewTable()
		idx.RawSetString("foo", lua.LString("planted"))
		mt := vm.L.NewTable()
		mt.RawSetString("__index", idx)
		vm.L.SetMetatable(lua.LNumber(0), mt)
		p.put(vm)
	}
	log := replayWithoutScripts(replayGenerate(5, 100))
	log.entries = append(log.entries[:1:1], replayEntry{term: 1, note: "observer of numbers",
		e: &Entry{Kind: KindCommands, Cmds: []Cmd{{Owner: "n1/1", Seq: 1, Args: replayArgv([]string{"eval", "return tostring((5).foo)", "0"})}}}})
	log.entries[1].data = log.entries[1].e.Encode()
	_, bad := replayCheck(cfg, log)
	if bad == nil {
		t.Fatal("exp the checker to catch C's planted metatable, got no mismatch")
	}
	if exp, got := "C (", bad.names[2]; !strings.HasPrefix(got, exp) || !strings.Contains(bad.obs[2].reply, "planted") {
		t.Fatalf("exp machine %q... to answer the planted value, got %q answering %q (A: %q)", exp, got, bad.obs[2].reply, bad.obs[0].reply)
	}
	if exp, got := bad.obs[0].reply, bad.obs[3].reply; exp != got {
		t.Fatalf("exp cold machine D to answer as A, got %q (A: %q)", got, exp)
	}
}

// replayWithoutScripts returns log without the entries that run scripts,
// for the checker's own tests: their machines may disagree only where the
// test breaks one.
func replayWithoutScripts(log *replayLog) *replayLog {
	out := *log
	out.entries, out.scripts = nil, 0
	for _, e := range log.entries {
		if !replayScriptEntry(e.e) {
			out.entries = append(out.entries, e)
		}
	}
	return &out
}
