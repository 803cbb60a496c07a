package lua

// The table and math libraries scripts see: Lua 5.1's, with writes that
// refuse read-only tables, work on long tables metered, and Redis's random
// generator reset at every run.

import (
	"math"
	"sort"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// tableLib is Lua 5.1's table library (Redis keeps foreach, foreachi,
// getn and setn), every write refusing read-only views.
func (vm *machine) tableLib() *lua.LTable {
	t := vm.L.NewTable()
	setFuncs(vm.L, t, map[string]lua.LGFunction{
		"concat": vm.tableConcat, "insert": vm.tableInsert, "remove": vm.tableRemove,
		"sort": vm.tableSort, "maxn": vm.tableMaxN, "getn": vm.tableGetN,
		"foreach": vm.tableForeach, "foreachi": vm.tableForeachi, "setn": tableSetN,
	})
	return t
}

// table.concat (table [, sep [, i [, j]]])
func (vm *machine) tableConcat(L *lua.LState) int {
	t := vm.show(checkTable(L, 1, "concat"))
	sep := optString(L, 2, "concat", "")
	i := optInt(L, 3, "concat", 1)
	var j int64
	if L.Get(4) == lua.LNil {
		j = int64(vm.length(L, t))
	} else {
		j = checkInt(L, 4, "concat")
	}
	// Measure first, then copy once into a buffer of the final size: grown
	// piece by piece, the buffer would copy everything again at every
	// growth, work the per-piece charge does not see.
	size := int64(0)
	for k := i; k <= j; k++ {
		s, ok := stringOf(t.RawGet(lua.LNumber(k)))
		if !ok {
			L.RaiseError("invalid value (%s) at index %d in table for 'concat'", t.RawGet(lua.LNumber(k)).Type().String(), k)
		}
		n := int64(len(s))
		if k != j {
			n += int64(len(sep))
		}
		vm.run.budget.charge(L, 1+n/64, n)
		size += n
	}
	var b strings.Builder
	b.Grow(int(size))
	for k := i; k <= j; k++ {
		s, _ := stringOf(t.RawGet(lua.LNumber(k)))
		b.WriteString(s)
		if k != j {
			b.WriteString(sep)
		}
	}
	L.Push(lua.LString(b.String()))
	return 1
}

// table.insert (table, [pos,] value)
func (vm *machine) tableInsert(L *lua.LState) int {
	t := checkTable(L, 1, "insert")
	e := int64(vm.length(L, t)) + 1
	var pos int64
	switch L.GetTop() {
	case 2:
		pos = e
	case 3:
		pos = checkInt(L, 2, "insert")
		if pos > e {
			e = pos
		}
	default:
		L.RaiseError("wrong number of arguments to 'insert'")
	}
	vm.writable(L, t)
	vm.run.budget.charge(L, (e-pos)/4, 0)
	for i := e; i > pos; i-- {
		vm.rawSetChecked(L, t, lua.LNumber(i), t.RawGet(lua.LNumber(i-1)), false)
	}
	vm.rawSetChecked(L, t, lua.LNumber(pos), L.Get(L.GetTop()), false)
	return 0
}

// table.remove (table [, pos])
func (vm *machine) tableRemove(L *lua.LState) int {
	t := checkTable(L, 1, "remove")
	e := int64(vm.length(L, t))
	pos := optInt(L, 2, "remove", e)
	if pos < 1 || pos > e {
		return 0
	}
	vm.writable(L, t)
	vm.run.budget.charge(L, (e-pos)/4, 0)
	v := t.RawGet(lua.LNumber(pos))
	for ; pos < e; pos++ {
		t.RawSet(lua.LNumber(pos), t.RawGet(lua.LNumber(pos+1)))
	}
	t.RawSet(lua.LNumber(e), lua.LNil)
	L.Push(v)
	return 1
}

// table.sort (table [, comp]). Go's sort, not Lua's quicksort: elements
// that compare equal may end in another order than in Redis, the same on
// every node.
func (vm *machine) tableSort(L *lua.LState) int {
	t := checkTable(L, 1, "sort")
	n := vm.length(L, t)
	var comp lua.LValue = lua.LNil
	if L.GetTop() >= 2 && L.Get(2) != lua.LNil {
		if _, ok := L.Get(2).(*lua.LFunction); !ok {
			typeError(L, 2, "sort", "function")
		}
		comp = L.Get(2)
	}
	if n < 2 {
		return 0
	}
	vm.writable(L, t)
	vals := make([]lua.LValue, n)
	for i := range vals {
		vals[i] = t.RawGetInt(i + 1)
	}
	less := func(a, b int) bool {
		vm.run.budget.charge(L, 1, 0)
		if comp == lua.LNil {
			return lessThan(L, vals[a], vals[b])
		}
		L.Push(comp)
		L.Push(vals[a])
		L.Push(vals[b])
		L.Call(2, 1)
		r := lua.LVAsBool(L.Get(-1))
		L.Pop(1)
		return r
	}
	sort.Sort(sorter{vals, less})
	for i, v := range vals {
		t.RawSetInt(i+1, v)
	}
	return 0
}

// lessThan is lua_lessthan called from a builtin: an error has no
// position, as in Lua.
func lessThan(L *lua.LState, a, b lua.LValue) bool {
	switch a := a.(type) {
	case lua.LNumber:
		if b, ok := b.(lua.LNumber); ok {
			return a < b
		}
	case lua.LString:
		if b, ok := b.(lua.LString); ok {
			return a < b
		}
	}
	if a.Type() == b.Type() && L.GetMetaField(a, "__lt") != lua.LNil {
		return L.LessThan(a, b)
	}
	if a.Type() == b.Type() {
		L.Error(lua.LString("attempt to compare two "+a.Type().String()+" values"), 0)
	}
	L.Error(lua.LString("attempt to compare "+a.Type().String()+" with "+b.Type().String()), 0)
	return false
}

type sorter struct {
	vals []lua.LValue
	less func(a, b int) bool
}

func (s sorter) Len() int           { return len(s.vals) }
func (s sorter) Less(a, b int) bool { return s.less(a, b) }
func (s sorter) Swap(a, b int)      { s.vals[a], s.vals[b] = s.vals[b], s.vals[a] }

// table.maxn (table)
func (vm *machine) tableMaxN(L *lua.LState) int {
	t := vm.show(checkTable(L, 1, "maxn"))
	max := 0.0
	for k, _ := vm.nextOf(L, t, lua.LNil); k != lua.LNil; k, _ = vm.nextOf(L, t, k) {
		vm.run.budget.charge(L, 1, 0)
		if f, ok := k.(lua.LNumber); ok && float64(f) > max {
			max = float64(f)
		}
	}
	L.Push(lua.LNumber(max))
	return 1
}

// table.getn (table)
func (vm *machine) tableGetN(L *lua.LState) int {
	L.Push(lua.LNumber(vm.length(L, checkTable(L, 1, "getn"))))
	return 1
}

// table.foreach (table, f)
func (vm *machine) tableForeach(L *lua.LState) int {
	t := checkTable(L, 1, "foreach")
	f := checkFunction(L, 2, "foreach")
	for k, v := vm.nextOf(L, vm.show(t), lua.LNil); k != lua.LNil; k, v = vm.nextOf(L, vm.show(t), k) {
		L.Push(f)
		L.Push(k)
		L.Push(v)
		L.Call(2, 1)
		if r := L.Get(-1); r != lua.LNil {
			return 1
		}
		L.Pop(1)
	}
	return 0
}

// table.foreachi (table, f)
func (vm *machine) tableForeachi(L *lua.LState) int {
	t := checkTable(L, 1, "foreachi")
	f := checkFunction(L, 2, "foreachi")
	n := vm.length(L, t)
	for i := 1; i <= n; i++ {
		L.Push(f)
		L.Push(lua.LNumber(i))
		L.Push(vm.show(t).RawGetInt(i))
		L.Call(2, 1)
		if r := L.Get(-1); r != lua.LNil {
			return 1
		}
		L.Pop(1)
	}
	return 0
}

// table.setn (table, n)
func tableSetN(L *lua.LState) int {
	checkTable(L, 1, "setn")
	L.RaiseError("'setn' is obsolete")
	return 0
}

// mathLib is Lua 5.1's math library on Go's math package, with Redis's
// random generator.
func (vm *machine) mathLib() *lua.LTable {
	t := vm.L.NewTable()
	fns := map[string]lua.LGFunction{"random": vm.random, "randomseed": vm.randomseed,
		"max": mathMax(false), "min": mathMax(true)}
	for name, f := range map[string]func(float64) float64{
		"abs": math.Abs, "acos": math.Acos, "asin": math.Asin, "atan": math.Atan, "ceil": math.Ceil,
		"cos": math.Cos, "cosh": math.Cosh, "exp": math.Exp, "floor": math.Floor, "log": math.Log,
		"log10": math.Log10, "sin": math.Sin, "sinh": math.Sinh, "sqrt": math.Sqrt, "tan": math.Tan,
		"tanh": math.Tanh,
		"deg":  func(x float64) float64 { return x / (math.Pi / 180) },
		"rad":  func(x float64) float64 { return x * (math.Pi / 180) },
	} {
		fns[name] = math1(name, f)
	}
	for name, f := range map[string]func(float64, float64) float64{
		"atan2": math.Atan2, "fmod": math.Mod, "mod": math.Mod, "pow": math.Pow,
	} {
		fns[name] = math2(name, f)
	}
	fns["frexp"] = func(L *lua.LState) int {
		m, e := math.Frexp(checkNumber(L, 1, "frexp"))
		L.Push(lua.LNumber(m))
		L.Push(lua.LNumber(e))
		return 2
	}
	fns["ldexp"] = func(L *lua.LState) int {
		L.Push(lua.LNumber(math.Ldexp(checkNumber(L, 1, "ldexp"), int(checkInt32(L, 2, "ldexp")))))
		return 1
	}
	fns["modf"] = func(L *lua.LState) int {
		x := checkNumber(L, 1, "modf")
		i, f := math.Modf(x)
		if math.IsInf(x, 0) {
			f = 0
		}
		L.Push(lua.LNumber(i))
		L.Push(lua.LNumber(f))
		return 2
	}
	setFuncs(vm.L, t, fns)
	t.RawSetString("huge", lua.LNumber(math.Inf(1)))
	t.RawSetString("pi", lua.LNumber(math.Pi))
	return t
}

func math1(name string, f func(float64) float64) lua.LGFunction {
	return func(L *lua.LState) int {
		L.Push(lua.LNumber(f(checkNumber(L, 1, name))))
		return 1
	}
}

func math2(name string, f func(float64, float64) float64) lua.LGFunction {
	return func(L *lua.LState) int {
		L.Push(lua.LNumber(f(checkNumber(L, 1, name), checkNumber(L, 2, name))))
		return 1
	}
}

// math.max (x, ...) and math.min (x, ...)
func mathMax(min bool) lua.LGFunction {
	name := "max"
	if min {
		name = "min"
	}
	return func(L *lua.LState) int {
		best := checkNumber(L, 1, name)
		for i := 2; i <= L.GetTop(); i++ {
			if x := checkNumber(L, i, name); (min && x < best) || (!min && x > best) {
				best = x
			}
		}
		L.Push(lua.LNumber(best))
		return 1
	}
}

// randInit is the state of an lrand48 generator never seeded: where
// redis-server 7.0.15 starts, and where every script run starts here.
const randInit uint64 = 0x1234ABCD330E

const randMax = 2147483647 // REDIS_LRAND48_MAX

// seedState is the generator's 48-bit state for a host's seed.
func seedState(seed uint64) uint64 {
	if seed == 0 {
		return randInit
	}
	return seed & (1<<48 - 1)
}

// lrand48 advances Redis's generator (redisLrand48).
func (r *runState) lrand48() int64 {
	r.rng = (0x5DEECE66D*r.rng + 0xB) & (1<<48 - 1)
	return int64(r.rng >> 17)
}

// math.random ([m [, n]]), Redis's redis_math_random.
func (vm *machine) random(L *lua.LState) int {
	r := float64(vm.run.lrand48()%randMax) / randMax
	switch L.GetTop() {
	case 0:
		L.Push(lua.LNumber(r))
	case 1:
		u := checkInt32(L, 1, "random")
		if u < 1 {
			argError(L, 1, "random", "interval is empty")
		}
		L.Push(lua.LNumber(math.Floor(r*float64(u)) + 1))
	case 2:
		l := checkInt32(L, 1, "random")
		u := checkInt32(L, 2, "random")
		if l > u {
			argError(L, 2, "random", "interval is empty")
		}
		L.Push(lua.LNumber(math.Floor(r*float64(u-l+1)) + float64(l)))
	default:
		L.RaiseError("wrong number of arguments")
	}
	return 1
}

// math.randomseed (x), Redis's redisSrand48.
func (vm *machine) randomseed(L *lua.LState) int {
	seed := checkInt32(L, 1, "randomseed")
	vm.run.rng = uint64(uint32(seed))<<16 | 0x330E
	return 0
}
