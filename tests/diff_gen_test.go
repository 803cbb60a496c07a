package tests

import (
	"bytes"
	"math/rand/v2"
	"strconv"
	"strings"
)

// This file is the differential test's generator: seeded, it produces the
// same command sequence for the same seed, covering every command raftlist
// answers with good and bad input.

// opKind says how the differential test compares an operation's replies.
type opKind int

const (
	// cmpExact: byte-identical replies.
	cmpExact opKind = iota
	// cmpKeys: KEYS, compared as sorted sets (an error byte for byte).
	cmpKeys
	// cmpScan: a full SCAN iteration on each side, compared as sets of keys.
	cmpScan
	// cmpHello: HELLO with the values of id and role masked.
	cmpHello
	// cmpCommandInfo: COMMAND INFO compared on name, arity, flags and key
	// positions.
	cmpCommandInfo
	// cmpShape: not compared with Redis; raftlist's reply must have the
	// shape in op.shape.
	cmpShape
	// raftlistOnly: not sent to Redis; raftlist must answer an error with
	// the prefix in op.want ("" for any error), or exactly op.want when it
	// starts with "+".
	raftlistOnly
	// cmpQuit: compared byte for byte, then both connections reconnect.
	cmpQuit
	// cmpTTL: TTL, PTTL, EXPIRETIME, PEXPIRETIME: -2 and -1 and errors
	// byte for byte; a time left or a deadline within op.tolerance, since
	// redis-server's clock and raftlist's log time are not the same clock
	// (see set).
	cmpTTL
	// cmpRaw: a pipeline (CLIENT REPLY may drop replies) compared on
	// every byte each server writes, up to a closing CLIENT REPLY ON.
	cmpRaw
	// cmpDBSize: DBSIZE, byte for byte, asked again while a recent
	// deadline's key may be deleted on one server only (compareDBSize).
	cmpDBSize
)

// op is one generated command.
type op struct {
	args  [][]byte
	kind  opKind
	shape byte   // cmpShape: expected reply type ('+', ':', '$', '*', shapeText)
	want  string // raftlistOnly
	// Connection state the command changes when Redis answers OK.
	selectDB int     // SELECT: the database, or -1
	setName  *string // CLIENT SETNAME / HELLO SETNAME: the name
	// pipeline, when set, replaces args: commands sent in one write to
	// one node, each reply compared byte for byte.
	pipeline []op
	// tolerance is cmpTTL's: how far apart two times may be.
	tolerance int64
	// short, when set, is a time to live that ends during the run
	// (diff_short_ttl_test.go).
	short *shortTime
}

// gen produces commands from a seeded generator.
type gen struct {
	r *rand.Rand
	// bigLeft is how many large (100 KB - 1 MB) values may still be made.
	bigLeft int
}

func newGen(seed uint64, bigValues int) *gen {
	return &gen{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), bigLeft: bigValues}
}

// A small key space, so that commands collide: empty keys and keys with
// NUL, CR and LF in them too.
var genKeys = []string{"a", "b", "c", "list", "", "k\x00z", "n\r\nl"}

var genSmallValues = []string{"x", "y", "z", "", "1", "-1", "0", "a b", "\x00", "a\r\nb", "\r\n", "x\x00y"}

var (
	genGoodInts = []string{"0", "1", "2", "3", "-1", "-2", "-3", "5", "-5", "10", "-10", "100",
		"9223372036854775807", "-9223372036854775808", "2147483648", "-2147483649"}
	genBadInts = []string{"+1", "01", " 1", "1 ", "1.5", "abc", "", "99999999999999999999",
		"-0", "0x10", "9223372036854775808", "-9223372036854775809", "1e3", "\x001", "1\x00", "-"}
)

func (g *gen) chance(percent int) bool { return g.r.IntN(100) < percent }

func (g *gen) pick(xs []string) string { return xs[g.r.IntN(len(xs))] }

func (g *gen) key() []byte { return []byte(g.pick(genKeys)) }

// keysN returns 1..max keys, possibly repeated.
func (g *gen) keysN(max int) [][]byte {
	n := 1 + g.r.IntN(max)
	out := make([][]byte, n)
	for i := range out {
		out[i] = g.key()
	}
	return out
}

// value returns a list element or string value: mostly small and
// colliding, sometimes random binary, rarely large.
func (g *gen) value() []byte {
	switch x := g.r.IntN(1000); {
	case x < 600:
		return []byte(g.pick(genSmallValues))
	case x < 750:
		return g.printable(1 + g.r.IntN(12))
	case x < 990:
		return g.binary(g.r.IntN(40))
	case x < 997 || g.bigLeft == 0:
		return g.printable(1000 + g.r.IntN(20000))
	default:
		g.bigLeft--
		return g.large()
	}
}

func (g *gen) printable(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(' ' + g.r.IntN(95))
	}
	return b
}

// binary returns bytes biased towards the ones protocols trip over.
func (g *gen) binary(n int) []byte {
	special := []byte{0, '\r', '\n', '$', '*', '-', '+', ':', ' ', '"', '\'', 0xff, 0x80}
	b := make([]byte, n)
	for i := range b {
		if g.chance(40) {
			b[i] = special[g.r.IntN(len(special))]
		} else {
			b[i] = byte(g.r.IntN(256))
		}
	}
	return b
}

// large returns a value of 100 KB to 1 MB, with a random header so that
// two large values differ, and \r\n and NUL inside.
func (g *gen) large() []byte {
	n := 100<<10 + g.r.IntN(924<<10)
	b := bytes.Repeat([]byte("0123456789abcdef\r\n\x00"), n/19+1)[:n]
	copy(b, g.printable(16))
	return b
}

func (g *gen) values(max int) [][]byte {
	n := 1 + g.r.IntN(max)
	out := make([][]byte, n)
	for i := range out {
		out[i] = g.value()
	}
	return out
}

// integer returns an integer argument, sometimes a malformed one.
func (g *gen) integer(badPercent int) []byte {
	if g.chance(badPercent) {
		return []byte(g.pick(genBadInts))
	}
	if g.chance(70) {
		return []byte(strconv.Itoa(g.r.IntN(13) - 6))
	}
	return []byte(g.pick(genGoodInts))
}

// count returns a count argument, mostly small and positive.
func (g *gen) count(badPercent int) []byte {
	if g.chance(badPercent) {
		return []byte(g.pick(append([]string{"0", "-1", "-100"}, genBadInts...)))
	}
	if g.chance(85) {
		return []byte(strconv.Itoa(1 + g.r.IntN(5)))
	}
	return []byte(g.pick(genGoodInts))
}

// name returns a command name in random case.
func (g *gen) name(n string) []byte {
	switch g.r.IntN(10) {
	case 0:
		return []byte(strings.ToUpper(n))
	case 1:
		b := []byte(n)
		for i := range b {
			if g.chance(50) && b[i] >= 'a' && b[i] <= 'z' {
				b[i] -= 'a' - 'A'
			}
		}
		return b
	}
	return []byte(n)
}

func (g *gen) cmd(name string, args ...[]byte) op {
	return op{args: append([][]byte{g.name(name)}, args...), selectDB: -1}
}

func (g *gen) end() []byte {
	if g.chance(5) {
		return []byte(g.pick([]string{"middle", "", "LEFTT", "lef"}))
	}
	return []byte(g.pick([]string{"LEFT", "RIGHT", "left", "right", "Left"}))
}

