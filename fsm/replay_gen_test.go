package fsm

// The replay checker's log generator (replay_test.go runs the log). One
// seed gives one log, always the same: every random choice comes from a
// math/rand/v2 PCG seeded with it, and nothing else.

import (
	"fmt"
	"github.com/raftlist/raftlist/fsm/rdb"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"

	"github.com/raftlist/raftlist/fsm/resp"
)

// replayEntry is one generated log entry with the Raft term it carries and
// why it is there (a hostile probe, an observer, ...), for failure reports.
type replayEntry struct {
	term uint64
	e    *Entry
	// data is e encoded: every machine decodes its own copy, so no two
	// machines share an argument slice, as no two nodes do.
	data []byte
	note string
}

// replayLog is the log one seed generates.
type replayLog struct {
	seed    uint64
	n       int // the length asked for, which replays the seed's log
	entries []replayEntry
	scripts int // script commands (EVAL, EVALSHA, ...) in the log
}

// Keyspace: few keys in few databases, so commands collide, keys change
// type, waiters get served, and digests stay cheap.
var (
	replayKeys  = []string{"a", "b", "c", "s"}
	replayDBs   = []int{0, 0, 0, 1, 2}
	replayElems = []string{"x", "y", "z", "1", "-2", "", "\x00", "v" + strings.Repeat("w", 40)}
	// replayOwners are node processes "node/incarnation": n1 restarted
	// once, so purging n1 except n1/2 ends n1/1's waiters only.
	replayOwners = []string{"n1/1", "n1/2", "n2/1", "n3/1"}
)

// replayGen generates one log.
type replayGen struct {
	r       *rand.Rand
	aclR    *rand.Rand // aclChange's own stream
	term    uint64
	timeMs  int64
	at      uint64 // log index of the entry being generated
	seqs    map[string]uint64
	waiters []WaiterID // ids of blocking commands issued: maybe waiting
	shas    []string   // scripts EVAL or SCRIPT LOAD put in the cache
	scripts int
	lua     *replayLua
	out     []replayEntry
}

func newReplayGen(seed uint64) *replayGen {
	r := rand.New(rand.NewPCG(seed, 0x7265706c6179)) // "replay"
	return &replayGen{r: r, aclR: rand.New(rand.NewPCG(seed, 0x61636c)), term: 1, timeMs: 1_700_000_000_000, seqs: map[string]uint64{}, lua: &replayLua{r: r}}
}

// replayGenerate returns the log of n entries (a few more when a probe and
// its observers end it) that seed makes.
func replayGenerate(seed uint64, n int) *replayLog {
	g := newReplayGen(seed)
	for len(g.out) < n {
		g.next()
	}
	return &replayLog{seed: seed, n: n, entries: g.out, scripts: g.scripts}
}

func (g *replayGen) pick(list []string) string    { return pickFrom(g.r, list) }
func pickFrom(r *rand.Rand, list []string) string { return list[r.IntN(len(list))] }
func (g *replayGen) chance(p float64) bool        { return g.r.Float64() < p }
func (g *replayGen) key() string                  { return g.pick(replayKeys) }
func (g *replayGen) elem() string                 { return g.pick(replayElems) }

func (g *replayGen) elems(min, max int) []string {
	out := make([]string, min+g.r.IntN(max-min+1))
	for i := range out {
		out[i] = g.elem()
	}
	return out
}

func (g *replayGen) keys(min, max int) []string {
	out := make([]string, min+g.r.IntN(max-min+1))
	for i := range out {
		out[i] = g.key()
	}
	return out
}

// index is a list index or count, sometimes out of range or not a number.
func (g *replayGen) index() string {
	return g.pick([]string{"0", "1", "2", "-1", "-2", "-100", "100", "3", "x", "", "9223372036854775807", "-9223372036854775808", "1.5"})
}

func (g *replayGen) side() string {
	return g.pick([]string{"LEFT", "RIGHT", "left", "right", "LEFT", "RIGHT", "MIDDLE"})
}

func (g *replayGen) timeout() string {
	return g.pick([]string{"0", "0", "0", "1", "0.5", "0.05", "0.1", "1e-9", "-1", "x", "inf", "0x10"})
}

// append adds an entry at the next log index.
func (g *replayGen) append(e *Entry, note string) {
	g.at++
	g.timeMs += int64(g.r.IntN(50))
	if g.chance(0.02) {
		g.timeMs -= 1000 // a new leader's clock behind the old one's
	}
	e.TimeMs = g.timeMs
	g.out = append(g.out, replayEntry{term: g.term, e: e, data: e.Encode(), note: note})
}

// cmd is one command of an entry, from a random owner with its next
// request number (now and then one already used: a duplicate waiter).
func (g *replayGen) cmd(args []string) Cmd {
	owner := g.pick(replayOwners)
	g.seqs[owner]++
	seq := g.seqs[owner]
	if g.chance(0.03) && seq > 1 {
		seq--
	}
	if Lookup([]byte(args[0])) != nil && Lookup([]byte(args[0])).Flags&resp.Blocking != 0 {
		g.waiters = append(g.waiters, WaiterID{Owner: owner, Seq: seq})
	}
	return Cmd{DB: replayDBs[g.r.IntN(len(replayDBs))], Owner: owner, Seq: seq, Args: replayArgv(args)}
}

