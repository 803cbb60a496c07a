package main

import (
	"context"
	"fmt"
	"hash/fnv"
	"math"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/anishathalye/porcupine"
)

// The linearizability workload: workers push, pop and read (LRANGE, LLEN)
// short-lived keys through every node, followers included, in the default
// (linearizable) mode. Each key sees a bounded number of operations, and
// porcupine checks each key's history against a sequential list. An
// operation with unknown outcome never returns (its return time is
// infinite): porcupine may place its effect anywhere after its call, or
// nowhere. Failed operations (TRYAGAIN, reads without an answer) had no
// effect and are left out.

// maxVisualised bounds the HTML files written for keys that failed.
const maxVisualised = 20

type linWL struct {
	h       *harness
	nextOp  atomic.Int64
	nextVal atomic.Int64
	results []linKeyResult
}

type linKeyResult struct {
	key    string
	result porcupine.CheckResult
	ops    int
	file   string // the visualisation, for a key that failed
}

func newLin(h *harness) *linWL { return &linWL{h: h} }

func (w *linWL) name() string                      { return "lin" }
func (w *linWL) setup(context.Context, bool) error { return nil }
func (w *linWL) drain(context.Context) error       { return nil }

// key is the key of the next operation: every opsPerKey operations move
// on to a fresh key, so each key's history stays small enough to check.
func (w *linWL) key() string {
	return "lin:" + strconv.FormatInt(w.nextOp.Add(1)/int64(w.h.timing.opsPerKey), 10)
}

// value is a value never pushed before.
func (w *linWL) value() string { return "v" + strconv.FormatInt(w.nextVal.Add(1), 10) }

func (w *linWL) start(ctx context.Context, wg *sync.WaitGroup) {
	w.h.startWorkers(ctx, wg, "lin", w.work)
}

func (w *linWL) work(ctx context.Context, cl *client) {
	defer cl.reset()
	for cl.think(ctx) {
		cl.begin()
		o := &op{Key: w.key()}
		start := cl.h.hist.now()
		var v any
		var err error
		switch r := cl.rng.IntN(100); {
		case r < 20:
			o.F = "rpush"
		case r < 35:
			o.F = "lpush"
		case r < 50:
			o.F = "rpop"
		case r < 60:
			o.F = "lpop"
		case r < 85:
			o.F = "lrange"
		default:
			o.F = "llen"
		}
		switch o.F {
		case "rpush", "lpush":
			o.Values = []string{w.value()}
			v, err = cl.do(0, o.F, o.Key, o.Values[0])
			o.Outcome = classifyWrite(err)
			if err == nil {
				n, isInt := v.(int64)
				o.N = n
				if !isInt {
					o.Outcome, err = unknown, fmt.Errorf("unexpected reply %v", v)
				}
			}
		case "rpop", "lpop":
			v, err = cl.do(0, o.F, o.Key)
			o.Outcome = classifyWrite(err)
			if err == nil {
				e, got, good := poppedElement(o.F, o.Key, v)
				switch {
				case !good:
					o.Outcome, err = unknown, fmt.Errorf("unexpected reply %v", v)
				case got:
					o.Values = []string{e}
				default:
					o.Nil = true
				}
			}
		case "lrange":
			v, err = cl.do(0, "LRANGE", o.Key, "0", "-1")
			o.Outcome = readOutcome(err)
			if err == nil {
				l, good := replyStrings(v)
				if !good {
					o.Outcome, err = failed, fmt.Errorf("unexpected reply %v", v)
				}
				o.List = l
			}
		case "llen":
			v, err = cl.do(0, "LLEN", o.Key)
			o.Outcome = readOutcome(err)
			if err == nil {
				n, isInt := v.(int64)
				o.N = n
				if !isInt {
					o.Outcome, err = failed, fmt.Errorf("unexpected reply %v", v)
				}
			}
		}
		cl.record(o, start, err)
	}
}