// genEntry is one command family with its weight.
type genEntry struct {
	weight int
	make   func(g *gen) op
}

// genTable covers every command raftlist answers. Weights are relative.
// It is filled in init: pipelines draw from it recursively.
var genTable []genEntry

func init() { genTable = genEntries() }

// Commands raftlist has that the generator leaves out, and why:
// WATCH/UNWATCH (a key expired before WATCH aborts EXEC in raftlist only,
// an intentional difference), MONITOR (a stream: tests/monitor_test.go),
// RESET (it switches the connection to RESP2 and database 0 under the
// harness: connection_commands and monitor tests), TIME (the clock),
// CONFIG SET/RESETSTAT/REWRITE (they change the node, not the data:
// config_set_test.go), ACL (acl_test.go), READONLY/READWRITE (standalone
// Redis refuses them), RAFT and MEMORY (raftlist's own), CLIENT LIST/INFO/
// KILL by address (addresses differ; CLIENT's deterministic subcommands
// are in client()), SHUTDOWN.
func genEntries() []genEntry {
	return []genEntry{
		// Lists.
		{60, func(g *gen) op { return g.push("lpush") }},
		{60, func(g *gen) op { return g.push("rpush") }},
		{15, func(g *gen) op { return g.push("lpushx") }},
		{15, func(g *gen) op { return g.push("rpushx") }},
		{25, func(g *gen) op { return g.pop("lpop") }},
		{25, func(g *gen) op { return g.pop("rpop") }},
		{20, func(g *gen) op { return g.cmd("llen", g.key()) }},
		{35, func(g *gen) op { return g.cmd("lrange", g.key(), g.integer(8), g.integer(8)) }},
		{20, func(g *gen) op { return g.cmd("lindex", g.key(), g.integer(10)) }},
		{20, func(g *gen) op { return g.lpos() }},
		{15, func(g *gen) op { return g.cmd("lset", g.key(), g.integer(10), g.value()) }},
		{15, func(g *gen) op { return g.linsert() }},
		{15, func(g *gen) op { return g.cmd("lrem", g.key(), g.integer(10), g.value()) }},
		{15, func(g *gen) op { return g.cmd("ltrim", g.key(), g.integer(8), g.integer(8)) }},
		{20, func(g *gen) op { return g.cmd("lmove", g.key(), g.key(), g.end(), g.end()) }},
		{15, func(g *gen) op { return g.cmd("rpoplpush", g.key(), g.key()) }},
		{15, func(g *gen) op { return g.lmpop() }},
		// Keyspace.
		{12, func(g *gen) op { return g.cmd("del", g.keysN(3)...) }},
		{5, func(g *gen) op { return g.cmd("unlink", g.keysN(3)...) }},
		{10, func(g *gen) op { return g.cmd("exists", g.keysN(4)...) }},
		{10, func(g *gen) op { return g.cmd("type", g.key()) }},
		{8, func(g *gen) op { return g.keys() }},
		{8, func(g *gen) op { return g.scan() }},
		{8, func(g *gen) op { return g.cmd("rename", g.key(), g.key()) }},
		{8, func(g *gen) op { return g.cmd("renamenx", g.key(), g.key()) }},
		{5, func(g *gen) op { o := g.cmd("dbsize"); o.kind = cmpDBSize; return o }},
		{3, func(g *gen) op { return g.flush("flushdb") }},
		{1, func(g *gen) op { return g.flush("flushall") }},
		// Strings.
		{15, func(g *gen) op { return g.cmd("get", g.key()) }},
		{25, func(g *gen) op { return g.set() }},
		{8, func(g *gen) op { return g.cmd("set", g.key(), g.number()) }},
		{15, func(g *gen) op { return g.cmd("incr", g.key()) }},
		{10, func(g *gen) op { return g.cmd("decr", g.key()) }},
		{10, func(g *gen) op { return g.cmd("incrby", g.key(), g.integer(20)) }},
		{10, func(g *gen) op { return g.cmd("decrby", g.key(), g.integer(20)) }},
		{20, func(g *gen) op { return g.cmd("incrbyfloat", g.key(), g.float()) }},
		{10, func(g *gen) op { return g.cmd("append", g.key(), g.value()) }},
		{8, func(g *gen) op { return g.cmd("strlen", g.key()) }},
		{10, func(g *gen) op { return g.cmd("getrange", g.key(), g.integer(10), g.integer(10)) }},
		{4, func(g *gen) op { return g.cmd("substr", g.key(), g.integer(10), g.integer(10)) }},
		{10, func(g *gen) op { return g.setrange() }},
		{10, func(g *gen) op { return g.cmd("mget", g.keysN(4)...) }},
		{8, func(g *gen) op { return g.mset("mset") }},
		{6, func(g *gen) op { return g.mset("msetnx") }},
		{8, func(g *gen) op { return g.cmd("setnx", g.key(), g.value()) }},
		{8, func(g *gen) op { return g.cmd("getset", g.key(), g.value()) }},
		// Expiry.
		{20, func(g *gen) op { return g.expire() }},
		{12, func(g *gen) op { return g.ttl() }},
		{5, func(g *gen) op { return g.cmd("persist", g.key()) }},
		{5, func(g *gen) op { return g.cmd("setex", g.key(), g.relSeconds(), g.value()) }},
		{5, func(g *gen) op { return g.cmd("psetex", g.key(), g.relMs(), g.value()) }},
		{10, func(g *gen) op { return g.getex() }},
		{6, func(g *gen) op { return g.cmd("getdel", g.key()) }},
		{30, func(g *gen) op { return g.shortExpiry() }},
		// Serialization.
		{8, func(g *gen) op { return g.cmd("dump", g.key()) }},
		{8, func(g *gen) op { return g.restore() }},

		{20, func(g *gen) op { return g.sort() }},
		{8, func(g *gen) op { return g.copyOp() }},
		{5, func(g *gen) op { return g.cmd("touch", g.keysN(3)...) }},
		{4, func(g *gen) op { o := g.cmd("randomkey"); o.kind, o.shape = cmpShape, '$'; return o }},
		{2, func(g *gen) op { return g.swapdb() }},
		{8, func(g *gen) op { return g.object() }},
		// Connection and server.
		{4, func(g *gen) op { return g.ping() }},
		{4, func(g *gen) op { return g.cmd("echo", g.value()) }},
		{8, func(g *gen) op { return g.selectOp() }},
		{1, func(g *gen) op { o := g.cmd("quit"); o.kind = cmpQuit; return o }},
		{2, func(g *gen) op { return g.hello() }},
		{8, func(g *gen) op { return g.client() }},
		{2, func(g *gen) op { return g.info() }},
		{6, func(g *gen) op { return g.command() }},
		{2, func(g *gen) op { return g.debug() }},
		{2, func(g *gen) op { return g.configGet() }},
		// Functions: two one-function libraries (FUNCTION LIST and DUMP of
		// several libraries follow Redis's hash order).
		{4, func(g *gen) op { return g.functionOp() }},
		{8, func(g *gen) op { return g.fcall() }},
		// Scripts whose replies differ between the protocols.
		{6, func(g *gen) op { return g.protoScript() }},
		// A blocking pop that pops at once or times out (a null).
		{3, func(g *gen) op { return g.cmd("blpop", g.key(), []byte("0.01")) }},
		{2, func(g *gen) op { return g.cmd("brpop", g.key(), g.key(), []byte("0.01")) }},
		{2, func(g *gen) op { return g.cmd("brpoplpush", g.key(), g.key(), []byte("0.01")) }},
		{2, func(g *gen) op { return g.cmd("blmove", g.key(), g.key(), g.end(), g.end(), []byte("0.01")) }},
		{2, func(g *gen) op {
			o := g.lmpop()
			o.args = append([][]byte{g.name("blmpop"), []byte("0.01")}, o.args[1:]...)
			return o
		}},
		// Transactions: MULTI, queued commands (refused ones abort EXEC),
		// then EXEC or DISCARD, on one connection.
		{6, func(g *gen) op { return g.transaction() }},
		// Pipelines of data commands.
		{10, func(g *gen) op { return g.pipeline() }},
		// Bad input.
		{6, func(g *gen) op { return g.unknown() }},
		{12, func(g *gen) op { return g.wrongArity() }},
	}
}

