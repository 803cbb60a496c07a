package fsm

// The Lua machine scripts run in. API:
//
//   - scrVMPool.get / put: a pooled, sandboxed *lua.LState ready to run one
//     script. Each State has its own pool, a cache and never state. Between
//     runs nothing a script can reach changes: every table reachable from
//     the globals is read-only (as in Redis 7), the compiler's metering
//     helpers live in an environment no script can name (codeEnv), KEYS and
//     ARGV are replaced, the random generator is reset, and put checks the
//     machine against the seal taken when it was built (script_seal.go),
//     retiring it if anything differs.
//   - scrBudget: the counted instruction budget (a context.Context whose
//     Done() closes after N calls, gopher-lua asks once per instruction) and
//     the byte budget that metered builtins charge. Both are counted, never
//     timed, so a runaway script stops at the same point on every node.
//
// The sandbox, in short: no os, io, package/require, dofile, loadfile,
// print, coroutine, debug, getfenv/setfenv; load and loadstring compile
// source only, into the same sandbox; math.random is Redis's lrand48 reset
// at every run; tostring never shows an address; string building, tables
// grown far past their end, # and pattern matching are metered.

import (
	"context"
	"errors"
	"reflect"
	"strconv"
	"sync"
	"time"

	lua "github.com/yuin/gopher-lua"
)

// Script limits. They are part of the replicated behaviour: every node must
// use the same values, or a script near a limit could succeed on one node
// and fail on another.
const (
	// ScriptMaxInstructions is how many Lua VM instructions one script run
	// may execute (builtins that loop charge their work in the same unit).
	// gopher-lua runs 10-40 million instructions a second here, so a runaway
	// script holds the apply loop for about 0.25-1 s.
	ScriptMaxInstructions = 10_000_000
	// ScriptMaxBytes is how many bytes of strings and table slots one run
	// may create, counted as they are made (a string built piecewise counts
	// every intermediate copy).
	ScriptMaxBytes = 256 << 20
	// scrMaxCallDepth is the Lua call depth: Lua 5.1 allows about 16000
	// (Redis runs f(10000) for a recursive f), but when the stack is full
	// gopher-lua formats a traceback in time quadratic in the depth
	// (about 0.3 s at this depth, once per run).
	scrMaxCallDepth = 12000
	// scrMaxStack is how many values a builtin may return at once, Lua
	// 5.1's LUAI_MAXCSTACK ("too many results to unpack").
	scrMaxStack = 8000
	// scrReplyDepth is the nesting at which a returned table becomes
	// "ERR reached lua stack limit", as redis-server 7.0.15 answers.
	scrReplyDepth = 7995
)

// scrBudget meters one script run. The run (scrRun) is the state's
// context and hands Done to it: gopher-lua calls Done once before every
// instruction.
type scrBudget struct {
	instr int64 // instructions left
	bytes int64 // bytes left
	// stop is set once either budget is spent; from then on every
	// instruction fails, so pcall cannot swallow it for long.
	stop error
}

var (
	errScrInstructions = errors.New("Script stopped: it ran more than " + strconv.Itoa(ScriptMaxInstructions) + " Lua instructions")
	errScrBytes        = errors.New("Script stopped: it created more than " + strconv.Itoa(ScriptMaxBytes) + " bytes of strings and tables")
	scrClosed          = func() chan struct{} { c := make(chan struct{}); close(c); return c }()
)

func (b *scrBudget) reset() {
	*b = scrBudget{instr: ScriptMaxInstructions, bytes: ScriptMaxBytes}
}

// Done implements context.Context: it counts one instruction.
func (b *scrBudget) Done() <-chan struct{} {
	b.instr--
	if b.instr < 0 && b.stop == nil {
		b.stop = errScrInstructions
	}
	if b.stop != nil {
		return scrClosed
	}
	return nil
}

// Err implements context.Context.
func (b *scrBudget) Err() error { return b.stop }

// Deadline implements context.Context: there is none, the budget counts.
func (b *scrBudget) Deadline() (time.Time, bool) { return time.Time{}, false }

// Value implements context.Context.
func (b *scrBudget) Value(any) any { return nil }

var _ context.Context = (*scrBudget)(nil)

