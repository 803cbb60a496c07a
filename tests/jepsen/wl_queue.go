package main

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"time"
)

// The queue workload: producers push unique elements onto a few queues
// (LPUSH, RPUSH, two at once, MULTI/EXEC, EVAL), consumers take them with
// RPOP, LPOP, BRPOP, BLPOP and BLMOVE (into the queue's done list, which
// nobody pops). At the end the harness reads every queue and done list.
//
// Checked, per element: an acknowledged push is popped exactly once or
// still present; nothing is popped twice or both popped and present;
// nothing appears that was never pushed or whose push was refused
// (TRYAGAIN); an acknowledged BLMOVE's element is in the done list. A push
// with unknown outcome may go either way. An acknowledged element that is
// gone is excused only as far as pops with unknown outcome on its queue
// can account for it (each takes at most one element).

const queueKeys = 2

// newFaultQueue names a fresh queue for a fault that places blocked
// clients of its own (snapshot-install, membership-partition): only that
// fault pushes to it and pops from it, so every waiter on it is the
// fault's, and it starts empty. The queue checker checks it like the
// workload's queues.
func (h *harness) newFaultQueue() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	q := "q:fault" + strconv.Itoa(len(h.faultQueues))
	h.faultQueues = append(h.faultQueues, q)
	return q
}

// checkedQueues are the queues drained and checked at the end.
func (h *harness) checkedQueues() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for i := 0; i < queueKeys; i++ {
		out = append(out, queueKey(i))
	}
	return append(out, h.faultQueues...)
}

// blockSeconds is the timeout of the workloads' blocking commands.
const blockSeconds = "1"

type queueWL struct {
	h    *harness
	eval bool
	// final is each queue's and done list's content after healing.
	final map[string][]string
}

func newQueue(h *harness) *queueWL { return &queueWL{h: h} }

func (w *queueWL) name() string { return "queue" }

func queueKey(i int) string       { return "q:" + strconv.Itoa(i) }
func doneKey(queue string) string { return queue + ":done" }

func (w *queueWL) setup(ctx context.Context, eval bool) error {
	w.eval = eval
	return nil
}

func (w *queueWL) start(ctx context.Context, wg *sync.WaitGroup) {
	n := max(1, w.h.o.Concurrency)
	for i := 0; i < n; i++ {
		wg.Add(2)
		go func() { defer wg.Done(); w.produce(ctx, w.h.newClient("queue", i)) }()
		go func() { defer wg.Done(); w.consume(ctx, w.h.newClient("queue", n+i)) }()
	}
}

func (w *queueWL) produce(ctx context.Context, cl *client) {
	defer cl.reset()
	seq := 0
	elem := func(q int) string {
		seq++
		return fmt.Sprintf("q%d-w%d-%d", q, cl.worker, seq)
	}
	for cl.think(ctx) {
		cl.begin()
		qi := cl.rng.IntN(queueKeys)
		key := queueKey(qi)
		o := &op{Key: key}
		start := cl.h.hist.now()
		var err error
		var v any
		methods := []string{"rpush", "lpush", "rpush2", "multi"}
		if w.eval {
			methods = append(methods, "eval")
		}
		switch o.F = methods[cl.rng.IntN(len(methods))]; o.F {
		case "rpush", "lpush":
			o.Values = []string{elem(qi)}
			v, err = cl.do(0, o.F, key, o.Values[0])
		case "rpush2":
			o.Values = []string{elem(qi), elem(qi)}
			v, err = cl.do(0, "RPUSH", key, o.Values[0], o.Values[1])
		case "multi":
			o.Values = []string{elem(qi), elem(qi)}
			v, err = multi(cl, [][]string{{"RPUSH", key, o.Values[0]}, {"LPUSH", key, o.Values[1]}})
		case "eval":
			o.Values = []string{elem(qi)}
			v, err = cl.do(0, "EVAL", "return redis.call('RPUSH', KEYS[1], ARGV[1])", "1", key, o.Values[0])
		}
		o.Outcome = classifyWrite(err)
		if err == nil {
			if n, isInt := v.(int64); isInt {
				o.N = n
			} else if _, isArr := v.([]any); !isArr || o.F != "multi" {
				o.Outcome, err = unknown, fmt.Errorf("unexpected reply %v", v)
			}
		}
		cl.record(o, start, err)
	}
}