func replayArgv(args []string) [][]byte {
	out := make([][]byte, len(args))
	for i, a := range args {
		out[i] = []byte(a)
	}
	return out
}

// next appends one entry, or a probe and its observers.
func (g *replayGen) next() {
	if g.at%67 == 33 {
		// ACL changes draw from their own stream, so that adding them
		// left the rest of every generated log as it was.
		g.append(g.aclChange(), "acl change")
	}
	switch r := g.r.IntN(1000); {
	case r < 15: // a new term, opened by the new leader's entry
		g.term++
		g.append(&Entry{Kind: KindTermStart, Node: NodeMeta{ID: g.pick([]string{"n1", "n2", "n3"}), RespAddr: "127.0.0.1:" + strconv.Itoa(7000+g.r.IntN(3))}}, "term start")
	case r < 25: // a new term whose first entry is a client's
		g.term++
		g.append(g.commands(), "commands, first of a new term")
	case r < 40:
		g.append(&Entry{Kind: KindNodeMeta, Node: NodeMeta{ID: g.pick([]string{"n1", "n2", "n3", "n4"}), RespAddr: "127.0.0.9:1", Remove: g.chance(0.3)}}, "node meta")
	case r < 55:
		g.append(&Entry{Kind: KindPurgeOwner, Purge: PurgeOwner{NodeID: g.pick([]string{"n1", "n2", "n3"}), KeepOwner: g.pick([]string{"", "n1/2", "n2/1"})}}, "purge owner")
	case r < 120:
		if len(g.waiters) == 0 {
			return
		}
		// Mostly a recent one, which may well still be waiting.
		id := g.waiters[len(g.waiters)-1-g.r.IntN(min(len(g.waiters), 4))]
		if g.chance(0.3) {
			id = g.waiters[g.r.IntN(len(g.waiters))]
		}
		why := []UnblockReason{UnblockTimeout, UnblockCancel, UnblockError}[g.r.IntN(3)]
		g.append(&Entry{Kind: KindUnblock, Unblock: Unblock{WaiterID: id, Reason: why}}, "unblock")
	case r < 150:
		g.append(&Entry{Kind: KindAck, Ack: g.ack()}, "ack")
	case r < 200:
		g.append(g.exec(), "exec")
	case r < 260:
		g.hostile()
	case r < 300:
		// Active expiry, bounded low to leave keys due for the next one.
		limit := uint64(g.pick2([]int{1, 1, 1, 2, 3, 100, 100000}))
		g.append(&Entry{Kind: KindExpire, Expire: ExpireCycle{Limit: limit}}, "active expiry")
	default:
		g.append(g.commands(), "commands")
	}
}

// aclChange is an ACL SETUSER or DELUSER entry, now and then a refused
// one (a bad rule, the default user).
func (g *replayGen) aclChange() *Entry {
	user := pickFrom(g.aclR, []string{"default", "app", "jobs", "bad name"})
	if g.aclR.Float64() < 0.2 {
		return &Entry{Kind: KindACL, ACL: ACLChange{Op: ACLDelUser, Args: [][]byte{[]byte(user), []byte("jobs")}}}
	}
	args := [][]byte{[]byte(user)}
	for n := g.aclR.IntN(4); n >= 0; n-- {
		args = append(args, []byte(pickFrom(g.aclR, []string{"on", "off", ">pw", "<pw", "nopass", "resetpass", "~jobs:*", "%R~r*",
			"allkeys", "resetkeys", "+@read", "-@write", "+lpush", "-get", "allcommands", "nocommands", "&ch", "reset", "bogus"})))
	}
	return &Entry{Kind: KindACL, ACL: ACLChange{Op: ACLSetUser, Args: args}}
}

// commands is a KindCommands entry: one command, or a batch of several.
func (g *replayGen) commands() *Entry {
	n := 1
	if g.chance(0.35) {
		n = 2 + g.r.IntN(4)
	}
	e := &Entry{Kind: KindCommands}
	for i := 0; i < n; i++ {
		e.Cmds = append(e.Cmds, g.cmd(g.command()))
	}
	return e
}

// ack is an owner acknowledging outcomes of its waiters: some it issued
// (ended or not, maybe acknowledged already), now and then one it never did.
func (g *replayGen) ack() Ack {
	a := Ack{Owner: g.pick(replayOwners)}
	for _, id := range g.waiters {
		if id.Owner == a.Owner && g.chance(0.5) {
			a.Seqs = append(a.Seqs, id.Seq)
		}
	}
	if g.chance(0.2) {
		a.Seqs = append(a.Seqs, g.seqs[a.Owner]+1)
	}
	return a
}

