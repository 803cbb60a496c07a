package lua

import (
	"strings"
	"testing"

	lua "github.com/yuin/gopher-lua"
)

// The determinism contract (doc.go), attacked: hostile scripts try to
// leave something behind in the machine they ran on, and observers run
// afterwards in the same pool and in a cold one. Every reply must be
// equal, and the seal must retire nothing (it would mean a hole).

// hostile scripts, by what they try. Each may fail; what matters is that
// it fails the same on warm and cold machines and leaves nothing behind.
var hostile = []struct {
	what   string
	bodies []string
}{
	{"reach the compiler's helpers", []string{
		`local f = rawget(_G, '\0tmore') f(string, 1, 'k', 'foo', 'tainted') return string.foo`,
		`local f = _G['\0set'] f(_G, 'x', 'tainted')`,
		`local f = rawget(getmetatable(_G), '\0len') return f(_G)`,
		`for k, v in pairs(_G) do if type(k) == 'string' and k:byte(1) == 0 then v(string, 'foo', 1) end end`,
		`local k = nil repeat k = next(_G, k) until k == nil or k == '\0concat' return tostring(k)`,
		`return getmetatable(_G).__index`,
	}},
	{"write the library tables", []string{
		`string.foo = 'tainted'`,
		`math.pi = 3`,
		`redis.call = function() return 'tainted' end`,
		`table.insert(string, 'tainted')`,
		`table.remove(math)`,
		`table.sort(redis)`,
		`table.setn(table, 3)`,
		`setmetatable(string, {__index = function() return 'tainted' end})`,
		`getmetatable('').__index = {foo = 'tainted'}`,
		`x = 'tainted'`,
		`loadstring("y = 'tainted'")()`,
		`math.randomseed(7) return math.random()`,
	}},
	{"rawset on read-only views", []string{
		`rawset(_G, 'x', 'tainted')`,
		`rawset(string, 'foo', 'tainted')`,
		`rawset(getmetatable(''), '__index', {foo = 'tainted'})`,
		`rawset(getmetatable(_G), '__index', {x = 1})`,
		`rawset(redis, 'call', print)`,
		`for _, t in pairs(_G) do if type(t) == 'table' then pcall(rawset, t, 'foo', 'tainted') pcall(rawset, t, 1, 'tainted') end end`,
	}},
	{"spend more than the budget", []string{
		`while true do end`,
		`local n = 0 while true do n = pcall(function() return n + 1 end) and n + 1 end`,
		`local s = 'x' while true do s = s .. s end`,
		`return #string.rep('x', 2^30)`,
		`local t = {} for i = 1, 1e9 do t[i] = i end`,
		`local t = {} t[2^25] = 1 return #t`,
		`local s = string.rep('x', 2^20) local t = {} for i = 1, 300 do t[i] = s end return #table.concat(t)`,
		`return string.find(string.rep('a', 5000), string.rep('a?', 5000) .. string.rep('a', 5000))`,
		`local t = {} while true do t[#t + 1] = {} end`,
	}},
	{"raise error objects that are tables", []string{
		`error({err = 'MY own'})`,
		`error(string)`,
		`error(_G)`,
		`error(getmetatable(''))`,
		`error(setmetatable({}, {__tostring = function() x = 1 return 'tainted' end}))`,
		`local ok, e = pcall(error, string) e.foo = 'tainted'`,
		`local ok, e = pcall(error, {err = 'x'}) return e`,
		`local ok, e = pcall(redis.call, 'fail') e.more = 1 return e`,
		`return redis.pcall('fail')`,
	}},
	{"recurse deeply", []string{
		`local function f(n) return f(n + 1) + 1 end return f(1)`,
		`local function f() return pcall(f) end return {f()}`,
		`local function f() return xpcall(f, f) end return {f()}`,
		`local t = {} for i = 1, 100 do t = {t} end return t`,
		`local function f(n) if n == 0 then return {} end return {f(n - 1)} end return f(8000)`,
		`local s = string.rep('(', 300) .. string.rep(')', 300) return string.find(s, '%b()')`,
	}},
}

// observers read what a hostile script could have changed.
var observers = []string{
	`return {tostring(rawget(string, 'foo')), tostring(string.foo), tostring(rawget(_G, 'x')), tostring(rawget(_G, 'y')), tostring(math.pi), type(redis.call)}`,
	`local out = {} for _, lib in ipairs({_G, string, table, math, redis, getmetatable(''), getmetatable(_G)}) do
		local names = {} for k, v in pairs(lib) do names[#names + 1] = tostring(k) .. ':' .. type(v) end
		out[#out + 1] = table.concat(names, ',') end return out`,
	`return {pcall(function() return x end)}`,
	`return {tostring(math.random()), tostring(math.random(100)), tostring({}), tostring(print)}`,
	`return {#_G, #string, #table, #math, #redis, #KEYS, #ARGV, tostring(rawget(_G, '\0tmore'))}`,
	`return {tostring(('x').foo), tostring(getmetatable('').foo), type(getmetatable('').__index), tostring((5).foo)}`,
	`return {redis.call('incr', KEYS[1]), redis.pcall('fail'), ARGV[1]}`,
	`local n = 0 for i = 1, 1000 do n = n + i end return n`,
}

