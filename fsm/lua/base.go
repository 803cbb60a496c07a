package lua

// The base library scripts see: Lua 5.1's as redis-server 7.0.15 ships it,
// minus what would make a node differ from another (addresses in tostring,
// the collector's counters) or let one instruction use unbounded time or
// memory. Protected calls are in protect.go, the table and math
// libraries in tablelib.go, the string library in strlib.go.

import (
	"math"
	"sort"
	"strconv"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// openBase fills the globals with Lua 5.1's base library as Redis 7.0
// keeps it: no print, dofile, loadfile, require, module, getfenv, setfenv,
// newproxy.
func (vm *machine) openBase() {
	g := vm.globals
	g.RawSetString("_VERSION", lua.LString("Lua 5.1"))
	next := vm.L.NewFunction(vm.next)
	g.RawSetString("next", next)
	g.RawSetString("pairs", vm.L.NewClosure(pairs, next))
	g.RawSetString("ipairs", vm.L.NewClosure(ipairs, vm.L.NewFunction(vm.ipairsAux)))
	setFuncs(vm.L, g, map[string]lua.LGFunction{
		"assert": assert, "error": luaError, "tostring": tostring,
		"pcall": vm.pcall, "xpcall": vm.xpcall,
		"getmetatable": vm.getmetatable, "setmetatable": vm.setmetatable,
		"rawget": vm.rawget, "rawset": vm.rawset, "unpack": vm.unpack,
		"load": vm.load, "loadstring": vm.loadstring,
		"collectgarbage": collectGarbage, "gcinfo": gcInfo,
		"rawequal": rawEqual, "select": luaSelect, "tonumber": tonumber, "type": luaType,
	})
}

// type (v)
func luaType(L *lua.LState) int {
	checkAny(L, 1, "type")
	L.Push(lua.LString(L.Get(1).Type().String()))
	return 1
}

// rawequal (v1, v2)
func rawEqual(L *lua.LState) int {
	checkAny(L, 1, "rawequal")
	checkAny(L, 2, "rawequal")
	L.Push(lua.LBool(L.Get(1) == L.Get(2)))
	return 1
}

// select (index, ...)
func luaSelect(L *lua.LState) int {
	n := L.GetTop()
	if s, ok := L.Get(1).(lua.LString); ok && strings.HasPrefix(string(s), "#") {
		L.Push(lua.LNumber(n - 1))
		return 1
	}
	i := int64(checkInt32(L, 1, "select"))
	if i < 0 {
		i += int64(n)
	} else if i > int64(n) {
		i = int64(n)
	}
	if i < 1 {
		argError(L, 1, "select", "index out of range")
	}
	return n - int(i)
}

// tonumber (e [, base]) as Lua 5.1: base 10 reads what strtod reads,
// other bases what strtoul reads.
func tonumber(L *lua.LState) int {
	base := optInt(L, 2, "tonumber", 10)
	if s, ok := L.Get(1).(lua.LString); ok {
		runOf(L).budget.charge(L, int64(len(s))/64, 0)
	}
	if base == 10 {
		checkAny(L, 1, "tonumber")
		if f, ok := toNumber(L.Get(1)); ok {
			L.Push(lua.LNumber(f))
			return 1
		}
		L.Push(lua.LNil)
		return 1
	}
	s := cString(checkString(L, 1, "tonumber"))
	if base < 2 || base > 36 {
		argError(L, 2, "tonumber", "base out of range")
	}
	L.Push(parseInBase(s, uint64(base)))
	return 1
}

// parseInBase reads s as tonumber does in a base other than 10: an
// optional sign, 0x in base 16, digits, nothing else but spaces.
func parseInBase(s string, base uint64) lua.LValue {
	s = strings.TrimLeft(s, spaces)
	neg := false
	if s != "" && (s[0] == '-' || s[0] == '+') {
		neg, s = s[0] == '-', s[1:]
	}
	if base == 16 && len(s) > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		s = s[2:]
	}
	var n uint64
	digits := 0
	for ; digits < len(s); digits++ {
		d := digitValue(s[digits])
		if d >= base {
			break
		}
		n = n*base + d
	}
	if digits == 0 || strings.TrimLeft(s[digits:], spaces) != "" {
		return lua.LNil
	}
	if neg {
		n = -n
	}
	return lua.LNumber(n)
}

// digitValue is c's value as a digit in bases up to 36, or 99.
func digitValue(c byte) uint64 {
	switch {
	case '0' <= c && c <= '9':
		return uint64(c - '0')
	case 'a' <= c && c <= 'z':
		return uint64(c-'a') + 10
	case 'A' <= c && c <= 'Z':
		return uint64(c-'A') + 10
	}
	return 99
}

