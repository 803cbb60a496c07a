package main

import (
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
)

// Checker tests on hand-written histories: each checker must pass what is
// right and fail what is wrong, without a cluster.

func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }

func linOp(f, value string, start, end int, oc outcome) *op {
	o := &op{Workload: "lin", Key: "lin:0", F: f, Start: ms(start), End: ms(end), Outcome: oc}
	if value != "" {
		o.Values = []string{value}
	}
	return o
}

func TestListModelJudgesHistories(t *testing.T) {
	push := func(v string, s, e int, n int64, oc outcome) *op {
		o := linOp("rpush", v, s, e, oc)
		o.N = n
		return o
	}
	read := func(s, e int, list ...string) *op {
		o := linOp("lrange", "", s, e, ok)
		o.List = list
		return o
	}
	pop := func(v string, s, e int, oc outcome) *op {
		o := linOp("rpop", v, s, e, oc)
		o.Nil = v == "" && oc == ok
		return o
	}
	for _, tc := range []struct {
		name string
		ops  []*op
		exp  porcupine.CheckResult
	}{
		{"a read after an acknowledged push sees it", []*op{push("v1", 0, 10, 1, ok), read(20, 30, "v1")}, porcupine.Ok},
		{"a read after an acknowledged push that misses it is stale", []*op{push("v1", 0, 10, 1, ok), read(20, 30)}, porcupine.Illegal},
		{"a concurrent read may miss a push", []*op{push("v1", 0, 30, 1, ok), read(10, 20)}, porcupine.Ok},
		{"an unknown push may never happen", []*op{push("v1", 0, 10, 0, unknown), read(20, 30), read(40, 50)}, porcupine.Ok},
		{"an unknown push may happen late", []*op{push("v1", 0, 10, 0, unknown), read(20, 30), read(40, 50, "v1")}, porcupine.Ok},
		{"an unknown push cannot vanish once seen", []*op{push("v1", 0, 10, 0, unknown), read(20, 30, "v1"), read(40, 50)}, porcupine.Illegal},
		{"a pop returns the tail", []*op{push("v1", 0, 10, 1, ok), push("v2", 20, 30, 2, ok), pop("v2", 40, 50, ok)}, porcupine.Ok},
		{"a pop cannot return an element twice", []*op{push("v1", 0, 10, 1, ok), pop("v1", 20, 30, ok), pop("v1", 40, 50, ok)}, porcupine.Illegal},
		{"a push's length must match", []*op{push("v1", 0, 10, 1, ok), push("v2", 20, 30, 1, ok)}, porcupine.Illegal},
		{"an unknown pop may have taken the element", []*op{push("v1", 0, 10, 1, ok), pop("", 20, 30, unknown), read(40, 50)}, porcupine.Ok},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := porcupine.CheckOperationsTimeout(listModel, porcupineOps(tc.ops), time.Second)
			if got != tc.exp {
				t.Fatalf("exp %s, got %s", tc.exp, got)
			}
		})
	}
}

func TestUnknownOperationsNeverReturn(t *testing.T) {
	ops := porcupineOps([]*op{linOp("rpush", "v1", 0, 10, unknown), linOp("rpop", "", 0, 10, failed)})
	if len(ops) != 1 || ops[0].Return != math.MaxInt64 {
		t.Fatalf("exp one op returning at infinity and the failed one dropped, got %+v", ops)
	}
}

func queueRun(final map[string][]string, ops ...*op) checkResult {
	for _, o := range ops {
		o.Workload = "queue"
	}
	w := &queueWL{final: final}
	return w.check(&runResult{ops: ops})
}

func qpush(e string, oc outcome) *op {
	return &op{F: "rpush", Key: "q:0", Values: []string{e}, Outcome: oc}
}

func qpop(e string, oc outcome) *op {
	o := &op{F: "rpop", Key: "q:0", Outcome: oc}
	if e != "" {
		o.Values = []string{e}
	}
	return o
}

func TestQueueCheckerJudgesHistories(t *testing.T) {
	empty := map[string][]string{"q:0": nil, "q:0:done": nil}
	for _, tc := range []struct {
		name  string
		final map[string][]string
		ops   []*op
		pass  bool
		want  string
	}{
		{"popped once", empty, []*op{qpush("a", ok), qpop("a", ok)}, true, ""},
		{"still present", map[string][]string{"q:0": {"a"}}, []*op{qpush("a", ok)}, true, ""},
		{"moved to done", map[string][]string{"q:0:done": {"a"}},
			[]*op{qpush("a", ok), {F: "blmove", Key: "q:0", Dst: "q:0:done", Values: []string{"a"}, Outcome: ok}}, true, ""},
		{"lost", empty, []*op{qpush("a", ok)}, false, "are gone"},
		{"lost but an unknown pop may have taken it", empty, []*op{qpush("a", ok), qpop("", unknown)}, true, ""},
		{"popped twice", empty, []*op{qpush("a", ok), qpop("a", ok), qpop("a", ok)}, false, "more than once"},
		{"popped and still present", map[string][]string{"q:0": {"a"}}, []*op{qpush("a", ok), qpop("a", ok)}, false, "more than once"},
		{"never pushed", map[string][]string{"q:0": {"z"}}, nil, false, "never pushed"},
		{"refused but applied", map[string][]string{"q:0": {"a"}}, []*op{qpush("a", failed)}, false, "refused"},
		{"unknown push applied", map[string][]string{"q:0": {"a"}}, []*op{qpush("a", unknown)}, true, ""},
		{"unknown push not applied", empty, []*op{qpush("a", unknown)}, true, ""},
		{"a fault's blocked client answered", empty,
			[]*op{qpush("a", ok), {F: "blpop", Key: "q:0", Values: []string{"a"}, Outcome: ok, MustAnswer: true}}, true, ""},
		{"a fault's blocked client hung, its element gone", empty,
			[]*op{qpush("a", ok), {F: "blpop", Key: "q:0", Outcome: unknown, MustAnswer: true, Hung: true}}, false, "hung"},
		{"a hung client excuses no loss", empty,
			[]*op{qpush("a", ok), {F: "blpop", Key: "q:0", Outcome: unknown, MustAnswer: true, Hung: true}}, false, "are gone"},
		{"a fault's blocked client told of an error", empty,
			[]*op{qpush("a", ok), {F: "blpop", Key: "q:0", Outcome: unknown, MustAnswer: true, Err: "UNCERTAIN ..."}}, true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := queueRun(tc.final, tc.ops...)
			if r.Pass != tc.pass || !strings.Contains(strings.Join(r.Detail, "\n"), tc.want) {
				t.Fatalf("exp pass=%v with %q, got pass=%v:\n%s", tc.pass, tc.want, r.Pass, strings.Join(r.Detail, "\n"))
			}
		})
	}
}

