package tests

import (
	"fmt"
	"slices"
	"strconv"
	"time"
)

// Short times to live in the differential test.
//
// redis-server decides expiry with its own clock, raftlist with the
// leader's timestamp in the log entry: the same command runs a few
// milliseconds apart on the two, so a command that reaches a key at its
// deadline may see it alive on one side and gone on the other, and the
// two datasets would part for good (an INCR that finds the key alive
// keeps its time to live; one that finds it gone makes a key without).
// Both run on this machine's one wall clock, though, so every deadline
// lies in a window the test knows: [the moment it sent the command to
// Redis, the moment raftlist answered] plus the time to live, or exactly
// the deadline a PXAT-style argument names. The differ keeps those
// windows and
//
//   - before each command, waits while the command could run inside a
//     window (now + margin >= window start, now <= window end + slack):
//     every command is then compared while the key is certainly alive
//     on both sides or certainly expired on both; the margin is a few
//     times the slowest recent command, so it grows with the load;
//   - fills an absolute short deadline (PXAT, EXAT, PEXPIREAT, EXPIREAT)
//     when it sends the command, the same number to both servers, and
//     waits while a GT or LT deadline would fall inside a window (the
//     key's current deadline differs by the window's width between the
//     two sides, so the comparison could go either way);
//   - if a command still ran across a window (it took longer than the
//     margin), does not compare it: both sides are flushed and the run
//     goes on (logged, and counted: more than a few fail the test, the
//     margin would be useless);
//   - compares DBSIZE, which counts keys expired but not yet deleted on
//     both servers, again after a while when a deadline passed recently:
//     each server's own active expiry deletes them at a moment of its
//     own (Redis within its 100 ms cycle, raftlist within its bound), and
//     once both have the two counts must agree.
//
// Times to live are 30 ms to 400 ms (and 1 s for the commands that take
// seconds), so keys expire while later commands read, push to, pop from
// and block on them.

// shortTime is a time in an op's arguments that ends during the run.
type shortTime struct {
	arg     int   // index in op.args
	ms      int64 // the time to live, in milliseconds
	abs     bool  // args[arg] is a deadline the differ writes (now + ms) when it sends
	seconds bool  // args[arg] counts seconds (EX, EXAT, EXPIRE, EXPIREAT, SETEX)
	cmp     bool  // GT or LT: the command compares its deadline with the key's
}

// shortMs is a time to live of 30 ms to 400 ms.
func (g *gen) shortMs() int64 { return 30 + int64(g.r.IntN(371)) }

// shortExpiry sets a time to live that ends during the run, on any key
// (lists included): SET PX/PXAT/EX/EXAT, PSETEX, SETEX, PEXPIRE, EXPIRE,
// PEXPIREAT, EXPIREAT (with NX, XX, and GT or LT on absolute times),
// GETEX PX/PXAT, RESTORE with a TTL.
func (g *gen) shortExpiry() op {
	k := g.key()
	ms := g.shortMs()
	rel := []byte(strconv.FormatInt(ms, 10))
	fill := []byte("?") // written by the differ
	var o op
	st := shortTime{ms: ms}
	switch g.r.IntN(11) {
	case 0, 1:
		o = g.cmd("set", k, g.value(), g.name("px"), rel)
		st.arg = 4
		if g.chance(40) {
			o.args = append(o.args, g.name(g.pick([]string{"nx", "xx", "get"})))
		}
	case 2:
		o = g.cmd("set", k, g.value(), g.name("pxat"), fill)
		st.arg, st.abs = 4, true
	case 3, 4:
		o = g.cmd("pexpire", k, rel)
		st.arg = 2
		if g.chance(40) {
			o.args = append(o.args, g.name(g.pick([]string{"nx", "xx"})))
		}
	case 5:
		o = g.cmd("pexpireat", k, fill)
		st.arg, st.abs = 2, true
		if g.chance(50) {
			opt := g.pick([]string{"nx", "xx", "gt", "lt"})
			o.args = append(o.args, g.name(opt))
			st.cmp = opt == "gt" || opt == "lt"
		}
	case 6:
		o = g.cmd("psetex", k, rel, g.value())
		st.arg = 2
	case 7:
		if g.chance(50) {
			o = g.cmd("getex", k, g.name("px"), rel)
		} else {
			o = g.cmd("getex", k, g.name("pxat"), fill)
			st.abs = true
		}
		st.arg = 3
	case 8:
		// Seconds: one second from now, or the next whole second.
		st.ms, st.seconds = 1000, true
		switch g.r.IntN(4) {
		case 0:
			o, st.arg = g.cmd("expire", k, []byte("1")), 2
		case 1:
			o, st.arg = g.cmd("set", k, g.value(), g.name("ex"), []byte("1")), 4
		case 2:
			o, st.arg = g.cmd("setex", k, []byte("1"), g.value()), 2
		default:
			o, st.arg, st.abs, st.ms = g.cmd("expireat", k, fill), 2, true, ms
		}
	case 9:
		o = g.cmd("restore", k, rel, []byte(g.pick(genPayloads)), []byte("REPLACE"))
		st.arg = 2
	default:
		// A list that expires soon, for pushes, pops and blocking pops.
		o = op{pipeline: []op{g.cmd("rpush", append([][]byte{k}, g.values(3)...)...), g.cmd("pexpire", k, rel)}, selectDB: -1}
		st.arg = 2
		o.pipeline[1].short = &st
		return o
	}
	o.short = &st
	return o
}

