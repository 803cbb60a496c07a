package fsm

// The replay checker's own tests: its logs reach every command, every
// entry kind and every way an entry ends, and it fails when a machine is
// broken on purpose. A checker that cannot fail is worthless.

import (
	"bytes"
	"strings"
	"testing"

	glua "github.com/yuin/gopher-lua"

	"github.com/raftlist/raftlist/fsm/lua"
	"github.com/raftlist/raftlist/fsm/resp"
)

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
	log := replayGenerate(2, 3000)
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
	for _, le := range replayGenerate(2, 3000).entries {
		seen[le.e.Kind] = true
	}
	for k := 1; k < 256; k++ {
		_, err := DecodeEntry((&Entry{Kind: Kind(k)}).Encode())
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
	log := replayGenerate(4, 3000)
	for i, le := range log.entries {
		due := replayExpiredHeld(st, max(st.clock, le.e.TimeMs))
		res := st.Apply(uint64(i+1), le.term, le.e)
		if res.Expired > 0 {
			seen["a key deleted by active expiry"]++
		}
		if res.MoreDue {
			seen["an expiry entry that left keys due"]++
		}
		if le.e.Kind == KindExpire && len(res.Served) > 0 {
			seen["a waiter timed out by an expiry entry"]++
		}
		if le.e.Kind != KindExpire && replayExpiredHeld(st, st.clock) < due {
			seen["a key a command found expired and deleted"]++
		}
		for j, r := range res.Replies {
			wire := string(resp.AppendRESP(nil, r))
			switch {
			case le.e.Kind == KindExec && r == resp.NullArray:
				seen["an EXEC aborted by a WATCH"]++
			case le.e.Kind == KindExec:
				seen["an EXEC that ran"]++
			case r == resp.Blocked:
				seen["a client blocked"]++
			case le.e.Kind != KindCommands:
			case strings.HasPrefix(strings.ToLower(string(le.e.Cmds[j].Args[0])), "fcall") && !strings.HasPrefix(wire, "-"):
				seen["an FCALL that ran"]++
			case strings.EqualFold(string(le.e.Cmds[j].Args[0]), "function") && strings.HasPrefix(wire, "$"):
				seen["a library loaded"]++
			case strings.HasPrefix(strings.ToLower(string(le.e.Cmds[j].Args[0])), "evalsha") && r != resp.ErrNoScript:
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
			switch wire := string(resp.AppendRESP(nil, sv.Reply)); {
			case sv.Reply == resp.ErrLeaderChanged:
				seen["a waiter purged by a new term"]++
			case sv.Reply == resp.ErrOwnerGone:
				seen["a waiter purged with its owner"]++
			case sv.Reply == resp.NullArray:
				seen["a waiter timed out"]++
			case sv.Reply == resp.ErrUnblocked:
				seen["a waiter unblocked with an error"]++
			case strings.HasPrefix(wire, "*2"), strings.HasPrefix(wire, "$"):
				seen["a waiter served"]++
			}
		}
		st.TakeScriptLogs()
	}
	for _, path := range []string{"an EXEC aborted by a WATCH", "an EXEC that ran", "a client blocked", "an EVALSHA of a cached script",
		"a script that failed", "a script that ran to its end", "a wrong arity", "a waiter purged by a new term",
		"a waiter purged with its owner", "a waiter timed out", "a waiter unblocked with an error", "a waiter served",
		"a key deleted by active expiry", "an expiry entry that left keys due", "a key a command found expired and deleted", "a waiter timed out by an expiry entry",
		"an FCALL that ran", "a library loaded"} {
		if seen[path] == 0 {
			t.Errorf("%s: exp at least one in a log of 3000 entries, got none", path)
		}
	}
	if ran, failed := seen["a script that ran to its end"], seen["a script that failed"]; ran < failed/2 {
		t.Errorf("generated scripts: exp at least a third to run to their end, got %d of %d", ran, ran+failed)
	}
	t.Logf("paths reached: %v", seen)
}

// replayExpiredHeld counts the keys st still holds whose deadline is no
// later than now.
func replayExpiredHeld(st *State, now int64) int {
	n := 0
	for _, d := range st.dbs {
		for k := range d.keys {
			if d.expiredAt(k, now) {
				n++
			}
		}
	}
	return n
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
	_, bad := replayCheck(cfg, replayWithoutScripts(replayGenerate(9, 200)))
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
	for _, exp := range []string{"seed 9", "-replay.seed 9 -replay.seeds 1 -replay.entries 200", "machine A", "machine B"} {
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
	cfg.afterWarm = func(p *lua.Pool) {
		p.Tamper(func(L *glua.LState) {
			idx := L.NewTable()
			idx.RawSetString("foo", glua.LString("planted"))
			mt := L.NewTable()
			mt.RawSetString("__index", idx)
			L.SetMetatable(glua.LNumber(0), mt)
		})
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

func TestReplayCatchesARestoreThatLosesTheLogClock(t *testing.T) {
	// The digest leaves the clock out: the checker must still see the
	// keys that B, its clock set back, keeps past their deadline. A lost
	// clock shows only where the log's clock later goes back (the next
	// entry's time restores it otherwise), so not every log can show it:
	// seeds are tried until one restores with a deadline pending and the
	// checker catches it, and a seed where it does not is named.
	for seed := uint64(1); seed <= 40; seed++ {
		cfg := replayDefaultConfig
		cfg.concurrent = false
		reset := false
		cfg.afterRestore = func(st *State) {
			if !reset && len(st.ttls.h) > 0 {
				st.clock, reset = 0, true
			}
		}
		_, bad := replayCheck(cfg, replayWithoutScripts(replayGenerate(seed, 300)))
		if reset && bad != nil {
			return
		}
		if reset {
			t.Logf("seed %d: B's clock was lost with a deadline pending and no later entry showed it", seed)
		}
	}
	t.Fatal("exp the checker to catch B's lost clock in one of 40 logs, got no mismatch")
}

func TestReplayCatchesARestoreThatForgetsADeadline(t *testing.T) {
	cfg := replayDefaultConfig
	cfg.concurrent = false
	forgot := false
	cfg.afterRestore = func(st *State) {
		for _, d := range st.dbs {
			for _, k := range d.SortedKeys() {
				if _, ok := d.expires[k]; ok && !forgot {
					delete(d.expires, k)
					forgot = true
				}
			}
		}
	}
	_, bad := replayCheck(cfg, replayWithoutScripts(replayGenerate(5, 300)))
	if !forgot {
		t.Fatal("exp a restore point with a deadline to forget, got none: pick another seed")
	}
	if bad == nil || bad.obs[0].digest == bad.obs[1].digest {
		t.Fatal("exp the checker to catch B's forgotten deadline in the digest, got no mismatch")
	}
}
