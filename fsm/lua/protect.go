package lua

// Protected calls: pcall and xpcall, each on a thread of its own so that a
// caught error closes exactly the upvalues Lua closes.

import (
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// pcall (f, arg1, ...) as Redis 7 replaces it: an error table raised by
// redis.call comes back as its err string. The call runs on a thread of
// its own (see machine.protected).
func (vm *machine) pcall(L *lua.LState) int {
	if f := L.Get(1); L.GetTop() == 0 || (f.Type() != lua.LTFunction && L.GetMetaField(f, "__call").Type() != lua.LTFunction) {
		// Redis's pcall calls its own result placeholder when given nothing.
		what := "boolean"
		if L.GetTop() > 0 {
			what = f.Type().String()
		}
		L.SetTop(0)
		L.Push(lua.LFalse)
		L.Push(lua.LString("attempt to call a " + what + " value"))
		return 2
	}
	th := vm.thread(L)
	defer vm.release(th)
	n := L.GetTop()
	for i := 1; i <= n; i++ {
		th.Push(L.Get(i))
	}
	err := vm.protected(th, n-1)
	L.SetTop(0)
	if err != nil {
		obj := vm.caught(err)
		if t, ok := obj.(*lua.LTable); ok {
			if s, ok := t.RawGetString("err").(lua.LString); ok {
				obj = s
			}
		}
		L.Push(lua.LFalse)
		L.Push(obj)
		return 2
	}
	L.Push(lua.LTrue)
	for i := 1; i <= th.GetTop(); i++ {
		L.Push(th.Get(i))
	}
	return th.GetTop() + 1
}

// xpcall (f, err): f runs, and on an error err(message), on a thread.
func (vm *machine) xpcall(L *lua.LState) int {
	if L.GetTop() < 2 {
		argError(L, 2, "xpcall", "value expected")
	}
	f, handler := L.Get(1), L.Get(2)
	th := vm.thread(L)
	defer vm.release(th)
	th.Push(f)
	err := vm.protected(th, 0)
	L.SetTop(0)
	if err == nil {
		L.Push(lua.LTrue)
		for i := 1; i <= th.GetTop(); i++ {
			L.Push(th.Get(i))
		}
		return th.GetTop() + 1
	}
	obj := vm.caught(err)
	th.SetTop(0)
	th.Push(handler)
	th.Push(obj)
	if err := vm.protected(th, 1); err != nil {
		vm.caught(err)
		th.SetTop(0)
		th.Push(lua.LString("error in error handling"))
	}
	L.Push(lua.LFalse)
	L.Push(th.Get(1))
	return 2
}

// Protected calls run on threads (child LStates sharing the globals). On
// an error, gopher-lua closes the upvalues of every frame of the state
// that raised it; on its own thread that is exactly the frames the error
// unwinds, as in Lua, and a closure over a local of a live caller stays
// shared. (Run on the script's own state, a caught error would detach
// every live closure from the caller's locals.)
const (
	// maxPcallDepth bounds nested protected calls, as Lua 5.1's C
	// stack does ("C stack overflow").
	maxPcallDepth = 200
	// threadCallDepth is a protected call's own call depth.
	threadCallDepth = 1000
	threadsKept     = 4
)

// thread returns an idle thread for a protected call, metered by the run.
func (vm *machine) thread(L *lua.LState) *lua.LState {
	if vm.pcallDepth >= maxPcallDepth {
		L.RaiseError("C stack overflow")
	}
	vm.pcallDepth++
	var th *lua.LState
	if n := len(vm.threads); n > 0 {
		th, vm.threads = vm.threads[n-1], vm.threads[:n-1]
	} else {
		// Created without a context, so that none is derived from the
		// run's (which would count a Done call).
		ctx := vm.L.RemoveContext()
		opts := vm.L.Options
		vm.L.Options = lua.Options{CallStackSize: threadCallDepth, RegistrySize: 1024,
			RegistryMaxSize: 1024 * 1024, RegistryGrowStep: 1024, SkipOpenLibs: true}
		th, _ = vm.L.NewThread()
		vm.L.Options = opts
		if ctx != nil {
			vm.L.SetContext(ctx)
		}
	}
	th.SetContext(vm.run)
	return th
}

func (vm *machine) release(th *lua.LState) {
	vm.pcallDepth--
	th.SetTop(0)
	th.RemoveContext()
	if len(vm.threads) < threadsKept {
		vm.threads = append(vm.threads, th)
	}
}

// protected calls the function on th with nargs arguments, in protection.
// gopher-lua formats a stack traceback of each caught error, in time
// quadratic in the thread's depth; that work is charged to the run.
func (vm *machine) protected(th *lua.LState, nargs int) error {
	err := th.PCall(nargs, lua.MultRet, nil)
	cost := int64(callCost)
	if aerr, ok := err.(*lua.ApiError); ok {
		depth := int64(strings.Count(aerr.StackTrace, "\n"))
		if strings.Contains(aerr.StackTrace, "\t...") {
			depth = threadCallDepth
		}
		cost = 4*callCost + depth*depth/4
	}
	vm.run.budget.instr -= cost
	return err
}

// caught returns the error object a protected call caught, with any Go
// address in a message replaced (gopher-lua formats some keys with %p, and
// a message can be stored in a key), and retires the machine if a Go
// panic was caught rather than a Lua error.
func (vm *machine) caught(err error) lua.LValue {
	aerr, ok := err.(*lua.ApiError)
	if !ok || aerr.Type == lua.ApiErrorPanic {
		vm.broken = true
	}
	if !ok {
		return lua.LString(hideAddresses(err.Error()))
	}
	if s, ok := aerr.Object.(lua.LString); ok {
		return lua.LString(hideAddresses(string(s)))
	}
	return aerr.Object
}

// hideAddresses replaces the hexadecimal address in "table: 0x..."
// (and function, userdata, thread) by a constant.
func hideAddresses(s string) string {
	for _, kind := range []string{"table: 0x", "function: 0x", "userdata: 0x", "thread: 0x", "channel: 0x"} {
		for from := 0; ; {
			i := strings.Index(s[from:], kind)
			if i < 0 {
				break
			}
			start := from + i + len(kind)
			end := start
			for end < len(s) && strings.IndexByte("0123456789abcdef", s[end]) >= 0 {
				end++
			}
			s = s[:start] + "0" + s[end:]
			from = start + 1
		}
	}
	return s
}