// readOutcome: a read either answered or had no effect.
func readOutcome(err error) outcome {
	if err == nil {
		return ok
	}
	return failed
}

// linInput and linOutput are an operation as porcupine sees it.
type linInput struct {
	F     string
	Value string
}

type linOutput struct {
	Unknown bool
	N       int64
	Nil     bool
	Value   string
	List    []string
}

// The model's state is the list, its elements joined by spaces (values
// are "v<n>"): comparable and cheap to hash.
func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, " ")
}

func joinList(l []string) string { return strings.Join(l, " ") }

var listModel = porcupine.Model{
	Init: func() any { return "" },
	Step: func(state, input, output any) (bool, any) {
		s, in, out := state.(string), input.(linInput), output.(linOutput)
		l := splitList(s)
		switch in.F {
		case "rpush", "lpush":
			var next string
			if in.F == "rpush" {
				next = joinList(append(l, in.Value))
			} else {
				next = joinList(append([]string{in.Value}, l...))
			}
			return out.Unknown || out.N == int64(len(l)+1), next
		case "rpop", "lpop":
			if len(l) == 0 {
				return out.Unknown || out.Nil, s
			}
			e, rest := l[len(l)-1], l[:len(l)-1]
			if in.F == "lpop" {
				e, rest = l[0], l[1:]
			}
			return out.Unknown || (!out.Nil && out.Value == e), joinList(rest)
		case "lrange":
			return joinList(out.List) == s, s
		case "llen":
			return out.N == int64(len(l)), s
		}
		return false, s
	},
	Hash: func(state any) uint64 {
		f := fnv.New64a()
		f.Write([]byte(state.(string)))
		return f.Sum64()
	},
	DescribeOperation: func(input, output any) string {
		in, out := input.(linInput), output.(linOutput)
		var res string
		switch {
		case out.Unknown:
			res = "?"
		case in.F == "lrange":
			res = "[" + joinList(out.List) + "]"
		case out.Nil:
			res = "nil"
		case in.F == "rpop" || in.F == "lpop":
			res = out.Value
		default:
			res = strconv.FormatInt(out.N, 10)
		}
		if in.Value != "" {
			return fmt.Sprintf("%s(%s) → %s", in.F, in.Value, res)
		}
		return fmt.Sprintf("%s() → %s", in.F, res)
	},
	DescribeState: func(state any) string { return "[" + state.(string) + "]" },
	DescribeOperationMetadata: func(info any) string {
		if info == nil {
			return ""
		}
		return info.(string)
	},
}

// porcupineOps turns one key's operations into porcupine's: failed ones
// are dropped, unknown ones never return.
func porcupineOps(ops []*op) []porcupine.Operation {
	var out []porcupine.Operation
	for _, o := range ops {
		if o.Outcome == failed {
			continue
		}
		in := linInput{F: o.F}
		if len(o.Values) > 0 && (o.F == "rpush" || o.F == "lpush") {
			in.Value = o.Values[0]
		}
		outp := linOutput{Unknown: o.Outcome == unknown, N: o.N, Nil: o.Nil, List: o.List}
		if len(o.Values) > 0 && (o.F == "rpop" || o.F == "lpop") {
			outp.Value = o.Values[0]
		}
		ret := int64(o.End)
		if outp.Unknown {
			ret = math.MaxInt64
		}
		meta := fmt.Sprintf("worker %d via %s", o.Worker, o.Node)
		if o.Err != "" {
			meta += ": " + o.Err
		}
		out = append(out, porcupine.Operation{ClientId: o.Worker, Input: in, Call: int64(o.Start),
			Output: outp, Return: ret, Metadata: meta})
	}
	return out
}

