package lua

// The redis table scripts see (redis.call, redis.pcall, ...), the
// conversion of command replies into Lua values, and redis.log's buffer.

import (
	"crypto/sha1"
	"encoding/hex"
	"strings"

	lua "github.com/yuin/gopher-lua"

	"github.com/raftlist/raftlist/fsm/resp"
)

func (vm *machine) redisLib() *lua.LTable {
	t := vm.L.NewTable()
	setFuncs(vm.L, t, map[string]lua.LGFunction{
		"call":          func(L *lua.LState) int { return vm.run.call(L, true) },
		"pcall":         func(L *lua.LState) int { return vm.run.call(L, false) },
		"acl_check_cmd": func(L *lua.LState) int { return vm.run.aclCheckCmd(L) },
		"breakpoint":    func(L *lua.LState) int { L.Push(lua.LFalse); return 1 },
		"debug":         func(L *lua.LState) int { return 0 },
		"error_reply":   redisErrorReply, "status_reply": redisStatusReply,
		"log":                func(L *lua.LState) int { return vm.run.log(L) },
		"replicate_commands": func(L *lua.LState) int { L.Push(lua.LTrue); return 1 },
		"set_repl":           setRepl,
		"setresp":            func(L *lua.LState) int { return vm.run.setresp(L) },
		"sha1hex":            sha1Hex,
	})
	for _, c := range []struct {
		name string
		v    lua.LValue
	}{
		{"LOG_DEBUG", lua.LNumber(LogDebug)}, {"LOG_NOTICE", lua.LNumber(LogNotice)},
		{"LOG_VERBOSE", lua.LNumber(LogVerbose)}, {"LOG_WARNING", lua.LNumber(LogWarning)},
		{"REDIS_VERSION", lua.LString(redisVersion)}, {"REDIS_VERSION_NUM", lua.LNumber(redisVersionNum)},
		{"REPL_ALL", lua.LNumber(3)}, {"REPL_AOF", lua.LNumber(1)}, {"REPL_NONE", lua.LNumber(0)},
		{"REPL_REPLICA", lua.LNumber(2)}, {"REPL_SLAVE", lua.LNumber(2)},
	} {
		t.RawSetString(c.name, c.v)
	}
	return t
}

// The Redis version scripts see, the one raftlist's behaviour follows.
const (
	redisVersion    = "7.0.15"
	redisVersionNum = 0x07000f
)

// errorTable is Redis's luaPushErrorBuff: "-CODE message" or "message"
// becomes {err = "CODE message"}, with ERR when no code is given.
func errorTable(L *lua.LState, text string) *lua.LTable {
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
func (r *runState) call(L *lua.LState, raise bool) int {
	args, errText := r.args(L)
	var reply resp.Reply
	if errText != "" {
		reply = resp.Error(errText)
	} else {
		reply = r.host.Call(args)
	}
	if e, ok := reply.(resp.Error); ok {
		t := errorTable(L, "-"+string(e))
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
func (r *runState) args(L *lua.LState) ([][]byte, string) {
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
			out[i] = []byte(numberString(float64(v), 17))
		default:
			return nil, string(resp.ErrScriptArgType)
		}
		size += len(out[i])
	}
	// A command costs as much Go time as a few dozen VM instructions.
	r.budget.charge(L, callCost+int64(size)/64, int64(size))
	return out, ""
}

// callCost is what running one command charges, in instructions.
const callCost = 16

// toLua converts a command's reply as Redis does for RESP2: integers are
// numbers, bulks strings, nil false, a status {ok=...}, an error
// {err=...}; maps, sets, doubles, booleans, big numbers and verbatim text
// as their RESP2 forms are. After redis.setresp(3) it converts them as
// RESP3 (toLua3).
func (r *runState) toLua(L *lua.LState, reply resp.Reply) lua.LValue {
	if r.resp3 {
		if lv, ok := r.toLua3(L, reply); ok {
			return lv
		}
	}
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
		return errorTable(L, "-"+string(v))
	case resp.Array:
		r.budget.charge(L, int64(len(v)), 16*int64(len(v)))
		t := L.CreateTable(len(v), 0)
		for i, e := range v {
			if lv := r.toLua(L, e); lv != lua.LNil {
				t.RawSetInt(i+1, lv)
			}
		}
		return t
	case resp.Map:
		return r.toLua(L, resp.Array(v))
	case resp.Set:
		return r.toLua(L, resp.Array(v))
	case resp.Double:
		return lua.LString(resp.FormatDouble(float64(v)))
	case resp.Bool:
		if v {
			return lua.LNumber(1)
		}
		return lua.LNumber(0)
	case resp.BigNumber:
		return lua.LString(v)
	case resp.Verbatim:
		return r.toLua(L, resp.Bulk(v.Text))
	}
	if r.resp3 {
		return lua.LNil
	}
	return lua.LFalse
}

