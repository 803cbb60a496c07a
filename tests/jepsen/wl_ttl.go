package main

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The TTL workload: each worker gives a fresh key a short time to live
// (SET k v PX ms; SET k v then PEXPIREAT k at; SET k v then EXPIRE k 1),
// then watches it through every node until it is gone: with a script
// (through the log: TIME, PTTL and GET at the entry's time) and with
// linearizable reads (GET, PTTL). One node's clock runs ahead of the
// others' (ttlSkew), so each leader change away from it hands the log to
// a leader whose clock is behind the log clock. The checker needs no
// clock of its own:
//
//   - the log clock never goes back: an acknowledged script that ended
//     before another began did not see a later TIME;
//   - through the log a key is present exactly while the entry's time is
//     before its deadline (PEXPIREAT's, or time + PTTL of any sighting),
//     with PTTL exactly the time left;
//   - a linearizable read never shows a key that an acknowledged entry
//     which ended before the read began saw expired (or whose log time
//     had passed its deadline);
//   - at the end every node holds no key with a time to live (INFO
//     keyspace expires=) once the deadlines passed: active expiry
//     deleted them on every node.

// ttlSkew is how far ahead of the others the first node's clock runs in
// a run with the TTL workload (--test-clock-skew).
const ttlSkew = time.Second

// ttlOpsPerKey bounds the operations on one key.
const ttlOpsPerKey = 40

// ttlObserve reads a key through the log with the entry's time.
const ttlObserve = "local t = redis.call('TIME'); return {t[1], t[2], redis.call('PTTL', KEYS[1]), redis.call('GET', KEYS[1])}"

type ttlWL struct {
	h *harness
	// expires is each node's INFO keyspace expires= at the end (drain),
	// or why it could not be read.
	expires []string
	drained bool
}

func newTTL(h *harness) *ttlWL { return &ttlWL{h: h} }

func (w *ttlWL) name() string                      { return "ttl" }
func (w *ttlWL) setup(context.Context, bool) error { return nil }

func (w *ttlWL) start(ctx context.Context, wg *sync.WaitGroup) {
	w.h.startWorkers(ctx, wg, "ttl", w.work)
}

func (w *ttlWL) work(ctx context.Context, cl *client) {
	defer cl.reset()
	for n := 0; ctx.Err() == nil; n++ {
		key := fmt.Sprintf("ttl:%d:%d", cl.worker, n)
		if !w.set(ctx, cl, key) {
			continue
		}
		for i := 0; i < ttlOpsPerKey && cl.think(ctx); i++ {
			cl.begin()
			if gone := w.observe(cl, key); gone {
				break
			}
		}
	}
}

// set writes key with a time to live and reports whether the writes were
// acknowledged (only then is the key watched).
func (w *ttlWL) set(ctx context.Context, cl *client, key string) bool {
	if !cl.think(ctx) {
		return false
	}
	cl.begin()
	ttl := 200 + cl.rng.IntN(1300)
	o := &op{Key: key, Values: []string{key}}
	start := cl.h.hist.now()
	var err error
	switch cl.rng.IntN(3) {
	case 0:
		o.F = "set-px"
		_, err = cl.do(0, "SET", key, key, "PX", strconv.Itoa(ttl))
	case 1:
		o.F, ttl = "set-expire", 1000
		if _, err = cl.do(0, "SET", key, key); err == nil {
			var v any
			v, err = cl.do(0, "EXPIRE", key, "1")
			err = wantInt(v, err, 1)
		}
	default:
		o.F = "set-pexpireat"
		at := time.Now().Add(time.Duration(ttl) * time.Millisecond).UnixMilli()
		o.N = at
		if _, err = cl.do(0, "SET", key, key); err == nil {
			var v any
			v, err = cl.do(0, "PEXPIREAT", key, strconv.FormatInt(at, 10))
			err = wantInt(v, err, 1)
		}
	}
	o.Outcome = classifyWrite(err)
	cl.record(o, start, err)
	return err == nil
}

func wantInt(v any, err error, want int64) error {
	if n, isInt := v.(int64); err == nil && (!isInt || n != want) {
		return fmt.Errorf("unexpected reply %v", v)
	}
	return err
}

// observe reads key once, through the log or not, and reports whether an
// acknowledged entry saw it gone.
func (w *ttlWL) observe(cl *client, key string) (gone bool) {
	o := &op{Key: key}
	start := cl.h.hist.now()
	var v any
	var err error
	switch r := cl.rng.IntN(4); {
	case r < 2:
		o.F = "log"
		v, err = cl.do(0, "EVAL", ttlObserve, "1", key)
		o.Outcome = classifyWrite(err)
		if err == nil {
			if err = parseObservation(o, v); err != nil {
				o.Outcome = unknown
			}
			gone = err == nil && o.Nil
		}
	case r == 2:
		o.F = "get"
		v, err = cl.do(0, "GET", key)
		o.Outcome = readOutcome(err)
		switch s, isStr := v.(string); {
		case err != nil:
		case v == nil:
			o.Nil = true
		case isStr:
			o.Values = []string{s}
		default:
			o.Outcome, err = failed, fmt.Errorf("unexpected reply %v", v)
		}
	default:
		o.F = "pttl"
		v, err = cl.do(0, "PTTL", key)
		o.Outcome = readOutcome(err)
		if n, isInt := v.(int64); err == nil && isInt {
			o.N, o.Nil = n, n == -2
		} else if err == nil {
			o.Outcome, err = failed, fmt.Errorf("unexpected reply %v", v)
		}
	}
	cl.record(o, start, err)
	return gone
}