// window is when a deadline falls, in Unix milliseconds, as far as the
// test can tell: the deadline is the same instant on both servers when a
// command named it, a few milliseconds apart when a command gave a time
// to live.
type window struct{ lo, hi int64 }

const (
	// deadlineSlack covers millisecond rounding on both servers.
	deadlineSlack = 3
	// deadlineMemory is how long a passed deadline still matters to
	// DBSIZE: both servers' active expiry have deleted the key by then.
	deadlineMemory = 5000
	// maxCrossings is how many commands may run across a deadline (at
	// least; or one in crossingsPer of the deadlines set) before the
	// margin is judged useless and the test fails.
	maxCrossings = 10
	crossingsPer = 20
)

// deadlines is the differ's record of short times to live.
type deadlines struct {
	windows   []window
	latencies []time.Duration // the last commands', slowest first out
	crossings int
	made      int           // windows recorded
	settled   time.Duration // time spent waiting
}

func nowMs() int64 { return time.Now().UnixMilli() }

// margin is how far ahead of a window a command must start: three times
// the slowest of the last 64 commands, at least 25 ms.
func (dl *deadlines) margin() int64 {
	m := 25 * time.Millisecond
	if len(dl.latencies) > 0 {
		m = max(m, 3*slices.Max(dl.latencies))
	}
	return m.Milliseconds()
}

func (dl *deadlines) observe(took time.Duration) {
	dl.latencies = append(dl.latencies, took)
	if len(dl.latencies) > 64 {
		dl.latencies = dl.latencies[1:]
	}
}

// expectedMs is how much longer than a small command o may take: a few
// ms per pipelined command and per 100 KB of arguments (the large values
// and long pipelines are the commands that outran a margin set by the
// latencies alone).
func expectedMs(o op) int64 {
	n, size := int64(1), 0
	for _, p := range append([]op{o}, o.pipeline...) {
		n += int64(len(p.args) / 8)
		for _, a := range p.args {
			size += len(a)
		}
	}
	return 5*int64(len(o.pipeline)) + 3*n + int64(size/100_000)*5
}

// blocking returns the end of a window a command sent now could run
// into, or a GT/LT deadline (abs, when not 0) could fall into; 0 if none.
func (dl *deadlines) blocking(o op, now, abs int64) int64 {
	m := dl.margin() + expectedMs(o)
	for _, w := range dl.windows {
		if now+m >= w.lo && now <= w.hi+deadlineSlack {
			return w.hi + deadlineSlack
		}
		if abs != 0 && abs >= w.lo-deadlineSlack && abs <= w.hi+deadlineSlack && now <= w.hi+deadlineSlack {
			return w.hi + deadlineSlack
		}
	}
	return 0
}

// settle waits until a command sent now is outside every window, fills
// o's absolute short deadline, and returns o to send.
func (dl *deadlines) settle(o op) op {
	began := time.Now()
	defer func() { dl.settled += time.Since(began) }()
	for {
		now := nowMs()
		var abs int64
		o = fillShort(o, now)
		for _, st := range shortTimes(o) {
			if st.abs && st.cmp {
				abs = deadlineOf(st, now)
			}
		}
		until := dl.blocking(o, now, abs)
		if until == 0 {
			return o
		}
		time.Sleep(time.Duration(until-now+1) * time.Millisecond)
	}
}

// shortTimes lists o's short times (a pipeline's too).
func shortTimes(o op) []*shortTime {
	var out []*shortTime
	if o.short != nil {
		out = append(out, o.short)
	}
	for _, p := range o.pipeline {
		if p.short != nil {
			out = append(out, p.short)
		}
	}
	return out
}

// deadlineOf is an absolute short time's deadline in Unix ms when it is
// sent at now.
func deadlineOf(st *shortTime, now int64) int64 {
	if st.seconds {
		return (now + st.ms + 999) / 1000 * 1000
	}
	return now + st.ms
}