// exec is a MULTI/EXEC entry whose WATCHes read at indexes before, at or
// after the watched keys' last change, so some hold and some abort.
func (g *replayGen) exec() *Entry {
	owner := g.pick(replayOwners)
	g.seqs[owner]++
	tx := Transaction{DB: replayDBs[g.r.IntN(len(replayDBs))], Owner: owner, Seq: g.seqs[owner]}
	for i := g.r.IntN(3); i > 0; i-- {
		since := g.at - uint64(g.r.IntN(8))
		if g.chance(0.2) || since > g.at {
			since = 0
		}
		tx.Watches = append(tx.Watches, Watch{DB: replayDBs[g.r.IntN(len(replayDBs))], Key: []byte(g.key()), Since: since})
	}
	for i := g.r.IntN(5); i >= 0; i-- {
		var args []string
		switch g.r.IntN(12) {
		case 0:
			args = []string{"SELECT", g.pick([]string{"0", "1", "2", "16", "x"})}
		case 1:
			args = []string{"PING"}
		case 2:
			args = []string{"ECHO", g.elem()}
		default:
			args = g.command()
		}
		tx.Cmds = append(tx.Cmds, replayArgv(args))
	}
	return &Entry{Kind: KindExec, Tx: tx}
}

// replayRunaways run until a budget stops them, writing as they go: the
// key they leave tells where they stopped, which must be the same
// instruction on warm and cold Lua machines (-replay.heavy; each costs
// about a second of CPU).
var replayRunaways = []string{
	"local i = 0 while true do i = i + 1 redis.call('set', KEYS[1], i) end",
	"local i = 0 while true do i = i + 1 pcall(function() redis.call('set', KEYS[1], i) error('x') end) end",
	"local i = 0 while true do i = i + 1 pcall(redis.call, 'set', KEYS[1], i) xpcall(error, function(e) return e end) end",
	"local s = 'x' while true do s = s .. s redis.call('set', KEYS[1], #s) end",
	"local t, i = {}, 0 while true do i = i + 1 t[i] = string.rep('x', 1000) redis.pcall('set', KEYS[1], i) end",
	"local n = 0 local function f() n = n + 1 redis.pcall('set', KEYS[1], n) return 1 + f() end return f()",
	"local n = 0 local function f() n = n + 1 redis.pcall('set', KEYS[1], n) return 1 + f() end while true do pcall(f) end",
}

// replayCommandWeights makes some commands rarer than the default 10.
var replayCommandWeights = map[string]int{
	"flushall": 1, "flushdb": 1, "script": 6, "swapdb": 3,
	"eval": 60, "evalsha": 15, "eval_ro": 15, "evalsha_ro": 8,
	"function": 12, "fcall": 25, "fcall_ro": 8,
	// Enough deadlines that active expiry finds several keys due at once.
	"pexpire": 30, "psetex": 25, "pexpireat": 15,
}

// command returns a random command: any in the table, sometimes with the
// wrong arity or bad arguments, rarely one that does not exist.
func (g *replayGen) command() []string {
	if g.chance(0.01) {
		return []string{g.pick([]string{"nosuch", "MULTI", "subscribe", ""}), g.key()}
	}
	names := replayCommandNames()
	total := 0
	for _, n := range names {
		total += replayWeight(n)
	}
	x := g.r.IntN(total)
	name := names[0]
	for _, n := range names {
		if x -= replayWeight(n); x < 0 {
			name = n
			break
		}
	}
	args := replayCommandGens[name](g)
	if strings.HasPrefix(name, "eval") {
		g.scripts++
	}
	if g.chance(0.07) {
		args = g.mangle(args)
	}
	if g.chance(0.3) {
		args[0] = strings.ToUpper(args[0])
	}
	return args
}

func replayWeight(name string) int {
	if w, ok := replayCommandWeights[name]; ok {
		return w
	}
	return 10
}

var replayNames []string

// replayCommandNames lists the command table's names in order, so the
// generator's choices depend on the seed alone, never on map order.
func replayCommandNames() []string {
	if replayNames == nil {
		for _, c := range Commands() {
			if replayCommandGens[c.Name] != nil {
				replayNames = append(replayNames, c.Name)
			}
		}
	}
	return replayNames
}

// mangle breaks a command: an argument dropped, added or replaced.
func (g *replayGen) mangle(args []string) []string {
	args = append([]string(nil), args...)
	switch g.r.IntN(3) {
	case 0:
		if len(args) > 1 {
			args = args[:len(args)-1]
		}
	case 1:
		args = append(args, g.pick([]string{"x", "-1", "", "COUNT", "LEFT"}))
	default:
		if len(args) > 1 {
			args[1+g.r.IntN(len(args)-1)] = g.pick([]string{"", "-1", "0", "x", "99999999999999999999", "\x00", "COUNT"})
		}
	}
	return args
}

