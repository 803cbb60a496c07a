package fsm

// The redis table scripts see (redis.call, redis.pcall, ...), the
// conversion of command replies into Lua values, and redis.log's buffer.

import (
	"crypto/sha1"
	"encoding/hex"
	"strings"
	"sync"

	lua "github.com/yuin/gopher-lua"

	"github.com/raftlist/raftlist/fsm/resp"
)

func (vm *scrVM) redisLib() *lua.LTable {
	t := vm.L.NewTable()
	scrSetFuncs(vm.L, t, map[string]lua.LGFunction{
		"call":          func(L *lua.LState) int { return vm.run.call(L, true) },
		"pcall":         func(L *lua.LState) int { return vm.run.call(L, false) },
		"acl_check_cmd": func(L *lua.LState) int { return vm.run.aclCheckCmd(L) },
		"breakpoint":    func(L *lua.LState) int { L.Push(lua.LFalse); return 1 },
		"debug":         func(L *lua.LState) int { return 0 },
		"error_reply":   scrErrorReply, "status_reply": scrStatusReply,
		"log":                func(L *lua.LState) int { return vm.run.log(L) },
		"replicate_commands": func(L *lua.LState) int { L.Push(lua.LTrue); return 1 },
		"set_repl":           scrSetRepl,
		"setresp":            func(L *lua.LState) int { return vm.run.setresp(L) },
		"sha1hex":            scrSHA1Hex,
	})
	for _, c := range []struct {
		name string
		v    lua.LValue
	}{
		{"LOG_DEBUG", lua.LNumber(ScriptLogDebug)}, {"LOG_NOTICE", lua.LNumber(ScriptLogNotice)},
		{"LOG_VERBOSE", lua.LNumber(ScriptLogVerbose)}, {"LOG_WARNING", lua.LNumber(ScriptLogWarning)},
		{"REDIS_VERSION", lua.LString(scrRedisVersion)}, {"REDIS_VERSION_NUM", lua.LNumber(scrRedisVersionNum)},
		{"REPL_ALL", lua.LNumber(3)}, {"REPL_AOF", lua.LNumber(1)}, {"REPL_NONE", lua.LNumber(0)},
		{"REPL_REPLICA", lua.LNumber(2)}, {"REPL_SLAVE", lua.LNumber(2)},
	} {
		t.RawSetString(c.name, c.v)
	}
	return t
}

// The Redis version scripts see, the one raftlist's behaviour follows.
const (
	scrRedisVersion    = "7.0.15"
	scrRedisVersionNum = 0x07000f
)

// scrErrorTable is Redis's luaPushErrorBuff: "-CODE message" or "message"
// becomes {err = "CODE message"}, with ERR when no code is given.
func scrErrorTable(L *lua.LState, text string) *lua.LTable {
	var code, msg string
	if rest, ok := strings.CutPrefix(text, "-"); ok {
		code, msg, ok = strings.Cut(rest, " ")
		if !ok {
			code, msg = "ERR", rest
		}
	} else {
		code, msg = "ERR", text
	}
	t := L.CreateTable(0, 1)
	t.RawSetString("err", lua.LString(code+" "+strings.Trim(msg, "\r\n")))
	return t
}

// call is redis.call (raise) and redis.pcall: run a command as the script.
func (r *scrRun) call(L *lua.LState, raise bool) int {
	args, errText := r.args(L)
	var reply resp.Reply
	if errText != "" {
		reply = resp.Error(errText)
	} else {
		reply = r.exec(args)
	}
	if e, ok := reply.(resp.Error); ok {
		t := scrErrorTable(L, "-"+string(e))
		if raise {
			L.Error(t, 0)
		}
		L.Push(t)
		return 1
	}
	L.Push(r.toLua(L, reply))
	return 1
}