// settle stops the run if work charged without raising (a protected
// call's traceback) overdrew a budget after the last instruction.
func (b *scrBudget) settle() {
	if b.stop == nil && b.bytes < 0 {
		b.stop = errScrBytes
	}
	if b.stop == nil && b.instr < 0 {
		b.stop = errScrInstructions
	}
}

// charge takes work done by a builtin from the budgets and raises the
// budget error in L when either runs out.
func (b *scrBudget) charge(L *lua.LState, instr, bytes int64) {
	b.instr -= instr
	b.bytes -= bytes
	if b.stop == nil && b.bytes < 0 {
		b.stop = errScrBytes
	}
	if b.stop == nil && b.instr < 0 {
		b.stop = errScrInstructions
	}
	if b.stop != nil {
		L.RaiseError("%s", b.stop.Error())
	}
}

// scrVM is one sandboxed Lua state and the run it is serving.
type scrVM struct {
	L *lua.LState
	// globals holds the global names; env is the read-only view of it that
	// scripts see as _G; code is the environment compiled code runs in
	// (codeEnv), the helpers in front of the globals.
	globals *lua.LTable
	env     *lua.LTable
	code    *lua.LTable
	// seal is every shared table as built, checked after every run.
	seal scrSeal
	// real maps every read-only view to the table it shows.
	real map[*lua.LTable]*lua.LTable
	// gmeta is what getmetatable(_G) answers: Redis's globals have a
	// metatable, read-only like everything else.
	gmeta *lua.LTable
	// strMeta is the read-only view getmetatable("") answers.
	strMeta    *lua.LTable
	errHandler *lua.LFunction
	// threads are idle threads for protected calls; pcallDepth counts
	// the protected calls running.
	threads    []*lua.LState
	pcallDepth int
	run        *scrRun
	// broken is set when a Go panic escaped gopher-lua: the state may be
	// inconsistent and is not reused.
	broken bool
}

// scrVMPool keeps one State's idle machines. A pool is a cache, not state:
// each State has its own (a restored or cloned State starts cold), so two
// machines in one process never share a Lua VM, and a test can give a State
// a pool warmed by other scripts to prove that warm and cold VMs answer the
// same (DESIGN.md, invariant 5). Read-only scripts run under the machine's
// read lock, concurrently, hence the mutex.
type scrVMPool struct {
	mu   sync.Mutex
	idle []*scrVM
}

// scrVMsKept bounds the idle machines a pool keeps.
const scrVMsKept = 8

func (p *scrVMPool) get() *scrVM {
	p.mu.Lock()
	if n := len(p.idle); n > 0 {
		vm := p.idle[n-1]
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		return vm
	}
	p.mu.Unlock()
	return scrNewVM()
}

// scrNewVM is newScrVM, set in init: a machine's redis.call reaches the
// command table, which holds the script commands (an initialization cycle
// if named directly).
var scrNewVM func() *scrVM

func init() { scrNewVM = newScrVM }

// put takes vm back after a run, unless the run broke it or changed
// anything it shares with later runs (a hole in the sandbox: the machine is
// retired, and scrTaintedVMs counts it for the tests that look for holes).
func (p *scrVMPool) put(vm *scrVM) {
	if vm.broken {
		return
	}
	vm.run = nil
	vm.pcallDepth = 0
	vm.globals.RawSetString("KEYS", lua.LNil)
	vm.globals.RawSetString("ARGV", lua.LNil)
	vm.L.SetTop(0)
	if !vm.intact() {
		scrTaintedVMs.Add(1)
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.idle) < scrVMsKept {
		p.idle = append(p.idle, vm)
	}
}

