package lua

// The metered helpers that compiled scripts call instead of gopher-lua's
// own concatenation, indexed assignment, table constructors and length
// operator (see compile.go). Each behaves as the Lua 5.1 operation
// it replaces and charges the run for the bytes and work it costs.

import (
	"math"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

func (vm *machine) helpers() map[string]lua.LGFunction {
	return map[string]lua.LGFunction{
		"\x00concat": vm.concat, "\x00set": vm.setIndex, "\x00len": vm.lenOp,
		"\x00table": vm.tableNew, "\x00tmore": vm.tableMore,
	}
}

// concat (a, b, ...) is a .. b .. ...: runs of strings and numbers are
// joined at once, other operands go through __concat from the right, as
// Lua's concatenation does.
func (vm *machine) concat(L *lua.LState) int {
	n := L.GetTop()
	acc := L.Get(n)
	for i := n - 1; i >= 1; i-- {
		lhs := L.Get(i)
		_, lok := stringOf(lhs)
		_, rok := stringOf(acc)
		if lok && rok {
			j := i
			for j > 1 {
				if _, ok := stringOf(L.Get(j - 1)); !ok {
					break
				}
				j--
			}
			parts := make([]string, 0, i-j+2)
			size := 0
			for k := j; k <= i; k++ {
				s, _ := stringOf(L.Get(k))
				parts = append(parts, s)
				size += len(s)
			}
			last, _ := stringOf(acc)
			parts = append(parts, last)
			size += len(last)
			vm.run.budget.charge(L, 1+int64(size)/64, int64(size))
			acc = lua.LString(strings.Join(parts, ""))
			i = j
			continue
		}
		mm := L.GetMetaField(lhs, "__concat")
		if mm == lua.LNil {
			mm = L.GetMetaField(acc, "__concat")
		}
		if mm == lua.LNil {
			bad := lhs
			if lok {
				bad = acc
			}
			L.RaiseError("attempt to concatenate a %s value", bad.Type().String())
		}
		L.Push(mm)
		L.Push(lhs)
		L.Push(acc)
		L.Call(2, 1)
		acc = L.Get(-1)
		L.Pop(1)
	}
	L.Push(acc)
	return 1
}

// setIndex (t, k, v) is t[k] = v: __newindex is honoured, and a raw write
// pays for any nils gopher-lua pads the array part with.
func (vm *machine) setIndex(L *lua.LState) int {
	vm.run.budget.charge(L, 1, 0)
	obj, key, val := L.Get(1), L.Get(2), L.Get(3)
	for loop := 0; loop < lua.MaxTableGetLoop; loop++ {
		var mm lua.LValue
		if t, ok := obj.(*lua.LTable); ok {
			mm = L.GetMetaField(t, "__newindex")
			if mm == lua.LNil || t.RawGet(key) != lua.LNil {
				vm.rawSetChecked(L, t, key, val, true)
				return 0
			}
		} else if mm = L.GetMetaField(obj, "__newindex"); mm == lua.LNil {
			L.RaiseError("attempt to index a non-table object(%s) with key '%s'", obj.Type().String(), toString(L, key))
		}
		if fn, ok := mm.(*lua.LFunction); ok {
			L.Push(fn)
			L.Push(obj)
			L.Push(key)
			L.Push(val)
			L.Call(3, 0)
			return 0
		}
		obj = mm
	}
	L.RaiseError("loop in settable")
	return 0
}

// rawSetChecked is rawset(t, k, v) with Lua's key checks, charging the
// nils that gopher-lua pads the array part with up to an integer key. A
// bad key's error has the position of the Lua code when vmOp (an
// assignment), none when a builtin writes (rawset), as in Lua.
func (vm *machine) rawSetChecked(L *lua.LState, t *lua.LTable, key, val lua.LValue, vmOp bool) {
	fail := func(msg string) {
		if vmOp {
			L.RaiseError("%s", msg)
		}
		L.Error(lua.LString(msg), 0)
	}
	switch k := key.(type) {
	case *lua.LNilType:
		fail("table index is nil")
	case lua.LNumber:
		f := float64(k)
		if math.IsNaN(f) {
			fail("table index is NaN")
		}
		if f >= 1 && f < float64(lua.MaxArrayIndex) && f == math.Trunc(f) {
			n := int64(arrayLen(t))
			if gap := int64(f) - 1 - n; gap > 0 {
				if val == lua.LNil {
					return // the slot is nil already; do not pad for it
				}
				vm.run.budget.charge(L, gap/16, 16*gap)
			}
		}
	}
	t.RawSet(key, val)
}

// lenOp (v) is #v: a string's length, a table's border (the array part
// without trailing nils, scanned at a charge) or __len.
func (vm *machine) lenOp(L *lua.LState) int {
	vm.run.budget.charge(L, 1, 0)
	switch v := L.Get(1).(type) {
	case lua.LString:
		L.Push(lua.LNumber(len(v)))
	case *lua.LTable:
		L.Push(lua.LNumber(vm.length(L, v)))
	default:
		mm := L.GetMetaField(v, "__len")
		if mm == lua.LNil {
			L.RaiseError("attempt to get length of a %s value", v.Type().String())
		}
		L.Push(mm)
		L.Push(v)
		L.Call(1, 1)
	}
	return 1
}

// length is gopher-lua's LTable.Len with the scan over trailing nils
// charged.
func (vm *machine) length(L *lua.LState, t *lua.LTable) int {
	n := arrayLen(t)
	i := n
	for i > 0 && t.RawGetInt(i) == lua.LNil {
		i--
	}
	if n-i > 16 {
		vm.run.budget.charge(L, int64(n-i)/16, 0)
	}
	return i
}

// tableNew (pos, shape, ...) builds a constructor's table (see
// rewriter.table).
func (vm *machine) tableNew(L *lua.LState) int {
	shape := string(L.CheckString(2))
	t := L.CreateTable(strings.Count(shape, "p"), strings.Count(shape, "k"))
	vm.fillTable(L, t, 1)
	L.Push(t)
	return 1
}

// tableMore (t, pos, shape, ...) adds the next fields of a long
// constructor.
func (vm *machine) tableMore(L *lua.LState) int {
	t := L.CheckTable(1)
	vm.writable(L, t)
	vm.fillTable(L, t, 2)
	L.Push(t)
	return 1
}

func (vm *machine) fillTable(L *lua.LState, t *lua.LTable, at int) {
	pos := int(L.CheckNumber(at))
	shape := string(L.CheckString(at + 1))
	arg := at + 2
	for i := 0; i < len(shape); i++ {
		switch shape[i] {
		case 'p':
			vm.rawSetChecked(L, t, lua.LNumber(pos), L.Get(arg), true)
			pos++
			arg++
		case 'k':
			if key := L.Get(arg); L.Get(arg+1) != lua.LNil || key == lua.LNil {
				vm.rawSetChecked(L, t, key, L.Get(arg+1), true)
			}
			arg += 2
		case 'm':
			for ; arg <= L.GetTop(); arg++ {
				vm.rawSetChecked(L, t, lua.LNumber(pos), L.Get(arg), true)
				pos++
			}
		}
	}
}

// builder builds a string whose size is not known in advance, charging
// the run for what it really costs: each piece's copy, and every growth of
// the buffer (a new allocation, and a copy of all so far) as it happens.
type builder struct {
	b   strings.Builder
	run *runState
}

func (sb *builder) add(L *lua.LState, s string) {
	if sb.b.Cap()-sb.b.Len() < len(s) {
		// strings.Builder.Grow allocates twice the capacity plus the need.
		grown := int64(2*sb.b.Cap() + len(s))
		sb.run.budget.charge(L, 1+int64(sb.b.Len())/64, grown)
		sb.b.Grow(len(s))
	}
	sb.run.budget.charge(L, int64(len(s))/64, 0)
	sb.b.WriteString(s)
}