// next returns the next command.
func (g *gen) next() op {
	total := 0
	for _, e := range genTable {
		total += e.weight
	}
	w := g.r.IntN(total)
	for _, e := range genTable {
		if w < e.weight {
			return e.make(g)
		}
		w -= e.weight
	}
	panic("unreachable")
}

// pipeline returns 2..32 commands compared byte for byte that leave the
// connection's state alone, to be sent in one write.
func (g *gen) pipeline() op {
	n := 2 + g.r.IntN(31)
	var cmds []op
	for len(cmds) < n {
		o := g.next()
		if o.kind == cmpExact && o.pipeline == nil && o.selectDB < 0 && o.setName == nil && o.short == nil {
			cmds = append(cmds, o)
		}
	}
	return op{pipeline: cmds, selectDB: -1}
}

// transaction is MULTI, up to six data commands, and EXEC (or DISCARD),
// sent as one pipeline. WATCH is left out: a key that expired before
// WATCH aborts EXEC in raftlist, not in Redis (intentionalDifferences).
func (g *gen) transaction() op {
	cmds := []op{g.cmd("multi")}
	for n := 1 + g.r.IntN(6); len(cmds) <= n; {
		o := g.next()
		if o.kind == cmpExact && o.pipeline == nil && o.selectDB < 0 && o.setName == nil {
			cmds = append(cmds, o)
		}
	}
	end := "exec"
	if g.chance(15) {
		end = "discard"
	}
	return op{pipeline: append(cmds, g.cmd(end)), selectDB: -1}
}

func (g *gen) push(name string) op {
	args := [][]byte{g.key()}
	switch {
	case g.chance(2):
		// Many elements at once.
		for i, n := 0, 20+g.r.IntN(200); i < n; i++ {
			args = append(args, g.value())
		}
	default:
		args = append(args, g.values(4)...)
	}
	return g.cmd(name, args...)
}

func (g *gen) pop(name string) op {
	args := [][]byte{g.key()}
	if g.chance(40) {
		args = append(args, g.count(15))
	}
	if g.chance(2) {
		args = append(args, []byte("1"))
	}
	return g.cmd(name, args...)
}

func (g *gen) lpos() op {
	args := [][]byte{g.key(), g.value()}
	for i, n := 0, g.r.IntN(4); i < n; i++ {
		switch g.r.IntN(10) {
		case 0, 1, 2:
			args = append(args, g.name("rank"), g.integer(15))
		case 3, 4, 5:
			args = append(args, g.name("count"), g.integer(15))
		case 6, 7, 8:
			args = append(args, g.name("maxlen"), g.integer(15))
		default:
			args = append(args, []byte(g.pick([]string{"rank", "COUNT", "maxlen", "bogus", ""})))
		}
	}
	return g.cmd("lpos", args...)
}

func (g *gen) linsert() op {
	where := []byte(g.pick([]string{"BEFORE", "AFTER", "before", "after", "After", "middle"}))
	return g.cmd("linsert", g.key(), where, g.value(), g.value())
}

func (g *gen) lmpop() op {
	keys := g.keysN(3)
	var numkeys []byte
	switch x := g.r.IntN(20); {
	case x < 16:
		numkeys = []byte(strconv.Itoa(len(keys)))
	case x == 16:
		numkeys = []byte(strconv.Itoa(len(keys) + 1 + g.r.IntN(3)))
	default:
		numkeys = []byte(g.pick([]string{"0", "-1", "abc", "99999999999999999999", "9223372036854775807", " 1"}))
	}
	args := append([][]byte{numkeys}, keys...)
	args = append(args, g.end())
	if g.chance(40) {
		args = append(args, g.name("count"), g.count(15))
	}
	if g.chance(3) {
		args = append(args, []byte(g.pick([]string{"COUNT", "count", "bogus"})))
	}
	return g.cmd("lmpop", args...)
}

var genPatterns = []string{"*", "*", "?", "a*", "*a*", "[a-c]", "[^a]", "[!a]", "l?st", "k*",
	"*\x00*", "n\r\n*", "\\*", "[", "[a", "\\", "", "*[", "[]", "[a-]", "??*", "*z"}

func (g *gen) keys() op {
	o := g.cmd("keys", []byte(g.pick(genPatterns)))
	o.kind = cmpKeys
	return o
}

func (g *gen) scan() op {
	cursor := []byte(g.pick([]string{"0", "0", "0", "00", "-0", "+0"}))
	badCursor := g.chance(10)
	if badCursor {
		cursor = []byte(g.pick([]string{"abc", " 0", "0x", "1.5", "99999999999999999999999", "-"}))
	}
	args := [][]byte{cursor}
	for i, n := 0, g.r.IntN(3); i < n; i++ {
		switch g.r.IntN(10) {
		case 0, 1, 2:
			args = append(args, g.name("match"), []byte(g.pick(genPatterns)))
		case 3, 4, 5:
			c := []byte(strconv.Itoa(1 + g.r.IntN(10)))
			if g.chance(15) {
				c = []byte(g.pick([]string{"0", "-1", "abc", "", "99999999999999999999"}))
			}
			args = append(args, g.name("count"), c)
		case 6, 7, 8:
			// Not "none": redis-server 7.0.15 lists under TYPE none a key
			// whose deadline has passed and that active expiry has not
			// deleted yet (lookupKeyRead finds no key, whose type name is
			// "none", and expireIfNeeded then finds it already gone), where
			// raftlist lists no key; a short TTL makes that a race.
			args = append(args, g.name("type"), []byte(g.pick([]string{"list", "string", "LIST", "hash", "bogus", ""})))
		default:
			args = append(args, []byte(g.pick([]string{"match", "COUNT", "type", "bogus"})))
		}
	}
	o := g.cmd("scan", args...)
	o.kind = cmpScan
	return o
}

func (g *gen) flush(name string) op {
	var args [][]byte
	// FLUSHALL is mostly sent with a bad argument (a syntax error): it
	// would otherwise empty every database too often for the final
	// comparison to see much.
	if g.chance(40) || (name == "flushall" && g.chance(60)) {
		args = append(args, []byte(g.pick([]string{"ASYNC", "SYNC", "async", "sync", "bogus", ""})))
	}
	if g.chance(3) {
		args = append(args, []byte("SYNC"))
	}
	return g.cmd(name, args...)
}

