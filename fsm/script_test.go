package fsm

import (
	"bytes"
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/raftlist/raftlist/fsm/resp"
)

// Every expected reply and error text below was checked against
// redis-server 7.0.15, except where a comment says raftlist differs.

// scrNode is one state machine fed as the front door feeds it: a command
// Validate rejects is answered at once and never applied, a write is
// applied as a one-command log entry, a read runs on the read path.
type scrNode struct {
	t     *testing.T
	st    *State
	index uint64
}

func scrNewNode(t *testing.T) *scrNode { return &scrNode{t: t, st: NewState()} }

// do runs one command in database 0 and returns its reply.
func (n *scrNode) do(args ...string) resp.Reply {
	argv := listBytes(args)
	cmd, err := Validate(argv)
	if err != nil {
		return asError(err)
	}
	if cmd.Flags&resp.ReadOnly != 0 {
		return n.st.Read(0, argv)
	}
	return n.apply(Cmd{Args: argv}).Replies[0]
}

// apply applies cmds as one log entry, as every node would.
func (n *scrNode) apply(cmds ...Cmd) *Result {
	n.index++
	return n.st.Apply(n.index, 1, &Entry{Kind: KindCommands, Cmds: cmds})
}

// scrEval is EVAL body numkeys keys-and-args.
func scrEval(body string, numkeys int, rest ...string) []string {
	return append([]string{"eval", body, strconv.Itoa(numkeys)}, rest...)
}

// scrErrAt is a script error as Redis 7 reports it: the message, the
// script's SHA1 and where the error was raised.
func scrErrAt(msg, body string, line int) resp.Error {
	return resp.Error(msg + " script: " + ScriptSHA([]byte(body)) + ", on @user_script:" + strconv.Itoa(line) + ".")
}

func scrWire(r resp.Reply) string { return string(resp.AppendRESP(nil, r)) }

// scrCase is one command against a fresh node after the given commands.
type scrCase struct {
	name  string
	given [][]string
	args  []string
	want  resp.Reply
	// early: Validate must reject the command (it never reaches the log).
	early bool
}

func scrRunCases(t *testing.T, cases []scrCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n := scrNewNode(t)
			for _, g := range tc.given {
				n.do(g...)
			}
			_, verr := Validate(listBytes(tc.args))
			if tc.early != (verr != nil) {
				t.Fatalf("Validate: exp early rejection %v, got %v", tc.early, verr)
			}
			if exp, got := scrWire(tc.want), scrWire(n.do(tc.args...)); exp != got {
				t.Fatalf("exp %q, got %q", exp, got)
			}
		})
	}
}

// TestScriptsMatchRecordedRedis replays commands recorded against
// redis-server 7.0.15 (testdata/scripts, one session, in order) and
// compares every reply byte for byte.
func TestScriptsMatchRecordedRedis(t *testing.T) {
	data, err := os.ReadFile("testdata/scripts/redis-7.0.15.json")
	if err != nil {
		t.Fatal(err)
	}
	var recorded []struct {
		Cmd   []string `json:"cmd"`
		Reply string   `json:"reply"`
	}
	if err := json.Unmarshal(data, &recorded); err != nil {
		t.Fatal(err)
	}
	n := scrNewNode(t)
	for i, r := range recorded {
		if exp, got := r.Reply, scrWire(n.do(r.Cmd...)); exp != got {
			t.Errorf("#%d %q: exp %q, got %q", i, r.Cmd, exp, got)
		}
	}
}

