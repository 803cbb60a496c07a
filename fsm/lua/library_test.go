package lua

import (
	"testing"

	"github.com/raftlist/raftlist/fsm/resp"
)

// loadLib parses, compiles and loads code on p; the error as text.
func loadLib(t *testing.T, p *Pool, code string) (*Library, []Function, string) {
	t.Helper()
	l, err := ParseLibrary([]byte(code))
	if err == nil {
		var funcs []Function
		funcs, err = p.LoadLibrary(l, newFakeHost(), DefaultBudget)
		if err == nil {
			return l, funcs, ""
		}
	}
	return nil, nil, err.Error()
}

// The texts are redis-server 7.0.15's, taken with redis-cli.
func TestLibraryLoadErrorsAreRedis(t *testing.T) {
	p := &Pool{}
	for _, c := range []struct{ code, exp string }{
		{"return 1", "ERR Missing library metadata"},
		{"#!lua", "ERR Invalid library metadata"},
		{"#!lua name=a foo=bar\n", "ERR Invalid metadata value given: foo=bar"},
		{"#!lua name=a name=b\n", "ERR Invalid metadata value, name argument was given multiple times"},
		{"#!js name=a\n", "ERR Engine 'js' not found"},
		{"#! name=a\n", "ERR Engine '' not found"},
		{"#!lua name=a-b\n", "ERR Library names can only contain letters, numbers, or underscores(_) and must be at least one character long"},
		{"#!lua\n", "ERR Library name was not given"},
		{"#!lua name=l\nreturn 1", ""}, // no functions: the caller's error
		{"#!lua name=l\nx = 1", "ERR Error registering functions: ERR user_function:2: Attempt to modify a readonly table"},
		{"#!lua name=l\nlocal y = string.len('a')", "ERR Error registering functions: ERR user_function:2: Script attempted to access nonexistent global variable 'string'"},
		{"#!lua name=l\nredis.call('ping')", "ERR Error registering functions: ERR user_function:2: Script attempted to access nonexistent global variable 'call'"},
		{"#!lua name=l\nredis.register_function()", "ERR Error registering functions: ERR wrong number of arguments to redis.register_function"},
		{"#!lua name=l\nredis.register_function('a-b', function() end)", "ERR Error registering functions: ERR Library names can only contain letters, numbers, or underscores(_) and must be at least one character long"},
		// A NUL is part of the name (luaGetStringSds), not its end.
		{"#!lua name=l\nredis.register_function('a\\0b', function() end)", "ERR Error registering functions: ERR Library names can only contain letters, numbers, or underscores(_) and must be at least one character long"},
		{"#!lua name=l\nerror('boom')", "ERR Error registering functions: ERR user_function:2: Script attempted to access nonexistent global variable 'error'"},
		// Redis: "'=' expected near 'error'": gopher-lua's parser words it as for EVAL.
		{"#!lua name=l\nsyntax error here", "ERR Error compiling function: user_function:2: unexpected symbol near 'error'"},
		{"#!lua name=l\nredis.register_function{function_name='g2', callback=function() return 1 end, flags={'bad'}}", "ERR Error registering functions: ERR unknown flag given"},
		{"#!lua name=l\nredis.register_function{function_name='g2', callback=function() return 1 end, foo=1}", "ERR Error registering functions: ERR unknown argument given to redis.register_function"},
		{"#!lua name=l\nredis.register_function('f', function() end) redis.register_function('f', function() end)", "ERR Error registering functions: ERR Function already exists in the library"},
		{"#!lua name=l\nwhile true do end", "ERR Error registering functions: ERR FUNCTION LOAD timeout"},
	} {
		_, _, got := loadLib(t, p, c.code)
		if got != c.exp {
			t.Errorf("%q:\nexp %q\ngot %q", c.code, c.exp, got)
		}
	}
}