// replayCommandGens builds arguments for every command in the command
// table. TestReplayGeneratesEveryCommand fails when a command has none, so
// a new command makes the generator grow with it.
var replayCommandGens = map[string]func(g *replayGen) []string{
	// The connection commands the state machine runs inside EXEC: a SELECT
	// there moves the rest of the transaction to another database.
	"ping":   func(g *replayGen) []string { return append([]string{"ping"}, g.elems(0, 1)...) },
	"echo":   func(g *replayGen) []string { return []string{"echo", g.elem()} },
	"select": func(g *replayGen) []string { return []string{"select", g.pick([]string{"0", "1", "9", "16", "-1"})} },
	// TIME inside EXEC and scripts answers the entry's time, the same on
	// every node replaying it.
	"time":   func(g *replayGen) []string { return append([]string{"time"}, g.elems(0, 1)...) },
	"lpush":  func(g *replayGen) []string { return append([]string{"lpush", g.key()}, g.elems(1, 3)...) },
	"rpush":  func(g *replayGen) []string { return append([]string{"rpush", g.key()}, g.elems(1, 3)...) },
	"lpushx": func(g *replayGen) []string { return append([]string{"lpushx", g.key()}, g.elems(1, 2)...) },
	"rpushx": func(g *replayGen) []string { return append([]string{"rpushx", g.key()}, g.elems(1, 2)...) },
	"llen":   func(g *replayGen) []string { return []string{"llen", g.key()} },
	"lpop":   func(g *replayGen) []string { return g.optCount([]string{"lpop", g.key()}) },
	"rpop":   func(g *replayGen) []string { return g.optCount([]string{"rpop", g.key()}) },
	"lrange": func(g *replayGen) []string { return []string{"lrange", g.key(), g.index(), g.index()} },
	"lindex": func(g *replayGen) []string { return []string{"lindex", g.key(), g.index()} },
	"lpos": func(g *replayGen) []string {
		args := []string{"lpos", g.key(), g.elem()}
		for _, opt := range []string{"RANK", "COUNT", "MAXLEN"} {
			if g.chance(0.3) {
				args = append(args, opt, g.index())
			}
		}
		return args
	},
	"lset": func(g *replayGen) []string { return []string{"lset", g.key(), g.index(), g.elem()} },
	"linsert": func(g *replayGen) []string {
		return []string{"linsert", g.key(), g.pick([]string{"BEFORE", "AFTER", "after", "x"}), g.elem(), g.elem()}
	},
	"lrem":  func(g *replayGen) []string { return []string{"lrem", g.key(), g.index(), g.elem()} },
	"ltrim": func(g *replayGen) []string { return []string{"ltrim", g.key(), g.index(), g.index()} },
	"lmove": func(g *replayGen) []string { return []string{"lmove", g.key(), g.key(), g.side(), g.side()} },
	"rpoplpush": func(g *replayGen) []string {
		return []string{"rpoplpush", g.key(), g.key()}
	},
	"lmpop": func(g *replayGen) []string { return g.mpop([]string{"lmpop"}) },
	"blpop": func(g *replayGen) []string {
		return append(append([]string{"blpop"}, g.keys(1, 3)...), g.timeout())
	},
	"brpop": func(g *replayGen) []string {
		return append(append([]string{"brpop"}, g.keys(1, 3)...), g.timeout())
	},
	"brpoplpush": func(g *replayGen) []string { return []string{"brpoplpush", g.key(), g.key(), g.timeout()} },
	"blmove": func(g *replayGen) []string {
		return []string{"blmove", g.key(), g.key(), g.side(), g.side(), g.timeout()}
	},
	"blmpop": func(g *replayGen) []string { return g.mpop([]string{"blmpop", g.timeout()}) },
	"del":    func(g *replayGen) []string { return append([]string{"del"}, g.keys(1, 3)...) },
	"unlink": func(g *replayGen) []string { return append([]string{"unlink"}, g.keys(1, 3)...) },
	"exists": func(g *replayGen) []string { return append([]string{"exists"}, g.keys(1, 3)...) },
	"type":   func(g *replayGen) []string { return []string{"type", g.key()} },
	"keys": func(g *replayGen) []string {
		return []string{"keys", g.pick([]string{"*", "a*", "[ab]", "?", "\\*", "s"})}
	},
	"rename":   func(g *replayGen) []string { return []string{"rename", g.key(), g.key()} },
	"renamenx": func(g *replayGen) []string { return []string{"renamenx", g.key(), g.key()} },
	"dbsize":   func(g *replayGen) []string { return []string{"dbsize"} },
	"sort":     func(g *replayGen) []string { return g.sortArgs("sort", true) },
	"sort_ro":  func(g *replayGen) []string { return g.sortArgs("sort_ro", false) },
	"copy": func(g *replayGen) []string {
		args := []string{"copy", g.key(), g.key()}
		if g.r.IntN(3) == 0 {
			args = append(args, "db", g.pick([]string{"0", "1", "2", "16", "x"}))
		}
		if g.r.IntN(2) == 0 {
			args = append(args, "replace")
		}
		return args
	},
	"touch":     func(g *replayGen) []string { return append([]string{"touch"}, g.keys(1, 3)...) },
	"randomkey": func(g *replayGen) []string { return []string{"randomkey"} },
	"swapdb": func(g *replayGen) []string {
		return []string{"swapdb", g.pick([]string{"0", "1", "2", "16"}), g.pick([]string{"0", "1", "2", "x"})}
	},
	"object": func(g *replayGen) []string {
		sub := g.pick([]string{"encoding", "refcount", "idletime", "freq", "help", "nosuch"})
		if sub == "help" {
			return []string{"object", sub}
		}
		return []string{"object", sub, g.key()}
	},
	"flushdb":  func(g *replayGen) []string { return g.optFlush([]string{"flushdb"}) },
	"flushall": func(g *replayGen) []string { return g.optFlush([]string{"flushall"}) },
	"scan": func(g *replayGen) []string {
		args := []string{"scan", g.pick([]string{"0", "1", "2", "x", "18446744073709551615"})}
		if g.chance(0.4) {
			args = append(args, "MATCH", g.pick([]string{"*", "a*", "[a-c]"}))
		}
		if g.chance(0.4) {
			args = append(args, "COUNT", g.pick([]string{"1", "2", "10", "0"}))
		}
		if g.chance(0.3) {
			args = append(args, "TYPE", g.pick([]string{"list", "string", "hash"}))
		}
		return args
	},
	"get": func(g *replayGen) []string { return []string{"get", g.key()} },
	"set": func(g *replayGen) []string {
		args := []string{"set", g.key(), g.elem()}
		for _, opt := range []string{"NX", "XX", "GET"} {
			if g.chance(0.2) {
				args = append(args, opt)
			}
		}
		if g.chance(0.5) {
			args = append(args, g.ttlOption(true)...)
		}
		return args
	},
	"incr":        func(g *replayGen) []string { return []string{"incr", g.key()} },
	"decr":        func(g *replayGen) []string { return []string{"decr", g.key()} },
	"incrby":      func(g *replayGen) []string { return []string{"incrby", g.key(), g.increment()} },
	"decrby":      func(g *replayGen) []string { return []string{"decrby", g.key(), g.increment()} },
	"incrbyfloat": func(g *replayGen) []string { return []string{"incrbyfloat", g.key(), g.floatIncrement()} },
	"append":      func(g *replayGen) []string { return []string{"append", g.key(), g.elem()} },
	"strlen":      func(g *replayGen) []string { return []string{"strlen", g.key()} },
	"getrange":    func(g *replayGen) []string { return []string{"getrange", g.key(), g.index(), g.index()} },
	"substr":      func(g *replayGen) []string { return []string{"substr", g.key(), g.index(), g.index()} },
	"setrange": func(g *replayGen) []string {
		// Offsets stay small or past MaxStringLen: a valid offset near the
		// limit would make every replayed machine hold 64 MiB.
		offset := g.pick([]string{"0", "1", "3", "50", "1000", "-1", "x", "67108864", "9223372036854775807"})
		return []string{"setrange", g.key(), offset, g.elem()}
	},
	"mget":   func(g *replayGen) []string { return append([]string{"mget"}, g.keys(1, 4)...) },
	"mset":   func(g *replayGen) []string { return g.pairs("mset") },
	"msetnx": func(g *replayGen) []string { return g.pairs("msetnx") },
	"setnx":  func(g *replayGen) []string { return []string{"setnx", g.key(), g.elem()} },
	"getset": func(g *replayGen) []string { return []string{"getset", g.key(), g.elem()} },
	"expire": func(g *replayGen) []string {
		return g.expireArgs("expire", g.pick([]string{"1", "2", "0", "-1", "100"}))
	},
	"pexpire":   func(g *replayGen) []string { return g.expireArgs("pexpire", g.ttlMs()) },
	"expireat":  func(g *replayGen) []string { return g.expireArgs("expireat", g.atSeconds()) },
	"pexpireat": func(g *replayGen) []string { return g.expireArgs("pexpireat", g.atMs()) },
	"ttl":       func(g *replayGen) []string { return []string{"ttl", g.key()} },
	"pttl":      func(g *replayGen) []string { return []string{"pttl", g.key()} },
	"expiretime": func(g *replayGen) []string {
		return []string{"expiretime", g.key()}
	},
	"pexpiretime": func(g *replayGen) []string { return []string{"pexpiretime", g.key()} },
	"persist":     func(g *replayGen) []string { return []string{"persist", g.key()} },
	"setex": func(g *replayGen) []string {
		return []string{"setex", g.key(), g.pick([]string{"1", "2", "0", "x"}), g.elem()}
	},
	"psetex": func(g *replayGen) []string { return []string{"psetex", g.key(), g.ttlMs(), g.elem()} },
	"getex": func(g *replayGen) []string {
		args := []string{"getex", g.key()}
		if g.chance(0.7) {
			args = append(args, g.ttlOption(false)...)
		}
		return args
	},
	"getdel": func(g *replayGen) []string { return []string{"getdel", g.key()} },
	"dump":   func(g *replayGen) []string { return []string{"dump", g.key()} },
	"restore": func(g *replayGen) []string {
		args := []string{"restore", g.key(), g.pick([]string{"0", "0", g.ttlMs(), g.atMs()}), g.payload()}
		for _, opt := range [][]string{{"REPLACE"}, {"ABSTTL"}, {"IDLETIME", "5"}, {"FREQ", g.pick([]string{"3", "256"})}} {
			if g.chance(0.3) {
				args = append(args, opt...)
			}
		}
		return args
	},
	"eval": func(g *replayGen) []string {
		if *replayHeavy > 0 && g.chance(*replayHeavy) {
			return g.eval("eval", g.pick(replayRunaways))
		}
		return g.eval("eval", g.lua.script(false))
	},
	"eval_ro":    func(g *replayGen) []string { return g.eval("eval_ro", g.lua.script(true)) },
	"evalsha":    func(g *replayGen) []string { return g.evalsha("evalsha") },
	"evalsha_ro": func(g *replayGen) []string { return g.evalsha("evalsha_ro") },
	"function":   func(g *replayGen) []string { return g.function() },
	"fcall":      func(g *replayGen) []string { return g.keysArgs([]string{"fcall", g.functionName()}) },
	"fcall_ro":   func(g *replayGen) []string { return g.keysArgs([]string{"fcall_ro", g.functionName()}) },
	"script": func(g *replayGen) []string {
		switch g.r.IntN(10) {
		case 0, 1, 2:
			body := g.lua.script(g.chance(0.3))
			g.shas = append(g.shas, ScriptSHA([]byte(body)))
			return []string{"script", "load", body}
		case 3, 4:
			args := []string{"script", "exists"}
			for i := g.r.IntN(3); i >= 0; i-- {
				args = append(args, g.sha())
			}
			return args
		case 5:
			return append([]string{"script", "flush"}, g.pick([]string{"", "ASYNC", "SYNC", "x"}))[:3-g.r.IntN(2)]
		case 6:
			return []string{"script", "debug", g.pick([]string{"no", "yes", "sync", "x"})}
		case 7:
			return []string{"script", g.pick([]string{"kill", "help", "nosuch"})}
		default:
			return []string{"script", "load", g.pick([]string{"return 1 +", "#!lua flags=no-writes\nreturn 1", "#!python\n", "return KEYS"})}
		}
	},
}

