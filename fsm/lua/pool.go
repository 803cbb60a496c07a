package lua

import (
	"sync"

	lua "github.com/yuin/gopher-lua"
)

// Pool keeps idle machines. A pool is a cache, not state: each fsm.State
// has its own (a restored or cloned State starts cold), so two state
// machines in one process never share a Lua VM, and a test can give a
// State a pool warmed by other scripts to prove that warm and cold VMs
// answer the same (DESIGN.md, invariant 5). Read-only scripts run under
// the state machine's read lock, concurrently, hence the mutex. The zero
// Pool is empty and ready to use.
type Pool struct {
	// WithoutLibraries builds machines without cjson, cmsgpack, bit and
	// struct, as the binaries before them ran scripts: for the scripts of
	// log entries those binaries wrote (fsm's entry formats before 4),
	// which must find the globals missing on replay as they did then.
	WithoutLibraries bool

	mu   sync.Mutex
	idle []*machine
}

// MaxIdle is how many idle machines a pool keeps: a test that runs a
// script MaxIdle+1 times in a row has run it twice on one machine.
const MaxIdle = 8

// Reset drops every idle machine: the next runs start cold, on machines
// built from nothing. Warm and cold runs must answer the same; the
// replay checker resets one state machine's pool before every entry to
// prove it.
func (p *Pool) Reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.idle = nil
}

// Tamper hands an idle machine's Lua state to change behind the
// sandbox's back, as a hole in it would, and returns the machine to the
// pool as a run would (the seal sees only what it records). It exists for the checkers' own tests
// (a checker that cannot see a planted change proves nothing); nothing
// else may call it.
func (p *Pool) Tamper(change func(L *lua.LState)) {
	vm := p.get()
	change(vm.L)
	p.put(vm)
}

func (p *Pool) get() *machine {
	p.mu.Lock()
	if n := len(p.idle); n > 0 {
		vm := p.idle[n-1]
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		return vm
	}
	p.mu.Unlock()
	return newVM(!p.WithoutLibraries)
}

// put takes vm back after a run, unless the run broke it or changed
// anything it shares with later runs (a hole in the sandbox: the machine is
// retired, and tainted counts it for the tests that look for holes).
func (p *Pool) put(vm *machine) {
	if vm.broken {
		return
	}
	vm.run, vm.last = nil, runState{}
	vm.pcallDepth = 0
	vm.globals.RawSetString("KEYS", lua.LNil)
	vm.globals.RawSetString("ARGV", lua.LNil)
	vm.L.SetTop(0)
	if !vm.intact() {
		tainted.Add(1)
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.idle) < MaxIdle {
		p.idle = append(p.idle, vm)
	}
}