func TestLibraryFunctionsCallAsRedis(t *testing.T) {
	p := &Pool{}
	l, funcs, err := loadLib(t, p, `#!lua name=e1
redis.register_function('e1', function(keys, args) return error('boom') end)
redis.register_function('e2', function(keys, args) return redis.call('nosuch') end)
redis.register_function('e3', function(keys, args) return redis.register_function('zz', function() end) end)
redis.register_function('e4', function(keys, args) return {keys[1], args[1], #keys, #args} end)
redis.register_function('e5', function(keys, args) return KEYS end)
redis.register_function('e6', function(keys, args) x = 5 end)
redis.register_function{function_name='e8', callback=function(keys, args) return 1 end, flags={'no-writes', 'ALLOW-OOM'}, description='dd'}
`)
	if err != "" {
		t.Fatal(err)
	}
	if len(funcs) != 7 || funcs[6].Name != "e8" || funcs[6].Flags != 3 || funcs[6].Description != "dd" || !funcs[6].HasDesc {
		t.Fatalf("functions: %+v", funcs)
	}
	for _, c := range []struct {
		f   string
		exp resp.Reply
	}{
		{"e1", resp.Error("ERR user_function:2: boom script: e1, on @user_function:2.")},
		{"e2", resp.Error("ERR Unknown Redis command called from script script: e2, on @user_function:3.")},
		// Redis: "attempt to call field 'register_function' (a nil value)":
		// gopher-lua's wording, as for EVAL.
		{"e3", resp.Error("ERR user_function:4: attempt to call a non-function object script: e3, on @user_function:4.")},
		{"e4", resp.Array{resp.BulkString("k1"), resp.BulkString("a1"), resp.Int(2), resp.Int(1)}},
		{"e5", resp.Error("ERR user_function:6: Script attempted to access nonexistent global variable 'KEYS' script: e5, on @user_function:6.")},
		{"e6", resp.Error("ERR user_function:7: Attempt to modify a readonly table script: e6, on @user_function:7.")},
		{"e8", resp.Int(1)},
		{"nope", resp.Error("ERR Function not found")},
	} {
		got := p.CallFunction(l, c.f, [][]byte{[]byte("k1"), []byte("k2")}, [][]byte{[]byte("a1")}, newFakeHost(), DefaultBudget)
		if wire(got) != wire(c.exp) {
			t.Errorf("%s: exp %v, got %v", c.f, c.exp, got)
		}
	}
	if Tainted() != 0 {
		t.Fatalf("tainted %d", Tainted())
	}
}

// A library cannot keep state between calls: every FCALL runs its code
// afresh, so upvalues start over, and nothing shared can be written.
func TestLibraryKeepsNoStateBetweenCalls(t *testing.T) {
	defer CheckValues(CheckValues(true))
	p := &Pool{}
	l, _, err := loadLib(t, p, `#!lua name=st
local n = 0
local t = {}
local r = redis
redis.register_function('count', function() n = n + 1; t[#t+1] = n; return {n, #t} end)
redis.register_function('meta', function()
  local ok = pcall(function() getmetatable('').__index.upper = function() return 'x' end end)
  local ok2 = pcall(function() string.upper = nil end)
  local ok3 = pcall(function() rawset(_G, 'g', 1) end)
  local ok4 = pcall(function() r.register_function('z', function() end) end)
  return {tostring(ok), tostring(ok2), tostring(ok3), tostring(ok4), string.upper('a')}
end)
`)
	if err != "" {
		t.Fatal(err)
	}
	for i := 0; i < MaxIdle+3; i++ {
		got := p.CallFunction(l, "count", nil, nil, newFakeHost(), DefaultBudget)
		if exp := (resp.Array{resp.Int(1), resp.Int(1)}); wire(got) != wire(exp) {
			t.Fatalf("call %d: exp %v, got %v", i, exp, got)
		}
		got = p.CallFunction(l, "meta", nil, nil, newFakeHost(), DefaultBudget)
		exp := resp.Array{resp.BulkString("false"), resp.BulkString("false"), resp.BulkString("false"), resp.BulkString("false"), resp.BulkString("A")}
		if wire(got) != wire(exp) {
			t.Fatalf("meta %d: exp %v, got %v", i, exp, got)
		}
	}
	if Tainted() != 0 {
		t.Fatalf("a library call changed a machine: tainted %d", Tainted())
	}
}