// payload is a DUMP payload for RESTORE: a string's or a list's of the
// generator's elements, now and then cut short, with a byte changed (its
// checksum right or wrong) or of a type raftlist does not hold.
func (g *replayGen) payload() string {
	var p []byte
	if g.chance(0.4) {
		p = rdb.DumpString([]byte(g.elem()))
	} else {
		elems := g.elems(1, 6)
		l := make([][]byte, len(elems))
		for i, e := range elems {
			l[i] = []byte(e)
		}
		p = rdb.DumpList(l)
	}
	switch g.r.IntN(8) {
	case 0:
		return string(p[:g.r.IntN(len(p))])
	case 1:
		p[g.r.IntN(len(p))] ^= byte(1 + g.r.IntN(255))
	case 2:
		body := p[:len(p)-10]
		body[g.r.IntN(len(body))] ^= byte(1 + g.r.IntN(255))
		p = rdb.Seal(body)
	case 3:
		p = rdb.Seal([]byte{4, 0}) // an empty hash
	}
	return string(p)
}

// increment is INCRBY's or DECRBY's argument: small, at the int64 edges
// (overflow), or not an integer.
func (g *replayGen) increment() string {
	return g.pick([]string{"1", "-1", "7", "-100", "0", "9223372036854775807", "-9223372036854775808", "x", "1.5", ""})
}

