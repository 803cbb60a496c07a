package lua

// The seal: a Lua machine is reused across runs (creating one costs some
// 60 µs, a run of a small script 3), so everything it shares between runs
// must come out of every run as it went in, or a later script — on this
// node only — would see what an earlier one left (DESIGN.md, invariant 5;
// the #614 class of divergence). The read-only views are the first line;
// the seal is the second: when a machine is built, every table a run can
// reach without creating it is recorded with its metatable and contents,
// and after every run the machine is compared with that record. A machine
// that differs is retired, never reused, and tainted counts it so
// that the tests hunting for holes fail. Nothing is repaired in place: a
// fresh machine is built from the same code, identically on every node.

import (
	"reflect"
	"sync/atomic"
	"unsafe"

	lua "github.com/yuin/gopher-lua"
)

// tainted counts machines retired because a run changed what they
// share. Every correct run leaves it alone; tests assert it stays zero.
var tainted atomic.Int64

// sealValues makes intact compare every shared key and value, not only
// each table's shape. The shape is checked after every run in production
// (about 0.2 µs); the values cost some 5 µs more per run, so only the
// tests that hunt for holes turn them on. Without them a change goes
// unseen only if it replaced the value of an existing key in a real
// (non-view) table, and no builtin hands a script a real table: the views'
// show() is only ever read through.
var sealValues atomic.Bool

// sealRec is a machine's shared tables as built.
type sealRec struct {
	tables []sealedTable
	// realViews is how many read-only views exist: a new one would mean
	// a table shared from then on.
	realViews int
	strMeta   lua.LValue // the string metatable
}

// sealedTable is one shared table: its metatable, its shape and its keys
// and values in iteration order (the order pairs shows, part of what
// scripts see).
type sealedTable struct {
	t     *lua.LTable
	mt    lua.LValue
	shape shape
	kv    []lua.LValue // key, value, key, value, ...
}

// sealShared records every table reachable from the machine's roots (the
// code environment, the globals, the views scripts are given and the
// string metatable), following values, keys and metatables.
func (vm *machine) sealShared() sealRec {
	strMeta := vm.L.GetMetatable(lua.LString(""))
	seal := sealRec{realViews: len(vm.real), strMeta: strMeta}
	seen := make(map[*lua.LTable]bool)
	queue := []lua.LValue{vm.code, vm.globals, vm.env, vm.gmeta, vm.strMeta, strMeta, vm.libCode, vm.libAPI}
	for len(queue) > 0 {
		t, ok := queue[0].(*lua.LTable)
		queue = queue[1:]
		if !ok || seen[t] {
			continue
		}
		seen[t] = true
		s := sealedTable{t: t, mt: t.Metatable, shape: shapeOf(t)}
		queue = append(queue, t.Metatable)
		for k, v := t.Next(lua.LNil); k != lua.LNil; k, v = t.Next(k) {
			s.kv = append(s.kv, k, v)
			queue = append(queue, k, v)
		}
		seal.tables = append(seal.tables, s)
	}
	return seal
}

// intact reports whether the machine still matches its seal. Called after
// KEYS and ARGV, the only globals a run sets, have been removed again.
func (vm *machine) intact() bool {
	L := vm.L
	if len(vm.real) != vm.seal.realViews || L.GetMetatable(lua.LString("")) != vm.seal.strMeta ||
		L.G.Global != vm.env || L.Env != vm.env {
		return false
	}
	values := sealValues.Load()
	for i := range vm.seal.tables {
		s := &vm.seal.tables[i]
		if s.t.Metatable != s.mt || shapeOf(s.t) != s.shape {
			return false
		}
		if values && !s.sameValues() {
			return false
		}
	}
	return true
}

func (s *sealedTable) sameValues() bool {
	at := 0
	for k, v := s.t.Next(lua.LNil); k != lua.LNil; k, v = s.t.Next(k) {
		if at+1 >= len(s.kv) || s.kv[at] != k || s.kv[at+1] != v {
			return false
		}
		at += 2
	}
	return at == len(s.kv)
}

// shape is how many slots and keys a table has. Adding a key grows
// one of them; removing one shrinks a map (gopher-lua keeps a removed
// key's place in its key order, so that order is part of the shape too).
type shape struct{ array, keys, strdict, dict int }

// shapeOf reads the shape from gopher-lua's unexported fields; the
// offsets are found, and their types checked, once at start-up.
func shapeOf(t *lua.LTable) shape {
	p := unsafe.Pointer(t)
	return shape{
		array:   len(*(*[]lua.LValue)(unsafe.Add(p, tableFields.array))),
		keys:    len(*(*[]lua.LValue)(unsafe.Add(p, tableFields.keys))),
		strdict: len(*(*map[string]lua.LValue)(unsafe.Add(p, tableFields.strdict))),
		dict:    len(*(*map[lua.LValue]lua.LValue)(unsafe.Add(p, tableFields.dict))),
	}
}

var tableFields = func() (f struct{ array, keys, strdict, dict uintptr }) {
	typ := reflect.TypeOf(lua.LTable{})
	at := func(name string, want reflect.Type) uintptr {
		field, ok := typ.FieldByName(name)
		if !ok || field.Type != want {
			panic("lua: gopher-lua's LTable has no " + name + " " + want.String() + " field; the script seal must be updated")
		}
		return field.Offset
	}
	values := reflect.TypeOf([]lua.LValue(nil))
	f.array = at("array", values)
	f.keys = at("keys", values)
	f.strdict = at("strdict", reflect.TypeOf(map[string]lua.LValue(nil)))
	f.dict = at("dict", reflect.TypeOf(map[lua.LValue]lua.LValue(nil)))
	return f
}()

// Tainted returns how many machines were retired because a run changed
// what they share with later runs. Every correct run leaves it alone;
// test mains fail when it rose.
func Tainted() int64 { return tainted.Load() }

// CheckValues makes the seal compare every shared value after every run,
// not only every table's shape (about 5 µs more per run), and returns the
// previous setting. Tests turn it on so that every script they run is also
// a probe for holes in the sandbox.
func CheckValues(on bool) bool { return sealValues.Swap(on) }
