package fsm

import (
	"testing"

	"github.com/raftlist/raftlist/fsm/resp"
)

// The string commands in scripts and transactions, as redis-server 7.0.15
// answers them.
var ksStringScriptCases = []ksCase{
	{"INCR in a script counts and answers a Lua number", []ksStep{
		ks(resp.Int(10), "EVAL", "local n for i = 1, 10 do n = redis.call('incr', KEYS[1]) end return n", "1", "c"),
		ks(resp.BulkString("10"), "GET", "c"),
		ks(resp.Int(7), "EVAL", "return redis.call('decrby', KEYS[1], ARGV[1])", "1", "c", "3"),
	}},
	{"INCRBYFLOAT in a script answers the stored string", []ksStep{
		ks(resp.BulkString("1.5"), "EVAL", "return redis.call('incrbyfloat', KEYS[1], '1.5')", "1", "f"),
		ks(resp.BulkString("string 3"), "EVAL", "local v = redis.call('incrbyfloat', KEYS[1], 1.5) return type(v) .. ' ' .. v", "1", "f"),
	}},
	{"a counter error raised in a script names the script", []ksStep{
		ks(resp.Int(1), "RPUSH", "l", "a"),
		ks(scrErrAt(string(ksWrongType), "return redis.call('incr', KEYS[1])", 1),
			"EVAL", "return redis.call('incr', KEYS[1])", "1", "l"),
		ks(scrErrAt("ERR wrong number of arguments for 'mset' command", "return redis.call('mset', 'a', '1', 'b')", 1),
			"EVAL", "return redis.call('mset', 'a', '1', 'b')", "0"),
		ks(resp.Array{resp.BulkString("ERR increment or decrement would overflow")},
			"EVAL", "redis.call('set', KEYS[1], '9223372036854775807') local r = redis.pcall('incr', KEYS[1]) return {r.err}", "1", "n"),
	}},
	{"MGET, MSET and GETRANGE in a script", []ksStep{
		ks(resp.Array{resp.BulkString("1"), resp.Int(0), resp.BulkString("2")},
			"EVAL", "redis.call('mset', 'a', '1', 'b', '2') local r = redis.call('mget', 'a', 'x', 'b') r[2] = 0 return r", "0"),
		ks(resp.BulkString("ell"), "EVAL", "redis.call('set', KEYS[1], 'hello') return redis.call('getrange', KEYS[1], 1, 3)", "1", "s"),
		ks(resp.Int(6), "EVAL", "redis.call('append', KEYS[1], '!') return redis.call('strlen', KEYS[1])", "1", "s"),
	}},
	{"a read-only script may read strings but not count", []ksStep{
		ks(resp.OK, "SET", "s", "abc"),
		ks(resp.Int(3), "EVAL_RO", "return redis.call('strlen', KEYS[1])", "1", "s"),
		ks(scrErrAt(string(resp.ErrScriptWrite), "return redis.call('incr', KEYS[1])", 1),
			"EVAL_RO", "return redis.call('incr', KEYS[1])", "1", "s"),
	}},
}

func TestStringCommandsInScripts(t *testing.T) { ksRun(t, ksStringScriptCases) }

func TestStringCommandsInExec(t *testing.T) {
	n := txNewNode(t)
	res := n.exec(0, nil, "INCR c", "INCR c", "INCRBY c x", "MSET a 1 b", "INCRBYFLOAT c 0.5", "GET c", "MSETNX a 1 b 2", "MGET a b c")
	exp := ":1\r\n:2\r\n-ERR value is not an integer or out of range\r\n-ERR wrong number of arguments for 'mset' command\r\n" +
		"$3\r\n2.5\r\n$3\r\n2.5\r\n:1\r\n*3\r\n$1\r\n1\r\n$1\r\n2\r\n$3\r\n2.5\r\n"
	if got := txWire(res.Replies); "*8\r\n"+exp != got {
		t.Fatalf("exp %q, got %q", "*8\r\n"+exp, got)
	}
}

// WATCH sees a change exactly when Redis signals the key modified: a
// command that fails or changes nothing leaves the transaction to run,
// but APPEND of nothing counts (Redis 7.0.15, checked with WATCH k; cmd;
// MULTI; PING; EXEC on one connection).
func TestWatchSeesStringChanges(t *testing.T) {
	for _, tc := range []struct {
		cmd     []string
		aborted bool
	}{
		{[]string{"APPEND", "k", ""}, true},
		{[]string{"SETRANGE", "k", "0", ""}, false},
		{[]string{"SETRANGE", "k", "1", "b"}, true},
		{[]string{"INCRBYFLOAT", "k", "x"}, false},
		{[]string{"INCR", "k"}, false},
		{[]string{"SETNX", "k", "v"}, false},
		{[]string{"MSETNX", "k", "v", "z", "v"}, false},
		{[]string{"MSET", "z", "1"}, false},
		{[]string{"GETSET", "k", "a"}, true},
		{[]string{"GETRANGE", "k", "0", "-1"}, false},
	} {
		n := txNewNode(t)
		n.do(0, "SET k a")
		w := n.watch(0, "k")
		n.apply(&Entry{Kind: KindCommands, Cmds: []Cmd{{Owner: "o", Seq: 99, Args: listBytes(tc.cmd)}}})
		exp := "*1\r\n+PONG\r\n"
		if tc.aborted {
			exp = "*-1\r\n"
		}
		if got := txWire(n.exec(0, w, "PING").Replies); exp != got {
			t.Errorf("%q between WATCH and EXEC: exp %q, got %q", tc.cmd, exp, got)
		}
	}
}