// genFloats are INCRBYFLOAT increments: every form strtold reads (hex,
// exponents, infinities, long double's range and subnormals) and forms it
// refuses.
var genFloats = []string{"1", "-1.5", "0.1", "1e5", "5.0e3", "0x10", "-0", "0", "1e308", "-1e308", "1e4000",
	"-1e4000", "1e4932", "1.19e4932", "1e-4950", "1e-5000", "inf", "-inf", "Infinity", "nan", " 1", "1 ",
	"x", "", "0x1p-16445", "0x1.fffffffffffffffep16383", "3.0000000000000000001", "1e", ".5", "5.", "+1",
	"0X1P-2", "1\x00", "00001", "1e99999999999", "0e99999999999", "0x", "1,5", "0.000003814697265625"}

// float returns an INCRBYFLOAT increment: a hostile one, or a random
// decimal of any magnitude.
func (g *gen) float() []byte {
	switch g.r.IntN(4) {
	case 0:
		return []byte(g.pick(genFloats))
	case 1:
		return []byte(strconv.FormatFloat(g.r.NormFloat64()*100, 'f', g.r.IntN(20), 64))
	case 2:
		return []byte(strconv.Itoa(g.r.IntN(2000)-1000) + "e" + strconv.Itoa(g.r.IntN(80)-40))
	}
	return []byte(strconv.FormatFloat(g.r.NormFloat64()*1e10, 'g', -1, 64))
}

// number returns a value for INCR or INCRBYFLOAT to find: an integer
// (int64 edges too) or a float.
func (g *gen) number() []byte {
	if g.chance(50) {
		return g.integer(10)
	}
	return g.float()
}

// setrange offsets stay small, or go past Redis's 512 MB limit too: an
// offset between raftlist's MaxStringLen (64 MiB) and Redis's limit is an
// intentional difference, and an accepted one near either limit would make
// every server allocate that much.
func (g *gen) setrange() op {
	offset := []byte(strconv.Itoa(g.r.IntN(20)))
	switch x := g.r.IntN(20); {
	case x < 3:
		offset = g.integer(60)
	case x < 4:
		offset = []byte(strconv.Itoa(g.r.IntN(100000)))
	case x < 7:
		offset = []byte(g.pick([]string{"536870912", "1073741824", "9223372036854775807", "-1", "-9223372036854775808"}))
	}
	o := g.cmd("setrange", g.key(), offset, g.value())
	if n, err := strconv.ParseInt(string(offset), 10, 64); err == nil && n > 100000 && n < 536870912 {
		o.args[3] = []byte{} // nothing to write: both answer the length
	}
	return o
}

// mset returns MSET or MSETNX pairs, now and then one value short.
func (g *gen) mset(name string) op {
	var args [][]byte
	for i, n := 0, 1+g.r.IntN(3); i < n; i++ {
		args = append(args, g.key(), g.value())
	}
	if g.chance(10) {
		args = args[:len(args)-1]
	}
	return g.cmd(name, args...)
}

// set sends SET with its options, expiry ones included.
//
// Expiry and the two clocks: redis-server decides with its own clock and
// raftlist with the leader's log time, a few milliseconds apart for the
// same command, so nothing the test compares may depend on which side of
// a deadline a command falls. Times are therefore always far from the
// run: relative ones of a day or more (never expiring during the run),
// absolute ones in 2100 or 2200, or far in the past (EXPIRE, EXPIREAT and
// GETEX with those delete at once on both sides, Redis's rule). SET itself
// is never given a past time: it stores a key that is already expired,
// which Redis's active cycle deletes at a moment of its own, so DBSIZE
// would race. GT and LT take absolute times only: two relative deadlines
// of the same length, set a millisecond apart on one side and within the
// same one on the other, would compare differently. Remaining times and
// deadlines themselves are compared within a tolerance (cmpTTL).
func (g *gen) set() op {
	args := [][]byte{g.key(), g.value()}
	for i, n := 0, g.r.IntN(3); i < n; i++ {
		switch g.r.IntN(12) {
		case 0, 1, 2:
			args = append(args, g.name("nx"))
		case 3, 4, 5:
			args = append(args, g.name("xx"))
		case 6, 7, 8:
			args = append(args, g.name("get"))
		case 9, 10:
			switch g.r.IntN(6) {
			case 0:
				args = append(args, g.name("keepttl"))
			case 1:
				args = append(args, g.name("ex"), g.relSeconds())
			case 2:
				args = append(args, g.name("px"), g.relMs())
			case 3:
				args = append(args, g.name("exat"), g.futureSeconds())
			case 4:
				args = append(args, g.name("pxat"), g.futureMs())
			default:
				args = append(args, g.name(g.pick([]string{"ex", "px", "exat", "pxat"})),
					[]byte(g.pick([]string{"0", "-1", "abc", "9223372036854775807", "1.5"})))
			}
		default:
			args = append(args, []byte(g.pick([]string{"bogus", "", "NXX", "PERSIST"})))
		}
	}
	return g.cmd("set", args...)
}

// relSeconds is a time to live in seconds that outlasts the run, or one
// Redis refuses.
func (g *gen) relSeconds() []byte {
	if g.chance(10) {
		return []byte(g.pick([]string{"0", "-5", "abc", "9223372036854775807", ""}))
	}
	return []byte(g.pick([]string{"100000", "1000000"}))
}

// relMs is a time to live in milliseconds that outlasts the run (distinct
// from relSeconds's), or one Redis refuses.
func (g *gen) relMs() []byte {
	if g.chance(10) {
		return []byte(g.pick([]string{"0", "-5", "x", "9223372036854775807"}))
	}
	return []byte(g.pick([]string{"500000000", "5000000000"}))
}

// genPayloads are DUMP payloads redis-server 7.0.15 wrote or loads: the
// integer, LZF and raw string encodings, a quicklist of listpacks, and the
// older list encodings (linked list, ziplist, quicklist of ziplists) that
// both convert to the layout a DUMP shows. (A plain node stays plain in
// Redis and would DUMP differently: tests/dump_restore_test.go has it.)
var genPayloads = []string{
	"\x00\xc1\xc7\xcf\x0a\x00\x67\xed\xa2\x36\xb4\xdb\x26\xd0",
	"\x00\xc3\x09\x28\x01\x78\x78\xe0\x1b\x00\x01\x78\x78\x0a\x00\x7a\x1d\x6c\xce\xa5\x40\x13\x33",
	"\x00\x0c\x31\x32\x33\x34\x35\x36\x37\x38\x39\x30\x31\x32\x0a\x00\x91\x10\x01\xb1\xd1\x16\xe7\xac",
	"\x12\x01\x02\xc3\x19\x31\x0c\x31\x00\x00\x00\x04\x00\x81\x61\x02\x01\x01\x9e\x78\xe0\x14\x00\x06\x1f\xf2\x90\xee\xfe\x04\xff\x0a\x00\xe0\xa0\xd5\xe2\x83\x40\x2d\x24",
	"\x01\x02\x01\x61\xc0\x05\x0a\x00\x47\xa3\x77\x89\xf0\xcf\xbb\x97",
	"\x0a\x10\x10\x00\x00\x00\x0d\x00\x00\x00\x02\x00\x00\x01\x61\x03\xf6\xff\x0a\x00\x67\x82\x9e\x1e\x77\x56\xf8\x51",
	"\x0e\x01\x10\x10\x00\x00\x00\x0d\x00\x00\x00\x02\x00\x00\x01\x61\x03\xf6\xff\x0a\x00\x14\x03\x37\x12\xc4\xbc\x9d\xfd",
}

