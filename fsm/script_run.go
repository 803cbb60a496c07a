package fsm

// Running one script: KEYS and ARGV in, the reply out, errors worded as
// redis-server 7.0.15 words them ("ERR user_script:1: boom script: <sha>,
// on @user_script:1."). A script is one command: the writes it made before
// an error stay, and blocked clients are served only after it returns
// (Apply serves ready keys after each whole command).

import (
	"context"
	"strconv"
	"strings"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/raftlist/raftlist/fsm/resp"
)

// scrRun is one run of a script. It is the run's context.Context, so the
// sandbox's builtins find it from their *lua.LState.
type scrRun struct {
	vm  *scrVM
	ctx *Ctx // the EVAL command: state, database, log position
	sha string
	// db is the database the script's commands use; SELECT changes it for
	// the rest of the script only.
	db int
	// readOnly refuses write commands: EVAL_RO, EVALSHA_RO, or a script
	// declared "#!lua flags=no-writes".
	readOnly bool
	// resp3 is set by redis.setresp(3): nil replies become Lua nil.
	resp3  bool
	budget scrBudget
	rng    uint64
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

// scrRunOf returns the run a state is executing, or nil.
func scrRunOf(L *lua.LState) *scrRun {
	run, _ := L.Context().(*scrRun)
	return run
}

// Done implements context.Context by counting an instruction.
func (r *scrRun) Done() <-chan struct{} { return r.budget.Done() }

// Err implements context.Context.
func (r *scrRun) Err() error { return r.budget.Err() }

// Deadline implements context.Context.
func (r *scrRun) Deadline() (time.Time, bool) { return time.Time{}, false }

// Value implements context.Context.
func (r *scrRun) Value(any) any { return nil }

var _ context.Context = (*scrRun)(nil)

// runScript runs s for the command in c with its keys and arguments and
// returns the script's reply.
func runScript(c *Ctx, s *scrScript, keys, argv [][]byte, readOnly bool) (reply resp.Reply) {
	vm := c.State.vms.get()
	run := &scrRun{vm: vm, ctx: c, sha: s.sha, db: c.DBNum, readOnly: readOnly || s.flags&scrNoWrites != 0, rng: scrRandInit}
	run.budget.reset()
	vm.run = run
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
		c.State.vms.put(vm)
	}()
	vm.globals.RawSetString("KEYS", scrStrings(L, keys))
	vm.globals.RawSetString("ARGV", scrStrings(L, argv))
	fn := L.NewFunctionFromProto(s.proto)
	fn.Env = vm.code
	L.SetContext(run)
	L.Push(fn)
	err := L.PCall(0, 1, vm.errHandler)
	L.RemoveContext()
	run.budget.settle()
	if aerr, ok := err.(*lua.ApiError); ok && aerr.Type == lua.ApiErrorPanic {
		vm.broken = true // a Go panic inside gopher-lua: do not reuse the state
	}
	switch {
	case run.budget.stop != nil:
		return run.errorReply("ERR " + run.budget.stop.Error())
	case err != nil && run.errMsg == "":
		// The handler could not run (the call stack was full): take the
		// position from the message, as the handler would have found it.
		return run.errorReply(run.unhandled(err))
	case err != nil:
		return run.errorReply(run.errMsg)
	}
	return run.reply(L.Get(-1))
}

// scrStrings makes KEYS or ARGV.
func scrStrings(L *lua.LState, items [][]byte) *lua.LTable {
	t := L.CreateTable(len(items), 0)
	for i, it := range items {
		t.RawSetInt(i+1, lua.LString(it))
	}
	return t
}

