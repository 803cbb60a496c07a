package lua

// The Lua machine scripts run in. API:
//
//   - Pool.get / put (pool.go): a pooled, sandboxed *lua.LState ready to
//     run one script. Each state machine has its own pool, a cache and
//     never state. Between
//     runs nothing a script can reach changes: every table reachable from
//     the globals is read-only (as in Redis 7), the compiler's metering
//     helpers live in an environment no script can name (codeEnv), KEYS and
//     ARGV are replaced, the random generator starts from the host's seed, and put checks the
//     machine against the seal taken when it was built (seal.go),
//     retiring it if anything differs.
//   - meter (budget.go): the counted instruction budget (a context.Context whose
//     Done() closes after N calls, gopher-lua asks once per instruction) and
//     the byte budget that metered builtins charge. Both are counted, never
//     timed, so a runaway script stops at the same point on every node.
//
// The sandbox, in short: no os, io, package/require, dofile, loadfile,
// print, coroutine, debug, getfenv/setfenv; load and loadstring compile
// source only, into the same sandbox; math.random is Redis's lrand48 from
// the host's seed; tostring never shows an address; string building, tables
// grown far past their end, # and pattern matching are metered.

import (
	"reflect"

	lua "github.com/yuin/gopher-lua"
)

// machine is one sandboxed Lua state and the run it is serving.
type machine struct {
	L *lua.LState
	// globals holds the global names; env is the read-only view of it that
	// scripts see as _G; code is the environment compiled code runs in
	// (codeEnv), the helpers in front of the globals.
	globals *lua.LTable
	env     *lua.LTable
	code    *lua.LTable
	// seal is every shared table as built, checked after every run.
	seal sealRec
	// real maps every read-only view to the table it shows.
	real map[*lua.LTable]*lua.LTable
	// gmeta is what getmetatable(_G) answers: Redis's globals have a
	// metatable, read-only like everything else.
	gmeta *lua.LTable
	// strMeta is the read-only view getmetatable("") answers.
	strMeta    *lua.LTable
	errHandler *lua.LFunction
	// libCode is the environment a library's code runs in (library.go):
	// the helpers, then libMeta's __index, libAPI while it loads and the
	// globals while a callback runs.
	libCode, libMeta, libAPI *lua.LTable
	// null is cjson.null.
	null *lua.LUserData
	// threads are idle threads for protected calls; pcallDepth counts
	// the protected calls running.
	threads    []*lua.LState
	pcallDepth int
	// run is the run being served, nil between runs; it points to last,
	// which each run overwrites whole (one allocation fewer per EVAL).
	run  *runState
	last runState
	// broken is set when a Go panic escaped gopher-lua: the state may be
	// inconsistent and is not reused.
	broken bool
}

func newVM(libraries bool) *machine {
	L := lua.NewState(lua.Options{
		SkipOpenLibs: true,
		// A fixed call stack: gopher-lua's growing one panics instead of
		// raising "stack overflow" when it is full.
		CallStackSize:    maxCallDepth,
		RegistrySize:     1024 * 16,
		RegistryMaxSize:  1024 * 1024 * 4,
		RegistryGrowStep: 1024 * 16,
	})
	vm := &machine{L: L, globals: L.NewTable(), real: make(map[*lua.LTable]*lua.LTable)}
	vm.openBase()
	vm.globals.RawSetString("string", vm.readOnly(vm.stringLib()))
	vm.globals.RawSetString("table", vm.readOnly(vm.tableLib()))
	vm.globals.RawSetString("math", vm.readOnly(vm.mathLib()))
	vm.globals.RawSetString("redis", vm.readOnly(vm.redisLib()))
	// cjson.null is Redis's NULL light userdata: one per machine, never
	// given a metatable, equal to itself only.
	vm.null = L.NewUserData()
	if libraries {
		vm.globals.RawSetString("cjson", vm.readOnly(vm.cjsonLib(runCjson)))
		vm.globals.RawSetString("cmsgpack", vm.readOnly(vm.cmsgpackLib()))
		vm.globals.RawSetString("bit", vm.readOnly(vm.bitLib()))
		vm.globals.RawSetString("struct", vm.readOnly(vm.structLib()))
	}
	// Reading a global that does not exist is an error (Redis 7).
	gmt := L.NewTable()
	gmt.RawSetString("__index", L.NewFunction(missingGlobal))
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
	vm.libraryEnv()
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
// helpers the compiler calls (compile.go), then the globals. It is
// never a value a script can hold (there is no getfenv), so no script can
// name, read or call a helper except where the compiler put the call: _G,
// rawget, next and pairs see the globals, which hold no helper. A global
// write misses it and fails as a write to _G does.
func (vm *machine) codeEnv() *lua.LTable {
	code := vm.L.NewTable()
	setFuncs(vm.L, code, vm.helpers())
	mt := vm.L.NewTable()
	mt.RawSetString("__index", vm.globals)
	mt.RawSetString("__newindex", vm.L.NewFunction(readOnlyWrite))
	vm.L.SetMetatable(code, mt)
	return code
}

// readOnly returns a view of t whose every write fails with Redis's
// "Attempt to modify a readonly table". The view is empty, so even writes
// to existing keys reach __newindex; rawset, setmetatable, table.insert
// and friends refuse views explicitly.
func (vm *machine) readOnly(t *lua.LTable) *lua.LTable {
	view := vm.L.NewTable()
	mt := vm.L.NewTable()
	mt.RawSetString("__index", t)
	mt.RawSetString("__newindex", vm.L.NewFunction(readOnlyWrite))
	vm.L.SetMetatable(view, mt)
	vm.real[view] = t
	return view
}

// writable fails, as Redis's readonly tables do, when t is a read-only
// view. Builtins that write raw (rawset, table.insert, ...) call it.
func (vm *machine) writable(L *lua.LState, t *lua.LTable) {
	if _, ro := vm.real[t]; ro {
		L.Error(lua.LString("Attempt to modify a readonly table"), 0)
	}
}

func readOnlyWrite(L *lua.LState) int {
	L.RaiseError("Attempt to modify a readonly table")
	return 0
}

func missingGlobal(L *lua.LState) int {
	L.RaiseError("Script attempted to access nonexistent global variable '%s'", toString(L, L.Get(2)))
	return 0
}

// arrayField is the index of gopher-lua's LTable.array. gopher-lua grows
// a table's array part by padding it with nils up to any integer key below
// 2^26, in one instruction; the metered table helpers read the array's
// length to charge that padding (and the scan of # over trailing nils).
var arrayField = func() []int {
	f, ok := reflect.TypeOf(lua.LTable{}).FieldByName("array")
	if !ok || f.Type != reflect.TypeOf([]lua.LValue(nil)) {
		panic("lua: gopher-lua's LTable has no array []LValue field; the script sandbox must be updated")
	}
	return f.Index
}()

// arrayLen is the length of t's array part, nils included.
func arrayLen(t *lua.LTable) int {
	return reflect.ValueOf(t).Elem().FieldByIndex(arrayField).Len()
}
