package lua

// Running one script: KEYS and ARGV in, the reply out, errors worded as
// redis-server 7.0.15 words them ("ERR user_script:1: boom script: <sha>,
// on @user_script:1.").

import (
	"context"
	"strconv"
	"strings"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/raftlist/raftlist/fsm/resp"
)

// runState is one run of a script. It is the run's context.Context, so the
// sandbox's builtins find it from their *lua.LState.
type runState struct {
	vm   *machine
	host Host
	sha  string
	// resp3 is set by redis.setresp(3): command replies reach Lua as
	// RESP3 converts them (nil, booleans, {map=...}, {double=...}), and
	// a Lua boolean returned becomes a boolean reply. A RESP3 client does
	// not set it: what a script computes never depends on its client.
	resp3  bool
	budget meter
	rng    uint64
	// lib collects what redis.register_function registers while a
	// library's code loads (library.go); nil otherwise.
	lib *libLoad
	// quiet drops redis.log lines: FCALL's rerun of a library's code.
	quiet bool
	// cjson is the shared cjson table's settings for this run, made on
	// first use.
	cjson *cjsonCfg
	// ids names tables and functions for tostring, in order of first use.
	ids map[lua.LValue]int
	// chunks maps the chunk id of code loaded by loadstring to its source,
	// the name Redis shows after "on".
	chunks map[string]string
	// where the error that ended the run was raised, as Redis's error
	// handler finds it: the Lua function raising it, or calling the
	// builtin that raised it.
	errSource string
	errLine   int
	errObj    lua.LValue
	errMsg    string
}

// runOf returns the run a state is executing, or nil.
func runOf(L *lua.LState) *runState {
	run, _ := L.Context().(*runState)
	return run
}

// Done implements context.Context by counting an instruction.
func (r *runState) Done() <-chan struct{} { return r.budget.Done() }

// Err implements context.Context.
func (r *runState) Err() error { return r.budget.Err() }

// Deadline implements context.Context.
func (r *runState) Deadline() (time.Time, bool) { return time.Time{}, false }

// Value implements context.Context.
func (r *runState) Value(any) any { return nil }

var _ context.Context = (*runState)(nil)

// Run runs s with keys and argv on one of the pool's machines, with host
// as the world outside the machine and budget as its limits, and returns
// the script's reply. Nothing the run does survives it except through
// host: the machine goes back to the pool only if its seal still holds.
func (p *Pool) Run(s *Script, keys, argv [][]byte, host Host, budget Budget) (reply resp.Reply) {
	vm, run := p.start(host, s.sha, budget)
	L := vm.L
	defer func() {
		if r := recover(); r != nil {
			// A Go panic escaped gopher-lua (it can, while unwinding a
			// full stack): the state is not trusted again. The panic is a
			// function of the script and the data, so every node answers
			// the same.
			vm.broken = true
			reply = resp.Error("ERR Error running script (call to f_" + s.sha + "): the Lua engine failed")
		}
		p.put(vm)
	}()
	vm.globals.RawSetString("KEYS", stringList(L, keys))
	vm.globals.RawSetString("ARGV", stringList(L, argv))
	fn := L.NewFunctionFromProto(s.proto)
	fn.Env = vm.code
	L.SetContext(run)
	L.Push(fn)
	err := L.PCall(0, 1, vm.errHandler)
	L.RemoveContext()
	return run.result(err)
}

// result is the reply of a run whose protected call returned err, its
// value on the top of the stack.
func (r *runState) result(err error) resp.Reply {
	vm, L := r.vm, r.vm.L
	r.budget.settle()
	if aerr, ok := err.(*lua.ApiError); ok && aerr.Type == lua.ApiErrorPanic {
		vm.broken = true // a Go panic inside gopher-lua: do not reuse the state
	}
	switch {
	case r.budget.stop != nil:
		return r.errorReply("ERR " + r.budget.stop.Error())
	case err != nil && r.errMsg == "":
		// The handler could not run (the call stack was full): take the
		// position from the message, as the handler would have found it.
		return r.errorReply(r.unhandled(err))
	case err != nil:
		return r.errorReply(r.errMsg)
	}
	return r.reply(L.Get(-1))
}

// start takes a machine for a run named name (a script's SHA1, a
// function's name) with host and budget.
func (p *Pool) start(host Host, name string, budget Budget) (*machine, *runState) {
	vm := p.get()
	vm.last = runState{vm: vm, host: host, sha: name, rng: seedState(host.RandomSeed())}
	run := &vm.last
	run.budget.reset(budget)
	vm.run = run
	return vm, run
}

// stringList makes KEYS or ARGV.
func stringList(L *lua.LState, items [][]byte) *lua.LTable {
	t := L.CreateTable(len(items), 0)
	for i, it := range items {
		t.RawSetInt(i+1, lua.LString(it))
	}
	return t
}

// handleError is the error handler of the run's protected call, Redis's
// __redis__err__handler: it notes where the error was raised. Level 1 is
// the function that raised it; when that is a builtin, its Lua caller.
func (vm *machine) handleError(L *lua.LState) int {
	run := vm.run
	run.errObj = L.Get(1)
	run.errMsg = run.errMessage()
	for level := 1; level <= 2; level++ {
		dbg, ok := L.GetStack(level)
		if !ok {
			break
		}
		if _, err := L.GetInfo("Sl", dbg, lua.LNil); err != nil {
			break
		}
		if dbg.Source == "" && level == 1 {
			continue // a builtin: report its caller
		}
		run.errSource, run.errLine = "=[C]", -1
		if dbg.Source != "" {
			run.errSource, run.errLine = run.sourceName(dbg.Source), dbg.CurrentLine
		}
		break
	}
	L.Push(run.errObj)
	return 1
}

