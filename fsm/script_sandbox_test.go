package fsm

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/raftlist/raftlist/fsm/lua"
	"github.com/raftlist/raftlist/fsm/resp"
)

func TestScriptSandbox(t *testing.T) {
	missing := func(name string) scrCase {
		body := "return " + name
		return scrCase{name: "no " + name, args: scrEval(body, 0),
			want: scrErrAt("ERR user_script:1: Script attempted to access nonexistent global variable '"+name+"'", body, 1)}
	}
	var cases []scrCase
	for _, name := range []string{"os", "io", "require", "dofile", "loadfile", "print", "debug", "package",
		"getfenv", "setfenv", "newproxy", "module", "coroutine", "channel", "_printregs"} {
		cases = append(cases, missing(name))
	}
	const dumped = "return loadstring(string.dump(function() return 1 end))"
	const escape = "local f = loadstring('x = 1') f()"
	cases = append(cases, []scrCase{
		{name: "os.exit is not reachable", args: scrEval("os.exit(1)", 0),
			want: scrErrAt("ERR user_script:1: Script attempted to access nonexistent global variable 'os'", "os.exit(1)", 1)},
		{name: "load reads no strings or files", args: scrEval("return load('return 8')", 0),
			want: scrErrAt("ERR user_script:1: bad argument #1 to 'load' (function expected, got string)", "return load('return 8')", 1)},
		{name: "load reads from a function", args: scrEval("local done = false return load(function() if done then return nil end done = true return 'return 8' end)()", 0), want: resp.Int(8)},
		{name: "loadstring compiles source", args: scrEval("return loadstring('return 7')()", 0), want: resp.Int(7)},
		{name: "code from loadstring is sandboxed too", args: scrEval(escape, 0),
			want: resp.Error(`ERR [string "x = 1"]:1: Attempt to modify a readonly table script: ` + ScriptSHA([]byte(escape)) + ", on x = 1:1.")},
		{name: "no bytecode can be made", args: scrEval(dumped, 0), want: scrErrAt("ERR user_script:1: unable to dump given function", dumped, 1)},
		{name: "no bytecode is loaded", args: scrEval("return {loadstring('\\27Lua')}", 0), want: resp.Array{}},
		{name: "setmetatable takes tables only (gopher-lua would set the metatable of every string)", args: scrEval("setmetatable('', {})", 0),
			want: scrErrAt("ERR user_script:1: bad argument #1 to 'setmetatable' (table expected, got string)", "setmetatable('', {})", 1)},
		{name: "the string metatable is read-only", args: scrEval("getmetatable('').__index = {}", 0),
			want: scrErrAt("ERR user_script:1: Attempt to modify a readonly table", "getmetatable('').__index = {}", 1)},
		{name: "rawset cannot write the globals", args: scrEval("rawset(_G, 'x', 1)", 0), want: scrErrAt("ERR Attempt to modify a readonly table", "rawset(_G, 'x', 1)", 1)},
		{name: "setmetatable cannot unlock the globals", args: scrEval("setmetatable(_G, nil)", 0), want: scrErrAt("ERR Attempt to modify a readonly table", "setmetatable(_G, nil)", 1)},
		{name: "library tables are read-only", args: scrEval("string.rep = nil", 0), want: scrErrAt("ERR user_script:1: Attempt to modify a readonly table", "string.rep = nil", 1)},
		{name: "table.insert cannot write a library", args: scrEval("table.insert(redis, 1)", 0), want: scrErrAt("ERR Attempt to modify a readonly table", "table.insert(redis, 1)", 1)},
		{name: "KEYS cannot be replaced", args: scrEval("KEYS = {}", 0), want: scrErrAt("ERR user_script:1: Attempt to modify a readonly table", "KEYS = {}", 1)},
		{name: "KEYS can be written, as in Redis", args: scrEval("KEYS[1] = 'x' return KEYS[1]", 1, "k"), want: resp.Bulk("x")},
		{name: "tostring shows no address", args: scrEval("local t = {} return {tostring(t), tostring(t), tostring(tostring), tostring({})}", 0),
			want: listBulks("table: 0x1000001", "table: 0x1000001", "function: 0x1000002", "table: 0x1000003")},
		{name: "no %p in string.format", args: scrEval("return string.format('%p', {})", 0),
			want: scrErrAt("ERR user_script:1: invalid option '%p' to 'format'", "return string.format('%p', {})", 1)},
		{name: "the collector's counters are constants", args: scrEval("return {collectgarbage('count'), gcinfo()}", 0), want: listInts(0, 0)},
		{name: "math.randomseed is Redis's srand48", args: scrEval("math.randomseed(42) return {math.random(1000000), math.random(5, 10)}", 0), want: listInts(744526, 7)},
		{name: "math.huge is infinity", args: scrEval("return tostring(math.huge)", 0), want: resp.Bulk("inf")},
		{name: "case mapping is ASCII, as in the C locale", args: scrEval("return string.upper('\xc3\xa9a')", 0), want: resp.Bulk("\xc3\xa9A")},
		{name: "the metering helpers are hidden from pairs", args: scrEval("for k in pairs(_G) do if k:sub(1, 1) == '\\0' then return k end end return 'none'", 0), want: resp.Bulk("none")},
		{name: "pairs over a key of 2^63 ends (found by the replay checker: it scanned 2^63 slots)",
			args: scrEval("local t = {[2^63] = 1, [-2^63] = 2, [2^53] = 3} local n = 0 for k in pairs(t) do n = n + 1 end return n", 0), want: resp.Int(3)},
		{name: "redis.LOG_ constants", args: scrEval("return {redis.LOG_DEBUG, redis.LOG_VERBOSE, redis.LOG_NOTICE, redis.LOG_WARNING}", 0), want: listInts(0, 1, 2, 3)},
		{name: "a quoted shebang flag", args: scrEval("#!lua \"flags=no-writes\"\nreturn redis.pcall('rpush', 'k', 'v')", 0), want: resp.ErrScriptWrite},
		{name: "an unbalanced quote in the shebang", args: scrEval("#!lua \"flags\nreturn 1", 0), want: resp.Error("ERR Invalid engine in script shebang"), early: true},
	}...)
	scrRunCases(t, cases)
}