// contractBudget keeps the runaway scripts short; the contract holds for
// any budget.
var contractBudget = Budget{Instructions: 300_000, Bytes: 16 << 20}

func runIn(t *testing.T, pool *Pool, body string) string {
	t.Helper()
	s, err := Load([]byte(body))
	if err != nil {
		return "compile: " + err.Error()
	}
	return wire(pool.Run(s, bytesOf([]string{"k"}), bytesOf([]string{"a"}), newFakeHost(), contractBudget))
}

func TestAHostileScriptLeavesNothingForLaterScripts(t *testing.T) {
	for _, group := range hostile {
		for _, body := range group.bodies {
			t.Run(group.what+": "+body, func(t *testing.T) {
				before := Tainted()
				warm := &Pool{}
				cold := runIn(t, &Pool{}, body)
				for i := range 3 {
					if got := runIn(t, warm, body); got != cold {
						t.Fatalf("run %d: exp %q (cold machine), got %q (warm machine)", i+1, cold, got)
					}
				}
				for _, obs := range observers {
					if exp, got := runIn(t, &Pool{}, obs), runIn(t, warm, obs); exp != got {
						t.Fatalf("observer %q: exp %q (cold machine), got %q (after the hostile script)", obs, exp, got)
					}
				}
				if n := Tainted() - before; n != 0 {
					t.Fatalf("exp no machine changed by a run, got %d retired as tainted", n)
				}
			})
		}
	}
}

// TestHostileScriptsFailAsTheyShould pins what some attacks answer, so an
// attack that starts to succeed (on every machine alike) fails too.
func TestHostileScriptsFailAsTheyShould(t *testing.T) {
	readOnly := "Attempt to modify a readonly table"
	for _, tc := range []struct{ body, want string }{
		{`local f = rawget(_G, '\0tmore') return type(f)`, "nil"},
		{`return type(_G['\0set'])`, "nonexistent global variable"},
		{`string.foo = 1`, readOnly},
		{`rawset(_G, 'x', 1)`, readOnly},
		{`rawset(getmetatable(''), '__index', {})`, readOnly},
		{`table.insert(string, 1)`, readOnly},
		{`setmetatable(string, {})`, readOnly},
		{`x = 1`, "Attempt to modify a readonly table"},
		{`while true do end`, "Script stopped: it ran more than 300000 Lua instructions"},
		{`local s = 'x' while true do s = s .. s end`, "Script stopped: it created more than 16777216 bytes"},
		{`local function f(n) return f(n + 1) + 1 end return f(1)`, "stack overflow"},
		{`local function f() return pcall(f) end return {f()}`, "C stack overflow"},
		{`error(string)`, "the error object has no err field"},
	} {
		t.Run(tc.body, func(t *testing.T) {
			if got := runIn(t, &Pool{}, tc.body); !strings.Contains(got, tc.want) {
				t.Fatalf("exp a reply with %q, got %q", tc.want, got)
			}
		})
	}
}

// TestObserversSeeWhatAMachineKeeps: were a hostile script to change a
// machine without the seal seeing it, the observers would answer
// differently on it than on a cold machine. (Otherwise the test above
// could not fail.) The change is planted from Go, and the seal retaken.
func TestObserversSeeWhatAMachineKeeps(t *testing.T) {
	for _, tc := range []struct {
		name  string
		plant func(vm *machine)
	}{
		{"a key in the string library", func(vm *machine) {
			vm.real[vm.globals.RawGetString("string").(*lua.LTable)].RawSetString("foo", lua.LString("planted"))
		}},
		{"a global", func(vm *machine) { vm.globals.RawSetString("x", lua.LString("planted")) }},
		{"a library function replaced", func(vm *machine) {
			m := vm.real[vm.globals.RawGetString("math").(*lua.LTable)]
			m.RawSetString("random", m.RawGetString("floor"))
		}},
		{"a metatable for numbers", func(vm *machine) {
			mt := vm.L.NewTable()
			mt.RawSetString("__index", vm.globals)
			vm.L.SetMetatable(lua.LNumber(0), mt)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			warm := &Pool{}
			vm := warm.get()
			tc.plant(vm)
			vm.seal = vm.sealShared()
			warm.put(vm)
			for _, obs := range observers {
				if runIn(t, warm, obs) != runIn(t, &Pool{}, obs) {
					return
				}
			}
			t.Fatal("exp an observer to answer differently on the planted machine, got the same answers as on a cold one")
		})
	}
}