// restore is RESTORE of one of genPayloads, now and then damaged (a byte
// changed breaks the checksum, a cut leaves no footer), with a time to
// live and options as Redis reads them.
func (g *gen) restore() op {
	p := []byte(g.pick(genPayloads))
	switch {
	case g.chance(8):
		p[g.r.IntN(len(p))] ^= byte(1 + g.r.IntN(255))
	case g.chance(8):
		p = p[:g.r.IntN(len(p))]
	}
	ttl := []byte("0")
	if g.chance(30) {
		ttl = g.relMs()
	}
	args := [][]byte{g.key(), ttl, p}
	for _, opt := range []string{"REPLACE", "replace", "ABSTTL", "IDLETIME", "FREQ", "bogus"} {
		if !g.chance(25) {
			continue
		}
		args = append(args, []byte(opt))
		if opt == "IDLETIME" || opt == "FREQ" {
			args = append(args, []byte(g.pick([]string{"0", "5", "255", "256", "-1", "x"})))
		}
	}
	return g.cmd("restore", args...)
}

// futureSeconds and futureMs are deadlines in 2100 and 2200.
func (g *gen) futureSeconds() []byte { return []byte(g.pick([]string{"4102444800", "7258118400"})) }
func (g *gen) futureMs() []byte {
	return []byte(g.pick([]string{"4102444800123", "7258118400456"}))
}

// pastSeconds and pastMs are deadlines long gone, and the edges of the
// range.
func (g *gen) pastSeconds() []byte {
	return []byte(g.pick([]string{"1", "1000000000", "0", "-1", "-9223372036854775808", "9223372036854775807"}))
}
func (g *gen) pastMs() []byte {
	return []byte(g.pick([]string{"1", "1000000000000", "0", "-1", "-9223372036854775808", "9223372036854775807"}))
}

// expire sends EXPIRE, PEXPIRE, EXPIREAT or PEXPIREAT with a far or past
// time and sometimes conditions (GT and LT with absolute times only).
func (g *gen) expire() op {
	name := g.pick([]string{"expire", "pexpire", "expireat", "pexpireat"})
	var when []byte
	past := g.chance(25)
	switch {
	case name == "expire" && past:
		when = []byte(g.pick([]string{"0", "-1", "-100000", "-9223372036854775808", "9223372036854775807"}))
	case name == "expire":
		when = g.relSeconds()
	case name == "pexpire" && past:
		when = []byte(g.pick([]string{"0", "-1", "-9223372036854775808", "9223372036854775807"}))
	case name == "pexpire":
		when = g.relMs()
	case name == "expireat" && past:
		when = g.pastSeconds()
	case name == "expireat":
		when = g.futureSeconds()
	case past:
		when = g.pastMs()
	default:
		when = g.futureMs()
	}
	args := [][]byte{g.key(), when}
	absolute := strings.HasSuffix(name, "at")
	for i, n := 0, g.r.IntN(3); i < n; i++ {
		opts := []string{"nx", "xx"}
		if absolute || g.chance(5) {
			opts = append(opts, "gt", "lt", "gt", "lt")
		}
		if g.chance(5) {
			opts = append(opts, "bogus", "")
		}
		args = append(args, g.name(g.pick(opts)))
	}
	o := g.cmd(name, args...)
	for _, a := range args[2:] {
		if !absolute && (bytes.EqualFold(a, []byte("gt")) || bytes.EqualFold(a, []byte("lt"))) {
			// A relative GT or LT only for its errors: no valid time.
			o.args[2] = []byte("x")
		}
	}
	return o
}

// ttl reads a time to live or a deadline.
func (g *gen) ttl() op {
	name := g.pick([]string{"ttl", "pttl", "expiretime", "pexpiretime"})
	o := g.cmd(name, g.key())
	o.kind, o.tolerance = cmpTTL, 3000
	if name == "ttl" || name == "expiretime" {
		o.tolerance = 3
	}
	return o
}

// getex sends GETEX with at most one option, far or past times only.
func (g *gen) getex() op {
	args := [][]byte{g.key()}
	switch g.r.IntN(9) {
	case 0:
		args = append(args, g.name("ex"), g.relSeconds())
	case 1:
		args = append(args, g.name("px"), g.relMs())
	case 2:
		args = append(args, g.name("exat"), g.futureSeconds())
	case 3:
		args = append(args, g.name("pxat"), g.pick2(g.futureMs(), []byte("1")))
	case 4:
		args = append(args, g.name("persist"))
	case 5:
		args = append(args, []byte(g.pick([]string{"keepttl", "bogus", "persist"})), []byte("10"))
	}
	return g.cmd("getex", args...)
}

func (g *gen) pick2(a, b []byte) []byte {
	if g.chance(50) {
		return a
	}
	return b
}

func (g *gen) ping() op {
	switch g.r.IntN(4) {
	case 0, 1:
		return g.cmd("ping")
	case 2:
		return g.cmd("ping", g.value())
	}
	return g.cmd("ping", g.value(), g.value())
}

func (g *gen) selectOp() op {
	db := g.pick([]string{"0", "0", "0", "1", "2", "15", "0", "1"})
	if g.chance(15) {
		db = g.pick([]string{"16", "-1", "abc", "", "01", "9999999999", "1.0"})
	}
	o := g.cmd("select", []byte(db))
	o.selectDB = -1
	if n, err := strconv.Atoi(db); err == nil && strconv.Itoa(n) == db && n >= 0 && n < 16 {
		o.selectDB = n
	}
	return o
}

// clientName returns a name for CLIENT SETNAME / HELLO SETNAME: valid
// mostly, sometimes with a space or a newline (refused).
func (g *gen) clientName() (string, bool) {
	if g.chance(20) {
		return g.pick([]string{"a b", "x\ny", "\x00", "tab\t"}), false
	}
	return g.pick([]string{"", "alice", "bob", "c-1", "node_x"}), true
}

func (g *gen) hello() op {
	var args [][]byte
	var name *string
	if g.chance(80) {
		args = append(args, []byte(g.pick([]string{"2", "2", "3", "3", "4", "abc", "-1", "0"})))
		if g.chance(30) {
			args = append(args, g.name("auth"), []byte(g.pick([]string{"default", "default", "bob"})), []byte("pw"))
		}
		if g.chance(30) {
			n, _ := g.clientName()
			args = append(args, g.name("setname"), []byte(n))
			name = &n
		}
		if g.chance(5) {
			args = append(args, []byte("bogus"))
		}
	}
	o := g.cmd("hello", args...)
	o.kind = cmpHello
	o.setName = name
	return o
}