func newScrVM() *scrVM {
	L := lua.NewState(lua.Options{
		SkipOpenLibs: true,
		// A fixed call stack: gopher-lua's growing one panics instead of
		// raising "stack overflow" when it is full.
		CallStackSize:    scrMaxCallDepth,
		RegistrySize:     1024 * 16,
		RegistryMaxSize:  1024 * 1024 * 4,
		RegistryGrowStep: 1024 * 16,
	})
	vm := &scrVM{L: L, globals: L.NewTable(), real: make(map[*lua.LTable]*lua.LTable)}
	vm.openBase()
	vm.globals.RawSetString("string", vm.readOnly(vm.stringLib()))
	vm.globals.RawSetString("table", vm.readOnly(vm.tableLib()))
	vm.globals.RawSetString("math", vm.readOnly(vm.mathLib()))
	vm.globals.RawSetString("redis", vm.readOnly(vm.redisLib()))
	// Reading a global that does not exist is an error (Redis 7).
	gmt := L.NewTable()
	gmt.RawSetString("__index", L.NewFunction(scrMissingGlobal))
	L.SetMetatable(vm.globals, gmt)
	vm.env = vm.readOnly(vm.globals)
	vm.globals.RawSetString("_G", vm.env)
	vm.gmeta = vm.readOnly(L.NewTable())
	// Strings index the (read-only) string library; the metatable itself
	// is only ever shown through a read-only view.
	smt := L.NewTable()
	smt.RawSetString("__index", vm.globals.RawGetString("string"))
	L.SetMetatable(lua.LString(""), smt)
	vm.strMeta = vm.readOnly(smt)
	// No stock global may stay reachable.
	L.G.Global = vm.env
	L.Env = vm.env
	vm.code = vm.codeEnv()
	vm.errHandler = L.NewFunction(vm.handleError)
	// KEYS and ARGV take their places in the globals' key order now, as
	// every run sets them: the first run must not change the shape sealed.
	for _, name := range []string{"KEYS", "ARGV"} {
		vm.globals.RawSetString(name, lua.LTrue)
		vm.globals.RawSetString(name, lua.LNil)
	}
	vm.seal = vm.sealShared()
	return vm
}

// codeEnv returns the environment compiled code runs in: the metering
// helpers the compiler calls (script_compile.go), then the globals. It is
// never a value a script can hold (there is no getfenv), so no script can
// name, read or call a helper except where the compiler put the call: _G,
// rawget, next and pairs see the globals, which hold no helper. A global
// write misses it and fails as a write to _G does.
func (vm *scrVM) codeEnv() *lua.LTable {
	code := vm.L.NewTable()
	scrSetFuncs(vm.L, code, vm.helpers())
	mt := vm.L.NewTable()
	mt.RawSetString("__index", vm.globals)
	mt.RawSetString("__newindex", vm.L.NewFunction(scrReadOnlyWrite))
	vm.L.SetMetatable(code, mt)
	return code
}

// readOnly returns a view of t whose every write fails with Redis's
// "Attempt to modify a readonly table". The view is empty, so even writes
// to existing keys reach __newindex; rawset, setmetatable, table.insert
// and friends refuse views explicitly.
func (vm *scrVM) readOnly(t *lua.LTable) *lua.LTable {
	view := vm.L.NewTable()
	mt := vm.L.NewTable()
	mt.RawSetString("__index", t)
	mt.RawSetString("__newindex", vm.L.NewFunction(scrReadOnlyWrite))
	vm.L.SetMetatable(view, mt)
	vm.real[view] = t
	return view
}

// writable fails, as Redis's readonly tables do, when t is a read-only
// view. Builtins that write raw (rawset, table.insert, ...) call it.
func (vm *scrVM) writable(L *lua.LState, t *lua.LTable) {
	if _, ro := vm.real[t]; ro {
		L.Error(lua.LString("Attempt to modify a readonly table"), 0)
	}
}

func scrReadOnlyWrite(L *lua.LState) int {
	L.RaiseError("Attempt to modify a readonly table")
	return 0
}

func scrMissingGlobal(L *lua.LState) int {
	L.RaiseError("Script attempted to access nonexistent global variable '%s'", scrToString(L, L.Get(2)))
	return 0
}

// scrArrayField is the index of gopher-lua's LTable.array. gopher-lua grows
// a table's array part by padding it with nils up to any integer key below
// 2^26, in one instruction; the metered table helpers read the array's
// length to charge that padding (and the scan of # over trailing nils).
var scrArrayField = func() []int {
	f, ok := reflect.TypeOf(lua.LTable{}).FieldByName("array")
	if !ok || f.Type != reflect.TypeOf([]lua.LValue(nil)) {
		panic("fsm: gopher-lua's LTable has no array []LValue field; the script sandbox must be updated")
	}
	return f.Index
}()

// scrArrayLen is the length of t's array part, nils included.
func scrArrayLen(t *lua.LTable) int {
	return reflect.ValueOf(t).Elem().FieldByIndex(scrArrayField).Len()
}
