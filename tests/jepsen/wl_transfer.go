package main

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"sync"
	"time"
)

// The transfer workload: a fixed set of tokens starts spread over a few
// lists, and movers shift them between lists with LMOVE, RPOPLPUSH,
// BLMOVE, BRPOPLPUSH and (when scripts work) a script that pops and
// pushes. Few tokens over several lists keep lists empty often, so the
// blocking moves wait and are served by other moves. Moves never create or
// destroy a token, whatever their outcome: at the end every token must be
// in exactly one list, exactly once.

const (
	transferLists  = 4
	transferTokens = 6
)

type transferWL struct {
	h      *harness
	eval   bool
	tokens []string
	final  map[string][]string
}

func newTransfer(h *harness) *transferWL { return &transferWL{h: h} }

func (w *transferWL) name() string { return "transfer" }

func transferKey(i int) string { return "t:" + strconv.Itoa(i) }

// setup puts token i on list i % transferLists, making sure of it by
// reading every list back.
func (w *transferWL) setup(ctx context.Context, eval bool) error {
	w.eval = eval
	want := map[string][]string{}
	for i := 0; i < transferTokens; i++ {
		tok := "tok" + strconv.Itoa(i)
		w.tokens = append(w.tokens, tok)
		k := transferKey(i % transferLists)
		want[k] = append(want[k], tok)
	}
	for i := 0; i < transferLists; i++ {
		k := transferKey(i)
		if _, err := w.h.adminDo(ctx, "DEL", k); err != nil {
			return err
		}
		args := append([]string{"RPUSH", k}, want[k]...)
		check := func(ctx context.Context) (bool, error) {
			got, err := readList(ctx, w.h, k)
			return slices.Equal(got, want[k]), err
		}
		if err := w.h.adminWrite(ctx, check, args...); err != nil {
			return err
		}
		// Read back until it shows (an acknowledgement is no promise
		// that every build under test keeps).
		for try := 0; ; try++ {
			done, err := check(ctx)
			if err == nil && done {
				break
			}
			if try == 50 {
				return fmt.Errorf("%s does not hold %v after setup (%v)", k, want[k], err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	return nil
}

func (w *transferWL) start(ctx context.Context, wg *sync.WaitGroup) {
	w.h.startWorkers(ctx, wg, "transfer", w.work)
}

const moveScript = "local v = redis.call('RPOP', KEYS[1]); if v then redis.call('LPUSH', KEYS[2], v) end; return v"

func (w *transferWL) work(ctx context.Context, cl *client) {
	defer cl.reset()
	block, _ := time.ParseDuration(blockSeconds + "s")
	sides := []string{"LEFT", "RIGHT"}
	for cl.think(ctx) {
		cl.begin()
		src := cl.rng.IntN(transferLists)
		dst := (src + 1 + cl.rng.IntN(transferLists-1)) % transferLists
		o := &op{Key: transferKey(src), Dst: transferKey(dst)}
		methods := []string{"lmove", "rpoplpush", "blmove", "brpoplpush"}
		if w.eval {
			methods = append(methods, "eval")
		}
		start := cl.h.hist.now()
		var v any
		var err error
		switch o.F = methods[cl.rng.IntN(len(methods))]; o.F {
		case "lmove":
			v, err = cl.do(0, "LMOVE", o.Key, o.Dst, sides[cl.rng.IntN(2)], sides[cl.rng.IntN(2)])
		case "rpoplpush":
			v, err = cl.do(0, "RPOPLPUSH", o.Key, o.Dst)
		case "blmove":
			v, err = cl.do(block, "BLMOVE", o.Key, o.Dst, sides[cl.rng.IntN(2)], sides[cl.rng.IntN(2)], blockSeconds)
		case "brpoplpush":
			v, err = cl.do(block, "BRPOPLPUSH", o.Key, o.Dst, blockSeconds)
		case "eval":
			v, err = cl.do(0, "EVAL", moveScript, "2", o.Key, o.Dst)
		}
		o.Outcome = classifyWrite(err)
		if err == nil {
			switch e := v.(type) {
			case string:
				o.Values = []string{e}
			case nil:
				o.Nil = true
			default:
				o.Outcome, err = unknown, fmt.Errorf("unexpected reply %v", v)
			}
		}
		cl.record(o, start, err)
	}
}

func (w *transferWL) drain(ctx context.Context) error {
	w.final = map[string][]string{}
	for i := 0; i < transferLists; i++ {
		l, err := readList(ctx, w.h, transferKey(i))
		if err != nil {
			w.final = nil
			return err
		}
		w.final[transferKey(i)] = l
	}
	return nil
}

func (w *transferWL) check(res *runResult) checkResult {
	r := checkResult{Name: "transfer", Pass: true, Counts: opCounts(res.ops, "transfer")}
	if w.final == nil {
		r.Pass = false
		r.Detail = append(r.Detail, "FAIL: the final state could not be read")
		return r
	}
	seen := map[string]int{}
	var layout []string
	for i := 0; i < transferLists; i++ {
		k := transferKey(i)
		for _, t := range w.final[k] {
			seen[t]++
		}
		layout = append(layout, fmt.Sprintf("%s=%v", k, w.final[k]))
	}
	var missing, dup, foreign []string
	for _, t := range w.tokens {
		switch seen[t] {
		case 0:
			missing = append(missing, t)
		case 1:
		default:
			dup = append(dup, fmt.Sprintf("%s×%d", t, seen[t]))
		}
	}
	for t := range seen {
		if !slices.Contains(w.tokens, t) {
			foreign = append(foreign, t)
		}
	}
	sort.Strings(foreign)
	served, anomalies := 0, 0
	for _, o := range res.ops {
		if o.Workload == "transfer" && o.Outcome == ok && len(o.Values) == 1 {
			served++
		}
		if o.Workload == "transfer" && o.Outcome == unknown && len(o.Err) >= 16 && o.Err[:16] == "unexpected reply" {
			anomalies++
		}
	}
	total := 0
	for _, n := range seen {
		total += n
	}
	r.Detail = append(r.Detail, fmt.Sprintf("%d tokens, %d found at the end; %d acknowledged moves carried a token", len(w.tokens), total, served))
	r.Detail = append(r.Detail, "final: "+sample(layout, transferLists))
	if len(missing)+len(dup)+len(foreign) > 0 {
		r.Pass = false
		r.Detail = append(r.Detail, fmt.Sprintf("FAIL: total not conserved: missing %v, duplicated %v, unknown %v", missing, dup, foreign))
	}
	if anomalies > 0 {
		r.Pass = false
		r.Detail = append(r.Detail, fmt.Sprintf("FAIL: %d replies of an unexpected shape", anomalies))
	}
	return r
}