func TestScriptRepliesFromLua(t *testing.T) {
	deep := func(depth int) string {
		return "local t = {} local c = t for i=1," + strconv.Itoa(depth-1) + " do c[1] = {} c = c[1] end c[1] = 5 return t"
	}
	nested := func(levels int, leaf resp.Reply) resp.Reply {
		for i := 0; i < levels; i++ {
			leaf = resp.Array{leaf}
		}
		return leaf
	}
	scrRunCases(t, []scrCase{
		{name: "a number is truncated toward zero", args: scrEval("return 3.99", 0), want: resp.Int(3)},
		{name: "a negative number is truncated toward zero", args: scrEval("return -3.7", 0), want: resp.Int(-3)},
		{name: "a number out of range is the smallest integer, as on x86-64", args: scrEval("return 1e20", 0), want: resp.Int(-9223372036854775808)},
		{name: "NaN is the smallest integer", args: scrEval("return 0/0", 0), want: resp.Int(-9223372036854775808)},
		{name: "a string is a bulk", args: scrEval("return 'x'", 0), want: resp.Bulk("x")},
		{name: "true is 1", args: scrEval("return true", 0), want: resp.Int(1)},
		{name: "false is nil", args: scrEval("return false", 0), want: resp.NullBulk},
		{name: "nil is nil", args: scrEval("return nil", 0), want: resp.NullBulk},
		{name: "no value is nil", args: scrEval("local x = 1", 0), want: resp.NullBulk},
		{name: "a function is nil", args: scrEval("return function() end", 0), want: resp.NullBulk},
		{name: "a table is an array up to its first nil", args: scrEval("return {1,nil,3}", 0), want: listInts(1)},
		{name: "false inside an array is a nil element", args: scrEval("return {1,false,3}", 0), want: resp.Array{resp.Int(1), resp.NullBulk, resp.Int(3)}},
		{name: "arrays nest", args: scrEval("return {1,{2,{3}},'x'}", 0), want: resp.Array{resp.Int(1), resp.Array{resp.Int(2), listInts(3)}, resp.Bulk("x")}},
		{name: "string keys are not elements", args: scrEval("return {a=1}", 0), want: resp.Array{}},
		{name: "an empty table is an empty array", args: scrEval("return {}", 0), want: resp.Array{}},
		{name: "an err field makes an error reply", args: scrEval("return {err='My Error'}", 0), want: resp.Error("My Error")},
		{name: "an ok field makes a status reply", args: scrEval("return {ok='fine'}", 0), want: resp.Status("fine")},
		{name: "err wins over ok and elements", args: scrEval("return {err='x', ok='y', 1}", 0), want: resp.Error("x")},
		{name: "an err that is not a string is ignored", args: scrEval("return {err=1}", 0), want: resp.Array{}},
		{name: "errors and statuses nest in arrays", args: scrEval("return {1, {err='e'}, {ok='o'}}", 0), want: resp.Array{resp.Int(1), resp.Error("e"), resp.Status("o")}},
		{name: "newlines in a status become spaces", args: scrEval("return {ok='a\\r\\nb'}", 0), want: resp.Status("a  b")},
		{name: "newlines in an error become spaces", args: scrEval("return {err='a\\r\\nb'}", 0), want: resp.Error("a  b")},
		{name: "redis.error_reply adds ERR when there is no code", args: scrEval("return redis.error_reply('x')", 0), want: resp.Error("ERR x")},
		{name: "redis.error_reply keeps a code", args: scrEval("return redis.error_reply('MY x')", 0), want: resp.Error("MY x")},
		{name: "redis.error_reply drops a leading dash", args: scrEval("return redis.error_reply('-MY x')", 0), want: resp.Error("MY x")},
		{name: "redis.error_reply with a bad argument returns an error", args: scrEval("return redis.error_reply(1)", 0), want: resp.Error("ERR wrong number or type of arguments")},
		{name: "redis.status_reply", args: scrEval("return redis.status_reply('x')", 0), want: resp.Status("x")},
		{name: "a double is a bulk with 17 digits", args: scrEval("return {double=3.14}", 0), want: resp.Bulk("3.1400000000000001")},
		{name: "a map is a flat array for RESP2", args: scrEval("return {map={a=1}}", 0), want: resp.Array{resp.Bulk("a"), resp.Int(1)}},
		{name: "a set is an array of its keys", args: scrEval("return {set={a=true}}", 0), want: resp.Array{resp.Bulk("a")}},
		{name: "a big number is a bulk", args: scrEval("return {big_number='123'}", 0), want: resp.Bulk("123")},
		{name: "a verbatim string is a bulk", args: scrEval("return {verbatim_string={format='txt', string='hi'}}", 0), want: resp.Bulk("hi")},
		{name: "a value 7994 tables deep is still returned", args: scrEval(deep(7994), 0), want: nested(7994, resp.Int(5))},
		{name: "a value 7995 tables deep hits Redis's Lua stack limit", args: scrEval(deep(7995), 0), want: nested(7995, resp.Error("ERR reached lua stack limit"))},
		{name: "a table that contains itself stops at the same limit", args: scrEval("local t = {} t[1] = t return t", 0), want: nested(7995, resp.Error("ERR reached lua stack limit"))},
	})
}