// fillShort writes o's absolute short deadlines for a send at now (on a
// copy of the arguments: ops are values, their slices shared).
func fillShort(o op, now int64) op {
	fill := func(p op) op {
		if p.short == nil || !p.short.abs {
			return p
		}
		p.args = slices.Clone(p.args)
		d := deadlineOf(p.short, now)
		if p.short.seconds {
			d /= 1000
		}
		p.args[p.short.arg] = []byte(strconv.FormatInt(d, 10))
		return p
	}
	o = fill(o)
	if o.pipeline != nil {
		o.pipeline = slices.Clone(o.pipeline)
		for i := range o.pipeline {
			o.pipeline[i] = fill(o.pipeline[i])
		}
	}
	return o
}

// ran records a command that ran from start to end: its new windows, its
// latency, and whether it ran across an earlier window (then its replies
// say nothing and the caller must resynchronise).
func (dl *deadlines) ran(o op, start, end time.Time) (crossed bool) {
	s, e := start.UnixMilli(), end.UnixMilli()
	dl.observe(end.Sub(start))
	for _, w := range dl.windows {
		if s <= w.hi+deadlineSlack && e >= w.lo-deadlineSlack {
			crossed = true
		}
	}
	for _, st := range shortTimes(o) {
		dl.made++
		if st.abs {
			d := parseDeadline(o, st)
			if st.seconds {
				d *= 1000
			}
			dl.windows = append(dl.windows, window{d, d})
		} else {
			dl.windows = append(dl.windows, window{s + st.ms, e + st.ms})
		}
	}
	dl.windows = slices.DeleteFunc(dl.windows, func(w window) bool { return w.hi+deadlineMemory < e })
	return crossed
}

// parseDeadline reads back the deadline fillShort wrote for st in o.
func parseDeadline(o op, st *shortTime) int64 {
	for _, p := range append([]op{o}, o.pipeline...) {
		if p.short == st {
			v, _ := strconv.ParseInt(string(p.args[st.arg]), 10, 64)
			return v
		}
	}
	panic("short time not in its op")
}

// recentlyPassed reports whether a deadline passed within deadlineMemory:
// a key may then still be counted on one server and deleted on the other.
func (dl *deadlines) recentlyPassed() bool {
	now := nowMs()
	for _, w := range dl.windows {
		if w.lo <= now {
			return true
		}
	}
	return false
}

// wait waits until every window has passed, before the final comparison.
func (dl *deadlines) wait() {
	for _, w := range dl.windows {
		if d := w.hi + deadlineSlack - nowMs(); d >= 0 {
			time.Sleep(time.Duration(d+1) * time.Millisecond)
		}
	}
}

// crossedDeadline handles a command that ran across a deadline: its
// replies are not compared, and both servers are flushed so that the
// datasets are equal again.
func (d *differ) crossedDeadline(i, j int, o op, took time.Duration) {
	d.ttl.crossings++
	limit := max(maxCrossings, d.ttl.made/crossingsPer)
	d.t.Logf("op %d (%s) took %v and ran across a deadline: not compared, both servers flushed (%d of at most %d)",
		i, describeOp(o), took.Round(time.Millisecond), d.ttl.crossings, limit)
	if d.ttl.crossings > limit {
		d.t.Fatalf("%d commands ran across a deadline: the test's margin (%d ms) does not hold on this machine", d.ttl.crossings, d.ttl.margin())
	}
	flush := op{args: bargs("FLUSHALL")}
	if want, got := d.redisDo(i, j, flush), d.raftlistDo(i, j, flush.args); string(want) != "+OK\r\n" || string(got) != "+OK\r\n" {
		d.failf(i, j, flush, want, got, "resynchronising after a crossed deadline")
	}
	d.ttl.windows = nil
}

func describeOp(o op) string {
	if o.pipeline != nil {
		return fmt.Sprintf("a pipeline of %d", len(o.pipeline))
	}
	if len(o.args) > 4 {
		return fmt.Sprintf("%s ... (%d arguments)", quoteCommand(o.args[:3]), len(o.args))
	}
	return quoteCommand(o.args)
}

// compareDBSize compares DBSIZE; when a deadline passed recently the
// counts may differ until both servers' active expiry has run, so it asks
// both again for up to deadlineMemory before failing.
func (d *differ) compareDBSize(i, j int, o op, want, got []byte) {
	for deadline := time.Now().Add(deadlineMemory * time.Millisecond); string(want) != string(got) && d.ttl.recentlyPassed() && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
		want, got = d.redisDo(i, j, o), d.raftlistDo(i, j, o.args)
	}
	if string(want) != string(got) {
		d.failf(i, j, o, want, got, "replies differ")
	}
}
