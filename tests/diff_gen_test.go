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
	// cmpRaw: a pipeline (CLIENT REPLY may drop replies) compared on
	// every byte each server writes, up to a closing CLIENT REPLY ON.
	cmpRaw
)

// op is one generated command.
type op struct {
	args  [][]byte
	kind  opKind
	shape byte   // cmpShape: expected reply type ('+', ':', '$', '*')
	want  string // raftlistOnly
	// Connection state the command changes when Redis answers OK.
	selectDB int     // SELECT: the database, or -1
	setName  *string // CLIENT SETNAME / HELLO SETNAME: the name
	// pipeline, when set, replaces args: commands sent in one write to
	// one node, each reply compared byte for byte.
	pipeline []op
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
		{5, func(g *gen) op { return g.cmd("dbsize") }},
		{3, func(g *gen) op { return g.flush("flushdb") }},
		{1, func(g *gen) op { return g.flush("flushall") }},
		// Strings.
		{15, func(g *gen) op { return g.cmd("get", g.key()) }},
		{25, func(g *gen) op { return g.set() }},
		// Connection and server.
		{4, func(g *gen) op { return g.ping() }},
		{4, func(g *gen) op { return g.cmd("echo", g.value()) }},
		{8, func(g *gen) op { return g.selectOp() }},
		{1, func(g *gen) op { o := g.cmd("quit"); o.kind = cmpQuit; return o }},
		{2, func(g *gen) op { return g.hello() }},
		{8, func(g *gen) op { return g.client() }},
		{2, func(g *gen) op { return g.info() }},
		{2, func(g *gen) op { return g.command() }},
		{2, func(g *gen) op { return g.debug() }},
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
		if o.kind == cmpExact && o.pipeline == nil && o.selectDB < 0 && o.setName == nil {
			cmds = append(cmds, o)
		}
	}
	return op{pipeline: cmds, selectDB: -1}
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
			args = append(args, g.name("type"), []byte(g.pick([]string{"list", "string", "LIST", "none", "hash", "bogus", ""})))
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

func (g *gen) set() op {
	args := [][]byte{g.key(), g.value()}
	expiry := false
	for i, n := 0, g.r.IntN(3); i < n; i++ {
		switch g.r.IntN(12) {
		case 0, 1, 2:
			args = append(args, g.name("nx"))
		case 3, 4, 5:
			args = append(args, g.name("xx"))
		case 6, 7, 8, 9:
			args = append(args, g.name("get"))
		case 10:
			expiry = true
			switch g.r.IntN(5) {
			case 0:
				args = append(args, g.name("keepttl"))
			default:
				args = append(args, g.name(g.pick([]string{"ex", "px", "exat", "pxat"})), []byte(g.pick([]string{"10", "1000", "abc"})))
			}
		default:
			args = append(args, []byte(g.pick([]string{"bogus", "", "NXX"})))
		}
	}
	o := g.cmd("set", args...)
	if expiry {
		// Keys never expire in raftlist: every SET that asks for an
		// expiry is refused, whatever else it says.
		o.kind, o.want = raftlistOnly, "ERR"
	}
	return o
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
	if g.chance(15) {
		o := g.cmd("hello", []byte("3"))
		o.kind, o.want = raftlistOnly, "NOPROTO"
		return o
	}
	var args [][]byte
	var name *string
	if g.chance(80) {
		args = append(args, []byte(g.pick([]string{"2", "2", "2", "4", "abc", "-1", "0"})))
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
		o.kind, o.shape = cmpShape, '$'
		return o
	case 8:
		o := g.cmd("client", g.name("info"))
		o.kind, o.shape = cmpShape, '$'
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
	o.kind, o.shape = cmpShape, '$'
	return o
}

// genCommandNames are the commands whose COMMAND INFO is compared.
var genCommandNames = []string{"lpush", "rpush", "lpushx", "rpushx", "lpop", "rpop", "llen", "lrange",
	"lindex", "lpos", "lset", "linsert", "lrem", "ltrim", "lmove", "rpoplpush", "lmpop",
	"del", "unlink", "exists", "type", "keys", "scan", "rename", "renamenx", "dbsize",
	"flushdb", "flushall", "get", "set"}

func (g *gen) command() op {
	switch g.r.IntN(4) {
	case 0:
		o := g.cmd("command", g.name("count"))
		o.kind, o.shape = cmpShape, ':'
		return o
	case 1:
		return g.cmd("command", []byte(g.pick([]string{"bogus", "nosuch"})))
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
	"get": 2, "set": -3, "ping": -1, "echo": 2, "select": 2, "client": -2,
	"command": -1, "debug": -2, "hello": -1,
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
