package fsm

import (
	"runtime"
	"strings"
	"testing"
)

// Every builtin is charged for the work it does, so the script budget
// bounds what one run costs on every node. Time is not asserted here
// (benchmarks measure time); what is checked is the memory a run
// allocates, which is where unmetered work shows: a buffer grown
// piecewise copies its contents again at every growth.

// scrCostly are scripts that make builtins do as much as one call can.
var scrCostly = []struct{ name, body string }{
	{"table.concat of 300 MiB", "local s = string.rep('x', 2^20) local t = {} for i = 1, 300 do t[i] = s end return #table.concat(t)"},
	{"table.concat with a long separator", "local t = {} for i = 1, 3000 do t[i] = 'a' end return #table.concat(t, string.rep('-', 2^17))"},
	{"string.rep with a separator", "return #string.rep('ab', 2^20, string.rep('-', 2^10))"},
	{"gsub that grows its result", "local s = string.rep('a', 2^20) return #s:gsub('a', string.rep('b', 512))"},
	{"string.format of huge strings", "local s = string.rep('x', 2^26) return #string.format('%s%s%s%s%s', s, s, s, s, s)"},
	{"concatenation in a loop", "local s = '' for i = 1, 2^16 do s = s .. string.rep('x', 2^10) end return #s"},
	{"upper of a huge string, again and again", "local s = string.rep('x', 2^26) for i = 1, 20 do s = s:upper():lower() end return #s"},
	{"unpack of a long table", "local t = {} for i = 1, 7000 do t[i] = i end for i = 1, 2000 do select('#', unpack(t)) end return 1"},
}

// scrMaxAllocPerRun is what a run may allocate in all: its byte budget
// and as much again for the runtime's own copies and bookkeeping.
const scrMaxAllocPerRun = 2*ScriptMaxBytes + 64<<20

func TestScriptBuiltinsAllocateNoMoreThanTheyCharge(t *testing.T) {
	for _, tc := range scrCostly {
		t.Run(tc.name, func(t *testing.T) {
			n := scrNewNode(t)
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			reply := scrWire(n.do(scrEval(tc.body, 0)...))
			runtime.ReadMemStats(&after)
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > scrMaxAllocPerRun {
				t.Fatalf("exp at most %d MiB allocated by one run, got %d MiB (reply %.80q)", scrMaxAllocPerRun>>20, alloc>>20, reply)
			}
			if strings.HasPrefix(reply, "-") && !strings.Contains(reply, "Script stopped") {
				t.Fatalf("exp a result or a budget error, got %.200q", reply)
			}
		})
	}
}