// floatIncrement is INCRBYFLOAT's argument: the forms strtold reads
// (hex, exponents, infinities) and ones it refuses.
func (g *replayGen) floatIncrement() string {
	return g.pick([]string{"1", "-1.5", "0.1", "1e5", "5.0e3", "0x10", "-0", "1e308", "1e4000", "-1e4000",
		"1e-4950", "1e-5000", "inf", "nan", " 1", "1 ", "x", "", "0x1p-16445", "3.0000000000000000001"})
}

// pairs is MSET's or MSETNX's arguments, now and then one value short.
func (g *replayGen) pairs(name string) []string {
	args := []string{name}
	for i := g.r.IntN(3); i >= 0; i-- {
		args = append(args, g.key(), g.elem())
	}
	if g.chance(0.1) {
		args = args[:len(args)-1]
	}
	return args
}

// ttlMs is a time to live in milliseconds: mostly short enough to run out
// within a few entries (the log's clock moves about 25 ms an entry), now
// and then zero, negative or out of range.
func (g *replayGen) ttlMs() string {
	return g.pick([]string{"1", "10", "30", "50", "100", "300", "1000", "5000", "0", "-5", "9223372036854775807"})
}

// atMs is a Unix time in milliseconds around the log's clock: passed,
// exactly now, or soon.
func (g *replayGen) atMs() string {
	return strconv.FormatInt(g.timeMs+int64(g.pick2([]int{-1000, -1, 0, 1, 20, 50, 200, 2000})), 10)
}