func TestScriptUpvaluesSurviveCaughtErrors(t *testing.T) {
	// gopher-lua closes the upvalues of every frame of the state that
	// raised an error; protected calls run on their own thread so that
	// exactly the unwound frames' upvalues close, as in Lua.
	scrRunCases(t, []scrCase{
		{name: "a closure over a caller's local stays shared after a caught error",
			args: scrEval("local errors = 0\nlocal function try(...) local ok = pcall(redis.call, ...) if not ok then errors = errors + 1 end end\n"+
				"try('lpush', 'a', 1) try('incr', 'a') try('incr', 'a') try('lpush', 'b', 2)\nreturn errors", 0), want: resp.Int(2)},
		{name: "a local changed after a caught error is seen by its closure",
			args: scrEval("local x = 1\nlocal g = function() return x end\npcall(error, 'e')\nx = 2\nreturn g()", 0), want: resp.Int(2)},
		{name: "a closure escaping the failed function keeps its value",
			args: scrEval("local f\npcall(function() local x = 1; f = function() return x end; error('e') end)\nlocal a, b, c = 7, 8, 9\nreturn f()", 0), want: resp.Int(1)},
		{name: "pcall nests", args: scrEval("return {pcall(pcall, error, 'x')}", 0), want: resp.Array{resp.Int(1), resp.NullBulk, resp.Bulk("x")}},
		{name: "pcall nests only so deep", args: scrEval("local function f(n) if n == 0 then return 'bottom' end return select(2, pcall(f, n - 1)) end return f(300)", 0),
			want: resp.Bulk("user_script:1: C stack overflow")},
	})
}

