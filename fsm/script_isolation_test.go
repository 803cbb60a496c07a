package fsm

import (
	"strconv"
	"strings"
	"testing"

	"github.com/raftlist/raftlist/fsm/lua"
)

// A script is a pure function of (the replicated state, its arguments):
// nothing it does may survive it except through the keyspace (DESIGN.md,
// invariant 5). Each node keeps its own pool of Lua machines, so a script
// that left anything behind in a machine would make later scripts answer
// differently on different nodes — replicas diverging at the same index.

// scrProbes try to leave state behind in the machine they run on. Each may
// fail; what matters is what the observers see afterwards.
var scrProbes = []string{
	// The compiler's helpers, reached by name (issue 14's repro).
	`local f = rawget(_G, '\0tmore') f(string, 1, 'k', 'foo', 'tainted') return string.foo`,
	`local f = _G['\0tmore'] f(_G, 1, 'k', 'x', 'tainted') return x`,
	`local f = rawget(_G, '\0tmore') f(getmetatable(''), 1, 'k', 'foo', 'tainted')`,
	`local f = rawget(_G, '\0tmore') f(getmetatable(_G), 1, 'k', '__index', {x = 1})`,
	`local f = rawget(_G, '\0tmore') f(redis, 1, 'k', 'call', 'tainted')`,
	`local f = rawget(_G, '\0tmore') f(math, 1, 'k', 'pi', 3)`,
	`local f = rawget(_G, '\0tmore') f(table, 1, 'p', 'tainted')`,
	`local f = rawget(_G, '\0table') return f(1, 'k', 'a', 1)`,
	`local f = rawget(_G, '\0set') f(string, 'foo', 'tainted')`,
	`local f = rawget(_G, '\0set') f(_G, 'x', 'tainted')`,
	`local f = rawget(_G, '\0concat') return f('a', 'b')`,
	`local f = rawget(_G, '\0len') return f(_G)`,
	// The ordinary ways in, each refused.
	`x = 'tainted'`,
	`_G.x = 'tainted'`,
	`rawset(_G, 'x', 'tainted')`,
	`string.foo = 'tainted'`,
	`rawset(string, 'foo', 'tainted')`,
	`table.insert(string, 'tainted')`,
	`table.insert(_G, 'tainted')`,
	`table.remove(math)`,
	`table.sort(redis)`,
	`table.setn(table, 3)`,
	`setmetatable(string, {__index = function() return 'tainted' end})`,
	`setmetatable(_G, nil)`,
	`getmetatable('').__index = {foo = 'tainted'}`,
	`getmetatable('').foo = 'tainted'`,
	`getmetatable(_G).__index = function() return 'tainted' end`,
	`local mt = getmetatable('') rawset(mt, '__index', {foo = 'tainted'})`,
	`loadstring("x = 'tainted'")()`,
	`load(function() return nil end)`,
	`math.randomseed(7) return math.random()`,
	`KEYS[1] = 'tainted' ARGV[1] = 'tainted' KEYS.x = 1`,
	`local t = setmetatable({}, {__gc = function() x = 1 end}) return 1`,
	`error(setmetatable({}, {__tostring = function() return 'tainted' end}))`,
	`for k, v in pairs(_G) do if type(v) == 'table' then pcall(rawset, v, 'foo', 'tainted') end end`,
	`for k, v in pairs(_G) do if type(v) == 'table' then pcall(table.insert, v, 'tainted') end end`,
	`local f = rawget(_G, '\0tmore') for k, v in pairs(_G) do if type(v) == 'table' then pcall(f, v, 1, 'k', 'foo', 'tainted') end end`,
	// The libraries Redis ships: read-only tables, settings for one run.
	`cjson.foo = 'tainted'`,
	`rawset(cmsgpack, 'foo', 'tainted')`,
	`bit.band = bit.bor`,
	`table.insert(struct, 'tainted')`,
	`setmetatable(cjson, {__index = function() return 'tainted' end})`,
	`cjson.encode_max_depth(1) cjson.decode_max_depth(1) cjson.encode_number_precision(2) cjson.encode_invalid_numbers('null') cjson.decode_invalid_numbers(false) cjson.encode_sparse_array(true, 1, 0) cjson.encode_keep_buffer(false)`,
	`local c = cjson.new() c.encode_max_depth(1) c.foo = 'tainted' rawset(cjson, 'c', c)`,
	`return {pcall(setmetatable, cjson.null, {__index = function() return 'tainted' end})}`,
	`local f = rawget(_G, '\0tmore') f(cjson, 1, 'k', 'encode', 'tainted')`,
}