// handleError is the error handler of the run's protected call, Redis's
// __redis__err__handler: it notes where the error was raised. Level 1 is
// the function that raised it; when that is a builtin, its Lua caller.
func (vm *scrVM) handleError(L *lua.LState) int {
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
func (r *scrRun) sourceName(chunkID string) string {
	if chunkID == scrChunkName {
		return "@" + scrChunkName
	}
	if src, ok := r.chunks[chunkID]; ok {
		return src
	}
	return chunkID
}

// errMessage is the message of the error object that ended the run: an
// error table's err field, or "ERR " and the value as text.
func (r *scrRun) errMessage() string {
	if t, ok := r.errObj.(*lua.LTable); ok {
		if s, ok := scrStringOf(t.RawGetString("err")); ok {
			return s
		}
		return "ERR Error running script: the error object has no err field"
	}
	return "ERR " + scrHideAddresses(scrToString(r.vm.L, r.errObj))
}

// unhandled is the message of an error the handler never saw.
func (r *scrRun) unhandled(err error) string {
	aerr, ok := err.(*lua.ApiError)
	if !ok {
		return "ERR Error running script (call to f_" + r.sha + "): " + scrHideAddresses(err.Error())
	}
	r.errObj = aerr.Object
	msg := r.errMessage()
	if rest, ok := strings.CutPrefix(msg, "ERR "+scrChunkName+":"); ok {
		if end := strings.IndexByte(rest, ':'); end > 0 {
			if line, err := strconv.Atoi(rest[:end]); err == nil {
				r.errSource, r.errLine = "@"+scrChunkName, line
			}
		}
	}
	return msg
}

// errorReply adds where the error was raised, as Redis 7 does.
func (r *scrRun) errorReply(msg string) resp.Reply {
	if r.errSource != "" {
		msg += " script: " + r.sha + ", on " + r.errSource + ":" + strconv.Itoa(r.errLine) + "."
	}
	return resp.Sanitize(msg)
}

// reply converts the script's return value to RESP as Redis does: strings
// are bulks, numbers integers (truncated), true 1, false and nil nil; a
// table with an err or ok string is an error or status, otherwise an array
// of its elements up to the first nil.
func (r *scrRun) reply(v lua.LValue) resp.Reply {
	out, ok := r.toReply(v, 0)
	if !ok {
		r.errSource = ""
		return r.errorReply("ERR " + r.budget.stop.Error())
	}
	return out
}

// spend charges converting one value; false when a budget ran out.
func (r *scrRun) spend(bytes int) bool {
	r.budget.instr--
	r.budget.bytes -= int64(16 + bytes)
	if r.budget.instr < 0 && r.budget.stop == nil {
		r.budget.stop = errScrInstructions
	}
	if r.budget.bytes < 0 && r.budget.stop == nil {
		r.budget.stop = errScrBytes
	}
	return r.budget.stop == nil
}

func (r *scrRun) toReply(v lua.LValue, depth int) (resp.Reply, bool) {
	if depth >= scrReplyDepth {
		return resp.ErrLuaStackLimit, true
	}
	switch v := v.(type) {
	case lua.LString:
		return resp.Bulk(v), r.spend(len(v))
	case lua.LNumber:
		return resp.Int(scrToInt64(float64(v))), r.spend(0)
	case lua.LBool:
		if v {
			return resp.Int(1), r.spend(0)
		}
		return resp.NullBulk, r.spend(0)
	case *lua.LTable:
		return r.tableReply(v, depth)
	}
	return resp.NullBulk, r.spend(0)
}

func (r *scrRun) tableReply(t *lua.LTable, depth int) (resp.Reply, bool) {
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
		return resp.Bulk(scrNumberString(float64(f), 17)), true
	}
	if s, ok := t.RawGetString("big_number").(lua.LString); ok {
		return resp.Bulk(resp.Sanitize(string(s))), true
	}
	if vt, ok := t.RawGetString("verbatim_string").(*lua.LTable); ok {
		_, fok := vt.RawGetString("format").(lua.LString)
		if s, sok := vt.RawGetString("string").(lua.LString); fok && sok {
			return resp.Bulk(s), r.spend(len(s))
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
func (r *scrRun) pairsReply(t *lua.LTable, depth int, values bool) (resp.Reply, bool) {
	out := resp.Array{}
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
	return out, true
}

// asStatus turns a sanitized text into a status reply.