// math.random differs between two runs of a script, as in Redis 7, but
// never between two nodes: each run starts from a seed of its entry's
// log index and its place among the entry's scripts. A read outside the
// log starts from the index it reads at.
func TestMathRandomIsSeededByTheEntry(t *testing.T) {
	const draw = "return {math.random(1000000), math.random(1000000)}"
	a, b := scrNewNode(t), scrNewNode(t)
	eval := Cmd{Args: listBytes(scrEval(draw, 0))}
	var seen []string
	for range 3 {
		ra, rb := a.apply(eval, eval), b.apply(eval, eval)
		for i := range ra.Replies {
			if exp, got := scrWire(ra.Replies[i]), scrWire(rb.Replies[i]); exp != got {
				t.Fatalf("two nodes applying entry %d drew %q and %q", a.index, exp, got)
			}
			seen = append(seen, scrWire(ra.Replies[i]))
		}
	}
	for i := range seen {
		for j := range i {
			if seen[i] == seen[j] {
				t.Fatalf("runs %d and %d drew the same numbers %q: exp every run of the script to draw its own", j, i, seen[i])
			}
		}
	}
	ro := scrEval(draw, 0)
	ro[0] = "EVAL_RO"
	r1, r2 := scrWire(a.do(ro...)), scrWire(b.do(ro...))
	if r1 != r2 || r1 != scrWire(a.do(ro...)) {
		t.Fatalf("reads at one index: exp the same numbers on both nodes and again, got %q, %q", r1, r2)
	}
	a.apply(eval)
	if r3 := scrWire(a.do(ro...)); r3 == r1 {
		t.Fatalf("a read at a later index drew %q again: exp the index to seed it", r3)
	}
}

func TestScriptRunsShareNothing(t *testing.T) {
	n := scrNewNode(t)
	steps := []struct {
		args []string
		want resp.Reply
	}{
		{scrEval("KEYS[1] = 'changed' local x = math.random() return KEYS[1]", 1, "k"), resp.Bulk("changed")},
		{scrEval("return {KEYS[1], type(math.random(1000000))}", 1, "k"), resp.Array{resp.Bulk("k"), resp.Bulk("number")}},
		{scrEval("redis.setresp(3) return 1", 0), resp.Int(1)},
		{scrEval("return type(redis.call('lpop', 'nokey'))", 0), resp.Bulk("boolean")},
		{scrEval("local n = 0 for _ in pairs(_G) do n = n + 1 end return n", 0), resp.Int(33)},
		{scrEval("return tostring({})", 0), resp.Bulk("table: 0x1000001")},
	}
	for i := 0; i < 3; i++ {
		for _, s := range steps {
			if exp, got := scrWire(s.want), scrWire(n.do(s.args...)); exp != got {
				t.Fatalf("round %d, %q: exp %q, got %q", i, s.args[1], exp, got)
			}
		}
	}
}

func TestScriptBudget(t *testing.T) {
	instr := "ERR " + scrOutOfInstructions
	bytesErr := "ERR " + scrOutOfBytes
	stopped := func(msg, body string, line int) scrCase {
		return scrCase{name: body, args: scrEval(body, 0), want: scrErrAt(msg, body, line)}
	}
	scrRunCases(t, []scrCase{
		stopped(instr, "while true do end", 1),
		// The stop is raised again at the next instruction after pcall.
		stopped(instr, "local n = 0\nwhile true do\n  pcall(function() while true do end end)\n  n = n + 1\nend", 4),
		// ... here the chunk's implicit return, which gopher-lua places on
		// the line after the last.
		stopped(instr, "xpcall(function() while true do end end, function() while true do end end)", 2),
		stopped(instr, "local function f() return f() end return f()", 1),
		{name: "a pcall in a tail call cannot swallow the stop", args: scrEval("return pcall(function() while true do end end)", 0), want: resp.Error(instr)},
		stopped(bytesErr, "local s = 'x'\nfor i = 1, 40 do s = s .. s end", 2),
		stopped(bytesErr, "return string.rep('x', 1e9)", 1),
		stopped(bytesErr, "local t = {} t[2^25] = 1", 1),
		stopped(bytesErr, "return {[2^25] = 1}", 1),
		stopped(bytesErr, "table.insert({}, 2^25, 1)", 1),
		stopped(bytesErr, "rawset({}, 2^25, 1)", 1),
		stopped(bytesErr, "local t = {} for i = 1, 100 do t[i] = string.rep('x', 1e7) end", 1),
		stopped(instr, "local t = {} for i = 1, 1e5 do t[i] = i end for i = 1e5, 1, -1 do t[i] = nil end while true do local n = #t end", 1),
		stopped(instr, "return string.find(string.rep('a', 1e5), '.-.-.-.-.-b')", 1),
		stopped(instr, "local t = {} for i = 1, 1e6 do t[i] = i end for i = 1, 1e6 do t[i] = nil end t[1e6 + 1] = 1 while true do next(t) end", 1),
		{name: "recursion stops with a stack overflow", args: scrEval("local function f() return 1 + f() end return f()", 0),
			want: scrErrAt("ERR user_script:1: stack overflow", "local function f() return 1 + f() end return f()", 1)},
		{name: "a deep recursion Redis allows", args: scrEval("local function f(n) if n == 0 then return 0 end return 1 + f(n - 1) end return f(10000)", 0), want: resp.Int(10000)},
		{name: "unpack is bounded as in Lua 5.1", args: scrEval("return unpack({}, 1, 8000)", 0),
			want: scrErrAt("ERR user_script:1: too many results to unpack", "return unpack({}, 1, 8000)", 1)},
		{name: "string.byte is bounded as in Lua 5.1", args: scrEval("return string.byte(string.rep('x', 8000), 1, -1)", 0),
			want: scrErrAt("ERR user_script:1: stack overflow (string slice too long)", "return string.byte(string.rep('x', 8000), 1, -1)", 1)},
		{name: "nesting too deep to compile", args: scrEval("return "+strings.Repeat("{", 2000)+strings.Repeat("}", 2000), 0),
			want: resp.Error("ERR Error compiling script (new function): user_script:1: chunk has too many syntax levels"), early: true},
		{name: "a long concatenation", args: scrEval("return #(''"+strings.Repeat(" .. 'ab'", 250)+")", 0), want: resp.Int(500)},
		{name: "a long constructor with computed keys", args: scrEval("local t = {"+scrManyFields(300)+"} return {#t, t[300], t.k}", 0), want: resp.Array{resp.Int(300), resp.Int(300), resp.Bulk("v")}},
	})
}