func TestScriptRepliesToLua(t *testing.T) {
	scrRunCases(t, []scrCase{
		{name: "an integer is a number", args: scrEval("return type(redis.call('rpush', 'l', 'a'))", 0), want: resp.Bulk("number")},
		{name: "a bulk is a string", given: [][]string{{"rpush", "l", "a"}}, args: scrEval("return type(redis.call('lindex', 'l', 0))", 0), want: resp.Bulk("string")},
		{name: "a nil bulk is false", args: scrEval("return type(redis.call('lpop', 'l'))", 0), want: resp.Bulk("boolean")},
		{name: "a nil array is false", args: scrEval("return type(redis.call('lmpop', 1, 'l', 'left'))", 0), want: resp.Bulk("boolean")},
		{name: "after setresp(3) a nil is nil", args: scrEval("redis.setresp(3) return type(redis.call('lpop', 'l'))", 0), want: resp.Bulk("nil")},
		{name: "a status is a table with ok", args: scrEval("return redis.call('set', 's', 'v').ok", 0), want: resp.Bulk("OK")},
		{name: "an error is a table with err from pcall", given: [][]string{{"set", "s", "v"}}, args: scrEval("return redis.pcall('lpush', 's', 'x').err", 0), want: resp.Bulk("WRONGTYPE Operation against a key holding the wrong kind of value")},
		{name: "arrays are tables, nested", given: [][]string{{"rpush", "l", "a", "b"}}, args: scrEval("return redis.call('lmpop', 1, 'l', 'left', 'count', 2)", 0), want: resp.Array{resp.Bulk("l"), listBulks("a", "b")}},
		{name: "an empty array is an empty table", args: scrEval("return #redis.call('lrange', 'l', 0, -1)", 0), want: resp.Int(0)},
		{name: "a command error raised by redis.call", given: [][]string{{"set", "s", "v"}}, args: scrEval("return redis.call('lpush', 's', 'x')", 0),
			want: scrErrAt("WRONGTYPE Operation against a key holding the wrong kind of value", "return redis.call('lpush', 's', 'x')", 1)},
		{name: "a command error returned by redis.pcall", given: [][]string{{"set", "s", "v"}}, args: scrEval("return redis.pcall('lpush', 's', 'x')", 0),
			want: resp.Error("WRONGTYPE Operation against a key holding the wrong kind of value")},
		{name: "pcall gives a redis.call error as its string", args: scrEval("local ok, e = pcall(redis.call, 'nosuch') return {tostring(ok), e}", 0),
			want: listBulks("false", "ERR Unknown Redis command called from script")},
	})
}

func TestScriptCallArguments(t *testing.T) {
	body := "redis.call('rpush', 'k', 3.5, 1e20, 2^53, 123456789012, 0.1, 1/0, -1/0, 0/0) return redis.call('lrange', 'k', 0, -1)"
	scrRunCases(t, []scrCase{
		{name: "numbers are sent with 17 significant digits", args: scrEval(body, 0),
			want: listBulks("3.5", "1e+20", "9007199254740992", "123456789012", "0.10000000000000001", "inf", "-inf", "-nan")},
		{name: "KEYS and ARGV are strings", args: scrEval("return {KEYS[1], ARGV[1], #KEYS, #ARGV}", 1, "k", "a"), want: resp.Array{resp.Bulk("k"), resp.Bulk("a"), resp.Int(1), resp.Int(1)}},
		{name: "no argument", args: scrEval("return redis.call()", 0), want: scrErrAt("ERR Please specify at least one argument for this redis lib call", "return redis.call()", 1)},
		{name: "a table argument", args: scrEval("return redis.call('lpush', 'k', {})", 0),
			want: scrErrAt("ERR Lua redis lib command arguments must be strings or integers", "return redis.call('lpush', 'k', {})", 1)},
		{name: "a boolean argument", args: scrEval("return redis.pcall('lpush', 'k', true)", 0), want: resp.Error("ERR Lua redis lib command arguments must be strings or integers")},
		{name: "SELECT switches the script's database only", args: scrEval("redis.call('select', 1) redis.call('rpush', 'k', 'v') return redis.call('exists', 'k')", 0), want: resp.Int(1)},
		{name: "SELECT out of range", args: scrEval("return redis.pcall('select', 16)", 0), want: resp.Error("ERR DB index is out of range")},
		{name: "PING", args: scrEval("return redis.call('ping')", 0), want: resp.Status("PONG")},
		{name: "ECHO", args: scrEval("return redis.call('echo', 'x')", 0), want: resp.Bulk("x")},
	})
	t.Run("SELECT inside a script leaves the caller's database alone", func(t *testing.T) {
		n := scrNewNode(t)
		n.do(scrEval("redis.call('select', 1) redis.call('rpush', 'k', 'v')", 0)...)
		if exp, got := "(empty)", listDump(n.st); exp != got {
			t.Fatalf("database 0: exp %s, got %s", exp, got)
		}
		if exp, got := 1, n.st.DB(1).Len(); exp != got {
			t.Fatalf("database 1 keys: exp %d, got %d", exp, got)
		}
	})
}

