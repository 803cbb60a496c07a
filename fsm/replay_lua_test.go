package fsm

// The replay checker's scripts: a small grammar of well-formed Lua that
// works on the keyspace, a hostile corpus of probes that try to keep or
// read state across runs, and the observers that read what a probe would
// have changed.

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
)

// replayLua writes random scripts. Expressions are typed loosely (string,
// number, table, boolean) so that most scripts run to their end instead of
// failing at their first operation; the ones that fail are welcome too.
type replayLua struct {
	r      *rand.Rand
	b      strings.Builder
	depth  int // statement nesting
	edepth int // expression nesting
	nlocal int
	strs   []string // string locals in scope
	nums   []string // number locals in scope
	tbls   []string // table locals in scope
	ro     bool     // writing an EVAL_RO script: no write commands
}

func (l *replayLua) pick(list []string) string { return list[l.r.IntN(len(list))] }
func (l *replayLua) chance(p float64) bool     { return l.r.Float64() < p }

// script returns a whole script body. A read-only one (EVAL_RO) sometimes
// declares itself with Redis 7's shebang.
func (l *replayLua) script(ro bool) string {
	l.b.Reset()
	l.depth, l.nlocal, l.strs, l.nums, l.tbls, l.ro = 0, 0, nil, nil, nil, ro
	if ro && l.chance(0.3) {
		l.b.WriteString("#!lua flags=no-writes\n")
	} else if l.chance(0.05) {
		l.b.WriteString("#!lua\n")
	}
	for i := 1 + l.r.IntN(5); i > 0; i-- {
		l.stmt()
	}
	l.b.WriteString("return " + l.ret() + "\n")
	return l.b.String()
}

func (l *replayLua) local(kind *[]string, expr string) {
	l.nlocal++
	name := "v" + strconv.Itoa(l.nlocal)
	l.b.WriteString("local " + name + " = " + expr + "\n")
	*kind = append(*kind, name)
}

// stmt writes one statement; blocks nest at most twice and loops are
// bounded, so no generated script runs long.
func (l *replayLua) stmt() {
	l.depth++
	defer func() { l.depth-- }()
	n := 14
	if l.depth > 2 {
		n = 8 // no more blocks
	}
	switch l.r.IntN(n) {
	case 0:
		l.local(&l.strs, l.str())
	case 1:
		l.local(&l.nums, l.num())
	case 2:
		l.local(&l.tbls, l.tbl())
	case 3, 4:
		l.b.WriteString(l.write() + "\n")
	case 5:
		if len(l.tbls) > 0 {
			t := l.pick(l.tbls)
			l.b.WriteString(l.pick([]string{
				"table.insert(" + t + ", " + l.str() + ")",
				t + "[#" + t + " + 1] = " + l.num(),
				t + "[" + l.str() + "] = " + l.str(),
				"table.sort(" + t + ", function(x, y) return tostring(x) < tostring(y) end)",
				"table.remove(" + t + ")",
			}) + "\n")
		} else {
			l.local(&l.tbls, "{}")
		}
	case 6:
		// pcall and error: messages, tables and positions as values.
		l.local(&l.tbls, "{pcall(function() "+l.pick([]string{
			"error(" + l.str() + ")",
			"error({code = " + l.num() + "})",
			"error(" + l.str() + ", 2)",
			"error({err = " + l.str() + "})",
			"return " + l.str() + ", " + l.num(),
			"local t = nil; return t.x",
			"return redis.call('lpush', 's', 1)",
			"return " + l.num() + " + {}",
		})+" end)}")
	case 7:
		l.local(&l.strs, "redis.sha1hex("+l.str()+")")
	case 8:
		l.b.WriteString("for i = 1, " + strconv.Itoa(1+l.r.IntN(4)) + " do\n")
		l.nums = append(l.nums, "i")
		l.stmt()
		l.stmt()
		l.nums = l.nums[:len(l.nums)-1]
		l.b.WriteString("end\n")
	case 9:
		l.b.WriteString("if " + l.boolean() + " then\n")
		l.stmt()
		l.b.WriteString("else\n")
		l.stmt()
		l.b.WriteString("end\n")
	case 10:
		// A closure over a local, called twice.
		l.nlocal++
		f := "f" + strconv.Itoa(l.nlocal)
		l.b.WriteString("local " + f + " = function(a) return " + l.pick([]string{
			"tostring(a) .. " + l.str(), "string.rep(tostring(a), 2)", "#tostring(a) + " + l.num(), "{a, " + l.str() + "}",
		}) + " end\n")
		l.local(&l.tbls, "{"+f+"("+l.str()+"), "+f+"("+l.num()+")}")
	case 11:
		if len(l.tbls) > 0 {
			// At most five rounds: the body may grow the table.
			t := l.pick(l.tbls)
			l.nlocal++
			n := "n" + strconv.Itoa(l.nlocal)
			l.b.WriteString("local " + n + " = 0\nfor k, v in " + l.pick([]string{"pairs", "ipairs"}) + "(" + t + ") do\n")
			l.b.WriteString(n + " = " + n + " + 1 if " + n + " > 5 then break end\n")
			l.strs = append(l.strs, "tostring(k)", "tostring(v)")
			l.stmt()
			l.strs = l.strs[:len(l.strs)-2]
			l.b.WriteString("end\n")
		} else {
			l.local(&l.tbls, l.tbl())
		}
	case 12:
		l.b.WriteString("math.randomseed(" + l.num() + ")\n")
	case 13:
		l.nlocal++
		n := "w" + strconv.Itoa(l.nlocal)
		l.b.WriteString("local " + n + " = 0\nwhile " + n + " < " + strconv.Itoa(l.r.IntN(6)) + " do " + n + " = " + n + " + 1 end\n")
		l.nums = append(l.nums, n)
	}
}

