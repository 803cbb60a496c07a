package tests

import (
	"strings"
	"testing"
)

// A script is a pure function of (the replicated state, its arguments):
// nothing it does on one node may change what a later script sees there.
// This is issue 14's repro, run on real processes: scripts that tried to
// write into the pooled Lua machine of the node they ran on (through the
// compiler's helpers, reached by name), on the leader by EVAL and on one
// follower alone by EVAL_RO, then scripts through another follower that
// push what they read. Every node must end with the same digest.
func TestScriptsCannotMakeReplicasDiverge(t *testing.T) {
	c := mustStartCluster(t, 3)
	leader := mustLeader(t, c)
	fs := followers(c, leader)
	taints := []string{
		`local f = rawget(_G, '\0tmore') f(string, 1, 'k', 'foo', 'tainted') return tostring(string.foo)`,
		`local f = _G['\0tmore'] f(_G, 1, 'k', 'x', 'tainted') return 'done'`,
		`string.foo = 'tainted'`,
		`rawset(_G, 'x', 'tainted')`,
		// A library's table or settings kept would show in the next run's
		// reply.
		`local before = tostring(rawget(cjson, 'foo')) .. ',' .. cjson.encode_max_depth() .. ',' .. cjson.encode_number_precision()
		pcall(rawset, cjson, 'foo', 'tainted') cjson.encode_max_depth(1) cjson.encode_number_precision(1)
		return before == 'nil,1000,14' and 'clean' or 'tainted: ' .. before`,
		`local before = tostring(rawget(cmsgpack, 'foo')) .. tostring(rawget(bit, 'foo')) .. tostring(rawget(struct, 'foo'))
		pcall(rawset, cmsgpack, 'foo', 'tainted') pcall(rawset, bit, 'foo', 'tainted') pcall(rawset, struct, 'foo', 'tainted')
		return before == 'nilnilnil' and 'clean' or 'tainted: ' .. before`,
	}
	lc, f0, f1 := mustDial(t, leader.ClientAddr), mustDial(t, fs[0].ClientAddr), mustDial(t, fs[1].ClientAddr)
	for _, body := range taints {
		for range 10 {
			reply, err := lc.doStr("EVAL", body, "0")
			if err != nil {
				t.Fatalf("EVAL %q on the leader: %v", body, err)
			}
			if strings.Contains(string(reply), "tainted") {
				t.Fatalf("EVAL %q on the leader: exp no taint visible, got %q", body, reply)
			}
			// EVAL_RO never reaches the log: a taint here would be this
			// follower's alone.
			if reply, err := f0.doStr("EVAL_RO", body, "0"); err != nil || strings.Contains(string(reply), "tainted") {
				t.Fatalf("EVAL_RO %q on %s: exp no taint visible, got %q, %v", body, fs[0].ID, reply, err)
			}
		}
	}
	const observe = `return redis.call('rpush', KEYS[1], tostring(string.foo), tostring(rawget(_G, 'x')))`
	for _, conn := range []*rawConn{f0, f1, lc} {
		for range 20 {
			if reply, err := conn.doStr("EVAL", observe, "1", "taint"); err != nil || !strings.HasPrefix(string(reply), ":") {
				t.Fatalf("EVAL %q: exp an integer, got %q, %v", observe, reply, err)
			}
		}
	}
	requireList(t, leader.ClientAddr, "taint", false, values120("nil"))
	mustConverge(t, c)
}

// values120 is 120 copies of v: the observer pushed two values, 60 times.
func values120(v string) []string {
	out := make([]string, 120)
	for i := range out {
		out[i] = v
	}
	return out
}