func (g *gen) client() op {
	switch g.r.IntN(16) {
	case 0, 1, 2:
		n, _ := g.clientName()
		o := g.cmd("client", g.name("setname"), []byte(n))
		o.setName = &n
		return o
	case 3, 4, 5:
		return g.cmd("client", g.name("getname"))
	case 6:
		o := g.cmd("client", g.name("id"))
		o.kind, o.shape = cmpShape, ':'
		return o
	case 7:
		o := g.cmd("client", g.name("list"))
		o.kind, o.shape = cmpShape, shapeText
		return o
	case 8:
		o := g.cmd("client", g.name("info"))
		o.kind, o.shape = cmpShape, shapeText
		return o
	case 9:
		return g.clientRedis72()
	case 10:
		return g.cmd("client", []byte(g.pick([]string{"bogus", "getname", "id", "setname", "reply", "no-evict", "kill"})), []byte("extra"), []byte("more"))
	case 11:
		return g.clientKill()
	case 12:
		return g.clientReply()
	case 13:
		return g.cmd("client", g.name("no-evict"), []byte(g.pick([]string{"on", "OFF", "Off", "maybe", "", "on\x00"})))
	case 14:
		o := g.cmd("client", g.name("help"))
		o.kind, o.shape = cmpShape, '*'
		return o
	}
	// Not a subcommand with a NUL byte: Redis finds those by hash and
	// strcasecmp, so whether it knows one depends on its table's buckets.
	return g.cmd("client", []byte(g.pick([]string{"nosuch", "", "kill-all", "REPLY "})))
}

// clientKill returns a CLIENT KILL, in either form, with filters that
// match no client of either server (ids nobody has, addresses nobody
// connects from, types raftlist and the reference have no client of),
// mixed with bad options, values and argument counts.
func (g *gen) clientKill() op {
	args := [][]byte{g.name("kill")}
	if g.chance(20) { // the old form
		args = append(args, []byte(g.pick([]string{"1.2.3.4:5", "nosuch", "", "127.0.0.1:1", "[::1]:6379", "id"})))
		return g.cmd("client", args...)
	}
	n := 1 + g.r.IntN(4)
	for range n {
		switch g.r.IntN(9) {
		case 0:
			args = append(args, g.name("id"), []byte(g.pick([]string{"99999999", "0", "-1", "x", "1.5", "01", "", "9223372036854775807", "9223372036854775808"})))
		case 1:
			args = append(args, g.name("addr"), []byte(g.pick([]string{"1.2.3.4:5", "", "nosuch", "127.0.0.1:1", "1.2.3.4:5\x00"})))
		case 2:
			args = append(args, g.name("laddr"), []byte(g.pick([]string{"1.2.3.4:5", "", "127.0.0.1:1"})))
		case 3:
			args = append(args, g.name("type"), []byte(g.pick([]string{"master", "PUBSUB", "replica", "slave", "bogus", "", "master\x00x"})))
		case 4:
			args = append(args, g.name("user"), []byte(g.pick([]string{"nosuch", "", "Default"})))
		case 5:
			args = append(args, g.name("skipme"), []byte(g.pick([]string{"yes", "NO", "maybe", "", "no\x00"})))
		case 6:
			args = append(args, []byte(g.pick([]string{"maxage", "bogus", "", "skipme\x00"})), []byte("1"))
		case 7:
			args = append(args, g.name("id")) // an option without its value
		default:
			// Matches nobody, so that any other filter may follow.
			args = append(args, g.name("id"), []byte("99999998"))
		}
	}
	// Matches nobody, or shifts a bad option into an error: no
	// combination kills a client (SKIPME no alone would kill all).
	args = append(args, []byte("id"), []byte("99999998"))
	return g.cmd("client", args...)
}

// clientReply returns a pipeline of CLIENT REPLY ON|OFF|SKIP (and bad
// ones) among writes, reads and errors, compared on every byte both
// servers write; the dataset comparison at the end shows that writes
// whose replies were dropped were applied exactly once.
func (g *gen) clientReply() op {
	n := 2 + g.r.IntN(10)
	var cmds []op
	for range n {
		switch g.r.IntN(6) {
		case 0, 1:
			cmds = append(cmds, g.cmd("client", g.name("reply"), []byte(g.pick([]string{"on", "OFF", "skip", "Skip", "bogus", "", "off\x00junk"}))))
		case 2:
			cmds = append(cmds, g.push("rpush"))
		case 3:
			cmds = append(cmds, g.cmd("lrange", g.key(), []byte("0"), []byte("-1")))
		case 4:
			cmds = append(cmds, g.cmd("client", g.name("reply")))
		default:
			cmds = append(cmds, g.ping())
		}
	}
	if g.chance(25) { // Redis checks the mode as each of EXEC's replies is added
		cmds = append(append([]op{g.cmd("multi")}, cmds...), g.cmd("exec"))
	}
	return op{kind: cmpRaw, pipeline: cmds, selectDB: -1}
}

// clientRedis72 returns CLIENT SETINFO or NO-TOUCH, Redis 7.2's (7.0.15
// answers unknown subcommand): not sent to Redis; raftlist must answer
// as 7.2 does.
func (g *gen) clientRedis72() op {
	var o op
	if g.chance(30) {
		arg := g.pick([]string{"on", "OFF", "maybe", ""})
		o = g.cmd("client", g.name("no-touch"), []byte(arg))
		o.want = "ERR syntax error"
		if strings.EqualFold(arg, "on") || strings.EqualFold(arg, "off") {
			o.want = "+OK"
		}
	} else {
		attr := g.pick([]string{"lib-name", "LIB-VER", "lib-nom", ""})
		val := g.pick([]string{"go-redis", "9.0.5", "", "a b", "x\n", "redis-py(hi)"})
		o = g.cmd("client", g.name("setinfo"), []byte(attr), []byte(val))
		switch {
		case !strings.EqualFold(attr, "lib-name") && !strings.EqualFold(attr, "lib-ver"):
			o.want = "ERR Unrecognized option '" + attr + "'"
		case strings.ContainsAny(val, " \n"):
			o.want = "ERR " + attr + " cannot contain spaces, newlines or special characters."
		default:
			o.want = "+OK"
		}
		if g.chance(10) {
			o.args = o.args[:len(o.args)-1]
			o.want = "ERR wrong number of arguments for 'client|setinfo' command"
		}
	}
	o.kind = raftlistOnly
	return o
}

func (g *gen) info() op {
	var args [][]byte
	if g.chance(50) {
		args = append(args, []byte(g.pick([]string{"server", "keyspace", "raft", "all", "default", "clients"})))
	}
	o := g.cmd("info", args...)
	o.kind, o.shape = cmpShape, shapeText
	return o
}

// genCommandNames are the commands whose COMMAND INFO is compared.
var genCommandNames = []string{"lpush", "rpush", "lpushx", "rpushx", "lpop", "rpop", "llen", "lrange",
	"lindex", "lpos", "lset", "linsert", "lrem", "ltrim", "lmove", "rpoplpush", "lmpop",
	"del", "unlink", "exists", "type", "keys", "scan", "rename", "renamenx", "dbsize",
	"flushdb", "flushall", "get", "set", "incr", "decr", "incrby", "decrby", "incrbyfloat", "append",
	"strlen", "getrange", "substr", "setrange", "mget", "mset", "msetnx", "setnx", "getset",
	"expire", "pexpire", "expireat", "pexpireat", "ttl", "pttl", "expiretime", "pexpiretime", "persist", "setex",
	"psetex", "getex", "getdel", "dump", "restore", "sort", "sort_ro", "copy", "touch", "randomkey", "swapdb"}

// getkeysNames are the commands COMMAND GETKEYS is asked about: every
// kind of key spec, commands without keys, containers and unknown names.
var getkeysNames = append([]string{"eval", "evalsha", "eval_ro", "evalsha_ro", "blpop", "brpop",
	"blmove", "brpoplpush", "blmpop", "ping", "client", "script", "memory", "debug", "command",
	"nosuchcommand", ""}, genCommandNames...)