// write is a redis.call or redis.pcall on the keyspace (a read in a
// read-only script, mostly).
func (l *replayLua) write() string {
	call := l.pick([]string{"redis.call", "redis.pcall", "redis.pcall"})
	key := l.key()
	cmds := []string{
		"'rpush', " + key + ", " + l.str(),
		"'lpush', " + key + ", " + l.str() + ", " + l.num(),
		"'lpop', " + key,
		"'rpop', " + key + ", " + strconv.Itoa(l.r.IntN(3)+1),
		"'set', " + key + ", " + l.str(),
		"'del', " + key,
		"'lmove', " + key + ", " + l.key() + ", 'LEFT', 'RIGHT'",
		"'lrem', " + key + ", 0, " + l.str(),
		"'linsert', " + key + ", 'BEFORE', " + l.str() + ", " + l.str(),
		"'lset', " + key + ", 0, " + l.str(),
		"'ltrim', " + key + ", 0, " + strconv.Itoa(l.r.IntN(5)),
		"'blpop', " + key + ", 0",
		"'brpoplpush', " + key + ", " + l.key() + ", 0",
		"'lmpop', 2, " + key + ", " + l.key() + ", 'RIGHT', 'COUNT', 2",
		"'blmpop', 0, 1, " + key + ", 'LEFT'",
		"'rename', " + key + ", " + l.key(),
		"'select', " + strconv.Itoa(l.r.IntN(3)),
		"'eval', 'return 1', 0",
		"'flushdb'",
		"'pexpire', " + key + ", " + strconv.Itoa(l.r.IntN(200)-20),
		"'set', " + key + ", " + l.str() + ", 'PX', " + strconv.Itoa(1+l.r.IntN(200)),
		"'persist', " + key,
		"'getex', " + key + ", 'PX', " + strconv.Itoa(1+l.r.IntN(200)),
		"'getdel', " + key,
	}
	if l.ro || l.chance(0.3) {
		cmds = []string{
			"'lrange', " + key + ", 0, -1", "'llen', " + key, "'get', " + key, "'type', " + key,
			"'exists', " + key + ", " + l.key(), "'lindex', " + key + ", " + l.num(), "'lpos', " + key + ", " + l.str(),
			"'keys', '*'", "'scan', 0", "'dbsize'", "'ping'", "'echo', " + l.str(), "'nosuch'",
			"'pttl', " + key, "'expiretime', " + key,
		}
	}
	return call + "(" + l.pick(cmds) + ")"
}

// key is a key the script names: one of its KEYS, or a literal.
func (l *replayLua) key() string {
	if l.chance(0.8) {
		return "KEYS[1]"
	}
	return "'" + l.pick(replayKeys) + "'"
}