func TestMembershipCheckerWantsAcknowledgedRemovalsKept(t *testing.T) {
	for _, tc := range []struct {
		name    string
		members []string
		acks    []memberAck
		want    string
	}{
		{"as the harness has it", []string{"node1", "node2", "node3"}, nil, ""},
		{"a removal answered OK but undone", []string{"node1", "node2", "node3"},
			[]memberAck{{Via: "node1", Removed: "node2"}}, "RAFT REMOVENODE node2 was answered OK by node1"},
		{"a member the harness does not have", []string{"node1", "node2", "node3", "node4"}, nil, "the members are node1,node2,node3,node4"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fails := judgeMembers(tc.members, []string{"node1", "node2", "node3"}, tc.acks)
			got := strings.Join(fails, "\n")
			if (tc.want == "") != (len(fails) == 0) || !strings.Contains(got, tc.want) {
				t.Fatalf("exp failures containing %q, got %q", tc.want, got)
			}
		})
	}
}

func TestTransferCheckerWantsEveryTokenOnce(t *testing.T) {
	w := &transferWL{tokens: []string{"tok0", "tok1"}}
	for _, tc := range []struct {
		name  string
		final map[string][]string
		pass  bool
	}{
		{"conserved", map[string][]string{"t:0": {"tok1"}, "t:3": {"tok0"}}, true},
		{"one missing", map[string][]string{"t:0": {"tok1"}}, false},
		{"one twice", map[string][]string{"t:0": {"tok1", "tok0"}, "t:1": {"tok0"}}, false},
		{"a stranger", map[string][]string{"t:0": {"tok1", "tok0", "x"}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w.final = tc.final
			if r := w.check(&runResult{}); r.Pass != tc.pass {
				t.Fatalf("exp pass=%v, got %v: %v", tc.pass, r.Pass, r.Detail)
			}
		})
	}
}

// The TTL checker on hand-written histories of one key with a deadline at
// 1000 (log time): what the log and the reads may show, and when.
func TestTTLCheckerJudgesHistories(t *testing.T) {
	set := &op{Workload: "ttl", Key: "ttl:0:0", F: "set-pexpireat", N: 1000, Start: ms(0), End: ms(5), Outcome: ok}
	seen := func(at int64, s, e int, present bool) *op {
		o := &op{Workload: "ttl", Key: "ttl:0:0", F: "log", N: at, Start: ms(s), End: ms(e), Outcome: ok, List: []string{"-2"}, Nil: !present}
		if present {
			o.Values, o.List = []string{"ttl:0:0"}, []string{strconv.FormatInt(1000-at, 10)}
		}
		return o
	}
	get := func(s, e int, present bool) *op {
		o := &op{Workload: "ttl", Key: "ttl:0:0", F: "get", Start: ms(s), End: ms(e), Outcome: ok, Nil: !present}
		if present {
			o.Values = []string{"ttl:0:0"}
		}
		return o
	}
	other := func(at int64, s, e int) *op {
		return &op{Workload: "ttl", Key: "ttl:0:1", F: "log", N: at, Start: ms(s), End: ms(e), Outcome: ok, List: []string{"-2"}, Nil: true}
	}
	for _, tc := range []struct {
		name string
		ops  []*op
		pass bool
		want string
	}{
		{"present before, gone after the deadline", []*op{set, seen(900, 10, 20, true), seen(1000, 30, 40, false), get(50, 60, false)}, true, ""},
		{"a read before the log saw it gone may show it", []*op{set, get(10, 45, true), seen(1000, 30, 40, false)}, true, ""},
		{"the log clock goes back", []*op{set, seen(950, 10, 20, true), seen(900, 30, 40, true)}, false, "log clock went back"},
		{"gone before its deadline", []*op{set, seen(999, 10, 20, false)}, false, "before its deadline"},
		{"present past its deadline", []*op{set, seen(1000, 10, 20, true)}, false, "past its deadline"},
		{"a read after the log saw it gone shows it", []*op{set, seen(1001, 10, 20, false), get(30, 40, true)}, false, "saw gone"},
		{"a read after another key's entry ran past the deadline shows it", []*op{set, other(1005, 10, 20), get(30, 40, true)}, false, "past its deadline"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := &ttlWL{drained: true}
			r := w.check(&runResult{ops: tc.ops})
			if r.Pass != tc.pass || !strings.Contains(strings.Join(r.Detail, "\n"), tc.want) {
				t.Fatalf("exp pass=%v with %q, got pass=%v:\n%s", tc.pass, tc.want, r.Pass, strings.Join(r.Detail, "\n"))
			}
		})
	}
}