// parseObservation reads ttlObserve's reply into o: N is the entry's time
// (ms), List the PTTL, Values the value, Nil when the key was absent.
func parseObservation(o *op, v any) error {
	arr, isArr := v.([]any)
	if !isArr || len(arr) != 4 {
		return fmt.Errorf("unexpected reply %v", v)
	}
	sec, err1 := strconv.ParseInt(fmt.Sprint(arr[0]), 10, 64)
	usec, err2 := strconv.ParseInt(fmt.Sprint(arr[1]), 10, 64)
	pttl, isInt := arr[2].(int64)
	if err1 != nil || err2 != nil || !isInt || usec%1000 != 0 {
		return fmt.Errorf("unexpected reply %v", v)
	}
	o.N = sec*1000 + usec/1000
	o.List = []string{strconv.FormatInt(pttl, 10)}
	switch s := arr[3].(type) {
	case nil:
		o.Nil = true
	case string:
		o.Values = []string{s}
	default:
		return fmt.Errorf("unexpected reply %v", v)
	}
	if (pttl == -2) != o.Nil {
		return fmt.Errorf("PTTL %d with value %v", pttl, arr[3])
	}
	return nil
}

var expiresField = regexp.MustCompile(`(?m)^db0:keys=\d+,expires=(\d+)`)

// drain waits until every deadline has passed in every node's clock,
// then reads INFO keyspace on each node until it holds no key with a time
// to live, for up to ttlActiveBound.
func (w *ttlWL) drain(ctx context.Context) error {
	time.Sleep(1500*time.Millisecond + ttlSkew) // the longest TTL, on a clock ttlSkew behind the log's
	w.drained = true
	for _, t := range w.h.targets() {
		w.expires = append(w.expires, t.id+": "+nodeExpires(ctx, t))
	}
	return nil
}

// ttlActiveBound is how long after the deadlines a node may still hold a
// key: the leader's 100 ms look, commits, and a loaded machine.
const ttlActiveBound = 5 * time.Second

