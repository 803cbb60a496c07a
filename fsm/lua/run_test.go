package lua

import (
	"strings"
	"testing"

	"github.com/raftlist/raftlist/fsm/resp"
)

// runCase is one script run against a fresh fakeHost.
type runCase struct {
	name       string
	body       string
	keys, argv []string
	want       string // the reply, as RESP
	calls      string // what the host saw, calls joined by "|"; "" is none
}

func TestRunIsAFunctionOfScriptArgumentsAndHost(t *testing.T) {
	boom := "error('boom')"
	for _, tc := range []runCase{
		{name: "KEYS and ARGV are the run's", body: "return {KEYS[1], ARGV[1], #KEYS, #ARGV}", keys: []string{"k"}, argv: []string{"a", "b"},
			want: wire(resp.Array{resp.Bulk("k"), resp.Bulk("a"), resp.Int(1), resp.Int(2)})},
		{name: "redis.call reaches the host with numbers as %.17g", body: "return redis.call('set', KEYS[1], 0.1)", keys: []string{"k"},
			want: wire(resp.OK), calls: "set k 0.10000000000000001"},
		{name: "a host reply comes back as Lua values", body: "redis.call('set', 'k', 'v') return {redis.call('get', 'k'), redis.call('incr', 'n'), redis.call('get', 'none')}",
			want: wire(resp.Array{resp.Bulk("v"), resp.Int(1), resp.NullBulk}), calls: "set k v|get k|incr n|get none"},
		{name: "a status reply is an ok table", body: "return redis.call('ping').ok", want: wire(resp.Bulk("PONG")), calls: "ping"},
		{name: "redis.call raises a host error", body: "return redis.call('fail')", want: errAt("FAIL it failed", "return redis.call('fail')", 1), calls: "fail"},
		{name: "redis.pcall returns a host error as a table", body: "return redis.pcall('fail')", want: wire(resp.Error("FAIL it failed")), calls: "fail"},
		{name: "a bad argument never reaches the host", body: "return redis.pcall('get', {})", want: wire(resp.ErrScriptArgType)},
		{name: "redis.call with no arguments never reaches the host", body: "return redis.pcall()", want: wire(resp.ErrScriptNoArgs)},
		{name: "acl_check_cmd asks the host", body: "return {redis.acl_check_cmd('get'), pcall(redis.acl_check_cmd, 'nosuch')}",
			want: wire(resp.Array{resp.Int(1), resp.NullBulk, resp.Bulk("ERR Invalid command passed to redis.acl_check_cmd()")})},
		{name: "an error names the script and line", body: boom, want: errAt("ERR user_script:1: boom", boom, 1)},
		{name: "an error object that is a table is its err field", body: "error({err='MY own'})", want: errAt("MY own", "error({err='MY own'})", 1)},
		{name: "an error table without err says so", body: "error({1})", want: errAt("ERR Error running script: the error object has no err field", "error({1})", 1)},
		{name: "math.random starts from the same seed every run", body: "return {math.random(1000), math.random(1000)}",
			want: wire(resp.Array{resp.Int(397), resp.Int(841)})},
		{name: "tostring never shows an address", body: "local t = {} return tostring(t) .. ' ' .. tostring(tostring) .. ' ' .. tostring(t)", want: wire(resp.Bulk("table: 0x1000001 function: 0x1000002 table: 0x1000001"))},
		{name: "no os, io or require", body: "return {type(rawget(_G,'os')), type(rawget(_G,'io')), type(rawget(_G,'require')), type(rawget(_G,'dofile'))}",
			want: wire(resp.Array{resp.Bulk("nil"), resp.Bulk("nil"), resp.Bulk("nil"), resp.Bulk("nil")})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newFakeHost()
			if exp, got := tc.want, run(t, &Pool{}, h, tc.body, tc.keys, tc.argv); exp != got {
				t.Fatalf("exp %q, got %q", exp, got)
			}
			if exp, got := tc.calls, strings.Join(h.calls, "|"); exp != got {
				t.Fatalf("exp the host to see %q, got %q", exp, got)
			}
		})
	}
}

func TestRedisLogGoesToTheHost(t *testing.T) {
	h := newFakeHost()
	run(t, &Pool{}, h, "redis.log(redis.LOG_WARNING, 'a', 'b') redis.log(redis.LOG_DEBUG, 'c')", nil, nil)
	if exp, got := "3 a b|0 c", strings.Join(h.logs, "|"); exp != got {
		t.Fatalf("exp %q, got %q", exp, got)
	}
}

// TestTheBudgetIsTheCallers: a run stops where its own budget says, with
// the same error at the same point every time, and a later run on the
// same machine has its whole budget again.
func TestTheBudgetIsTheCallers(t *testing.T) {
	pool := &Pool{}
	loop := "local n = 0 while true do n = n + 1 end"
	s, err := Load([]byte(loop))
	if err != nil {
		t.Fatal(err)
	}
	exp := errAt("ERR Script stopped: it ran more than 1000 Lua instructions", loop, 1)
	for range 3 {
		if got := wire(pool.Run(s, nil, nil, newFakeHost(), Budget{Instructions: 1000, Bytes: MaxBytes})); exp != got {
			t.Fatalf("exp %q, got %q", exp, got)
		}
	}
	alloc := "return #string.rep('x', 1000)"
	s, _ = Load([]byte(alloc))
	exp = errAt("ERR Script stopped: it created more than 999 bytes of strings and tables", alloc, 1)
	if got := wire(pool.Run(s, nil, nil, newFakeHost(), Budget{Instructions: MaxInstructions, Bytes: 999})); exp != got {
		t.Fatalf("exp %q, got %q", exp, got)
	}
	if exp, got := wire(resp.Int(1000)), wire(pool.Run(s, nil, nil, newFakeHost(), DefaultBudget)); exp != got {
		t.Fatalf("after spent budgets: exp %q, got %q", exp, got)
	}
}