// getkeysNumkeys are numkeys arguments for GETKEYS: good, hostile, and
// those C's atoi reads differently from string2ll. None whose C int is
// huge: redis-server would allocate gigabytes (command_info_test.go).
var getkeysNumkeys = []string{"0", "1", "2", "3", "-1", "5", "100", "+1", "01", " 1", "1abc", "x", "",
	"4294967297", "-4294967295", "9223372036854775807", "-9223372036854775808", "99999999999999999999", "-0"}

func (g *gen) command() op {
	switch g.r.IntN(8) {
	case 0:
		o := g.cmd("command", g.name("count"))
		o.kind, o.shape = cmpShape, ':'
		return o
	case 1:
		return g.cmd("command", []byte(g.pick([]string{"bogus", "nosuch"})))
	case 2, 3:
		return g.commandGetKeys()
	case 4:
		return g.commandList()
	case 5:
		if g.chance(50) {
			return g.cmd("command", g.name("help"))
		}
		return g.cmd("command", g.name("help"), g.key())
	}
	args := [][]byte{g.name("info")}
	for i, n := 0, 1+g.r.IntN(3); i < n; i++ {
		if g.chance(10) {
			args = append(args, []byte("nosuchcommand"))
		} else {
			args = append(args, g.name(g.pick(genCommandNames)))
		}
	}
	o := g.cmd("command", args...)
	o.kind = cmpCommandInfo
	return o
}

// commandGetKeys is COMMAND GETKEYS or GETKEYSANDFLAGS with an argument
// list of keys and numkeys-like numbers.
func (g *gen) commandGetKeys() op {
	sub := "getkeys"
	if g.chance(50) {
		sub = "getkeysandflags"
	}
	args := [][]byte{g.name(sub)}
	if !g.chance(3) {
		name := g.pick(getkeysNames)
		if containsInt(infoCompareExceptions[name].fields, 8) {
			// Key flags not declared yet (command_info_test.go): positions only.
			args[0] = g.name("getkeys")
		}
		args = append(args, g.name(name))
	}
	for i, n := 0, g.r.IntN(6); i < n; i++ {
		if g.chance(40) {
			args = append(args, []byte(g.pick(getkeysNumkeys)))
		} else {
			args = append(args, g.key())
		}
	}
	return g.cmd("command", args...)
}

// commandList is COMMAND LIST with filters whose answer is the same in
// raftlist and redis-server (Redis lists commands raftlist lacks for most
// categories and patterns), compared as sets, and malformed filters.
func (g *gen) commandList() op {
	args := [][]byte{g.name("list")}
	switch g.r.IntN(5) {
	case 0:
		args = append(args, g.name("filterby"), g.name("pattern"),
			[]byte(g.pick([]string{"*push*", "lp*", "rpop*", "lmp*", "nosuch*", "l?en", "client|i?", "command|*"})))
	case 1:
		args = append(args, g.name("filterby"), g.name("aclcat"), []byte(g.pick([]string{"nosuch", ""})))
	case 2:
		args = append(args, g.name("filterby"), g.name("module"), g.key())
	case 3:
		args = append(args, g.name("filterby"))
		for i, n := 0, g.r.IntN(4); i < n; i++ {
			args = append(args, []byte(g.pick([]string{"pattern", "aclcat", "module", "bogus", "l*"})))
		}
	default:
		args = append(args, g.key())
	}
	o := g.cmd("command", args...)
	o.kind = cmpKeys
	return o
}

// configGet asks for parameters neither server has: an empty map (an
// empty array in RESP2), and errors.
func (g *gen) configGet() op {
	if g.chance(20) {
		return g.cmd("config", g.name("get"))
	}
	return g.cmd("config", g.name("get"), []byte(g.pick([]string{"nosuch", "nosuch*", "x?y"})))
}

// protoScripts are scripts whose replies take each RESP3 form and its
// RESP2 rendering: doubles, big numbers, verbatim strings, maps and sets
// of one element (a longer one's order is Lua's table order), booleans
// before and after redis.setresp(3), nulls of redis.call in both.
var protoScripts = []string{
	"return {double=3.14}", "return {double=1}", "return {double=-1/0}", "return {double=1e20}", "return {double=0.1}",
	"return {big_number='123456789012345678901'}", "return {verbatim_string={format='txt',string='hi'}}",
	"return {map={a=1}}", "return {set={a=true}}", "return {map={}}", "return {set={}}", "return {map={a=false}}",
	"return true", "return false", "return nil", "return {true,false}",
	"redis.setresp(3); return true", "redis.setresp(3); return false", "redis.setresp(3); return {true,false}",
	"redis.setresp(3); return {map={a=false}}", "redis.setresp(3); redis.setresp(2); return false",
	"redis.setresp(3); return type(redis.call('get', KEYS[1]))", "return type(redis.call('get', KEYS[1]))",
	"redis.setresp(3); return redis.call('get', KEYS[1])", "redis.setresp(3); return {redis.call('lpop', KEYS[1]), 1}",
	"redis.setresp(3); return redis.call('lpop', KEYS[1], 2) == nil", "return type(redis.call('lpop', KEYS[1], 2))",
	"redis.setresp(3); return redis.call('lrange', KEYS[1], 0, -1)", "redis.setresp(3); return redis.call('mget', KEYS[1], 'nosuchkey')",
	"redis.setresp(4)", "return {verbatim_string={string='hi'}}", "return {double='3.5'}",
}

// diffLibraries are the libraries the generator loads, one function
// each, without state (raftlist runs a library afresh at every FCALL).
var diffLibraries = []string{
	"#!lua name=diffw\nredis.register_function('dpush', function(keys, args) return redis.call('rpush', keys[1], unpack(args)) end)",
	"#!lua name=diffr\nredis.register_function{function_name='drange', callback=function(keys, args) return redis.call('lrange', keys[1], 0, -1) end, flags={'no-writes'}, description='range'}",
}

func (g *gen) functionOp() op {
	lib := []string{"diffw", "diffr", "nosuch"}
	switch g.r.IntN(6) {
	case 0, 1:
		args := [][]byte{g.name("load")}
		if g.chance(50) {
			args = append(args, g.name("replace"))
		}
		return g.cmd("function", append(args, []byte(g.pick(diffLibraries)))...)
	case 2:
		return g.cmd("function", g.name("delete"), []byte(g.pick(lib)))
	case 3:
		return g.cmd("function", g.name("list"), g.name("libraryname"), []byte(g.pick(lib)), g.name("withcode"))
	case 4:
		return g.cmd("function", g.name("stats"))
	}
	return g.cmd("function", g.name("flush"))
}

func (g *gen) fcall() op {
	name := g.pick([]string{"fcall", "fcall_ro"})
	if g.chance(50) {
		return g.cmd(name, []byte(g.pick([]string{"dpush", "DPUSH", "nosuch"})), []byte("1"), g.key(), g.value())
	}
	return g.cmd(name, []byte(g.pick([]string{"drange", "Drange"})), []byte("1"), g.key())
}

func (g *gen) protoScript() op {
	return g.cmd("eval", []byte(g.pick(protoScripts)), []byte("1"), g.key())
}

func (g *gen) debug() op {
	o := g.cmd("debug", g.name("digest"))
	o.kind, o.shape = cmpShape, '+'
	return o
}

