package lua

import (
	"strconv"
	"strings"
	"testing"

	"github.com/raftlist/raftlist/fsm/resp"
)

// fakeHost is a Host with a tiny keyspace of strings: enough for scripts
// to read, write and fail through, and for tests to see every call.
type fakeHost struct {
	keys  map[string]string
	calls []string // each call's arguments, joined by spaces
	logs  []string // "level line"
	seed  uint64
}

func newFakeHost() *fakeHost { return &fakeHost{keys: make(map[string]string)} }

// fakeCommands are the commands fakeHost knows.
var fakeCommands = map[string]bool{"get": true, "set": true, "incr": true, "ping": true, "fail": true, "shape": true}

// fakeShapes are the replies of SHAPE name: one of each kind whose RESP3
// form differs, as HGETALL, SMEMBERS, ZSCORE, ... give them in Redis.
var fakeShapes = map[string]resp.Reply{
	"map": resp.Map{resp.BulkString("f"), resp.BulkString("v")}, "set": resp.Set{resp.BulkString("a")},
	"double": resp.Double(1.5), "true": resp.Bool(true), "false": resp.Bool(false),
	"big": resp.BigNumber("12345678901234567890"), "verbatim": resp.Text("hi"),
}

func (h *fakeHost) Call(args [][]byte) resp.Reply {
	parts := make([]string, len(args))
	for i, a := range args {
		parts[i] = string(a)
	}
	h.calls = append(h.calls, strings.Join(parts, " "))
	switch name := strings.ToLower(parts[0]); {
	case !fakeCommands[name]:
		return resp.ErrScriptUnknownCmd
	case name == "get" && len(args) == 2:
		if v, ok := h.keys[parts[1]]; ok {
			return resp.BulkString(v)
		}
		return resp.NullBulk
	case name == "set" && len(args) == 3:
		h.keys[parts[1]] = parts[2]
		return resp.OK
	case name == "incr" && len(args) == 2:
		n, _ := strconv.Atoi(h.keys[parts[1]])
		h.keys[parts[1]] = strconv.Itoa(n + 1)
		return resp.Int(n + 1)
	case name == "ping":
		return resp.Status("PONG")
	case name == "shape" && len(args) == 2:
		return fakeShapes[parts[1]]
	case name == "fail":
		return resp.Error("FAIL it failed")
	}
	return resp.ErrScriptArity
}

func (h *fakeHost) Known(name []byte) bool { return fakeCommands[strings.ToLower(string(name))] }

// RandomSeed is the host's seed: 0 (Redis's unseeded start) unless a
// test set one.
func (h *fakeHost) RandomSeed() uint64 { return h.seed }

func (h *fakeHost) Log(level int, line string) {
	h.logs = append(h.logs, strconv.Itoa(level)+" "+line)
}

// run compiles body and runs it on pool with the default budget.
func run(t *testing.T, pool *Pool, h Host, body string, keys, argv []string) string {
	t.Helper()
	s, err := Load([]byte(body))
	if err != nil {
		return "compile: " + err.Error()
	}
	return wire(pool.Run(s, bytesOf(keys), bytesOf(argv), h, DefaultBudget))
}

func bytesOf(ss []string) [][]byte {
	out := make([][]byte, len(ss))
	for i, s := range ss {
		out[i] = []byte(s)
	}
	return out
}

func wire(r resp.Reply) string { return string(resp.AppendRESP(nil, r)) }

// errAt is a script error as Redis 7 reports it, at line of body.
func errAt(msg, body string, line int) string {
	return wire(resp.Error(msg + " script: " + SHA([]byte(body)) + ", on @user_script:" + strconv.Itoa(line) + "."))
}

// redis.call's replies reach Lua as Redis 7.0 converts them: in RESP2 as
// their RESP2 forms (a map a flat table, a double a string); after
// redis.setresp(3) as {map=...}, {set=...}, {double=...}, booleans,
// {big_number=...}, {verbatim_string=...} (measured with HGETALL,
// SMEMBERS, ZSCORE on redis-server 7.0.15). A Lua boolean returned is a
// boolean reply only after redis.setresp(3).
func TestCommandRepliesReachLuaAsTheScriptsProtocolConvertsThem(t *testing.T) {
	pool := &Pool{}
	for _, tc := range []struct{ body, want string }{
		{"local t = redis.call('shape', 'map'); return {t[1], t[2], #t}", "*3\r\n$1\r\nf\r\n$1\r\nv\r\n:2\r\n"},
		{"redis.setresp(3); local t = redis.call('shape', 'map'); return {type(t.map), t.map.f, #t}", "*3\r\n$5\r\ntable\r\n$1\r\nv\r\n:0\r\n"},
		{"local t = redis.call('shape', 'set'); return t", "*1\r\n$1\r\na\r\n"},
		{"redis.setresp(3); local t = redis.call('shape', 'set'); return {type(t.set), tostring(t.set.a)}", "*2\r\n$5\r\ntable\r\n$4\r\ntrue\r\n"},
		{"return redis.call('shape', 'double')", "$3\r\n1.5\r\n"},
		{"redis.setresp(3); local t = redis.call('shape', 'double'); return {type(t.double), tostring(t.double)}", "*2\r\n$6\r\nnumber\r\n$3\r\n1.5\r\n"},
		{"return {redis.call('shape', 'true'), redis.call('shape', 'false')}", "*2\r\n:1\r\n:0\r\n"},
		{"redis.setresp(3); return {tostring(redis.call('shape', 'true')), tostring(redis.call('shape', 'false'))}", "*2\r\n$4\r\ntrue\r\n$5\r\nfalse\r\n"},
		{"return redis.call('shape', 'big')", "$20\r\n12345678901234567890\r\n"},
		{"redis.setresp(3); return redis.call('shape', 'big').big_number", "$20\r\n12345678901234567890\r\n"},
		{"return redis.call('shape', 'verbatim')", "$2\r\nhi\r\n"},
		{"redis.setresp(3); local v = redis.call('shape', 'verbatim').verbatim_string; return {v.format, v.string}", "*2\r\n$3\r\ntxt\r\n$2\r\nhi\r\n"},
		{"redis.setresp(3); return redis.call('shape', 'map')", "*2\r\n$1\r\nf\r\n$1\r\nv\r\n"},
		{"return true", ":1\r\n"},
		{"return false", "$-1\r\n"},
		{"redis.setresp(3); return {true, false}", "*2\r\n:1\r\n:0\r\n"},
	} {
		if got := run(t, pool, newFakeHost(), tc.body, nil, nil); got != tc.want {
			t.Errorf("%s:\n  exp %q\n  got %q", tc.body, tc.want, got)
		}
	}
}