// sourceName is the source Redis shows for a chunk: "@user_script", or
// the text loadstring compiled.
func (r *runState) sourceName(chunkID string) string {
	if chunkID == chunkName || chunkID == libChunkName {
		return "@" + chunkID
	}
	if src, ok := r.chunks[chunkID]; ok {
		return src
	}
	return chunkID
}

// errMessage is the message of the error object that ended the run: an
// error table's err field, or "ERR " and the value as text.
func (r *runState) errMessage() string {
	if t, ok := r.errObj.(*lua.LTable); ok {
		if s, ok := stringOf(t.RawGetString("err")); ok {
			return s
		}
		return "ERR Error running script: the error object has no err field"
	}
	return "ERR " + hideAddresses(toString(r.vm.L, r.errObj))
}

// unhandled is the message of an error the handler never saw.
func (r *runState) unhandled(err error) string {
	aerr, ok := err.(*lua.ApiError)
	if !ok {
		return "ERR Error running script (call to f_" + r.sha + "): " + hideAddresses(err.Error())
	}
	r.errObj = aerr.Object
	msg := r.errMessage()
	if rest, ok := strings.CutPrefix(msg, "ERR "+chunkName+":"); ok {
		if end := strings.IndexByte(rest, ':'); end > 0 {
			if line, err := strconv.Atoi(rest[:end]); err == nil {
				r.errSource, r.errLine = "@"+chunkName, line
			}
		}
	}
	return msg
}

// errorReply adds where the error was raised, as Redis 7 does.
func (r *runState) errorReply(msg string) resp.Reply {
	if r.errSource != "" {
		msg += " script: " + r.sha + ", on " + r.errSource + ":" + strconv.Itoa(r.errLine) + "."
	}
	return resp.Sanitize(msg)
}

// reply converts the script's return value to RESP as Redis does: strings
// are bulks, numbers integers (truncated), true 1, false and nil nil; a
// table with an err or ok string is an error or status, otherwise an array
// of its elements up to the first nil.
func (r *runState) reply(v lua.LValue) resp.Reply {
	out, ok := r.toReply(v, 0)
	if !ok {
		r.errSource = ""
		return r.errorReply("ERR " + r.budget.stop.Error())
	}
	return out
}

// spend charges converting one value; false when a budget ran out.
func (r *runState) spend(bytes int) bool {
	b := &r.budget
	b.instr--
	b.bytes -= int64(16 + bytes)
	if b.instr < 0 && b.stop == nil {
		b.outOfInstructions()
	}
	if b.bytes < 0 && b.stop == nil {
		b.outOfBytes()
	}
	return b.stop == nil
}

func (r *runState) toReply(v lua.LValue, depth int) (resp.Reply, bool) {
	if depth >= ReplyDepth {
		return resp.ErrLuaStackLimit, true
	}
	switch v := v.(type) {
	case lua.LString:
		return resp.Bulk(v), r.spend(len(v))
	case lua.LNumber:
		return resp.Int(toInt64(float64(v))), r.spend(0)
	case lua.LBool:
		switch {
		case r.resp3:
			return resp.Bool(v), r.spend(0)
		case bool(v):
			return resp.Int(1), r.spend(0)
		}
		return resp.NullBulk, r.spend(0)
	case *lua.LTable:
		return r.tableReply(v, depth)
	}
	return resp.NullBulk, r.spend(0)
}

func (r *runState) tableReply(t *lua.LTable, depth int) (resp.Reply, bool) {
	if !r.spend(0) {
		return nil, false
	}
	if s, ok := t.RawGetString("err").(lua.LString); ok {
		return resp.Sanitize(string(s)), true
	}
	if s, ok := t.RawGetString("ok").(lua.LString); ok {
		return resp.Status(resp.Sanitize(string(s))), true
	}
	if f, ok := t.RawGetString("double").(lua.LNumber); ok {
		return resp.Double(f), true
	}
	if s, ok := t.RawGetString("big_number").(lua.LString); ok {
		return resp.BigNumber(resp.Sanitize(string(s))), true
	}
	if vt, ok := t.RawGetString("verbatim_string").(*lua.LTable); ok {
		format, fok := vt.RawGetString("format").(lua.LString)
		if s, sok := vt.RawGetString("string").(lua.LString); fok && sok {
			return resp.Verbatim{Format: string(format), Text: []byte(s)}, r.spend(len(s))
		}
	}
	if m, ok := t.RawGetString("map").(*lua.LTable); ok {
		return r.pairsReply(m, depth, true)
	}
	if set, ok := t.RawGetString("set").(*lua.LTable); ok {
		return r.pairsReply(set, depth, false)
	}
	var out resp.Array
	for i := 1; ; i++ {
		e := t.RawGetInt(i)
		if e == lua.LNil {
			break
		}
		rep, ok := r.toReply(e, depth+1)
		if !ok {
			return nil, false
		}
		out = append(out, rep)
	}
	if out == nil {
		out = resp.Array{}
	}
	return out, true
}

// pairsReply is a {map=...} (keys and values) or {set=...} (keys) reply,
// which a RESP2 client gets as a flat array.
func (r *runState) pairsReply(t *lua.LTable, depth int, values bool) (resp.Reply, bool) {
	out := []resp.Reply{}
	for k, v := t.Next(lua.LNil); k != lua.LNil; k, v = t.Next(k) {
		rep, ok := r.toReply(k, depth+1)
		if !ok {
			return nil, false
		}
		out = append(out, rep)
		if values {
			if rep, ok = r.toReply(v, depth+1); !ok {
				return nil, false
			}
			out = append(out, rep)
		}
	}
	if values {
		return resp.Map(out), true
	}
	return resp.Set(out), true
}

// asStatus turns a sanitized text into a status reply.