func (g *replayGen) atSeconds() string {
	return strconv.FormatInt(g.timeMs/1000+int64(g.pick2([]int{-1, 0, 1, 2})), 10)
}

func (g *replayGen) pick2(list []int) int { return list[g.r.IntN(len(list))] }

// expireArgs completes an EXPIRE-like command with a condition, sometimes.
func (g *replayGen) expireArgs(name, when string) []string {
	args := []string{name, g.key(), when}
	if g.chance(0.4) {
		args = append(args, g.pick([]string{"NX", "XX", "GT", "LT", "nx", "GT"}))
	}
	if g.chance(0.05) {
		args = append(args, g.pick([]string{"LT", "NX", "foo"}))
	}
	return args
}

// ttlOption is one of SET's (set) or GETEX's expiry options.
func (g *replayGen) ttlOption(set bool) []string {
	switch g.r.IntN(7) {
	case 0:
		return []string{"EX", g.pick([]string{"1", "2", "0"})}
	case 1, 2:
		return []string{"PX", g.ttlMs()}
	case 3:
		return []string{"EXAT", g.atSeconds()}
	case 4:
		return []string{"PXAT", g.atMs()}
	case 5:
		if set {
			return []string{"KEEPTTL"}
		}
		return []string{"PERSIST"}
	}
	return []string{g.pick([]string{"KEEPTTL", "PERSIST"})}
}

func (g *replayGen) optCount(args []string) []string {
	if g.chance(0.4) {
		args = append(args, g.index())
	}
	return args
}

func (g *replayGen) optFlush(args []string) []string {
	if g.chance(0.3) {
		args = append(args, g.pick([]string{"ASYNC", "SYNC", "x"}))
	}
	return args
}

// mpop completes LMPOP or BLMPOP: numkeys key [key ...] LEFT|RIGHT [COUNT count].
func (g *replayGen) mpop(args []string) []string {
	keys := g.keys(1, 3)
	n := strconv.Itoa(len(keys))
	if g.chance(0.05) {
		n = g.pick([]string{"0", "5", "-1", "x"})
	}
	args = append(append(append(args, n), keys...), g.side())
	if g.chance(0.4) {
		args = append(args, "COUNT", g.pick([]string{"1", "2", "5", "0", "-1"}))
	}
	return args
}

// eval completes an EVAL or EVAL_RO of body, adding it to the scripts
// EVALSHA may name.
func (g *replayGen) eval(name, body string) []string {
	if name == "eval" {
		g.shas = append(g.shas, ScriptSHA([]byte(body)))
	}
	return g.keysArgs([]string{name, body})
}

// keysArgs appends numkeys, keys and arguments (ARGV) to a script command.
func (g *replayGen) keysArgs(args []string) []string {
	keys := g.keys(0, 2)
	if len(keys) == 0 {
		keys = []string{g.key()} // generated scripts use KEYS[1]
	}
	args = append(args, strconv.Itoa(len(keys)))
	args = append(args, keys...)
	return append(args, g.elems(0, 2)...)
}

// sha names a script: one the log cached (maybe flushed since), one never
// cached, or one of the wrong length.
func (g *replayGen) sha() string {
	switch {
	case len(g.shas) > 0 && g.chance(0.8):
		sha := g.shas[g.r.IntN(len(g.shas))]
		if g.chance(0.2) {
			sha = strings.ToUpper(sha)
		}
		return sha
	case g.chance(0.5):
		return ScriptSHA([]byte(fmt.Sprint("never cached ", g.r.Int())))
	}
	return "abc"
}

func (g *replayGen) evalsha(name string) []string {
	return g.keysArgs([]string{name, g.sha()})
}

// hostile appends a probe from the hostile corpus as an EVAL, then the
// observers that read what it would have tainted.
func (g *replayGen) hostile() {
	p := replayHostile[g.r.IntN(len(replayHostile))]
	g.scripts++
	g.append(&Entry{Kind: KindCommands, Cmds: []Cmd{g.cmd(p.eval("log-" + strconv.FormatUint(g.at+1, 10)))}}, "hostile probe: "+p.name)
	for _, o := range g.observers() {
		g.scripts++
		g.append(&Entry{Kind: KindCommands, Cmds: []Cmd{g.cmd(o)}}, "observer")
	}
}

// observers returns one or two observer scripts as EVAL or EVAL_RO.
func (g *replayGen) observers() [][]string {
	out := [][]string{replayObserverEval("eval", g.key())}
	if g.chance(0.5) {
		out = append(out, replayObserverEval("eval_ro", g.key()))
	}
	return out
}