func (l *replayLua) str() string {
	if l.edepth >= 3 {
		return strconv.Quote(l.pick([]string{"x", "", "k"}))
	}
	l.edepth++
	defer func() { l.edepth-- }()
	if len(l.strs) > 0 && l.chance(0.3) {
		return l.pick(l.strs)
	}
	switch l.r.IntN(21) {
	case 0:
		return "KEYS[1]"
	case 1:
		return "tostring(ARGV[1])"
	case 2:
		return "tostring(" + l.num() + ")"
	case 3:
		return l.str() + " .. " + l.str()
	case 4:
		return "string.upper(" + l.str() + ")"
	case 5:
		return "string.rep(" + l.str() + ", " + strconv.Itoa(l.r.IntN(4)) + ", '-')"
	case 6:
		return "string.sub(" + l.str() + ", " + l.num() + ", " + l.num() + ")"
	case 7:
		return "string.format('%s:%d:%5.2f', " + l.str() + ", " + strconv.Itoa(l.r.IntN(100)) + ", " + l.num() + ")"
	case 8:
		return "table.concat(" + l.strList() + ", ',')"
	case 9:
		return "type(" + l.any() + ")"
	case 10:
		return "tostring(redis.call('llen', " + l.key() + "))"
	case 11:
		return "(string.gsub(" + l.str() + ", '%a', " + l.pick([]string{"'%0%0'", "string.upper", "{x = 'X'}"}) + "))"
	case 12:
		return "tostring(" + l.tbl() + ")"
	case 13:
		return "string.char(" + strconv.Itoa(65+l.r.IntN(26)) + ", " + strconv.Itoa(l.r.IntN(256)) + ")"
	case 14:
		return "string.reverse(" + l.str() + ")"
	case 15:
		return "cjson.encode(" + l.tbl() + ")"
	case 16:
		return "cmsgpack.pack(" + l.str() + ", " + l.num() + ", " + l.tbl() + ")"
	case 17:
		return "struct.pack('>i4 s', " + l.num() + ", " + l.str() + ")"
	case 18:
		return "bit.tohex(" + l.num() + ")"
	case 19:
		return "tostring((cmsgpack.unpack(cmsgpack.pack(" + l.str() + "))))"
	}
	return strconv.Quote(l.pick([]string{"x", "", "hello", "a,b", "%d", "\x00z", "1e3"}))
}

