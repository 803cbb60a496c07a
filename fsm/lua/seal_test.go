package lua

import (
	"testing"

	lua "github.com/yuin/gopher-lua"
)

// TestSealRetiresATaintedMachine changes, from Go, each kind of
// thing a machine shares between runs, and checks that the machine is
// retired rather than reused.
func TestSealRetiresATaintedMachine(t *testing.T) {
	for _, tc := range []struct {
		name  string
		taint func(vm *machine)
	}{
		{"a key written into a read-only view", func(vm *machine) { vm.globals.RawGetString("string").(*lua.LTable).RawSetString("foo", lua.LTrue) }},
		{"a library function replaced", func(vm *machine) {
			lib := vm.real[vm.globals.RawGetString("string").(*lua.LTable)]
			lib.RawSetString("rep", lib.RawGetString("sub"))
		}},
		{"a global added", func(vm *machine) { vm.globals.RawSetString("x", lua.LTrue) }},
		{"a global removed", func(vm *machine) { vm.globals.RawSetString("pairs", lua.LNil) }},
		{"a metatable removed", func(vm *machine) { vm.env.Metatable = lua.LNil }},
		{"a helper replaced", func(vm *machine) { vm.code.RawSetString("\x00len", vm.code.RawGetString("\x00set")) }},
		{"the string metatable replaced", func(vm *machine) { vm.L.SetMetatable(lua.LString(""), vm.L.NewTable()) }},
		{"a table shared through a new view", func(vm *machine) { vm.readOnly(vm.L.NewTable()) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pool := &Pool{}
			vm := pool.get()
			tc.taint(vm)
			before := tainted.Load()
			pool.put(vm)
			got := tainted.Load() - before
			tainted.Add(-got) // deliberate: not a hole for TestMain to report
			if got != 1 {
				t.Fatalf("exp the machine retired as tainted, got %d retired", got)
			}
			if len(pool.idle) != 0 {
				t.Fatalf("exp the tainted machine not kept, got %d idle", len(pool.idle))
			}
		})
	}
}

// TestResetMakesAPoolCold: after Reset the next run is on a machine built
// from nothing, which is what the replay checker's cold machine relies on.
func TestResetMakesAPoolCold(t *testing.T) {
	pool := &Pool{}
	first := pool.get()
	pool.put(first)
	pool.Reset()
	if again := pool.get(); again == first {
		t.Fatal("exp a new machine after Reset, got the idle one again")
	}
}