func (g *gen) unknown() op {
	// No known name followed by a NUL ("get\x00"): Redis looks commands
	// up with a hash of all the bytes but compares them as C strings, so
	// whether it finds GET then depends on its random hash seed.
	name := g.pick([]string{"nosuchcmd", "lpushh", "xyzzy", "", "\x00", "l\r\npush", "\x00get"})
	args := [][]byte{[]byte(name)}
	for i, n := 0, g.r.IntN(4); i < n; i++ {
		args = append(args, g.value())
	}
	if g.chance(5) {
		// Long arguments: Redis quotes only the first 128 bytes.
		args = append(args, g.printable(300))
	}
	return op{args: args, selectDB: -1}
}

// arities are the commands the generator knows, with Redis's arity.
var arities = map[string]int{
	"lpush": -3, "rpush": -3, "lpushx": -3, "rpushx": -3, "lpop": -2, "rpop": -2, "llen": 2,
	"lrange": 4, "lindex": 3, "lpos": -3, "lset": 4, "linsert": 5, "lrem": 4, "ltrim": 4,
	"lmove": 5, "rpoplpush": 3, "lmpop": -4, "del": -2, "unlink": -2, "exists": -2, "type": 2,
	"keys": 2, "scan": -2, "rename": 3, "renamenx": 3, "dbsize": 1, "flushdb": -1, "flushall": -1,
	"get": 2, "set": -3, "incr": 2, "decr": 2, "incrby": 3, "decrby": 3, "incrbyfloat": 3, "append": 3,
	"strlen": 2, "getrange": 4, "substr": 4, "setrange": 4, "mget": -2, "mset": -3, "msetnx": -3,
	"setnx": 3, "getset": 3, "expire": -3, "pexpire": -3, "expireat": -3, "pexpireat": -3, "ttl": 2,
	"pttl": 2, "expiretime": 2, "pexpiretime": 2, "persist": 2, "setex": 4, "psetex": 4, "getex": -2, "getdel": 2, "dump": 2, "restore": -4, "ping": -1, "echo": 2, "select": 2, "client": -2,
	"command": -1, "debug": -2, "hello": -1, "sort": -2, "sort_ro": -2, "copy": -3, "touch": -2,
	"randomkey": 1, "swapdb": 3,
}

var arityNames = func() []string {
	var out []string
	for _, n := range genCommandNames {
		out = append(out, n)
	}
	return append(out, "echo", "select", "client", "debug")
}()

// wrongArity calls a command with one argument too few, or one too many
// for a fixed arity.
func (g *gen) wrongArity() op {
	name := g.pick(arityNames)
	a := arities[name]
	var n int // arguments after the name
	switch {
	case a > 0 && g.chance(50):
		n = a // one too many
	case a > 0:
		n = a - 2
	default:
		n = -a - 2
	}
	switch {
	case n < 0 && a > 0:
		n = a // a command of arity 1 can only get too many
	case n < 0:
		return g.cmd("get") // FLUSHDB and FLUSHALL take any count
	}
	args := make([][]byte, n)
	for i := range args {
		args[i] = g.key()
	}
	return g.cmd(name, args...)
}

// genSortPatterns are BY and GET patterns: "#", constants, patterns whose
// keys exist ("*" with the element "", "a*" with ""), hash fields and
// patterns with many '*' (only the first is replaced).
var genSortPatterns = []string{"#", "nosort", "*", "a*", "l*st", "nosuch_*", "*->f", "a*->", "**", "*\x00*", "k\x00*", "#\x00x"}

// sort is SORT or SORT_RO with random options, sometimes bad ones. Not
// sent: ALPHA with a BY pattern and a LIMIT, where Redis's partial sort
// orders equal weights its own way (intentionalDifferences).
func (g *gen) sort() op {
	name := "sort"
	if g.chance(30) {
		name = "sort_ro"
	}
	args := [][]byte{g.key()}
	by, alpha, limit := "", g.chance(40), g.chance(35)
	if g.chance(40) {
		by = g.pick(genSortPatterns)
		args = append(args, g.name("by"), []byte(by))
	}
	if alpha && limit && strings.Contains(by, "*") {
		limit = false
	}
	if limit {
		args = append(args, g.name("limit"), g.integer(8), g.integer(8))
	}
	for i, n := 0, g.r.IntN(3); i < n; i++ {
		args = append(args, g.name("get"), []byte(g.pick(genSortPatterns)))
	}
	if g.chance(40) {
		args = append(args, g.name(g.pick([]string{"asc", "desc"})))
	}
	if alpha {
		args = append(args, g.name("alpha"))
	}
	if g.chance(30) {
		args = append(args, g.name("store"), g.key())
	}
	if g.chance(5) {
		args = append(args, []byte(g.pick([]string{"limit", "store", "by", "get", "bogus", "limit 1"})))
	}
	return g.cmd(name, args...)
}

func (g *gen) copyOp() op {
	args := [][]byte{g.key(), g.key()}
	if g.chance(30) {
		args = append(args, g.name("db"), []byte(g.pick([]string{"0", "1", "2", "16", "-1", "x", "4294967296"})))
	}
	if g.chance(40) {
		args = append(args, g.name("replace"))
	}
	if g.chance(3) {
		args = append(args, []byte("bogus"))
	}
	return g.cmd("copy", args...)
}

func (g *gen) swapdb() op {
	ids := []string{"0", "1", "2", "0", "1", "16", "-1", "x", "4294967296"}
	return g.cmd("swapdb", []byte(g.pick(ids)), []byte(g.pick(ids)))
}

// object is OBJECT: its errors and HELP, FREQ (an error for a present
// key, nil for a missing one), and ENCODING, REFCOUNT and IDLETIME right
// after a SET or a push in one pipeline. Not on a key with a history:
// Redis reports "raw" for what APPEND and SETRANGE made, the idle time it
// measured (for a shared integer, since the server started), and a count
// of 1 for a copied shared integer
// (intentionalDifferences).
func (g *gen) object() op {
	switch g.r.IntN(4) {
	case 0:
		sub := g.pick([]string{"help", "HELP", "nosuch", "encoding", "freq", "refcount", ""})
		args := [][]byte{[]byte(sub)}
		n := g.r.IntN(3)
		if n == 1 && (sub == "encoding" || sub == "refcount") {
			n = 2 // the wrong arity: one key has a history
		}
		for i := 0; i < n; i++ {
			args = append(args, g.key())
		}
		return g.cmd("object", args...)
	case 1:
		return g.cmd("object", g.name("freq"), g.key())
	}
	k := g.key()
	write := g.cmd("set", k, g.pick2(g.number(), g.value()))
	if g.chance(30) {
		write = g.cmd("rpush", append([][]byte{k}, g.values(3)...)...)
	}
	sub := g.name(g.pick([]string{"encoding", "refcount", "idletime"}))
	if strings.EqualFold(string(sub), "idletime") {
		// A fresh value: a shared integer's idle time is the server's.
		write = g.cmd("set", k, append([]byte("idle:"), g.printable(8)...))
	}
	// DEL first: a push onto a string fails, leaving the string's history.
	return op{pipeline: []op{g.cmd("del", k), write, g.cmd("object", sub, k)}, selectDB: -1}
}

// shapeText is cmpShape's mark for text Redis sends as a bulk string in
// RESP2 and as verbatim text in RESP3 (INFO, CLIENT LIST, CLIENT INFO).
const shapeText = 't'