// replaySortedKeys returns m's keys in order.
func replaySortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// sortArgs makes a SORT: BY a constant, a pattern over the replay keys or
// none; GETs; LIMIT; ASC/DESC; ALPHA; and for SORT, sometimes STORE onto a
// key clients may wait on.
func (g *replayGen) sortArgs(name string, store bool) []string {
	args := []string{name, g.key()}
	if g.r.IntN(3) == 0 {
		args = append(args, "by", g.pick([]string{"nosort", "*", "s*", "#", "a*->f"}))
	}
	for n := g.r.IntN(3); n > 0; n-- {
		args = append(args, "get", g.pick([]string{"#", "*", "s*", "nostar"}))
	}
	if g.r.IntN(3) == 0 {
		args = append(args, "limit", g.index(), g.index())
	}
	if g.r.IntN(2) == 0 {
		args = append(args, g.pick([]string{"asc", "desc"}))
	}
	if g.r.IntN(2) == 0 {
		args = append(args, "alpha")
	}
	if store && g.r.IntN(2) == 0 {
		args = append(args, "store", g.key())
	}
	return args
}

// replayHostileLibraries try to keep state between FCALLs (an upvalue,
// a table an upvalue holds, the globals, the string metatable, the
// load-time redis table) or never finish loading: every node, warm or
// cold, restored or not, must answer each call the same (NAME is the
// function's name).
var replayHostileLibraries = []string{
	"local n = 0 redis.register_function('NAME', function(keys, args) n = n + 1 redis.call('set', keys[1], n) return n end)",
	"local t = {} redis.register_function('NAME', function(keys, args) t[#t+1] = args[1] or 'x' return {#t, t[1]} end)",
	"local r = redis redis.register_function('NAME', function(keys) pcall(function() getmetatable('').__index.x = 1 end) pcall(function() rawset(_G, 'y', 1) end) pcall(r.register_function, 'z', function() end) return redis.call('rpush', keys[1], tostring(rawget(_G, 'y')), tostring(('').x)) end)",
	"redis.register_function('NAME', function(keys) return math.random(1000) end)",
	"local s = '' redis.register_function{function_name='NAME', callback=function(keys) s = s .. 'x' return s end, flags={'no-writes'}}",
	"while true do end",
}

// replayLibNames and replayFuncNames are few, so libraries replace each
// other and their functions collide.
var (
	replayLibNames  = []string{"la", "lb", "lc"}
	replayFuncNames = []string{"fa", "fb", "fc", "fd", "FA"}
)

func (g *replayGen) functionName() string {
	if g.chance(0.05) {
		return "nosuch"
	}
	return g.pick(replayFuncNames)
}

// library is a FUNCTION LOAD code: a generated script as a function
// (KEYS and ARGV its parameters), or a hostile one.
func (g *replayGen) library() string {
	head := "#!lua name=" + g.pick(replayLibNames) + "\n"
	if g.chance(0.25) {
		return head + strings.ReplaceAll(g.pick(replayHostileLibraries), "NAME", g.functionName())
	}
	ro := g.chance(0.3)
	body := g.lua.script(ro)
	if strings.HasPrefix(body, "#!") {
		body = body[strings.IndexByte(body, '\n')+1:]
	}
	flags := ""
	if ro {
		flags = ", flags={'no-writes'}"
	}
	out := head
	for i := g.r.IntN(2); i >= 0; i-- {
		out += "redis.register_function{function_name='" + g.functionName() + "', callback=function(KEYS, ARGV)\n" + body + "end" + flags + "}\n"
	}
	return out
}

// function is a FUNCTION subcommand, good or bad.
func (g *replayGen) function() []string {
	switch g.r.IntN(12) {
	case 0, 1, 2, 3:
		args := []string{"function", "load"}
		if g.chance(0.5) {
			args = append(args, "REPLACE")
		}
		return append(args, g.library())
	case 4:
		return []string{"function", "delete", g.pick(replayLibNames)}
	case 5:
		return append([]string{"function", "flush"}, g.pick([]string{"", "ASYNC", "SYNC", "x"}))[:3-g.r.IntN(2)]
	case 6:
		return []string{"function", "list", "libraryname", g.pick([]string{"l*", "la", "*b*"}), "withcode"}[:2+g.r.IntN(4)]
	case 7:
		return []string{"function", g.pick([]string{"dump", "stats", "kill", "help", "nosuch"})}
	case 8:
		codes := []string{g.library()}
		if g.chance(0.3) {
			codes = append(codes, g.library())
		}
		return append([]string{"function", "restore", string(rdb.DumpFunctions(codes))}, g.pick([]string{"", "FLUSH", "APPEND", "REPLACE"}))[:3+g.r.IntN(2)]
	default:
		return []string{"function", "load", g.pick([]string{"#!lua name=la\nreturn 1 +", "#!lua\n", "#!lua name=lb\nredis.register_function('fa', function() return 1 end)", "return 1"})}
	}
}
