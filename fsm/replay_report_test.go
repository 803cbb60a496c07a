package fsm

// How the replay checker (replay_test.go) tells what it found: the
// disagreement, decoded, and a shrunk log that still shows it.

import (
	"fmt"
	"strconv"
	"strings"
)

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
	case KindExpire:
		return fmt.Sprintf("active expiry of up to %d keys at %d", e.Expire.Limit, e.TimeMs)
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
