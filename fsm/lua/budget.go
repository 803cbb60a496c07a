package lua

import (
	"context"
	"strconv"
	"time"

	lua "github.com/yuin/gopher-lua"
)

// Script limits. They are part of the replicated behaviour: every node must
// run with the same Budget, or a script near a limit could succeed on one
// node and fail on another.
const (
	// MaxInstructions is how many Lua VM instructions one script run
	// may execute (builtins that loop charge their work in the same unit).
	// gopher-lua runs 10-40 million instructions a second here, so a runaway
	// script holds the apply loop for about 0.25-1 s.
	MaxInstructions = 10_000_000
	// MaxBytes is how many bytes of strings and table slots one run
	// may create, counted as they are made (a string built piecewise counts
	// every intermediate copy).
	MaxBytes = 256 << 20
	// maxCallDepth is the Lua call depth: Lua 5.1 allows about 16000
	// (Redis runs f(10000) for a recursive f), but when the stack is full
	// gopher-lua formats a traceback in time quadratic in the depth
	// (about 0.3 s at this depth, once per run).
	maxCallDepth = 12000
	// maxStack is how many values a builtin may return at once, Lua
	// 5.1's LUAI_MAXCSTACK ("too many results to unpack").
	maxStack = 8000
	// ReplyDepth is the nesting at which a returned table becomes
	// "ERR reached lua stack limit", as redis-server 7.0.15 answers.
	ReplyDepth = 7995
)

// Budget is what one run may spend: VM instructions (builtins charge
// their loops in the same unit) and bytes of strings and table slots.
type Budget struct {
	Instructions int64
	Bytes        int64
}

// DefaultBudget is the budget every node gives every script.
var DefaultBudget = Budget{Instructions: MaxInstructions, Bytes: MaxBytes}

// meter meters one script run. The run (runState) is the state's
// context and hands Done to it: gopher-lua calls Done once before every
// instruction.
type meter struct {
	limit Budget
	instr int64 // instructions left
	bytes int64 // bytes left
	// stop is set once either budget is spent; from then on every
	// instruction fails, so pcall cannot swallow it for long.
	stop *stopError
}

// stopError is why a run was stopped: its budget ran out.
type stopError struct{ msg string }

func (e *stopError) Error() string { return e.msg }

var closed = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

func (b *meter) reset(limit Budget) {
	*b = meter{limit: limit, instr: limit.Instructions, bytes: limit.Bytes}
}

// Done implements context.Context: it counts one instruction.
func (b *meter) Done() <-chan struct{} {
	b.instr--
	if b.instr < 0 && b.stop == nil {
		b.outOfInstructions()
	}
	if b.stop != nil {
		return closed
	}
	return nil
}

func (b *meter) outOfInstructions() {
	b.stop = &stopError{"Script stopped: it ran more than " + strconv.FormatInt(b.limit.Instructions, 10) + " Lua instructions"}
}

func (b *meter) outOfBytes() {
	b.stop = &stopError{"Script stopped: it created more than " + strconv.FormatInt(b.limit.Bytes, 10) + " bytes of strings and tables"}
}

// Err implements context.Context.
func (b *meter) Err() error {
	if b.stop == nil {
		return nil
	}
	return b.stop
}

// Deadline implements context.Context: there is none, the budget counts.
func (b *meter) Deadline() (time.Time, bool) { return time.Time{}, false }

// Value implements context.Context.
func (b *meter) Value(any) any { return nil }

var _ context.Context = (*meter)(nil)

// settle stops the run if work charged without raising (a protected
// call's traceback) overdrew a budget after the last instruction.
func (b *meter) settle() {
	if b.stop == nil && b.bytes < 0 {
		b.outOfBytes()
	}
	if b.stop == nil && b.instr < 0 {
		b.outOfInstructions()
	}
}

// spend takes work from the budgets; false once either has run out.
func (b *meter) spend(instr, bytes int64) bool {
	b.instr -= instr
	b.bytes -= bytes
	b.settle()
	return b.stop == nil
}

// charge takes work done by a builtin from the budgets and raises the
// budget error in L when either runs out.
func (b *meter) charge(L *lua.LState, instr, bytes int64) {
	if !b.spend(instr, bytes) {
		L.RaiseError("%s", b.stop.Error())
	}
}