// args converts redis.call's arguments: strings as they are, numbers as
// "%.17g" (Redis keeps their precision), anything else is an error.
func (r *scrRun) args(L *lua.LState) ([][]byte, string) {
	n := L.GetTop()
	if n == 0 {
		return nil, string(resp.ErrScriptNoArgs)
	}
	out := make([][]byte, n)
	size := 0
	for i := range out {
		switch v := L.Get(i + 1).(type) {
		case lua.LString:
			out[i] = []byte(v)
		case lua.LNumber:
			out[i] = []byte(scrNumberString(float64(v), 17))
		default:
			return nil, string(resp.ErrScriptArgType)
		}
		size += len(out[i])
	}
	// A command costs as much Go time as a few dozen VM instructions.
	r.budget.charge(L, scrCallCost+int64(size)/64, int64(size))
	return out, ""
}

// scrCallCost is what running one command charges, in instructions.
const scrCallCost = 16

// exec runs one command for the script with Redis's checks, in Redis's
// order: known, arity, allowed in scripts, allowed in a read-only script.
// Blocking commands answer as if they timed out at once (NoBlock).
func (r *scrRun) exec(args [][]byte) resp.Reply {
	cmd := Lookup(args[0])
	switch {
	case cmd == nil:
		return resp.ErrScriptUnknownCmd
	case cmd.CheckArity(args) != nil:
		return resp.ErrScriptArity
	case cmd.Flags&resp.NoScript != 0:
		return resp.ErrScriptNoScript
	case r.readOnly && cmd.Flags&resp.Write != 0:
		return resp.ErrScriptWrite
	}
	exec, err := cmd.Prepare(args)
	if err != nil {
		return asError(err)
	}
	c := *r.ctx
	c.DBNum, c.Args, c.NoBlock = r.db, args, true
	reply := exec(&c)
	r.db = c.DBNum // SELECT switches the script's database
	return reply
}

// toLua converts a command's reply as Redis does for RESP2 (and RESP3
// after redis.setresp(3), where nil stays nil): integers are numbers, bulks
// strings, nil false, a status {ok=...}, an error {err=...}.
func (r *scrRun) toLua(L *lua.LState, reply resp.Reply) lua.LValue {
	switch v := reply.(type) {
	case resp.Int:
		return lua.LNumber(v)
	case resp.Bulk:
		r.budget.charge(L, int64(len(v))/64, int64(len(v)))
		return lua.LString(v)
	case resp.Status:
		t := L.CreateTable(0, 1)
		t.RawSetString("ok", lua.LString(v))
		return t
	case resp.Error:
		return scrErrorTable(L, "-"+string(v))
	case resp.Array:
		r.budget.charge(L, int64(len(v)), 16*int64(len(v)))
		t := L.CreateTable(len(v), 0)
		for i, e := range v {
			if lv := r.toLua(L, e); lv != lua.LNil {
				t.RawSetInt(i+1, lv)
			}
		}
		return t
	}
	if r.resp3 {
		return lua.LNil
	}
	return lua.LFalse
}

// aclCheckCmd is redis.acl_check_cmd: raftlist has no ACLs, so every
// known command is allowed.
func (r *scrRun) aclCheckCmd(L *lua.LState) int {
	args, errText := r.args(L)
	if errText != "" {
		L.Error(scrErrorTable(L, "-"+errText), 0)
	}
	if Lookup(args[0]) == nil {
		L.Error(scrErrorTable(L, "Invalid command passed to redis.acl_check_cmd()"), 0)
	}
	L.Push(lua.LTrue)
	return 1
}

// redis.error_reply (msg)
func scrErrorReply(L *lua.LState) int {
	s, ok := L.Get(1).(lua.LString)
	if L.GetTop() != 1 || !ok {
		L.Push(scrErrorTable(L, "wrong number or type of arguments"))
		return 1
	}
	text := string(s)
	if !strings.HasPrefix(text, "-") {
		text = "-" + text
	}
	L.Push(scrErrorTable(L, text))
	return 1
}

// redis.status_reply (msg)
func scrStatusReply(L *lua.LState) int {
	s, ok := L.Get(1).(lua.LString)
	if L.GetTop() != 1 || !ok {
		L.Push(scrErrorTable(L, "wrong number or type of arguments"))
		return 1
	}
	t := L.CreateTable(0, 1)
	t.RawSetString("ok", s)
	L.Push(t)
	return 1
}

