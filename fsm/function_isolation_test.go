package fsm

import (
	"bytes"
	"testing"

	"github.com/raftlist/raftlist/fsm/lua"
	"github.com/raftlist/raftlist/fsm/resp"
)

// A library that tries to keep state between FCALLs (Redis keeps its
// callbacks' upvalues alive in one VM) must answer the same on a node
// whose Lua machines are warm, one whose machines are new at every call,
// and one restored from a snapshot taken in the middle: otherwise nodes
// that served a different number of calls on one machine, or restarted,
// would diverge (DESIGN.md, invariant 5).
func TestFunctionCallsAgreeOnWarmColdAndRestoredNodes(t *testing.T) {
	defer lua.CheckValues(lua.CheckValues(true))
	tainted := lua.Tainted()
	hostile := "#!lua name=hostile\n" +
		"local n = 0\nlocal t = {}\nlocal r = redis\n" +
		"redis.register_function('count', function(keys) n = n + 1; t[#t+1] = n; return redis.call('rpush', keys[1], n .. '/' .. #t) end)\n" +
		"redis.register_function('poke', function(keys) pcall(function() getmetatable('').__index.x = 1 end); pcall(function() rawset(_G, 'y', 1) end); " +
		"pcall(r.register_function, 'z', function() end); return redis.call('rpush', keys[1], tostring(rawget(_G, 'y')) .. tostring(('').x)) end)\n"
	log := [][]string{{"function", "load", hostile}}
	for i := 0; i < 3*lua.MaxIdle; i++ {
		log = append(log, []string{"fcall", "count", "1", "l"}, []string{"fcall", "poke", "1", "l"})
	}
	warm, cold := scrNewNode(t), scrNewNode(t)
	var restored *scrNode
	for i, args := range log {
		if i == len(log)/2 {
			var buf bytes.Buffer
			if err := WriteSnapshot(&buf, warm.st); err != nil {
				t.Fatal(err)
			}
			st, err := ReadSnapshot(&buf)
			if err != nil {
				t.Fatal(err)
			}
			restored = &scrNode{t: t, st: st, index: warm.index}
		}
		cold.st.vms.Reset()
		exp := scrWire(warm.do(args...))
		if got := scrWire(cold.do(args...)); got != exp {
			t.Fatalf("%q on a cold node: exp %q, got %q", args, exp, got)
		}
		if restored != nil {
			if got := scrWire(restored.do(args...)); got != exp {
				t.Fatalf("%q on a restored node: exp %q, got %q", args, exp, got)
			}
		}
	}
	exp := resp.Array{}
	for range 3 * lua.MaxIdle {
		exp = append(exp, resp.BulkString("1/1"), resp.BulkString("nilnil"))
	}
	if got := scrWire(warm.do("lrange", "l", "0", "-1")); got != scrWire(exp) {
		t.Fatalf("the calls kept state: exp %q, got %q", scrWire(exp), got)
	}
	if a, b, c := warm.st.Digest(), cold.st.Digest(), restored.st.Digest(); a != b || a != c {
		t.Fatalf("digests: warm %s, cold %s, restored %s", a, b, c)
	}
	if n := lua.Tainted() - tainted; n != 0 {
		t.Fatalf("a library call changed what its machine shares: %d machines retired", n)
	}
}