// multi runs cmds in one MULTI/EXEC. Until EXEC is sent nothing can be
// applied, so a failure before it is a failure, not an unknown: the
// caller sees errNotSent.
func multi(cl *client, cmds [][]string) (any, error) {
	if _, err := cl.do(0, "MULTI"); err != nil {
		cl.reset()
		return nil, fmt.Errorf("%w: MULTI: %v", errNotSent, err)
	}
	for _, c := range cmds {
		if v, err := cl.do(0, c...); err != nil || v != "QUEUED" {
			cl.reset()
			return nil, fmt.Errorf("%w: %s answered %v %v", errNotSent, c[0], v, err)
		}
	}
	v, err := cl.do(0, "EXEC")
	if err == nil && v == nil {
		return nil, fmt.Errorf("%w: EXEC aborted", errNotSent)
	}
	return v, err
}

func (w *queueWL) consume(ctx context.Context, cl *client) {
	defer cl.reset()
	block, _ := time.ParseDuration(blockSeconds + "s")
	for cl.think(ctx) {
		cl.begin()
		key := queueKey(cl.rng.IntN(queueKeys))
		o := &op{Key: key}
		start := cl.h.hist.now()
		var v any
		var err error
		switch o.F = []string{"rpop", "lpop", "brpop", "blpop", "blmove"}[cl.rng.IntN(5)]; o.F {
		case "rpop", "lpop":
			v, err = cl.do(0, o.F, key)
		case "brpop", "blpop":
			v, err = cl.do(block, o.F, key, blockSeconds)
		case "blmove":
			o.Dst = doneKey(key)
			v, err = cl.do(block, "BLMOVE", key, o.Dst, "RIGHT", "LEFT", blockSeconds)
		}
		o.Outcome = classifyWrite(err)
		if err == nil {
			if e, got, good := poppedElement(o.F, key, v); !good {
				o.Outcome, err = unknown, fmt.Errorf("unexpected reply %v", v)
			} else if got {
				o.Values = []string{e}
			} else {
				o.Nil = true
			}
		}
		cl.record(o, start, err)
	}
}

// poppedElement reads a pop's reply: the element, whether there was one,
// and whether the reply had the expected shape.
func poppedElement(f, key string, v any) (string, bool, bool) {
	if v == nil {
		return "", false, true
	}
	switch f {
	case "brpop", "blpop":
		arr, isArr := v.([]any)
		if !isArr || len(arr) != 2 || arr[0] != key {
			return "", false, false
		}
		e, isStr := arr[1].(string)
		return e, isStr, isStr
	default:
		e, isStr := v.(string)
		return e, isStr, isStr
	}
}

func (w *queueWL) drain(ctx context.Context) error {
	w.final = map[string][]string{}
	for _, q := range w.h.checkedQueues() {
		for _, k := range []string{q, doneKey(q)} {
			l, err := readList(ctx, w.h, k)
			if err != nil {
				w.final = nil
				return err
			}
			w.final[k] = l
		}
	}
	return nil
}