func TestScriptErrors(t *testing.T) {
	const ro = "return redis.call('rpush', 'k', 'x')"
	scrRunCases(t, []scrCase{
		{name: "numkeys not an integer", args: []string{"eval", "return 1", "x"}, want: resp.ErrNotInteger, early: true},
		{name: "numkeys negative", args: scrEval("return 1", -1), want: resp.Error("ERR Number of keys can't be negative"), early: true},
		{name: "numkeys above the arguments", args: scrEval("return 1", 2, "a"), want: resp.Error("ERR Number of keys can't be greater than number of args"), early: true},
		{name: "numkeys is checked before compiling", args: scrEval("retur 1", -1), want: resp.Error("ERR Number of keys can't be negative"), early: true},
		{name: "a script that does not compile never reaches the log", args: scrEval("x = = 1", 0),
			want: resp.Error("ERR Error compiling script (new function): user_script:1: unexpected symbol near '='"), early: true},
		{name: "a compile error at the end of the script", args: scrEval("local t = {", 0),
			want: resp.Error("ERR Error compiling script (new function): user_script:1: unexpected symbol near '<eof>'"), early: true},
		{name: "EVAL arity", args: []string{"eval", "return 1"}, want: resp.ErrWrongArity("eval"), early: true},
		{name: "EVALSHA of a name that cannot be a SHA1", args: []string{"evalsha", "nosuch", "-1"}, want: resp.Error("NOSCRIPT No matching script. Please use EVAL."), early: true},
		{name: "EVALSHA of an unknown SHA1", args: []string{"evalsha", strings.Repeat("0", 40), "0"}, want: resp.Error("NOSCRIPT No matching script. Please use EVAL.")},
		{name: "EVALSHA checks numkeys first", args: []string{"evalsha", strings.Repeat("0", 40), "5"}, want: resp.Error("ERR Number of keys can't be greater than number of args"), early: true},
		{name: "EVALSHA of a cached script, any case", given: [][]string{{"script", "load", "return 1"}},
			args: []string{"evalsha", "E0E1F9FABFC9D4800C877A703B823AC0578FF8DB", "0"}, want: resp.Int(1)},
		{name: "a runtime error names the script and the line", args: scrEval("local x = 1\nerror('boom')", 0), want: scrErrAt("ERR user_script:2: boom", "local x = 1\nerror('boom')", 2)},
		{name: "error level 0 adds no position", args: scrEval("error('x', 0)", 0), want: scrErrAt("ERR x", "error('x', 0)", 1)},
		{name: "an error table keeps its code", args: scrEval("error({err='MY x'})", 0), want: scrErrAt("MY x", "error({err='MY x'})", 1)},
		{name: "error(nil)", args: scrEval("error(nil)", 0), want: scrErrAt("ERR nil", "error(nil)", 1)},
		{name: "a table without err (Redis 7.0.15 crashes)", args: scrEval("error({})", 0),
			want: scrErrAt("ERR Error running script: the error object has no err field", "error({})", 1)},
		{name: "reading a global that does not exist", args: scrEval("return foo", 0),
			want: scrErrAt("ERR user_script:1: Script attempted to access nonexistent global variable 'foo'", "return foo", 1)},
		{name: "writing a global", args: scrEval("foo = 1", 0), want: scrErrAt("ERR user_script:1: Attempt to modify a readonly table", "foo = 1", 1)},
		{name: "defining a global function", args: scrEval("function f() end", 0), want: scrErrAt("ERR user_script:1: Attempt to modify a readonly table", "function f() end", 1)},
		{name: "an unknown command", args: scrEval("return redis.call('nosuch')", 0), want: scrErrAt("ERR Unknown Redis command called from script", "return redis.call('nosuch')", 1)},
		{name: "an unknown command with pcall", args: scrEval("return redis.pcall('nosuch')", 0), want: resp.Error("ERR Unknown Redis command called from script")},
		{name: "wrong arity inside a script", args: scrEval("return redis.call('lpush', 'k')", 0),
			want: scrErrAt("ERR Wrong number of args calling Redis command from script", "return redis.call('lpush', 'k')", 1)},
		{name: "EVAL from a script", args: scrEval("return redis.call('eval', 'return 1', 0)", 0),
			want: scrErrAt("ERR This Redis command is not allowed from script", "return redis.call('eval', 'return 1', 0)", 1)},
		{name: "SCRIPT from a script", args: scrEval("return redis.pcall('script', 'load', 'return 1')", 0), want: resp.Error("ERR This Redis command is not allowed from script")},
		{name: "a write from EVAL_RO", args: []string{"eval_ro", ro, "0"}, want: scrErrAt("ERR Write commands are not allowed from read-only scripts.", ro, 1)},
		{name: "a write from a no-writes script", args: scrEval("#!lua flags=no-writes\n"+ro, 0),
			want: scrErrAt("ERR Write commands are not allowed from read-only scripts.", "#!lua flags=no-writes\n"+ro, 2)},
		{name: "a read from EVAL_RO", given: [][]string{{"rpush", "k", "a"}}, args: []string{"eval_ro", "return redis.call('llen', 'k')", "0"}, want: resp.Int(1)},
		{name: "EVAL_RO of a script declared writable", args: []string{"eval_ro", "#!lua\nreturn 1", "0"},
			want: resp.Error("ERR Can not execute a script with write flag using *_ro command."), early: true},
		{name: "EVALSHA_RO of a script declared writable", given: [][]string{{"script", "load", "#!lua\nreturn 1"}},
			args: []string{"evalsha_ro", ScriptSHA([]byte("#!lua\nreturn 1")), "0"}, want: resp.Error("ERR Can not execute a script with write flag using *_ro command.")},
		{name: "a shebang without a newline", args: scrEval("#!lua", 0), want: resp.Error("ERR Invalid script shebang"), early: true},
		{name: "another engine", args: scrEval("#!python\nreturn 1", 0), want: resp.Error("ERR Unexpected engine in script shebang: #!python"), early: true},
		{name: "an unknown flag", args: scrEval("#!lua flags=bad\nreturn 1", 0), want: resp.Error("ERR Unexpected flag in script shebang: bad"), early: true},
		{name: "an unknown shebang option", args: scrEval("#!lua x=1\nreturn 1", 0), want: resp.Error("ERR Unknown lua shebang option: x=1"), early: true},
		{name: "every Redis 7.0 flag is accepted", args: scrEval("#!lua flags=allow-stale,no-cluster,allow-cross-slot-keys,allow-oom\nreturn 1", 0), want: resp.Int(1)},
		{name: "SCRIPT without a subcommand", args: []string{"script"}, want: resp.ErrWrongArity("script"), early: true},
		{name: "SCRIPT with an unknown subcommand", args: []string{"script", "bogus"}, want: resp.Error("ERR unknown subcommand 'bogus'. Try SCRIPT HELP."), early: true},
		{name: "SCRIPT LOAD arity", args: []string{"script", "load"}, want: resp.ErrWrongArity("script|load"), early: true},
		{name: "SCRIPT LOAD of a script that does not compile", args: []string{"script", "load", "x = = 1"},
			want: resp.Error("ERR Error compiling script (new function): user_script:1: unexpected symbol near '='"), early: true},
		{name: "SCRIPT EXISTS arity", args: []string{"script", "exists"}, want: resp.ErrWrongArity("script|exists"), early: true},
		{name: "SCRIPT FLUSH with a bad mode", args: []string{"script", "flush", "x"}, want: resp.Error("ERR SCRIPT FLUSH only support SYNC|ASYNC option"), early: true},
		{name: "SCRIPT FLUSH with two modes", args: []string{"script", "flush", "sync", "async"}, want: resp.Error("ERR SCRIPT FLUSH only support SYNC|ASYNC option"), early: true},
		{name: "SCRIPT KILL: nothing is ever running between entries", args: []string{"script", "kill"}, want: resp.Error("NOTBUSY No scripts in execution right now.")},
		{name: "SCRIPT DEBUG NO", args: []string{"script", "debug", "no"}, want: resp.OK},
		{name: "SCRIPT DEBUG with a bad mode", args: []string{"script", "debug", "x"}, want: resp.Error("ERR Use SCRIPT DEBUG YES/SYNC/NO"), early: true},
		{name: "SCRIPT DEBUG YES (raftlist has no debugger)", args: []string{"script", "debug", "yes"}, want: resp.ErrScriptDebug, early: true},
		{name: "redis.log without a message", args: scrEval("redis.log(1)", 0), want: scrErrAt("ERR redis.log() requires two arguments or more.", "redis.log(1)", 1)},
		{name: "redis.log with a bad level", args: scrEval("redis.log('x', 'y')", 0), want: scrErrAt("ERR First argument must be a number (log level).", "redis.log('x', 'y')", 1)},
		{name: "redis.log with a level out of range", args: scrEval("redis.log(9, 'y')", 0), want: scrErrAt("ERR Invalid debug level.", "redis.log(9, 'y')", 1)},
		{name: "redis.setresp(3) is accepted", args: scrEval("redis.setresp(3) return 1", 0), want: resp.Int(1)},
		{name: "redis.setresp(4)", args: scrEval("redis.setresp(4)", 0), want: scrErrAt("ERR RESP version must be 2 or 3.", "redis.setresp(4)", 1)},
		{name: "redis.setresp()", args: scrEval("redis.setresp()", 0), want: scrErrAt("ERR redis.setresp() requires one argument.", "redis.setresp()", 1)},
		{name: "redis.set_repl with bad flags", args: scrEval("redis.set_repl(99)", 0),
			want: scrErrAt("ERR Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.", "redis.set_repl(99)", 1)},
		{name: "redis.sha1hex arity", args: scrEval("redis.sha1hex()", 0), want: scrErrAt("ERR wrong number of arguments", "redis.sha1hex()", 1)},
		{name: "redis.sha1hex", args: scrEval("return redis.sha1hex('')", 0), want: resp.Bulk("da39a3ee5e6b4b0d3255bfef95601890afd80709")},
		{name: "redis.acl_check_cmd of an unknown command", args: scrEval("return redis.acl_check_cmd('nosuch')", 0),
			want: scrErrAt("ERR Invalid command passed to redis.acl_check_cmd()", "return redis.acl_check_cmd('nosuch')", 1)},
		{name: "an error deep in a function names the line that raised it", args: scrEval("local function f()\n  local t = nil\n  return t.x\nend\nreturn f()", 0),
			want: scrErrAt("ERR user_script:3: attempt to index a non-table object(nil) with key 'x'", "local function f()\n  local t = nil\n  return t.x\nend\nreturn f()", 3)},
	})
}