// scrObservers read what a probe could have changed. Each writes its answer
// into the keyspace too, so the state digest covers it.
var scrObservers = []string{
	`return {tostring(rawget(string, 'foo')), tostring(string.foo), tostring(rawget(_G, 'x')), tostring(rawget(math, 'pi')), type(redis.call)}`,
	`local out = {} for _, lib in ipairs({_G, string, table, math, redis, getmetatable(''), getmetatable(_G), cjson, cmsgpack, bit, struct}) do
		local names = {} for k, v in pairs(lib) do names[#names + 1] = tostring(k) .. ':' .. type(v) end
		out[#out + 1] = table.concat(names, ',') end return out`,
	`return {pcall(function() return x end)}`,
	`return {tostring(math.random()), tostring(math.random(100))}`,
	`return {#_G, #string, #table, #math, #redis, tostring(rawget(_G, '\0tmore')), tostring(rawget(_G, '\0concat'))}`,
	`return {pcall(function() return _G['\0tmore'] end)}`,
	`return {tostring(('x').foo), tostring(getmetatable('').foo), type(getmetatable('').__index)}`,
	`return redis.call('rpush', KEYS[1], tostring(string.foo), tostring(rawget(_G, 'x')), tostring(math.random()))`,
	`local a, b, c = cjson.encode_sparse_array() return redis.call('rpush', KEYS[1], cjson.encode({1.25, {2}, 1}), tostring(cjson.encode_max_depth()),
		tostring(cjson.decode_max_depth()), tostring(cjson.encode_number_precision()), tostring(cjson.encode_invalid_numbers()), tostring(cjson.decode_invalid_numbers()),
		tostring(a) .. b .. c, tostring(cjson.encode_keep_buffer()), tostring(cjson.null), tostring(getmetatable(cjson.null)), cmsgpack.pack({1, {2}}), bit.band(3, 5),
		struct.pack('>i2', 7), tostring(cjson.foo), tostring(rawget(cjson, 'c')))`,
}

// TestScriptsLeaveNothingForLaterScripts applies one log to two nodes: one
// reuses its Lua machines (warm), the other gets fresh ones before every
// command (cold). The log runs each probe many times, then the observers.
// Every reply, and the two states' digests, must be equal.
func TestScriptsLeaveNothingForLaterScripts(t *testing.T) {
	scrSealFully(t)
	for i, probe := range scrProbes {
		t.Run("probe "+strconv.Itoa(i), func(t *testing.T) {
			warm, cold := scrNewNode(t), scrNewNode(t)
			both := func(args ...string) {
				t.Helper()
				cold.st.vms.Reset()
				if exp, got := scrWire(cold.do(args...)), scrWire(warm.do(args...)); exp != got {
					t.Fatalf("after probe %q, %q: exp %q (fresh machine), got %q (reused machine)", probe, args[1], exp, got)
				}
			}
			for range lua.MaxIdle + 2 {
				both(scrEval(probe, 1, "k")...)
			}
			both("del", "k")
			for _, obs := range scrObservers {
				both(scrEval(obs, 1, "obs")...)
			}
			if exp, got := cold.st.Digest(), warm.st.Digest(); exp != got {
				t.Fatalf("after probe %q: exp digest %s (fresh machines), got %s (reused machines)", probe, exp, got)
			}
		})
	}
}

// TestScriptHelpersAreUnreachable: the names the compiler calls its metering
// helpers by are not globals a script can read, by any route.
func TestScriptHelpersAreUnreachable(t *testing.T) {
	scrSealFully(t)
	for _, name := range []string{"\x00concat", "\x00set", "\x00len", "\x00table", "\x00tmore"} {
		q := "'\\0" + name[1:] + "'" // Lua 5.1 has no \x escapes
		for _, body := range []string{
			"return tostring(rawget(_G, " + q + "))",
			"return tostring(rawget(getmetatable(_G), " + q + "))",
			"return {pcall(function() return type(_G[" + q + "]) end)}",
			"for k in pairs(_G) do if k == " + q + " then return 'found' end end return 'nil'",
			"local k = nil repeat k = next(_G, k) if k == " + q + " then return 'found' end until k == nil return 'nil'",
		} {
			n := scrNewNode(t)
			got := scrWire(n.do(scrEval(body, 0)...))
			if got != "$3\r\nnil\r\n" && got != "*1\r\n:0\r\n" && !isScrMissingGlobal(got) {
				t.Errorf("%q: exp the helper unreachable, got %q", body, got)
			}
		}
	}
}

// isScrMissingGlobal is pcall's answer for reading a global that does not
// exist: false and Redis's message.
func isScrMissingGlobal(wire string) bool {
	return strings.HasPrefix(wire, "*2\r\n") && strings.Contains(wire, "nonexistent global variable")
}

// scrSealFully fails the test if any machine was retired as tainted while
// it ran (TestMain has the seal check values): every hole the read-only
// rules leave is then a test failure, not a quiet retirement.
func scrSealFully(t *testing.T) {
	t.Helper()
	tainted := lua.Tainted()
	t.Cleanup(func() {
		if n := lua.Tainted() - tainted; n != 0 {
			t.Errorf("exp no Lua machine changed by a run, got %d retired as tainted", n)
		}
	})
}