func (w *queueWL) check(res *runResult) checkResult {
	r := checkResult{Name: "queue", Pass: true, Counts: opCounts(res.ops, "queue")}
	fail := func(format string, args ...any) {
		r.Pass = false
		r.Detail = append(r.Detail, "FAIL: "+fmt.Sprintf(format, args...))
	}
	if w.final == nil {
		fail("the final state could not be read")
		return r
	}
	type elemState struct {
		queue           string
		push            outcome
		pushed          bool
		popped, moved   int // acknowledged pops from the queue, moves to done
		inQueue, inDone int
	}
	elems := map[string]*elemState{}
	get := func(e string) *elemState {
		s := elems[e]
		if s == nil {
			s = &elemState{}
			elems[e] = s
		}
		return s
	}
	var pushes, pops counts
	unknownPops := map[string]int{}
	anomalies := 0
	var hung []string
	for _, o := range res.ops {
		if o.Workload != "queue" {
			continue
		}
		if o.Err != "" && o.Outcome == unknown && len(o.Err) > 16 && o.Err[:16] == "unexpected reply" {
			anomalies++
		}
		switch o.F {
		case "rpush", "lpush", "rpush2", "multi", "eval":
			pushes.add(o.Outcome)
			for _, e := range o.Values {
				s := get(e)
				s.queue, s.push, s.pushed = o.Key, o.Outcome, true
			}
		default:
			pops.add(o.Outcome)
			if o.Hung {
				hung = append(hung, fmt.Sprintf("%s on %s at +%.1fs", o.F, o.Node, o.Start.Seconds()))
			}
			switch {
			case o.Hung:
				// No answer where one was owed: it excuses no loss.
			case o.Outcome == unknown && o.F != "blmove" && o.F != "brpoplpush":
				unknownPops[o.Key]++
			case o.Outcome == ok && len(o.Values) == 1 && (o.F == "blmove" || o.F == "brpoplpush"):
				get(o.Values[0]).moved++
			case o.Outcome == ok && len(o.Values) == 1:
				get(o.Values[0]).popped++
			}
		}
	}
	for k, l := range w.final {
		for _, e := range l {
			if len(k) > 5 && k[len(k)-5:] == ":done" {
				get(e).inDone++
			} else {
				get(e).inQueue++
			}
		}
	}
	var lost, dup, phantom, refusedButThere, moveLost, unknownIn, unknownOut []string
	lostBy := map[string][]string{}
	for e, s := range elems {
		copies := s.popped + s.inQueue + s.inDone
		switch {
		case !s.pushed:
			phantom = append(phantom, e)
		case copies > 1:
			dup = append(dup, fmt.Sprintf("%s(popped %d, moved %d, in queue %d, in done %d)", e, s.popped, s.moved, s.inQueue, s.inDone))
		case s.push == failed && copies > 0:
			refusedButThere = append(refusedButThere, e)
		case s.push == ok && copies == 0:
			lost = append(lost, e)
			lostBy[s.queue] = append(lostBy[s.queue], e)
		case s.push == unknown && copies == 0:
			unknownOut = append(unknownOut, e)
		case s.push == unknown:
			unknownIn = append(unknownIn, e)
		}
		if s.moved > s.inDone {
			moveLost = append(moveLost, e)
		}
	}
	for _, l := range [][]string{lost, dup, phantom, refusedButThere, moveLost} {
		sort.Strings(l)
	}
	excused := 0
	queues := make([]string, 0, len(lostBy))
	for q := range lostBy {
		queues = append(queues, q)
	}
	sort.Strings(queues)
	for _, q := range queues {
		gone := lostBy[q]
		sort.Strings(gone)
		if len(gone) > unknownPops[q] {
			fail("%d acknowledged elements of %s are gone, more than its %d pops with unknown outcome can explain: %s", len(gone), q, unknownPops[q], sample(gone, 8))
		} else {
			excused += len(gone)
		}
	}
	if len(dup) > 0 {
		fail("%d elements delivered more than once: %s", len(dup), sample(dup, 5))
	}
	if len(phantom) > 0 {
		fail("%d elements appeared that were never pushed: %s", len(phantom), sample(phantom, 8))
	}
	if len(refusedButThere) > 0 {
		fail("%d elements whose push was refused (TRYAGAIN: not applied) were applied: %s", len(refusedButThere), sample(refusedButThere, 8))
	}
	if len(moveLost) > 0 {
		fail("%d acknowledged BLMOVEs whose element is not in the done list: %s", len(moveLost), sample(moveLost, 8))
	}
	if len(hung) > 0 {
		sort.Strings(hung)
		fail("%d blocked clients placed by a fault got no answer and no error within their timeout (hung): %s", len(hung), sample(hung, 6))
	}
	if anomalies > 0 {
		fail("%d replies of an unexpected shape", anomalies)
	}
	present := 0
	for _, l := range w.final {
		present += len(l)
	}
	r.Detail = append([]string{
		fmt.Sprintf("pushes ok %d / failed %d / unknown %d; pops ok %d / failed %d / unknown %d",
			pushes.OK, pushes.Failed, pushes.Unknown, pops.OK, pops.Failed, pops.Unknown),
		fmt.Sprintf("%d elements; %d left in queues and done lists at the end; unknown pushes: %d applied, %d not",
			len(elems), present, len(unknownIn), len(unknownOut)),
		fmt.Sprintf("lost %d (of which %d excused by unknown pops), duplicated %d, phantom %d, refused-but-applied %d",
			len(lost), excused, len(dup), len(phantom), len(refusedButThere)),
	}, r.Detail...)
	return r
}