// redis.sha1hex (s)
func scrSHA1Hex(L *lua.LState) int {
	if L.GetTop() != 1 {
		L.Error(scrErrorTable(L, "wrong number of arguments"), 0)
	}
	s, _ := scrStringOf(L.Get(1))
	scrRunOf(L).budget.charge(L, int64(len(s))/64, 0)
	sum := sha1.Sum([]byte(s))
	L.Push(lua.LString(hex.EncodeToString(sum[:])))
	return 1
}

// redis.set_repl (flags): every node runs the whole script, so there is
// no replication to switch off; the flags are only checked.
func scrSetRepl(L *lua.LState) int {
	if L.GetTop() != 1 {
		L.Error(scrErrorTable(L, "redis.set_repl() requires two arguments."), 0)
	}
	f, _ := scrToNumber(L.Get(1))
	if flags := scrToInt64(f); flags&^3 != 0 {
		L.Error(scrErrorTable(L, "Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE."), 0)
	}
	return 0
}

// redis.setresp (2|3): the protocol command replies are converted from.
// Replies to clients stay RESP2.
func (r *scrRun) setresp(L *lua.LState) int {
	if L.GetTop() != 1 {
		L.Error(scrErrorTable(L, "redis.setresp() requires one argument."), 0)
	}
	f, _ := scrToNumber(L.Get(1))
	switch int32(scrToInt64(f)) {
	case 2:
		r.resp3 = false
	case 3:
		r.resp3 = true
	default:
		L.Error(scrErrorTable(L, "RESP version must be 2 or 3."), 0)
	}
	return 0
}

// Log levels of redis.log, as Redis numbers them.
const (
	ScriptLogDebug   = 0
	ScriptLogVerbose = 1
	ScriptLogNotice  = 2
	ScriptLogWarning = 3
)

// ScriptLog is one line a script wrote with redis.log.
type ScriptLog struct {
	Level int
	Line  string
}

// scriptLogMax is how many lines a state keeps for its node to collect.
const scriptLogMax = 1024

// scriptLogBuffer holds redis.log lines until the node takes them. It is
// not replicated state (no snapshot, no digest): every node that runs a
// script collects the same lines, and each decides what to do with them.
// A mutex, because EVAL_RO runs on the read path, concurrently.
type scriptLogBuffer struct {
	mu      sync.Mutex
	lines   []ScriptLog
	dropped int
}

// TakeScriptLogs returns and forgets the redis.log lines scripts wrote
// since the last call, and how many older lines were dropped because
// nobody took them (only the newest scriptLogMax are kept). The node
// writes them to its log.
func (s *State) TakeScriptLogs() ([]ScriptLog, int) {
	b := s.scriptLog
	b.mu.Lock()
	defer b.mu.Unlock()
	lines, dropped := b.lines, b.dropped
	b.lines, b.dropped = nil, 0
	return lines, dropped
}

func (b *scriptLogBuffer) add(l ScriptLog) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.lines) >= scriptLogMax {
		b.lines = append(b.lines[:0:0], b.lines[1:]...)
		b.dropped++
	}
	b.lines = append(b.lines, l)
}

// log is redis.log (level, message, ...).
func (r *scrRun) log(L *lua.LState) int {
	n := L.GetTop()
	if n < 2 {
		L.Error(scrErrorTable(L, "redis.log() requires two arguments or more."), 0)
	}
	f, ok := scrToNumber(L.Get(1))
	if !ok {
		L.Error(scrErrorTable(L, "First argument must be a number (log level)."), 0)
	}
	level := int32(scrToInt64(f))
	if level < ScriptLogDebug || level > ScriptLogWarning {
		L.Error(scrErrorTable(L, "Invalid debug level."), 0)
	}
	var b strings.Builder
	for i := 2; i <= n; i++ {
		if s, ok := scrStringOf(L.Get(i)); ok {
			if i != 2 {
				b.WriteByte(' ')
			}
			b.WriteString(s)
		}
	}
	r.budget.charge(L, 1+int64(b.Len())/64, int64(b.Len()))
	r.ctx.State.scriptLog.add(ScriptLog{Level: int(level), Line: b.String()})
	return 0
}