// toLua3 converts the replies whose RESP3 form reaches Lua differently
// (Redis 7.0's redisProtocolToLuaType): a map {map={k=v}}, a set
// {set={k=true}}, a double {double=n}, a boolean true or false, a big
// number {big_number=s}, verbatim text {verbatim_string={format=,
// string=}}. ok is false for the rest, converted as in RESP2.
func (r *runState) toLua3(L *lua.LState, reply resp.Reply) (lv lua.LValue, ok bool) {
	wrap := func(field string, v lua.LValue) *lua.LTable {
		t := L.CreateTable(0, 1)
		t.RawSetString(field, v)
		return t
	}
	switch v := reply.(type) {
	case resp.Map:
		r.budget.charge(L, int64(len(v)), 16*int64(len(v)))
		t := L.CreateTable(0, len(v)/2)
		for i := 0; i+1 < len(v); i += 2 {
			if k := r.toLua(L, v[i]); k != lua.LNil {
				t.RawSet(k, r.toLua(L, v[i+1]))
			}
		}
		return wrap("map", t), true
	case resp.Set:
		r.budget.charge(L, int64(len(v)), 16*int64(len(v)))
		t := L.CreateTable(0, len(v))
		for _, e := range v {
			if k := r.toLua(L, e); k != lua.LNil {
				t.RawSet(k, lua.LTrue)
			}
		}
		return wrap("set", t), true
	case resp.Double:
		return wrap("double", lua.LNumber(v)), true
	case resp.Bool:
		return lua.LBool(v), true
	case resp.BigNumber:
		return wrap("big_number", lua.LString(v)), true
	case resp.Verbatim:
		vt := L.CreateTable(0, 2)
		vt.RawSetString("format", lua.LString(v.Format))
		vt.RawSetString("string", lua.LString(v.Text))
		return wrap("verbatim_string", vt), true
	}
	return nil, false
}

// aclCheckCmd is redis.acl_check_cmd: raftlist has no ACLs, so every
// known command is allowed.
func (r *runState) aclCheckCmd(L *lua.LState) int {
	args, errText := r.args(L)
	if errText != "" {
		L.Error(errorTable(L, "-"+errText), 0)
	}
	if !r.host.Known(args[0]) {
		L.Error(errorTable(L, "Invalid command passed to redis.acl_check_cmd()"), 0)
	}
	L.Push(lua.LTrue)
	return 1
}

// redis.error_reply (msg)
func redisErrorReply(L *lua.LState) int {
	s, ok := L.Get(1).(lua.LString)
	if L.GetTop() != 1 || !ok {
		L.Push(errorTable(L, "wrong number or type of arguments"))
		return 1
	}
	text := string(s)
	if !strings.HasPrefix(text, "-") {
		text = "-" + text
	}
	L.Push(errorTable(L, text))
	return 1
}

// redis.status_reply (msg)
func redisStatusReply(L *lua.LState) int {
	s, ok := L.Get(1).(lua.LString)
	if L.GetTop() != 1 || !ok {
		L.Push(errorTable(L, "wrong number or type of arguments"))
		return 1
	}
	t := L.CreateTable(0, 1)
	t.RawSetString("ok", s)
	L.Push(t)
	return 1
}

// redis.sha1hex (s)
func sha1Hex(L *lua.LState) int {
	if L.GetTop() != 1 {
		L.Error(errorTable(L, "wrong number of arguments"), 0)
	}
	s, _ := stringOf(L.Get(1))
	runOf(L).budget.charge(L, int64(len(s))/64, 0)
	sum := sha1.Sum([]byte(s))
	L.Push(lua.LString(hex.EncodeToString(sum[:])))
	return 1
}

// redis.set_repl (flags): every node runs the whole script, so there is
// no replication to switch off; the flags are only checked.
func setRepl(L *lua.LState) int {
	if L.GetTop() != 1 {
		L.Error(errorTable(L, "redis.set_repl() requires two arguments."), 0)
	}
	f, _ := toNumber(L.Get(1))
	if flags := toInt64(f); flags&^3 != 0 {
		L.Error(errorTable(L, "Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE."), 0)
	}
	return 0
}

// redis.setresp (2|3): the protocol command replies are converted from,
// and whether the script's Lua booleans are boolean replies (toReply).
func (r *runState) setresp(L *lua.LState) int {
	if L.GetTop() != 1 {
		L.Error(errorTable(L, "redis.setresp() requires one argument."), 0)
	}
	f, _ := toNumber(L.Get(1))
	switch int32(toInt64(f)) {
	case 2:
		r.resp3 = false
	case 3:
		r.resp3 = true
	default:
		L.Error(errorTable(L, "RESP version must be 2 or 3."), 0)
	}
	return 0
}

// Log levels of redis.log, as Redis numbers them.
const (
	LogDebug   = 0
	LogVerbose = 1
	LogNotice  = 2
	LogWarning = 3
)

// log is redis.log (level, message, ...).
func (r *runState) log(L *lua.LState) int {
	n := L.GetTop()
	if n < 2 {
		L.Error(errorTable(L, "redis.log() requires two arguments or more."), 0)
	}
	f, ok := toNumber(L.Get(1))
	if !ok {
		L.Error(errorTable(L, "First argument must be a number (log level)."), 0)
	}
	level := int32(toInt64(f))
	if level < LogDebug || level > LogWarning {
		L.Error(errorTable(L, "Invalid debug level."), 0)
	}
	var b strings.Builder
	for i := 2; i <= n; i++ {
		if s, ok := stringOf(L.Get(i)); ok {
			if i != 2 {
				b.WriteByte(' ')
			}
			b.WriteString(s)
		}
	}
	r.budget.charge(L, 1+int64(b.Len())/64, int64(b.Len()))
	if !r.quiet {
		r.host.Log(int(level), b.String())
	}
	return 0
}