// setFuncs stores fns in t in name order: a table's iteration order is
// its insertion order, and pairs() must walk it the same way on every node.
func setFuncs(L *lua.LState, t *lua.LTable, fns map[string]lua.LGFunction) {
	names := make([]string, 0, len(fns))
	for name := range fns {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		t.RawSetString(name, L.NewFunction(fns[name]))
	}
}

// show returns the table a read-only view shows, or t itself.
func (vm *machine) show(t *lua.LTable) *lua.LTable {
	if r, ok := vm.real[t]; ok {
		return r
	}
	return t
}

// assert (v [, message])
func assert(L *lua.LState) int {
	if L.GetTop() == 0 {
		argError(L, 1, "assert", "value expected")
	}
	if !lua.LVAsBool(L.Get(1)) {
		L.RaiseError("%s", optString(L, 2, "assert", "assertion failed!"))
	}
	return L.GetTop()
}

// error (message [, level]) as Lua 5.1: a string or number message gets
// the position of the function at level, when that is Lua code.
func luaError(L *lua.LState) int {
	obj := L.Get(1)
	level := optInt(L, 2, "error", 1)
	if s, ok := stringOf(obj); ok && level > 0 {
		obj = lua.LString(where(L, int(min(level, 1<<20))) + s)
	}
	L.Error(obj, 0)
	return 0
}

// where is luaL_where: "chunk:line: " for the Lua function at level
// (1: the caller of the running builtin), or "" for Go code.
func where(L *lua.LState, level int) string {
	dbg, ok := L.GetStack(level)
	if !ok {
		return ""
	}
	if _, err := L.GetInfo("Sl", dbg, lua.LNil); err != nil || dbg.Source == "" || dbg.CurrentLine <= 0 {
		return ""
	}
	return dbg.Source + ":" + strconv.Itoa(dbg.CurrentLine) + ": "
}

// tostring (e)
func tostring(L *lua.LState) int {
	if L.GetTop() == 0 {
		argError(L, 1, "tostring", "value expected")
	}
	v := L.Get(1)
	if mm := L.GetMetaField(v, "__tostring"); mm != lua.LNil {
		L.Push(mm)
		L.Push(v)
		L.Call(1, 1)
		return 1
	}
	L.Push(lua.LString(toString(L, v)))
	return 1
}

// getmetatable (object): the string metatable and Redis's read-only
// globals metatable are shown read-only; library tables have none.
func (vm *machine) getmetatable(L *lua.LState) int {
	if L.GetTop() == 0 {
		argError(L, 1, "getmetatable", "value expected")
	}
	switch v := L.Get(1).(type) {
	case lua.LString:
		L.Push(vm.strMeta)
		return 1
	case *lua.LTable:
		if v == vm.env {
			L.Push(vm.gmeta)
			return 1
		}
		if _, ro := vm.real[v]; ro {
			L.Push(lua.LNil)
			return 1
		}
		L.Push(L.GetMetatable(v))
		return 1
	}
	L.Push(lua.LNil)
	return 1
}

// setmetatable (table, metatable)
func (vm *machine) setmetatable(L *lua.LState) int {
	t, ok := L.Get(1).(*lua.LTable)
	if !ok {
		typeError(L, 1, "setmetatable", "table")
	}
	mt := L.Get(2)
	if mt.Type() != lua.LTNil && mt.Type() != lua.LTTable {
		argError(L, 2, "setmetatable", "nil or table expected")
	}
	if L.GetMetaField(t, "__metatable") != lua.LNil {
		L.RaiseError("cannot change a protected metatable")
	}
	vm.writable(L, t)
	L.SetMetatable(t, mt)
	L.SetTop(1)
	return 1
}

// rawget (table, index)
func (vm *machine) rawget(L *lua.LState) int {
	t := checkTable(L, 1, "rawget")
	checkAny(L, 2, "rawget")
	L.Push(vm.show(t).RawGet(L.Get(2)))
	return 1
}

// rawset (table, index, value)
func (vm *machine) rawset(L *lua.LState) int {
	t := checkTable(L, 1, "rawset")
	checkAny(L, 2, "rawset")
	checkAny(L, 3, "rawset")
	vm.writable(L, t)
	vm.rawSetChecked(L, t, L.Get(2), L.Get(3), false)
	L.SetTop(1)
	return 1
}

// next (table [, index]): a read-only view iterates what it shows; the
// scan over nils in the array part is metered.
func (vm *machine) next(L *lua.LState) int {
	t := vm.show(checkTable(L, 1, "next"))
	k, v := vm.nextOf(L, t, L.Get(2))
	if k == lua.LNil {
		L.Push(lua.LNil)
		return 1
	}
	L.Push(k)
	L.Push(v)
	return 2
}