// scrManyFields is a constructor body with n fields, every other one with
// a computed key.
func scrManyFields(n int) string {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		if i%2 == 0 {
			fmt.Fprintf(&b, "[%d + 0] = %d, ", i, i)
		} else {
			fmt.Fprintf(&b, "[%d] = %d, ", i, i)
		}
	}
	b.WriteString("k = 'v'")
	return b.String()
}

func TestScriptBudgetStopsAtTheSameInstructionEverywhere(t *testing.T) {
	body := "local i = 0\nwhile true do\n  i = i + 1\n  redis.call('set', 'n', i)\nend"
	a, b := scrNewNode(t), scrNewNode(t)
	start := time.Now()
	ra := a.do(scrEval(body, 0)...)
	if took := time.Since(start); took > 10*time.Second {
		t.Fatalf("a runaway script held the state machine for %v", took)
	}
	rb := b.do(scrEval(body, 0)...)
	if exp, got := "-ERR "+scrOutOfInstructions+" script: ", scrWire(ra); !strings.HasPrefix(got, exp) {
		t.Fatalf("exp %q..., got %q", exp, got)
	}
	if exp, got := scrWire(ra), scrWire(rb); exp != got {
		t.Fatalf("the two states stopped differently: %q and %q", exp, got)
	}
	na, nb := a.do("get", "n"), b.do("get", "n")
	if scrWire(na) != scrWire(nb) || scrWire(na) == scrWire(resp.NullBulk) {
		t.Fatalf("the two states stopped after different writes: %q and %q", scrWire(na), scrWire(nb))
	}
	if exp, got := a.st.Digest(), b.st.Digest(); exp != got {
		t.Fatalf("digests differ: %s and %s", exp, got)
	}
	for _, n := range []*scrNode{a, b} {
		if exp, got := scrWire(resp.Int(1)), scrWire(n.do(scrEval("return 1", 0)...)); exp != got {
			t.Fatalf("after the stop: exp %q, got %q", exp, got)
		}
	}
}

// scrDeterminismLog is a run of entries touching everything that could
// differ between nodes: random numbers, names of tables, iteration order,
// sorting, errors and budget stops midway, SELECT, the script cache.
var scrDeterminismLog = [][]string{
	{"rpush", "src", "c", "a", "b"},
	scrEval("local t = {} for i = 1, 5 do t[#t + 1] = math.random(100) end return redis.call('rpush', 'rand', unpack(t))", 0),
	scrEval("math.randomseed(7) return redis.call('rpush', 'rand', math.random(), tostring({}), tostring(math.random))", 0),
	scrEval("local t = {z = 1, a = 2, m = 3, [10] = 4, [1] = 5} for k in pairs(t) do redis.call('rpush', 'order', k) end", 0),
	scrEval("local l = redis.call('lrange', 'src', 0, -1) table.sort(l) return redis.call('rpush', 'sorted', unpack(l))", 0),
	scrEval("redis.call('rpush', 'partial', 'before') error('midway')", 0),
	scrEval("redis.call('rpush', 'partial', 'loop') while true do end", 0),
	scrEval("local ok, e = pcall(function() local x = nil; return x[{}] end) return redis.call('rpush', 'errors', e)", 0),
	scrEval("redis.call('select', 3) return redis.call('rpush', 'in3', string.format('%5.2f %q', 1/3, 'a\\n'))", 0),
	{"script", "load", "return redis.call('lpop', KEYS[1])"},
	{"evalsha", ScriptSHA([]byte("return redis.call('lpop', KEYS[1])")), "1", "src"},
	scrEval("return redis.call('rpush', 'gsub', (string.gsub('hello world', '(%w+)', '<%1>')))", 0),
}