func (w *linWL) check(res *runResult) checkResult {
	r := checkResult{Name: "linearizable", Pass: true, Counts: opCounts(res.ops, "lin")}
	byKey := map[string][]*op{}
	for _, o := range res.ops {
		if o.Workload == "lin" {
			byKey[o.Key] = append(byKey[o.Key], o)
		}
	}
	keys := make([]string, 0, len(byKey))
	for k := range byKey {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keyNum(keys[i]) < keyNum(keys[j]) })
	var illegal, undecided []string
	followerReads, reads := 0, 0
	budgetEnd := time.Now().Add(w.h.timing.linBudget)
	for _, k := range keys {
		pops := porcupineOps(byKey[k])
		timeout := min(w.h.timing.linCheck, time.Until(budgetEnd))
		if timeout <= 0 {
			undecided = append(undecided, k)
			w.results = append(w.results, linKeyResult{key: k, result: porcupine.Unknown, ops: len(pops)})
			continue
		}
		result, info := porcupine.CheckOperationsVerbose(listModel, pops, timeout)
		kr := linKeyResult{key: k, result: result, ops: len(pops)}
		switch result {
		case porcupine.Illegal:
			illegal = append(illegal, k)
			if len(illegal) > maxVisualised {
				kr.file = "(not visualised: only the first " + strconv.Itoa(maxVisualised) + " are)"
				break
			}
			kr.file = "lin-" + strings.TrimPrefix(k, "lin:") + ".html"
			info.AddAnnotations(faultAnnotations(res.faults, byKey[k]))
			if err := porcupine.VisualizePath(listModel, info, filepath.Join(res.o.Out, kr.file)); err != nil {
				kr.file = "(visualisation failed: " + err.Error() + ")"
			}
		case porcupine.Unknown:
			undecided = append(undecided, k)
		}
		w.results = append(w.results, kr)
	}
	for _, o := range res.ops {
		if o.Workload == "lin" && o.Outcome == ok && (o.F == "lrange" || o.F == "llen") {
			reads++
			if l := res.leaders.at(o.Start); l != "" && l != o.Node {
				followerReads++
			}
		}
	}
	r.Detail = append(r.Detail, fmt.Sprintf("%d keys checked: %d linearizable, %d not, %d undecided (%s per key, %s in all)",
		len(keys), len(keys)-len(illegal)-len(undecided), len(illegal), len(undecided), w.h.timing.linCheck, w.h.timing.linBudget))
	r.Detail = append(r.Detail, fmt.Sprintf("%d reads answered, %d of them through a follower (the leader sampled every 250 ms)", reads, followerReads))
	if len(illegal) > 0 {
		r.Pass = false
		for _, kr := range w.results {
			if kr.result == porcupine.Illegal {
				r.Detail = append(r.Detail, fmt.Sprintf("FAIL: %s (%d ops) is not linearizable: see %s", kr.key, kr.ops, kr.file))
				if len(r.Detail) > 12 {
					r.Detail = append(r.Detail, fmt.Sprintf("FAIL: ... %d keys in all", len(illegal)))
					break
				}
			}
		}
	}
	if len(undecided) > 0 {
		r.Detail = append(r.Detail, "undecided (not failed): "+sample(undecided, 6))
	}
	return r
}

func keyNum(k string) int {
	n, _ := strconv.Atoi(strings.TrimPrefix(k, "lin:"))
	return n
}

// faultAnnotations shows the fault windows during a key's operations in
// its visualisation.
func faultAnnotations(faults []*fault, ops []*op) []porcupine.Annotation {
	var lo, hi time.Duration = math.MaxInt64, 0
	for _, o := range ops {
		lo, hi = min(lo, o.Start), max(hi, o.End)
	}
	var out []porcupine.Annotation
	for _, f := range faults {
		end := f.End
		if end == 0 {
			end = hi
		}
		if end < lo || f.Start > hi {
			continue
		}
		out = append(out, porcupine.Annotation{Tag: "faults", Start: int64(max(f.Start, lo)), End: int64(min(end, hi)),
			Description: f.Kind, Details: f.Detail, BackgroundColor: faultColor(f.Kind)})
	}
	return out
}