func (vm *machine) nextOf(L *lua.LState, t *lua.LTable, key lua.LValue) (lua.LValue, lua.LValue) {
	n := arrayLen(t)
	i := 0
	// Compared as floats: converting a key of 2^63 or more to int first is
	// MinInt64 on amd64 (a scan of 2^63 slots) and saturates on arm64, so
	// nodes of two architectures would part ways.
	if f, ok := key.(lua.LNumber); ok && float64(f) == math.Trunc(float64(f)) && f >= 1 && float64(f) <= float64(n) {
		i = int(f)
	} else if key != lua.LNil {
		k, v := t.Next(key)
		return k, v
	}
	for start := i; i < n; i++ {
		if v := t.RawGetInt(i + 1); v != lua.LNil {
			vm.run.budget.charge(L, int64(i-start)/16, 0)
			return lua.LNumber(i + 1), v
		}
	}
	vm.run.budget.charge(L, int64(n)/16, 0)
	if n == 0 {
		return t.Next(lua.LNil)
	}
	return t.Next(lua.LNumber(n))
}

// pairs (t)
func pairs(L *lua.LState) int {
	t := checkTable(L, 1, "pairs")
	L.Push(L.Get(lua.UpvalueIndex(1)))
	L.Push(t)
	L.Push(lua.LNil)
	return 3
}

// ipairs (t)
func ipairs(L *lua.LState) int {
	t := checkTable(L, 1, "ipairs")
	L.Push(L.Get(lua.UpvalueIndex(1)))
	L.Push(t)
	L.Push(lua.LNumber(0))
	return 3
}

func (vm *machine) ipairsAux(L *lua.LState) int {
	t := vm.show(checkTable(L, 1, "ipairs"))
	i := int(checkInt(L, 2, "ipairs") + 1)
	v := t.RawGetInt(i)
	if v == lua.LNil {
		return 0
	}
	L.Push(lua.LNumber(i))
	L.Push(v)
	return 2
}

// unpack (list [, i [, j]])
func (vm *machine) unpack(L *lua.LState) int {
	t := vm.show(checkTable(L, 1, "unpack"))
	i := optInt(L, 2, "unpack", 1)
	var j int64
	if L.Get(3) == lua.LNil {
		j = int64(vm.length(L, t))
	} else {
		j = checkInt(L, 3, "unpack")
	}
	if i > j {
		return 0
	}
	n := j - i + 1
	if n <= 0 || n+int64(L.GetTop()) > maxStack {
		L.RaiseError("too many results to unpack")
	}
	vm.run.budget.charge(L, n/16, 0)
	for k := i; k <= j; k++ {
		L.Push(t.RawGet(lua.LNumber(k)))
	}
	return int(n)
}

// load (func [, chunkname])
func (vm *machine) load(L *lua.LState) int {
	fn, ok := L.Get(1).(*lua.LFunction)
	if !ok {
		typeError(L, 1, "load", "function")
	}
	name := optString(L, 2, "load", "=(load)")
	b := builder{run: vm.run}
	for {
		L.Push(fn)
		L.Call(0, 1)
		piece := L.Get(-1)
		L.Pop(1)
		if piece == lua.LNil {
			break
		}
		s, ok := piece.(lua.LString)
		if !ok {
			L.Push(lua.LNil)
			L.Push(lua.LString("reader function must return a string"))
			return 2
		}
		if len(s) == 0 {
			break
		}
		b.add(L, string(s))
	}
	return vm.loadChunk(L, b.b.String(), name)
}

// loadstring (string [, chunkname]): source only, compiled into the same
// sandbox, with the same metering as a script.
func (vm *machine) loadstring(L *lua.LState) int {
	src := checkString(L, 1, "loadstring")
	return vm.loadChunk(L, src, optString(L, 2, "loadstring", src))
}

func (vm *machine) loadChunk(L *lua.LState, src, name string) int {
	// Compiling costs some 20 µs plus about as much per byte as an
	// instruction.
	vm.run.budget.charge(L, 2000+int64(len(src)), 4*int64(len(src)))
	id := chunkID(name)
	proto, err := compile(src, id)
	if err != nil {
		L.Push(lua.LNil)
		L.Push(lua.LString(err.Error()))
		return 2
	}
	if vm.run.chunks == nil {
		vm.run.chunks = make(map[string]string)
	}
	vm.run.chunks[id] = name
	fn := L.NewFunctionFromProto(proto)
	fn.Env = vm.code
	L.Push(fn)
	return 1
}

// collectgarbage ([opt [, arg]]): the collector is Go's; every answer is a
// constant so that no node's memory shows in a script.
func collectGarbage(L *lua.LState) int {
	switch opt := optString(L, 1, "collectgarbage", "collect"); opt {
	case "collect", "count", "stop", "restart":
		L.Push(lua.LNumber(0))
	case "step":
		L.Push(lua.LTrue)
	case "setpause", "setstepmul":
		L.Push(lua.LNumber(200))
	default:
		argError(L, 1, "collectgarbage", "invalid option '"+opt+"'")
	}
	return 1
}

// gcinfo ()
func gcInfo(L *lua.LState) int {
	L.Push(lua.LNumber(0))
	return 1
}