func TestScriptDeterminism(t *testing.T) {
	a, b := scrNewNode(t), scrNewNode(t)
	var restored *scrNode
	for i, args := range scrDeterminismLog {
		ra, rb := a.do(args...), b.do(args...)
		if exp, got := scrWire(ra), scrWire(rb); exp != got {
			t.Fatalf("entry %d %q: the nodes answered %q and %q", i, args, exp, got)
		}
		if restored != nil {
			if exp, got := scrWire(ra), scrWire(restored.do(args...)); exp != got {
				t.Fatalf("entry %d %q: the restored node answered %q, not %q", i, args, got, exp)
			}
		}
		if i == len(scrDeterminismLog)/2 {
			var buf bytes.Buffer
			if err := WriteSnapshot(&buf, a.st); err != nil {
				t.Fatal(err)
			}
			st, err := ReadSnapshot(&buf)
			if err != nil {
				t.Fatal(err)
			}
			restored = &scrNode{t: t, st: st, index: a.index}
		}
	}
	if exp, got := a.st.Digest(), b.st.Digest(); exp != got {
		t.Fatalf("digests differ: %s and %s", exp, got)
	}
	if exp, got := a.st.Digest(), restored.st.Digest(); exp != got {
		t.Fatalf("the node restored midway differs: %s and %s", exp, got)
	}
	if exp, got := `errors=["user_script:1: attempt to index a non-table object(nil) with key 'table: 0x0'"]`,
		scrDumpList(a.st, 0, "errors"); exp != got {
		t.Fatalf("an address reached the state: exp %s, got %s", exp, got)
	}
}

// scrDumpList shows one list with its elements quoted.
func scrDumpList(st *State, db int, key string) string {
	l, _ := st.DB(db).List([]byte(key))
	var elems []string
	for i := 0; l != nil && i < l.Len(); i++ {
		elems = append(elems, fmt.Sprintf("%q", l.At(i)))
	}
	return key + "=[" + strings.Join(elems, " ") + "]"
}

func TestScriptReadPathRunsConcurrently(t *testing.T) {
	n := scrNewNode(t)
	n.do("rpush", "k", "a", "b", "c")
	body := "local out = {} for i, v in ipairs(redis.call('lrange', KEYS[1], 0, -1)) do out[i] = v .. math.random(10) end return out"
	want := scrWire(n.do("eval_ro", body, "1", "k"))
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 100; i++ {
				if got := scrWire(n.st.Read(0, listBytes([]string{"eval_ro", body, "1", "k"}))); got != want {
					errs <- got
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for got := range errs {
		t.Fatalf("exp %q, got %q", want, got)
	}
}

func BenchmarkScriptEval(b *testing.B) {
	// Measure what production runs: the seal checks shapes, not values.
	defer lua.CheckValues(lua.CheckValues(false))
	for _, bc := range []struct{ name, body string }{
		{"return 1", "return 1"},
		{"push and pop", "redis.call('rpush', KEYS[1], ARGV[1]) return redis.call('lpop', KEYS[1])"},
		{"loop of 1000", "local s = 0 for i = 1, 1000 do s = s + i end return s"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			st := NewState()
			args := listBytes(scrEval(bc.body, 1, "k", "v"))
			for i := 0; i < b.N; i++ {
				run(&Ctx{State: st}, args)
			}
		})
	}
}

// The budget errors, word for word (the lua package's DefaultBudget).
const (
	scrOutOfInstructions = "Script stopped: it ran more than 10000000 Lua instructions"
	scrOutOfBytes        = "Script stopped: it created more than 268435456 bytes of strings and tables"
)
