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

	"github.com/raftlist/raftlist/fsm/lua"
	"github.com/raftlist/raftlist/fsm/resp"
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
	afterWarm    func(p *lua.Pool)
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
			b = resp.AppendRESP(b, r)
		}
		for _, s := range res.Served {
			b = fmt.Appendf(b, " served %s/%d: ", s.Owner, s.Seq)
			b = resp.AppendRESP(b, s.Reply)
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
	// The seal (fsm/lua/seal.go) retires a Lua machine that a run changed,
	// so a hole in the sandbox shows in no later reply; lua.Tainted
	// counts them, and any rise names the probe or entry that made it.
	var sealed string
	warm := func(probes []replayProbe) {
		for _, p := range probes {
			stats.warmups++
			tainted := lua.Tainted()
			scratch.Apply(scratch.applied+1, 1, &Entry{Kind: KindCommands,
				Cmds: []Cmd{{Owner: "warm/1", Seq: uint64(stats.warmups), Args: replayArgv(p.eval("warm-" + strconv.Itoa(stats.warmups)))}}})
			scratch.TakeScriptLogs()
			if lua.Tainted() > tainted && sealed == "" {
				sealed = fmt.Sprintf("the seal retired C's Lua machine, which warm-up probe %q changed (fsm/lua/seal.go): %q", p.name, p.body)
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
		d.st.vms.Reset()
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
			tainted := lua.Tainted()
			obs[j] = replayObserve(m.st, m.st.Apply(index, le.term, e))
			if lua.Tainted() > tainted {
				return stats, mismatch(i, "the seal retired machine "+m.name+"'s Lua machine, which this entry changed (fsm/lua/seal.go)", nil, obs)
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
				o := replayObserve(m.st, &Result{Replies: []resp.Reply{m.st.Read(read.db, replayArgv(read.args))}})
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
		exp[i] = string(resp.AppendRESP(nil, st.Read(reads[i].db, replayArgv(reads[i].args))))
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
				got[g][i] = string(resp.AppendRESP(nil, st.Read(reads[i].db, replayArgv(reads[i].args))))
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