func nodeExpires(ctx context.Context, t target) string {
	end := time.Now().Add(ttlActiveBound)
	last := "no answer"
	for time.Now().Before(end) && ctx.Err() == nil {
		c, err := dialRESP(t.id, t.addr, time.Second)
		if err == nil {
			v, err := c.do(2*time.Second, "INFO", "keyspace")
			c.close()
			s, _ := v.(string)
			switch m := expiresField.FindStringSubmatch(s); {
			case err != nil:
				last = err.Error()
			case m == nil:
				return "0" // no db0 line: no key at all
			case m[1] == "0":
				return "0"
			default:
				last = m[1]
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	return last
}

func (w *ttlWL) check(res *runResult) checkResult {
	r := checkResult{Name: "ttl", Pass: true, Counts: opCounts(res.ops, "ttl")}
	var ops []*op
	for _, o := range res.ops {
		if o.Workload == "ttl" {
			ops = append(ops, o)
		}
	}
	fail := func(format string, args ...any) {
		r.Pass = false
		if len(r.Detail) < 20 {
			r.Detail = append(r.Detail, "FAIL: "+fmt.Sprintf(format, args...))
		}
	}
	clock := newLogClock(ops)
	for _, v := range clock.backwards() {
		fail("log clock went back: %s", v)
	}
	byKey := map[string][]*op{}
	var keys []string
	for _, o := range ops {
		if byKey[o.Key] == nil {
			keys = append(keys, o.Key)
		}
		byKey[o.Key] = append(byKey[o.Key], o)
	}
	sort.Strings(keys)
	logObs, reads := 0, 0
	for _, k := range keys {
		for _, v := range checkTTLKey(byKey[k], clock, &logObs, &reads) {
			fail("%s: %s", k, v)
		}
	}
	r.Detail = append(r.Detail, fmt.Sprintf("%d keys, %d acknowledged sightings through the log, %d linearizable reads checked; clock of the first node %v ahead",
		len(keys), logObs, reads, ttlSkew))
	if !w.drained {
		fail("the final state was not read")
	}
	for _, e := range w.expires {
		if !strings.HasSuffix(e, ": 0") {
			fail("keys with a time to live still held %v after their deadlines: %s", ttlActiveBound, e)
		}
	}
	if len(w.expires) > 0 {
		r.Detail = append(r.Detail, "expires= at the end: "+strings.Join(w.expires, ", "))
	}
	return r
}

// logClock is the acknowledged sightings through the log, by end time,
// with the latest log time among those ended so far.
type logClock struct {
	byEnd   []*op
	maxTill []int64 // maxTill[i]: the latest log time among byEnd[:i+1]
	byStart []*op
}

func newLogClock(ops []*op) *logClock {
	c := &logClock{}
	for _, o := range ops {
		if o.F == "log" && o.Outcome == ok {
			c.byEnd = append(c.byEnd, o)
			c.byStart = append(c.byStart, o)
		}
	}
	sort.Slice(c.byEnd, func(i, j int) bool { return c.byEnd[i].End < c.byEnd[j].End })
	sort.Slice(c.byStart, func(i, j int) bool { return c.byStart[i].Start < c.byStart[j].Start })
	var m int64
	for _, o := range c.byEnd {
		m = max(m, o.N)
		c.maxTill = append(c.maxTill, m)
	}
	return c
}

// before returns the latest log time an acknowledged sighting that ended
// before t saw, and that sighting.
func (c *logClock) before(t time.Duration) (int64, *op) {
	i := sort.Search(len(c.byEnd), func(i int) bool { return c.byEnd[i].End >= t })
	if i == 0 {
		return 0, nil
	}
	m := c.maxTill[i-1]
	for j := i - 1; j >= 0; j-- {
		if c.byEnd[j].N == m {
			return m, c.byEnd[j]
		}
	}
	return m, nil
}

// backwards lists sightings whose log time is earlier than one that ended
// before they began.
func (c *logClock) backwards() []string {
	var out []string
	for _, o := range c.byStart {
		if m, prev := c.before(o.Start); prev != nil && o.N < m {
			out = append(out, fmt.Sprintf("%s on %s at +%.3fs saw %d ms, %d ms before %s on %s which ended at +%.3fs",
				o.Key, o.Node, o.Start.Seconds(), o.N, m-o.N, prev.Key, prev.Node, prev.End.Seconds()))
		}
	}
	return out
}

// checkTTLKey judges one key's history.
func checkTTLKey(ops []*op, clock *logClock, logObs, reads *int) []string {
	var out []string
	set := ops[0]
	if !strings.HasPrefix(set.F, "set") || set.Outcome != ok {
		return nil // never watched
	}
	deadline, known := int64(0), false
	if set.F == "set-pexpireat" {
		deadline, known = set.N, true
	}
	// Every sighting through the log that saw the key names its deadline.
	for _, o := range ops[1:] {
		if o.F != "log" || o.Outcome != ok || o.Nil {
			continue
		}
		pttl, _ := strconv.ParseInt(o.List[0], 10, 64)
		switch d := o.N + pttl; {
		case pttl < 0:
			out = append(out, fmt.Sprintf("through the log on %s at +%.3fs: PTTL %d, the time to live lost", o.Node, o.Start.Seconds(), pttl))
		case known && d != deadline:
			out = append(out, fmt.Sprintf("through the log on %s at +%.3fs: deadline %d, exp %d", o.Node, o.Start.Seconds(), d, deadline))
		default:
			deadline, known = d, true
		}
	}
	var goneSince time.Duration = -1 // end of the first acknowledged sighting through the log of the key gone
	for _, o := range ops[1:] {
		if o.F == "log" && o.Outcome == ok {
			*logObs++
			switch {
			case known && o.Nil && o.N < deadline:
				out = append(out, fmt.Sprintf("through the log on %s at +%.3fs: gone at %d, %d ms before its deadline", o.Node, o.Start.Seconds(), o.N, deadline-o.N))
			case known && !o.Nil && o.N >= deadline:
				out = append(out, fmt.Sprintf("through the log on %s at +%.3fs: present at %d, %d ms past its deadline", o.Node, o.Start.Seconds(), o.N, o.N-deadline))
			case !o.Nil && len(o.Values) == 1 && o.Values[0] != o.Key:
				out = append(out, fmt.Sprintf("through the log on %s: value %q", o.Node, o.Values[0]))
			}
			if o.Nil && (goneSince < 0 || o.End < goneSince) {
				goneSince = o.End
			}
		}
	}
	for _, o := range ops[1:] {
		if (o.F != "get" && o.F != "pttl") || o.Outcome != ok || o.Nil {
			continue
		}
		*reads++
		if o.F == "pttl" && o.N == -1 {
			out = append(out, fmt.Sprintf("PTTL on %s at +%.3fs: -1, the time to live lost", o.Node, o.Start.Seconds()))
		}
		if goneSince >= 0 && goneSince < o.Start {
			out = append(out, fmt.Sprintf("%s on %s at +%.3fs shows the key an entry acknowledged at +%.3fs saw gone", o.F, o.Node, o.Start.Seconds(), goneSince.Seconds()))
			continue
		}
		if m, prev := clock.before(o.Start); known && prev != nil && m >= deadline {
			out = append(out, fmt.Sprintf("%s on %s at +%.3fs shows the key after %s's entry (acknowledged at +%.3fs) ran at %d, %d ms past its deadline",
				o.F, o.Node, o.Start.Seconds(), prev.Key, prev.End.Seconds(), m, m-deadline))
		}
	}
	return out
}