func TestScriptCache(t *testing.T) {
	const body = "return 'cached'"
	sha := ScriptSHA([]byte(body))
	t.Run("SCRIPT LOAD answers the SHA1 and EVALSHA runs it", func(t *testing.T) {
		n := scrNewNode(t)
		if exp, got := scrWire(resp.Bulk(sha)), scrWire(n.do("script", "load", body)); exp != got {
			t.Fatalf("exp %q, got %q", exp, got)
		}
		if exp, got := scrWire(resp.Bulk("cached")), scrWire(n.do("evalsha", sha, "0")); exp != got {
			t.Fatalf("exp %q, got %q", exp, got)
		}
	})
	t.Run("EVAL caches its script, EVAL_RO does not", func(t *testing.T) {
		n := scrNewNode(t)
		n.do("eval_ro", body, "0")
		if exp, got := scrWire(listInts(0)), scrWire(n.do("script", "exists", sha)); exp != got {
			t.Fatalf("after EVAL_RO: exp %q, got %q", exp, got)
		}
		n.do("eval", body, "0")
		if exp, got := scrWire(listInts(1, 0)), scrWire(n.do("script", "exists", strings.ToUpper(sha), "x")); exp != got {
			t.Fatalf("after EVAL: exp %q, got %q", exp, got)
		}
	})
	t.Run("a script that fails at run time is cached", func(t *testing.T) {
		n := scrNewNode(t)
		n.do("eval", "error('x')", "0")
		if exp, got := 1, n.st.ScriptCount(); exp != got {
			t.Fatalf("exp %d scripts, got %d", exp, got)
		}
	})
	t.Run("SCRIPT FLUSH empties the cache", func(t *testing.T) {
		n := scrNewNode(t)
		n.do("script", "load", body)
		n.do("script", "flush", "async")
		if exp, got := scrWire(resp.ErrNoScript), scrWire(n.do("evalsha", sha, "0")); exp != got {
			t.Fatalf("exp %q, got %q", exp, got)
		}
	})
	t.Run("the cache is in snapshots, clones and the digest", func(t *testing.T) {
		n := scrNewNode(t)
		empty := n.st.Digest()
		n.do("script", "load", body)
		withScript := n.st.Digest()
		if withScript == empty {
			t.Fatalf("digest did not change when a script was cached: %s", withScript)
		}
		var buf bytes.Buffer
		if err := WriteSnapshot(&buf, n.st); err != nil {
			t.Fatal(err)
		}
		restored, err := ReadSnapshot(bytes.NewReader(buf.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		var again bytes.Buffer
		if err := WriteSnapshot(&again, restored); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(buf.Bytes(), again.Bytes()) {
			t.Fatal("a restored state does not snapshot to the same bytes")
		}
		for name, st := range map[string]*State{"restored": restored, "clone": n.st.Clone()} {
			if exp, got := withScript, st.Digest(); exp != got {
				t.Fatalf("%s digest: exp %s, got %s", name, exp, got)
			}
			m := &scrNode{t: t, st: st, index: n.index}
			if exp, got := scrWire(resp.Bulk("cached")), scrWire(m.do("evalsha", sha, "0")); exp != got {
				t.Fatalf("%s: exp %q, got %q", name, exp, got)
			}
		}
		n.do("script", "flush")
		if exp, got := empty, n.st.Digest(); exp != got {
			t.Fatalf("digest after SCRIPT FLUSH: exp %s, got %s", exp, got)
		}
	})
}

// scrWaitOn registers a BLPOP waiter on key for owner/seq.
func scrWaitOn(t *testing.T, n *scrNode, key, owner string, seq uint64) {
	t.Helper()
	res := n.apply(Cmd{Owner: owner, Seq: seq, Args: listBytes([]string{"blpop", key, "0"})})
	if res.Replies[0] != resp.Blocked {
		t.Fatalf("BLPOP: exp blocked, got %q", scrWire(res.Replies[0]))
	}
}

func TestScriptServesWaitersAfterTheWholeScript(t *testing.T) {
	t.Run("a push inside a script serves the waiter when the script ends", func(t *testing.T) {
		n := scrNewNode(t)
		scrWaitOn(t, n, "q", "node-a", 1)
		body := "redis.call('rpush', 'q', 'x', 'y') return redis.call('llen', 'q')"
		res := n.apply(Cmd{Args: listBytes(scrEval(body, 0))})
		// The script saw both elements: nobody was served while it ran.
		if exp, got := scrWire(resp.Int(2)), scrWire(res.Replies[0]); exp != got {
			t.Fatalf("script reply: exp %q, got %q", exp, got)
		}
		if len(res.Served) != 1 || scrWire(res.Served[0].Reply) != scrWire(listBulks("q", "x")) {
			t.Fatalf("served: exp node-a/1 with [q x], got %+v", res.Served)
		}
		if exp, got := `q=[y]`, listDump(n.st); exp != got {
			t.Fatalf("keyspace: exp %s, got %s", exp, got)
		}
	})
	t.Run("a script that pushes then pops the element serves nobody", func(t *testing.T) {
		n := scrNewNode(t)
		scrWaitOn(t, n, "q", "node-a", 1)
		res := n.apply(Cmd{Args: listBytes(scrEval("redis.call('rpush', 'q', 'x') return redis.call('lpop', 'q')", 0))})
		if exp, got := scrWire(resp.Bulk("x")), scrWire(res.Replies[0]); exp != got {
			t.Fatalf("script reply: exp %q, got %q", exp, got)
		}
		if len(res.Served) != 0 || n.st.BlockedWaiters() != 1 {
			t.Fatalf("exp the waiter still blocked and nobody served, got served %+v, %d waiters", res.Served, n.st.BlockedWaiters())
		}
	})
	t.Run("a script that fails after a push keeps it and serves the waiter", func(t *testing.T) {
		n := scrNewNode(t)
		scrWaitOn(t, n, "q", "node-a", 1)
		res := n.apply(Cmd{Args: listBytes(scrEval("redis.call('rpush', 'q', 'x') error('late')", 0))})
		if _, ok := res.Replies[0].(resp.Error); !ok {
			t.Fatalf("script reply: exp an error, got %q", scrWire(res.Replies[0]))
		}
		if len(res.Served) != 1 || scrWire(res.Served[0].Reply) != scrWire(listBulks("q", "x")) {
			t.Fatalf("served: exp node-a/1 with [q x], got %+v", res.Served)
		}
	})
	t.Run("blocking commands inside a script do not block", func(t *testing.T) {
		n := scrNewNode(t)
		res := n.apply(Cmd{Owner: "node-a", Seq: 7, Args: listBytes(scrEval("return redis.call('blmpop', 0, 1, 'q', 'left')", 0))})
		if exp, got := scrWire(resp.NullBulk), scrWire(res.Replies[0]); exp != got {
			t.Fatalf("exp %q, got %q", exp, got)
		}
		if n.st.BlockedWaiters() != 0 {
			t.Fatalf("exp no waiter, got %d", n.st.BlockedWaiters())
		}
	})
	t.Run("BLPOP, BRPOP, BRPOPLPUSH and BLMOVE inside a script", func(t *testing.T) {
		// redis-server 7.0.15 flags these four noscript; this table
		// follows whatever the command table declares.
		for _, args := range [][]string{{"blpop", "q", "0"}, {"brpop", "q", "0"}, {"brpoplpush", "q", "d", "0"}, {"blmove", "q", "d", "left", "left", "0"}} {
			n := scrNewNode(t)
			quoted := "'" + strings.Join(args, "', '") + "'"
			body := "return redis.pcall(" + quoted + ")"
			// Not blocking, they answer nil, which the script returns as nil.
			want := scrWire(resp.NullBulk)
			if Lookup([]byte(args[0])).Flags&resp.NoScript != 0 {
				want = scrWire(resp.ErrScriptNoScript)
			}
			res := n.apply(Cmd{Owner: "node-a", Seq: 1, Args: listBytes(scrEval(body, 0))})
			if got := scrWire(res.Replies[0]); got != want {
				t.Fatalf("%s: exp %q, got %q", args[0], want, got)
			}
			if n.st.BlockedWaiters() != 0 {
				t.Fatalf("%s: exp no waiter, got %d", args[0], n.st.BlockedWaiters())
			}
		}
	})
}

func TestScriptKeepsWritesMadeBeforeAnError(t *testing.T) {
	for _, body := range []string{
		"redis.call('rpush', 'k', 'a') error('stop')",
		"redis.call('rpush', 'k', 'a') redis.call('nosuch')",
		"redis.call('rpush', 'k', 'a') while true do end",
		"redis.call('rpush', 'k', 'a') local s = 'x' while true do s = s .. s end",
	} {
		t.Run(body, func(t *testing.T) {
			a, b := scrNewNode(t), scrNewNode(t)
			ra, rb := a.do(scrEval(body, 0)...), b.do(scrEval(body, 0)...)
			if _, ok := ra.(resp.Error); !ok {
				t.Fatalf("exp an error, got %q", scrWire(ra))
			}
			if exp, got := scrWire(ra), scrWire(rb); exp != got {
				t.Fatalf("the two nodes answered differently: %q and %q", exp, got)
			}
			if exp, got := "k=[a]", listDump(a.st); exp != got {
				t.Fatalf("keyspace: exp %s, got %s", exp, got)
			}
			if exp, got := a.st.Digest(), b.st.Digest(); exp != got {
				t.Fatalf("digests differ: %s and %s", exp, got)
			}
		})
	}
}

func TestScriptLog(t *testing.T) {
	n := scrNewNode(t)
	n.st.TakeScriptLogs()
	n.do(scrEval("redis.log(redis.LOG_WARNING, 'hello', 1, {}, 'x') redis.log(redis.LOG_DEBUG, 'quiet')", 0)...)
	lines, dropped := n.st.TakeScriptLogs()
	exp := []ScriptLog{{ScriptLogWarning, "hello 1 x"}, {ScriptLogDebug, "quiet"}}
	if len(lines) != len(exp) || lines[0] != exp[0] || lines[1] != exp[1] || dropped != 0 {
		t.Fatalf("exp %v, got %v (%d dropped)", exp, lines, dropped)
	}
	n.do(scrEval("for i = 1, 1100 do redis.log(redis.LOG_NOTICE, i) end", 0)...)
	lines, dropped = n.st.TakeScriptLogs()
	if len(lines) != scriptLogMax || dropped != 1100-scriptLogMax || lines[len(lines)-1].Line != "1100" {
		t.Fatalf("exp the newest %d lines and %d dropped, got %d lines, %d dropped", scriptLogMax, 1100-scriptLogMax, len(lines), dropped)
	}
}

func TestScriptCommandTable(t *testing.T) {
	for _, tc := range []struct {
		name  string
		flags resp.Flags
	}{
		{"eval", resp.Write | resp.NoScript | resp.Stale | resp.SkipMonitor | resp.NoMandatoryKeys | resp.MovableKeys},
		{"evalsha", resp.Write | resp.NoScript | resp.Stale | resp.SkipMonitor | resp.NoMandatoryKeys | resp.MovableKeys},
		{"eval_ro", resp.ReadOnly | resp.NoScript | resp.Stale | resp.SkipMonitor | resp.NoMandatoryKeys | resp.MovableKeys},
		{"evalsha_ro", resp.ReadOnly | resp.NoScript | resp.Stale | resp.SkipMonitor | resp.NoMandatoryKeys | resp.MovableKeys},
		{"script", resp.Write | resp.NoScript},
	} {
		c := Lookup([]byte(tc.name))
		if c == nil {
			t.Fatalf("%s: not in the command table", tc.name)
		}
		if c.Flags != tc.flags {
			t.Fatalf("%s flags: exp %b, got %b", tc.name, tc.flags, c.Flags)
		}
	}
}