// strList is a table of strings, for table.concat.
func (l *replayLua) strList() string {
	parts := make([]string, l.r.IntN(4))
	for i := range parts {
		parts[i] = l.str()
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

func (l *replayLua) num() string {
	if l.edepth >= 3 {
		return strconv.Itoa(l.r.IntN(5))
	}
	l.edepth++
	defer func() { l.edepth-- }()
	if len(l.nums) > 0 && l.chance(0.3) {
		return l.pick(l.nums)
	}
	switch l.r.IntN(15) {
	case 0:
		return "(" + l.num() + " + " + l.num() + ")"
	case 1:
		return "(" + l.num() + " * " + l.num() + ")"
	case 2:
		return "math.floor(" + l.num() + " / 3)"
	case 3:
		return "#" + l.str()
	case 4:
		return "math.random(" + strconv.Itoa(1+l.r.IntN(100)) + ")"
	case 5:
		return "math.max(" + l.num() + ", " + l.num() + ")"
	case 6:
		return "(tonumber(" + l.str() + ") or 0)"
	case 7:
		return "redis.call('llen', " + l.key() + ")"
	case 8:
		return "select('#', " + l.str() + ", " + l.num() + ")"
	case 9:
		return "math.fmod(" + l.num() + ", 7)"
	case 10:
		return l.pick([]string{"0.5", "1e300", "-0", "2^53", "1/3"})
	case 11:
		return "bit." + l.pick([]string{"band", "bor", "bxor", "lshift", "arshift", "rol"}) + "(" + l.num() + ", " + l.num() + ")"
	case 12:
		return "struct.size(" + l.pick([]string{"'>i4 h d'", "'!8 b l'", "'c3 I2'"}) + ")"
	case 13:
		return "#cmsgpack.pack(" + l.any() + ")"
	}
	return strconv.Itoa(l.r.IntN(21) - 10)
}

func (l *replayLua) tbl() string {
	if l.edepth >= 3 {
		return "{}"
	}
	l.edepth++
	defer func() { l.edepth-- }()
	if len(l.tbls) > 0 && l.chance(0.3) {
		return l.pick(l.tbls)
	}
	switch l.r.IntN(9) {
	case 0:
		return "{}"
	case 1:
		return "{" + l.str() + ", " + l.num() + ", " + l.str() + "}"
	case 2:
		return "{k = " + l.str() + ", [" + l.num() + "] = " + l.str() + ", " + l.num() + "}"
	case 3:
		return "redis.call('lrange', " + l.key() + ", 0, -1)"
	case 4:
		return "{redis.pcall('lpop', " + l.key() + ")}"
	case 5:
		return "cjson.decode(cjson.encode(" + l.tbl() + "))"
	case 6:
		return "{cmsgpack.unpack(cmsgpack.pack(" + l.tbl() + ", " + l.str() + "))}"
	case 7:
		return "{struct.unpack('>i4 c0', struct.pack('>i4 c0', 3, " + l.str() + "))}"
	}
	return "{" + l.str() + ", {" + l.num() + ", {" + l.str() + "}}}"
}

func (l *replayLua) boolean() string {
	if l.edepth >= 3 {
		return "true"
	}
	l.edepth++
	defer func() { l.edepth-- }()
	switch l.r.IntN(5) {
	case 0:
		return l.num() + " < " + l.num()
	case 1:
		return l.str() + " == " + l.str()
	case 2:
		return "not " + l.boolean()
	case 3:
		return "(pcall(redis.call, 'llen', " + l.key() + "))"
	}
	return "redis.call('exists', " + l.key() + ") == 1"
}

func (l *replayLua) any() string {
	if l.edepth >= 3 {
		return "nil"
	}
	l.edepth++
	defer func() { l.edepth-- }()
	switch l.r.IntN(4) {
	case 0:
		return l.num()
	case 1:
		return l.tbl()
	case 2:
		return l.boolean()
	}
	return l.str()
}

// ret is what the script returns: values, nested tables, status and
// error tables, double and map replies.
func (l *replayLua) ret() string {
	switch l.r.IntN(9) {
	case 0:
		return l.num()
	case 1:
		return l.str()
	case 2, 3:
		return "{" + l.any() + ", " + l.tbl() + ", {" + l.any() + ", {" + l.str() + "}}}"
	case 4:
		return "redis.status_reply(" + l.str() + ")"
	case 5:
		return "redis.error_reply(" + l.str() + ")"
	case 6:
		return "{map = {" + l.str() + ", x = " + l.num() + "}}"
	case 7:
		return "{double = " + l.num() + "}"
	}
	return l.tbl()
}

// replayProbe is one hostile script: it tries to leave something behind
// in the Lua machine that runs it, or to read something a machine's past
// could have left. ARGV[1] is the value it plants, different in the log
// and in the warm-ups, so a planted value shows whose it is.
type replayProbe struct {
	name string
	body string
}

func (p replayProbe) eval(value string) []string {
	return []string{"eval", p.body, "1", "a", value}
}

// replayHelperNames are the compiler's metering helpers (fsm/lua/compile.go)
// and its temporaries: no script may reach them by name.
var replayHelperNames = []string{"\\0concat", "\\0set", "\\0len", "\\0table", "\\0tmore", "\\0v0", "\\0v1"}

// replayLibs are the tables every script sees.
var replayLibs = []string{"_G", "string", "table", "math", "redis", "KEYS", "ARGV", "getmetatable('')", "getmetatable(_G)", "getmetatable('').__index"}

// replayHostile is the hostile corpus. Every probe is one attack; the log
// follows each with observers, and machine C runs all of them, with other
// values, between entries.
var replayHostile = func() []replayProbe {
	v := "ARGV[1]"
	ps := []replayProbe{
		{"set a global", "x = " + v},
		{"set a global through _G", "_G.x = " + v},
		{"set a global through _G by computed key", "_G['x' .. ''] = " + v},
		{"rawset a global", "rawset(_G, 'x', " + v + ")"},
		{"unlock the globals", "setmetatable(_G, nil) x = " + v},
		{"rewrite the globals' metatable", "local mt = getmetatable(_G) mt.__index = function() return " + v + " end mt.__newindex = nil"},
		{"rawset the globals' metatable", "rawset(getmetatable(_G), '__index', {y = " + v + "})"},
		{"replace the string metatable's index", "getmetatable('').__index = {foo = " + v + "}"},
		{"write into the string metatable", "getmetatable('').foo = " + v},
		{"rawset the string metatable", "rawset(getmetatable(''), '__index', {})"},
		{"set the string metatable's metatable", "setmetatable(getmetatable(''), {__index = function() return " + v + " end})"},
		{"setmetatable on a string", "setmetatable('', {__index = {foo = " + v + "}})"},
		{"index a string with a new method", "return ('').foo"},
		{"load code that writes a global", "loadstring('x = ' .. string.format('%q', " + v + "))()"},
		{"load code that writes a library", "loadstring('string.foo = ' .. string.format('%q', " + v + "))()"},
		{"load from a function", "local done = false load(function() if done then return nil end done = true return 'x = 1' end)()"},
		{"load bytecode", "return loadstring(string.dump(function() x = 1 end))"},
		{"getfenv and setfenv", "setfenv(1, {x = " + v + "})"},
		{"getfenv of a library function", "return getfenv(string.rep)"},
		{"newproxy", "local p = newproxy(true) getmetatable(p).__index = function() return " + v + " end x = p"},
		{"coroutines", "local co = coroutine.create(function() x = 1 end) coroutine.resume(co)"},
		{"debug library", "debug.setmetatable('', {__index = {foo = " + v + "}})"},
		{"os and io", "os.execute('true') io.write('x')"},
		{"require and package", "package.loaded.string.foo = " + v},
		{"dofile and module", "module('x') dofile('/etc/passwd')"},
		{"pairs order over _G", "local t = {} for k in pairs(_G) do t[#t + 1] = tostring(k) end return t"},
		{"next over _G from a helper", "return {next(_G, '\\0concat')}"},
		{"tostring of tables and functions", "return {tostring({}), tostring(print or tostring), tostring(string.rep), tostring(_G), tostring(string)}"},
		{"error with a table", "error({foo = " + v + "})"},
		{"error with a metatable", "error(setmetatable({}, {__tostring = function() return " + v + " end}))"},
		{"error with an err field", "error({err = " + v + "})"},
		{"error with nil", "error()"},
		{"error at level 2", "error(" + v + ", 2)"},
		{"caught error objects", "local ok, e = pcall(error, setmetatable({}, {__index = function() return " + v + " end})) return {tostring(ok), e.anything}"},
		{"select extremes", "return {select('#'), select(-1, 1, 2), pcall(select, 2^31), pcall(select, -3, 1)}"},
		{"unpack extremes", "return {pcall(unpack, {}, 1, 7999), pcall(unpack, {1, 2}, -2^31, -2^31 + 2), select('#', unpack({}, 2^31 - 2, 2^31 - 1))}"},
		{"unpack a library", "return {unpack(string)}"},
		{"collectgarbage", "return {collectgarbage('count'), collectgarbage('step'), collectgarbage('setpause', 100), collectgarbage('stop'), gcinfo()}"},
		{"reseed the generator", "math.randomseed(#" + v + ") return math.random(1000000)"},
		{"draw random numbers", "local t = {} for i = 1, 20 do t[i] = math.random(1000) end return t"},
		{"switch to RESP3", "redis.setresp(3) return type(redis.call('get', 'nokey-anywhere'))"},
		{"select a database and stay", "redis.call('select', 2)"},
		{"write KEYS and ARGV", "KEYS[1] = " + v + " KEYS[5] = " + v + " ARGV.x = " + v + " table.insert(KEYS, " + v + ") setmetatable(ARGV, {__index = function() return " + v + " end})"},
		{"replace KEYS", "KEYS = {" + v + "}"},
		{"set n of a library", "table.setn(string, 3)"},
		{"redis.log a line", "redis.log(redis.LOG_WARNING, 'probe', " + v + ")"},
		{"redis helpers", "redis.set_repl(redis.REPL_NONE) redis.replicate_commands() redis.breakpoint() redis.debug(" + v + ") return redis.sha1hex(" + v + ")"},
		{"bytes budget", "return string.rep('x', 2^29)"},
		// The libraries Redis ships: their tables are read-only like the
		// others, their settings last one run, and hostile input stops on
		// the budget or a limit.
		{"write into cjson", "cjson.foo = " + v},
		{"rawset into cmsgpack", "rawset(cmsgpack, 'foo', " + v + ")"},
		{"replace a bit function", "bit.band = bit.bor"},
		{"setmetatable on struct", "setmetatable(struct, {__index = function() return " + v + " end})"},
		{"change every cjson setting", "cjson.encode_max_depth(1) cjson.decode_max_depth(1) cjson.encode_number_precision(1) " +
			"cjson.encode_sparse_array(true, 1, 0) cjson.encode_invalid_numbers('null') cjson.decode_invalid_numbers(false) cjson.encode_keep_buffer(false) return cjson.encode({1.25})"},
		{"a cjson instance of one's own", "local c = cjson.new() c.encode_max_depth(1) c.foo = " + v + " return {pcall(c.encode, {{1}}), cjson.encode({{1}})}"},
		{"tamper with cjson.null", "return {pcall(setmetatable, cjson.null, {}), pcall(rawset, cjson.null, 1, 2), pcall(function() cjson.null.x = 1 end)}"},
		{"cmsgpack claims a huge array", "return {pcall(cmsgpack.unpack, string.char(0xdd, 255, 255, 255, 255) .. string.rep(string.char(0x91), 3000))}"},
		{"cmsgpack claims a huge string", "return {pcall(cmsgpack.unpack, string.char(0xdb, 127, 255, 255, 255) .. " + v + ")}"},
		{"cjson decodes deep nesting", "return {pcall(cjson.decode, string.rep('[', 100000))}"},
		{"cjson encodes a table that holds itself", "local t = {} t[1] = t t[2] = t return {pcall(cjson.encode, t)}"},
		{"cmsgpack packs a table that holds itself twice", "local t = {} t[1] = t t[2] = t t[3] = t return #cmsgpack.pack(t)"},
		{"struct packs a long format", "return {pcall(struct.pack, string.rep('x', 1000000))}"},
		{"protected call nesting", "local function f(n) if n == 0 then return 'bottom' end return select(2, pcall(f, n - 1)) end return f(250)"},
		{"stack overflow inside pcall", "return {pcall(function() local function f() return 1 + f() end return f() end)}"},
		{"closure kept in a caught error", "local ok, e = pcall(function() local s = " + v + " error({f = function() return s end}) end) return e.f()"},
		{"sort with an erroring comparator", "local t = {3, 1, 2} pcall(table.sort, t, function(a, b) error('x') end) return t"},
		{"string methods on numbers", "return {pcall(function() return (5):rep(2) end)}"},
		{"deep nesting of tables", "local t = {} local c = t for i = 1, 100 do c[1] = {} c = c[1] end return t"},
		{"rawequal and rawget on views", "return {rawequal(string, getmetatable('').__index), rawget(string, 'rep') ~= nil, rawget(_G, '_G') == _G}"},
		// Protected calls run on pooled threads: leave them in odd states.
		{"xpcall whose handler errors", "return {xpcall(function() error({" + v + "}) end, function(e) error('again') end)}"},
		{"xpcall with a nil handler", "return {xpcall(function() error(" + v + ") end, nil)}"},
		{"pcall leaving values on its thread", "local t = {pcall(function(...) return ... end, " + v + ", {}, 3)} return #t"},
		{"budget spent inside a pcall", "local ok = pcall(string.rep, 'x', 2^29) return ok"},
		{"error inside __tostring", "return {pcall(tostring, setmetatable({}, {__tostring = function() error(" + v + ") end}))}"},
		{"__tostring returning a table", "return {pcall(tostring, setmetatable({}, {__tostring = function() return {} end}))}"},
		{"__index loop", "local t = {} setmetatable(t, {__index = t}) return {pcall(function() return t.x end)}"},
		{"__newindex loop", "local t = {} setmetatable(t, {__newindex = t}) return {pcall(function() t[1] = 2 end)}"},
		{"metamethods on user tables", "local mt = {__eq = function() return true end, __lt = function() return true end, __le = function() return false end, " +
			"__concat = function(a, b) return " + v + " end, __call = function(self, x) return x end, __len = function() return 7 end, __unm = function() return 1 end} " +
			"local a, b = setmetatable({}, mt), setmetatable({}, mt) return {a == b, a < b, a <= b, a .. 'x', a(" + v + "), #a, -a}"},
		{"gsub with an erroring function", "return {pcall(string.gsub, 'abc', '%a', function(c) error(c) end)}"},
		{"string.format with a __tostring table", "return {pcall(string.format, '%s', setmetatable({}, {__tostring = function() return " + v + " end}))}"},
		{"a closure over a pcall thread's local", "local f pcall(function() local s = " + v + " f = function() s = s .. '!' return s end end) f() return f()"},
		{"tables as keys", "local t = {} t[{}] = 1 t[print or t] = 2 local n = 0 for k in pairs(t) do n = n + 1 end return n"},
		{"a huge error message", "error(string.rep(" + v + ", 100000))"},
		{"redis.call errors as tables", "local e = redis.pcall('lpush') return {type(e), e.err, pcall(redis.call, 'nosuch')}"},
		// Found by a long run (seed 100058, fixed on main in eede73f): next()
		// over a key of 2^63 or more converted it to int unchecked, MinInt64
		// on amd64, and scanned ~2^63 slots uncharged; arm64 saturates and
		// ended at once, so nodes of two architectures parted ways.
		{"next over a key of 2^63", "local t = {[2^63] = " + v + ", [1e300] = 1, [-2^63] = 2} local n = 0 for k in pairs(t) do n = n + 1 end return {n, next(t, 2^63), table.maxn(t)}"},
		{"redis.setresp twice, then call", "redis.setresp(3) redis.setresp(2) redis.setresp(3) return {redis.call('get', 'nokey-anywhere') == nil}"},
	}
	for _, lib := range replayLibs {
		for _, attack := range []string{
			"%s.foo = " + v,
			"%s[1] = " + v,
			"%s['foo' .. ''] = " + v,
			"rawset(%s, 'foo', " + v + ")",
			"rawset(%s, 1, " + v + ")",
			"table.insert(%s, " + v + ")",
			"table.insert(%s, 1, " + v + ")",
			"table.remove(%s)",
			"table.sort(%s)",
			"setmetatable(%s, {__index = function() return " + v + " end})",
			"return {next(%s)}",
			"local t = {} for k in pairs(%s) do t[#t + 1] = tostring(k) end return t",
		} {
			ps = append(ps, replayProbe{"library " + lib + ": " + fmt.Sprintf(attack, "L"), "local L = " + lib + "\n" + fmt.Sprintf(attack, "L")})
		}
	}
	for _, h := range replayHelperNames {
		get := []string{"rawget(_G, '" + h + "')", "_G['" + h + "']", "getmetatable('').__index['" + h + "']"}
		for _, lib := range replayLibs {
			ps = append(ps,
				replayProbe{"helper " + h + " keyed write into " + lib,
					"local f = " + get[len(lib)%len(get)] + " return f(" + lib + ", 1, 'k', 'foo', " + v + ")"},
				replayProbe{"helper " + h + " positional write into " + lib,
					"local f = " + get[(len(lib)+1)%len(get)] + " return f(" + lib + ", 1, 'p', " + v + ")"},
				replayProbe{"helper " + h + " set into " + lib,
					"local f = " + get[(len(lib)+2)%len(get)] + " return f(" + lib + ", 'foo', " + v + ")"},
			)
		}
		ps = append(ps,
			replayProbe{"helper " + h + " replaces a global function",
				"rawget(_G, '" + h + "')(_G, 1, 'k', 'tostring', function() return " + v + " end)"},
			replayProbe{"helper " + h + " plants a global",
				"rawget(_G, '" + h + "')(_G, 1, 'k', 'x', " + v + ")"},
			replayProbe{"helper " + h + " replaces redis.call",
				"rawget(_G, '" + h + "')(redis, 1, 'k', 'call', function() return " + v + " end)"},
			replayProbe{"helper " + h + " called directly", "return {pcall(rawget(_G, '" + h + "'), 'a', 'b')}"},
		)
	}
	// The issue's own reproduction (issue 14).
	ps = append(ps, replayProbe{"issue 14: \\0tmore writes string.foo",
		"local f=rawget(_G,'\\0tmore'); f(string,1,'k','foo',ARGV[1]); return string.foo"})
	return ps
}()

// replayObserverBody reads everything a taint would change and returns it,
// pushing it to KEYS[1] too, so a taint shows in the replies and the digest.
// Each read is protected: what a probe broke is an answer, not the end of
// the observer.
const replayObserverBody = `
local out = {}
local function see(name, f)
  local ok, v = pcall(f)
  if ok then
    out[#out + 1] = name .. '=' .. type(v) .. ':' .. (type(v) == 'table' and 'table' or type(v) == 'function' and 'function' or tostring(v))
  else
    out[#out + 1] = name .. '=error:' .. tostring(v)
  end
end
see('x', function() return x end)
see('y', function() return y end)
see('_G.x', function() return _G.x end)
see('rawget x', function() return rawget(_G, 'x') end)
see('string.foo', function() return string.foo end)
see('string[1]', function() return string[1] end)
see('table.foo', function() return table.foo end)
see('table[1]', function() return table[1] end)
see('math.foo', function() return math.foo end)
see('math[1]', function() return math[1] end)
see('redis.foo', function() return redis.foo end)
see('redis[1]', function() return redis[1] end)
see('_G.foo', function() return _G.foo end)
see('_G[1]', function() return _G[1] end)
see('KEYS[5]', function() return KEYS[5] end)
see('KEYS.foo', function() return KEYS.foo end)
see('#KEYS', function() return #KEYS end)
see('ARGV.x', function() return ARGV.x end)
see('#ARGV', function() return #ARGV end)
see('strmeta.foo', function() return getmetatable('').foo end)
see('strmeta[1]', function() return getmetatable('')[1] end)
see('strmeta.__index is string', function() return getmetatable('').__index == string end)
see('(s).foo', function() return ('s').foo end)
see('(s):upper', function() return ('s'):upper() end)
see('gmeta.foo', function() return getmetatable(_G).foo end)
see('gmeta[1]', function() return getmetatable(_G)[1] end)
see('gmeta.__index', function() return type(getmetatable(_G).__index) end)
see('meta of string', function() return getmetatable(string) end)
see('meta of KEYS', function() return getmetatable(KEYS) end)
see('type tostring', function() return type(tostring) end)
see('type redis.call', function() return type(redis.call) end)
see('type string.rep', function() return type(string.rep) end)
see('random', function() return math.random(1000000) end)
see('random2', function() return math.random() end)
see('resp', function() return type(redis.call('get', 'nokey-anywhere')) end)
see('tostring', function() return tostring({}) .. ' ' .. tostring(tostring) end)
see('version', function() return redis.REDIS_VERSION end)
see('pi', function() return math.pi end)
see('format', function() return string.format('%d %s', 3, 'x') end)
see('#string', function() return #string end)
see('pairs string', function() local t = {} for k in pairs(string) do t[#t + 1] = tostring(k) end return table.concat(t, ',') end)
see('pairs _G', function() local t = {} for k in pairs(_G) do t[#t + 1] = tostring(k) end return table.concat(t, ',') end)
see('pairs redis', function() local n = 0 for k in pairs(redis) do n = n + 1 end return n end)
see('pairs strmeta', function() local t = {} for k in pairs(getmetatable('')) do t[#t + 1] = tostring(k) end return table.concat(t, ',') end)
see('next string', function() return next(string) end)
see('helper', function() return type(rawget(_G, '\0concat')) .. type(rawget(_G, '\0tmore')) end)
see('gcinfo', function() return gcinfo() end)
see('db', function() return redis.call('dbsize') end)
see('cjson.foo', function() return tostring(cjson.foo) .. tostring(cmsgpack.foo) .. tostring(bit.foo) .. tostring(struct.foo) end)
see('cjson settings', function() local a, b, c = cjson.encode_sparse_array() return table.concat({tostring(cjson.encode_max_depth()), tostring(cjson.decode_max_depth()), tostring(cjson.encode_number_precision()), tostring(a), b, c, tostring(cjson.encode_invalid_numbers()), tostring(cjson.decode_invalid_numbers()), tostring(cjson.encode_keep_buffer())}, ',') end)
see('cjson.encode', function() return cjson.encode({1.25, 'x', {a = math.pi}, {[30] = 1} == nil}) end)
see('cjson.null', function() return tostring(cjson.null) .. type(getmetatable(cjson.null)) .. tostring(cjson.decode('[null]')[1] == cjson.null) end)
see('libs', function() local n = 0 for _, lib in ipairs({cjson, cmsgpack, bit, struct}) do for k in pairs(lib) do n = n + 1 end end return n end)
see('bit', function() return bit.band(0xff, 0x0f) .. bit.tohex(-1) end)
see('cmsgpack', function() return cmsgpack.pack({1, 2, {a = 1}}) end)
redis.pcall('rpush', KEYS[1], table.concat(out, ';'))
return out
`

// replayObserverEval is an observer as an EVAL (or EVAL_RO, which reads on
// every machine and cannot push).
func replayObserverEval(name, key string) []string {
	return []string{name, replayObserverBody, "1", key}
}
