package fsm

import (
	"fmt"
	"hash/fnv"
	"math/rand"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/raftlist/raftlist/fsm/resp"
)

// ksStep is one command, the database it runs in and the reply
// redis-server 7.0.15 gives to it. differs, when set, says why raftlist
// answers otherwise on purpose.
type ksStep struct {
	db      int
	args    []string
	exp     resp.Reply
	differs string
}

// ksCase is a named sequence of steps run on a fresh node.
type ksCase struct {
	name  string
	steps []ksStep
}

// ks builds a step in database 0.
func ks(exp resp.Reply, args ...string) ksStep { return ksStep{args: args, exp: exp} }

// ksIn builds a step in database db.
func ksIn(db int, exp resp.Reply, args ...string) ksStep { return ksStep{db: db, args: args, exp: exp} }

// ksBulks is an array of bulk strings.
func ksBulks(elems ...string) resp.Array {
	out := resp.Array{}
	for _, e := range elems {
		out = append(out, resp.BulkString(e))
	}
	return out
}

// ksNode answers commands the way a raftlist node does: Validate first
// (what it rejects never reaches the log), then a write through
// Machine.Apply as an encoded log entry, a read through Machine.View.
type ksNode struct {
	t     *testing.T
	m     *Machine
	index uint64
}

func ksNewNode(t *testing.T) *ksNode { return &ksNode{t: t, m: NewMachine()} }

// do runs one command in database db and returns its reply.
func (n *ksNode) do(db int, args ...string) resp.Reply {
	n.t.Helper()
	argv := ksArgv(args)
	before := n.digest()
	cmd, err := Validate(argv)
	if err != nil {
		// Rejected before proposal. Had it been committed anyway, applying
		// it must give the same error and change nothing.
		if exp, got := ksRESP(asError(err)), ksRESP(n.apply(db, argv)); exp != got {
			n.t.Fatalf("%q applied after Validate refused it: exp %q, got %q", args, exp, got)
		}
		if exp, got := before, n.digest(); exp != got {
			n.t.Fatalf("%q changed the state although Validate refused it: exp digest %s, got %s", args, exp, got)
		}
		return asError(err)
	}
	if cmd.Flags&resp.Write != 0 {
		return n.apply(db, argv)
	}
	var r resp.Reply
	if err := n.m.View(func(s *State) { r = s.Read(db, argv) }); err != nil {
		n.t.Fatalf("view: %v", err)
	}
	if exp, got := before, n.digest(); exp != got {
		n.t.Fatalf("read-only %q changed the state: exp digest %s, got %s", args, exp, got)
	}
	return r
}

// apply proposes argv as the next log entry and returns its reply.
func (n *ksNode) apply(db int, argv [][]byte) resp.Reply {
	n.t.Helper()
	n.index++
	e := &Entry{Kind: KindCommands, TimeMs: 1_700_000_000_000,
		Cmds: []Cmd{{DB: db, Owner: "ks-node", Seq: n.index, Args: argv}}}
	res, ok := n.m.Apply(ksMakeLog(n.index, 1, e)).(*Result)
	if !ok || len(res.Replies) != 1 {
		n.t.Fatalf("apply %q: exp one reply, got %#v", argv, res)
	}
	return res.Replies[0]
}

func (n *ksNode) digest() string {
	var d string
	if err := n.m.View(func(s *State) { d = s.Digest() }); err != nil {
		n.t.Fatalf("view: %v", err)
	}
	return d
}

// ksRun runs each case's steps on a fresh node and checks every reply.
func ksRun(t *testing.T, cases []ksCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n := ksNewNode(t)
			for i, st := range tc.steps {
				got := n.do(st.db, st.args...)
				if exp, got := ksRESP(st.exp), ksRESP(got); exp != got {
					t.Fatalf("step %d %q in db %d: exp %q, got %q", i, st.args, st.db, exp, got)
				}
			}
		})
	}
}

func ksArgv(args []string) [][]byte {
	argv := make([][]byte, len(args))
	for i, a := range args {
		argv[i] = []byte(a)
	}
	return argv
}

// ksRESP renders a reply as its wire form, the form clients compare.
func ksRESP(r resp.Reply) string { return string(resp.AppendRESP(nil, r)) }

// ksScanOrder sorts keys into SCAN order: by scanHash, ties by bytes.
func ksScanOrder(keys ...string) []string {
	out := slices.Clone(keys)
	slices.SortFunc(out, func(a, b string) int {
		return scanItem{scanHash(a), a}.compare(scanItem{scanHash(b), b})
	})
	return out
}

// ksScanAll is the reply of a SCAN that returns keys and ends.
func ksScanAll(keys ...string) resp.Reply {
	return resp.Array{resp.BulkString("0"), ksBulks(ksScanOrder(keys...)...)}
}

var ksWrongType = resp.Error("WRONGTYPE Operation against a key holding the wrong kind of value")

var ksKeyspaceCases = []ksCase{
	{"DEL removes the keys that exist and counts each once", []ksStep{
		ks(resp.Int(2), "RPUSH", "l", "a", "b"),
		ks(resp.OK, "SET", "s", "v"),
		ks(resp.Int(2), "DEL", "l", "s", "nope", "l"),
		ks(resp.Int(0), "EXISTS", "l", "s"),
		ks(resp.Int(0), "DBSIZE"),
	}},
	{"DEL of missing keys answers zero", []ksStep{
		ks(resp.Int(0), "DEL", "nope"),
	}},
	{"DEL is binary safe in key names", []ksStep{
		ks(resp.OK, "SET", "a\x00b\r\n", "v"),
		ks(resp.Int(0), "DEL", "a"),
		ks(resp.Int(1), "DEL", "a\x00b\r\n"),
	}},
	{"DEL and UNLINK need at least one key", []ksStep{
		ks(resp.Error("ERR wrong number of arguments for 'del' command"), "DEL"),
		ks(resp.Error("ERR wrong number of arguments for 'unlink' command"), "UNLINK"),
	}},
	{"UNLINK behaves as DEL", []ksStep{
		ks(resp.Int(1), "LPUSH", "l", "a"),
		ks(resp.OK, "SET", "s", "v"),
		ks(resp.Int(2), "UNLINK", "s", "l", "l", "nope"),
		ks(resp.Int(0), "DBSIZE"),
	}},
	{"EXISTS counts a key named twice twice", []ksStep{
		ks(resp.Int(1), "RPUSH", "l", "a"),
		ks(resp.OK, "SET", "s", "v"),
		ks(resp.Int(4), "EXISTS", "s", "s", "s", "nope", "l"),
		ks(resp.Int(0), "EXISTS", "nope"),
	}},
	{"EXISTS needs at least one key", []ksStep{
		ks(resp.Error("ERR wrong number of arguments for 'exists' command"), "EXISTS"),
	}},
	{"TYPE names list, string and none", []ksStep{
		ks(resp.Int(1), "RPUSH", "l", "a"),
		ks(resp.OK, "SET", "s", "v"),
		ks(resp.Status("list"), "TYPE", "l"),
		ks(resp.Status("string"), "TYPE", "s"),
		ks(resp.Status("none"), "TYPE", "nope"),
		ks(resp.Status("none"), "type", "L"),
	}},
	{"TYPE takes exactly one key", []ksStep{
		ks(resp.Error("ERR wrong number of arguments for 'type' command"), "TYPE"),
		ks(resp.Error("ERR wrong number of arguments for 'type' command"), "TYPE", "a", "b"),
	}},
	{"KEYS * returns every key of the database in byte order, even the empty one", []ksStep{
		ks(resp.OK, "SET", "b", "1"),
		ks(resp.Int(1), "RPUSH", "a", "1"),
		ks(resp.OK, "SET", "", "1"),
		ks(resp.OK, "SET", "\xff", "1"),
		ks(resp.OK, "SET", "\x00", "1"),
		ksIn(1, resp.OK, "SET", "other-db", "1"),
		{args: []string{"KEYS", "*"}, exp: ksBulks("", "\x00", "a", "b", "\xff"),
			differs: "Redis answers in hash-table order"},
	}},
	{"KEYS with a pattern returns the matching keys", []ksStep{
		ks(resp.OK, "SET", "hello", "1"),
		ks(resp.OK, "SET", "hallo", "1"),
		ks(resp.OK, "SET", "hxllo", "1"),
		ks(resp.OK, "SET", "hllo", "1"),
		ks(resp.OK, "SET", "heeeello", "1"),
		ks(resp.OK, "SET", "h*llo", "1"),
		ks(ksBulks("h*llo", "hallo", "hello", "hxllo"), "KEYS", "h?llo"),
		ks(ksBulks("h*llo", "hallo", "heeeello", "hello", "hllo", "hxllo"), "KEYS", "h*llo"),
		ks(ksBulks("hallo", "hello"), "KEYS", "h[ae]llo"),
		ks(ksBulks("h*llo", "hxllo"), "KEYS", "h[^ae]llo"),
		ks(ksBulks("hallo", "hello"), "KEYS", "h[a-e]llo"),
		ks(ksBulks("h*llo"), "KEYS", "h\\*llo"),
		ks(ksBulks(), "KEYS", "nomatch*"),
	}},
	{"KEYS ** does not match the empty key but the empty pattern does", []ksStep{
		ks(resp.OK, "SET", "", "1"),
		ks(resp.OK, "SET", "c", "1"),
		ks(ksBulks("c"), "KEYS", "**"),
		ks(ksBulks("c"), "KEYS", "?"),
		ks(ksBulks(""), "KEYS", ""),
	}},
	{"KEYS on an empty database is an empty array", []ksStep{
		ks(ksBulks(), "KEYS", "*"),
	}},
	{"KEYS takes exactly one pattern", []ksStep{
		ks(resp.Error("ERR wrong number of arguments for 'keys' command"), "KEYS"),
		ks(resp.Error("ERR wrong number of arguments for 'keys' command"), "KEYS", "a", "b"),
	}},
	{"RENAME moves the value and overwrites a key of any type", []ksStep{
		ks(resp.Int(2), "RPUSH", "a", "1", "2"),
		ks(resp.OK, "SET", "b", "x"),
		ks(resp.OK, "RENAME", "a", "b"),
		ks(resp.Status("list"), "TYPE", "b"),
		ks(ksBulks("1", "2"), "LRANGE", "b", "0", "-1"),
		ks(resp.Int(0), "EXISTS", "a"),
		ks(resp.Int(1), "DBSIZE"),
	}},
	{"RENAME of a missing key is an error, even onto itself", []ksStep{
		ks(resp.Error("ERR no such key"), "RENAME", "a", "b"),
		ks(resp.Error("ERR no such key"), "RENAME", "a", "a"),
		ks(resp.Error("ERR no such key"), "RENAMENX", "a", "b"),
		ks(resp.Error("ERR no such key"), "RENAMENX", "a", "a"),
		ks(resp.Int(0), "DBSIZE"),
	}},
	{"RENAME of a key onto itself leaves it alone", []ksStep{
		ks(resp.OK, "SET", "a", "v"),
		ks(resp.OK, "RENAME", "a", "a"),
		ks(resp.BulkString("v"), "GET", "a"),
		ks(resp.Int(0), "RENAMENX", "a", "a"),
		ks(resp.BulkString("v"), "GET", "a"),
	}},
	{"RENAMENX renames only onto a missing key", []ksStep{
		ks(resp.Int(1), "RPUSH", "a", "1"),
		ks(resp.OK, "SET", "b", "x"),
		ks(resp.Int(0), "RENAMENX", "a", "b"),
		ks(resp.BulkString("x"), "GET", "b"),
		ks(resp.Int(1), "RENAMENX", "a", "c"),
		ks(resp.Status("list"), "TYPE", "c"),
		ks(resp.Int(0), "EXISTS", "a"),
		ks(resp.Error("ERR no such key"), "RENAMENX", "a", "c"),
	}},
	{"RENAME stays in the selected database", []ksStep{
		ksIn(3, resp.OK, "SET", "a", "v"),
		ksIn(3, resp.OK, "RENAME", "a", "b"),
		ksIn(3, resp.BulkString("v"), "GET", "b"),
		ksIn(0, resp.Int(0), "EXISTS", "a", "b"),
	}},
	{"RENAME and RENAMENX take exactly two keys", []ksStep{
		ks(resp.Error("ERR wrong number of arguments for 'rename' command"), "RENAME", "a"),
		ks(resp.Error("ERR wrong number of arguments for 'rename' command"), "RENAME", "a", "b", "c"),
		ks(resp.Error("ERR wrong number of arguments for 'renamenx' command"), "RENAMENX", "a"),
		ks(resp.Error("ERR wrong number of arguments for 'renamenx' command"), "RENAMENX", "a", "b", "c"),
	}},
	{"DBSIZE counts the keys of the selected database only", []ksStep{
		ks(resp.Int(0), "DBSIZE"),
		ks(resp.OK, "SET", "a", "1"),
		ks(resp.Int(1), "RPUSH", "b", "1"),
		ksIn(15, resp.OK, "SET", "c", "1"),
		ks(resp.Int(2), "DBSIZE"),
		ksIn(15, resp.Int(1), "DBSIZE"),
		ksIn(7, resp.Int(0), "DBSIZE"),
	}},
	{"DBSIZE takes no argument", []ksStep{
		ks(resp.Error("ERR wrong number of arguments for 'dbsize' command"), "DBSIZE", "x"),
	}},
	{"FLUSHDB empties the selected database only", []ksStep{
		ks(resp.OK, "SET", "a", "1"),
		ks(resp.Int(1), "RPUSH", "b", "1"),
		ksIn(1, resp.OK, "SET", "a", "1"),
		ks(resp.OK, "FLUSHDB"),
		ks(resp.Int(0), "DBSIZE"),
		ksIn(1, resp.Int(1), "DBSIZE"),
		ks(resp.OK, "FLUSHDB"),
	}},
	{"FLUSHDB takes ASYNC or SYNC in any case", []ksStep{
		ks(resp.OK, "SET", "a", "1"),
		ks(resp.OK, "FLUSHDB", "ASYNC"),
		ks(resp.Int(0), "DBSIZE"),
		ks(resp.OK, "SET", "a", "1"),
		ks(resp.OK, "FLUSHDB", "sYnC"),
		ks(resp.Int(0), "DBSIZE"),
		ks(resp.OK, "SET", "a", "1"),
		ks(resp.OK, "FLUSHDB", "sync\x00junk"), // Redis reads options as C strings
		ks(resp.Int(0), "DBSIZE"),
	}},
	{"FLUSHDB with another argument is a syntax error and flushes nothing", []ksStep{
		ks(resp.OK, "SET", "a", "1"),
		ks(resp.Error("ERR syntax error"), "FLUSHDB", "now"),
		ks(resp.Error("ERR syntax error"), "FLUSHDB", "sync", "async"),
		ks(resp.Error("ERR syntax error"), "FLUSHDB", "syncx"),
		ks(resp.Error("ERR syntax error"), "FLUSHDB", ""),
		ks(resp.Int(1), "DBSIZE"),
	}},
	{"FLUSHALL empties every database", []ksStep{
		ks(resp.OK, "SET", "a", "1"),
		ksIn(1, resp.Int(1), "RPUSH", "b", "1"),
		ksIn(15, resp.OK, "SET", "c", "1"),
		ksIn(7, resp.OK, "FLUSHALL", "async"),
		ks(resp.Int(0), "DBSIZE"),
		ksIn(1, resp.Int(0), "DBSIZE"),
		ksIn(15, resp.Int(0), "DBSIZE"),
		ksIn(15, resp.OK, "SET", "c", "1"),
		ks(resp.OK, "FLUSHALL", "SYNC"),
		ksIn(15, resp.Int(0), "DBSIZE"),
		ks(resp.OK, "FLUSHALL"),
	}},
	{"FLUSHALL with another argument is a syntax error and flushes nothing", []ksStep{
		ks(resp.OK, "SET", "a", "1"),
		ks(resp.Error("ERR syntax error"), "FLUSHALL", "x"),
		ks(resp.Error("ERR syntax error"), "FLUSHALL", "async", "x"),
		ks(resp.Int(1), "DBSIZE"),
	}},
	{"keyspace commands are case-insensitive", []ksStep{
		ks(resp.OK, "SET", "a", "1"),
		ks(resp.Int(1), "eXiStS", "a"),
		ks(resp.Status("string"), "Type", "a"),
		ks(ksBulks("a"), "keys", "*"),
		ks(resp.Int(1), "DbSize"),
		ks(resp.OK, "Rename", "a", "b"),
		ks(resp.Int(1), "del", "b"),
	}},
}

var ksScanCases = []ksCase{
	{"SCAN 0 with a large COUNT returns every key and cursor 0", []ksStep{
		ks(resp.OK, "SET", "a", "1"),
		ks(resp.Int(1), "RPUSH", "b", "1"),
		ks(resp.OK, "SET", "", "1"),
		ks(ksScanAll("a", "b", ""), "SCAN", "0", "COUNT", "100"),
	}},
	{"SCAN on an empty database ends at once", []ksStep{
		ks(ksScanAll(), "SCAN", "0"),
		ks(ksScanAll(), "SCAN", "0", "MATCH", "*", "COUNT", "5", "TYPE", "list"),
	}},
	{"SCAN MATCH filters by pattern, and the pattern * matches even the empty key", []ksStep{
		ks(resp.OK, "SET", "", "1"),
		ks(resp.OK, "SET", "c", "1"),
		ks(resp.OK, "SET", "ab", "1"),
		ks(ksScanAll("", "c", "ab"), "SCAN", "0", "MATCH", "*"),
		ks(ksScanAll("c", "ab"), "SCAN", "0", "MATCH", "**"),
		ks(ksScanAll("ab"), "SCAN", "0", "match", "a*"),
		ks(ksScanAll(), "SCAN", "0", "MATCH", "zz*"),
	}},
	{"SCAN TYPE filters by type name, ignoring case", []ksStep{
		ks(resp.Int(1), "RPUSH", "l", "a"),
		ks(resp.OK, "SET", "s", "v"),
		ks(ksScanAll("l"), "SCAN", "0", "TYPE", "LIST"),
		ks(ksScanAll("s"), "SCAN", "0", "type", "string"),
		ks(ksScanAll("l"), "SCAN", "0", "TYPE", "list\x00zz"), // a C string
		ks(ksScanAll(), "SCAN", "0", "TYPE", "hash"),
		ks(ksScanAll(), "SCAN", "0", "TYPE", "nosuchtype"),
		ks(ksScanAll("s"), "SCAN", "0", "TYPE", "list", "TYPE", "string"),
	}},
	{"SCAN combines MATCH and TYPE", []ksStep{
		ks(resp.Int(1), "RPUSH", "la", "a"),
		ks(resp.Int(1), "RPUSH", "lb", "a"),
		ks(resp.OK, "SET", "sa", "v"),
		ks(ksScanAll("la"), "SCAN", "0", "MATCH", "*a", "TYPE", "list", "COUNT", "1000"),
	}},
	{"SCAN sees the selected database only", []ksStep{
		ksIn(2, resp.OK, "SET", "a", "1"),
		ksIn(3, resp.OK, "SET", "b", "1"),
		ksIn(2, ksScanAll("a"), "SCAN", "0"),
		ksIn(3, ksScanAll("b"), "SCAN", "0"),
	}},
	{"SCAN accepts every cursor strtoul accepts", []ksStep{
		ks(resp.OK, "SET", "a", "1"),
		ks(ksScanAll("a"), "SCAN", ""),
		ks(ksScanAll("a"), "SCAN", "+0"),
		ks(ksScanAll("a"), "SCAN", "-0"),
		ks(ksScanAll("a"), "SCAN", "000"),
		ks(ksScanAll("a"), "SCAN", "0\x00abc"),
		{args: []string{"SCAN", "18446744073709551615"}, exp: ksScanAll(),
			differs: "the cursor means a hash position, past every key"},
		{args: []string{"SCAN", "-1"}, exp: ksScanAll(),
			differs: "the cursor means a hash position, past every key"},
		{args: []string{"SCAN", "-18446744073709551615"}, exp: ksScanAll("a"),
			differs: "the cursor means a hash position"},
	}},
	{"SCAN refuses a cursor that is not an unsigned 64-bit number", []ksStep{
		ks(resp.Error("ERR invalid cursor"), "SCAN", "x"),
		ks(resp.Error("ERR invalid cursor"), "SCAN", " 1"),
		ks(resp.Error("ERR invalid cursor"), "SCAN", "\t1"),
		ks(resp.Error("ERR invalid cursor"), "SCAN", "1 "),
		ks(resp.Error("ERR invalid cursor"), "SCAN", "+"),
		ks(resp.Error("ERR invalid cursor"), "SCAN", "-"),
		ks(resp.Error("ERR invalid cursor"), "SCAN", "0x10"),
		ks(resp.Error("ERR invalid cursor"), "SCAN", "1.5"),
		ks(resp.Error("ERR invalid cursor"), "SCAN", "18446744073709551616"),
		ks(resp.Error("ERR invalid cursor"), "SCAN", "-18446744073709551616"),
		ks(resp.Error("ERR invalid cursor"), "SCAN", "99999999999999999999999"),
	}},
	{"SCAN checks the cursor before the options", []ksStep{
		ks(resp.Error("ERR invalid cursor"), "SCAN", "x", "COUNT", "0"),
		ks(resp.Error("ERR invalid cursor"), "SCAN", "x", "BOGUS"),
	}},
	{"SCAN COUNT must be a positive integer", []ksStep{
		ks(resp.Error("ERR syntax error"), "SCAN", "0", "COUNT", "0"),
		ks(resp.Error("ERR syntax error"), "SCAN", "0", "COUNT", "-1"),
		ks(resp.Error("ERR value is not an integer or out of range"), "SCAN", "0", "COUNT", "abc"),
		ks(resp.Error("ERR value is not an integer or out of range"), "SCAN", "0", "COUNT", "1.0"),
		ks(resp.Error("ERR value is not an integer or out of range"), "SCAN", "0", "COUNT", "9223372036854775808"),
		ks(ksScanAll(), "SCAN", "0", "COUNT", "9223372036854775807"),
	}},
	{"SCAN answers the first bad option's error", []ksStep{
		ks(resp.Error("ERR syntax error"), "SCAN", "0", "COUNT", "5", "COUNT", "0"),
		ks(resp.Error("ERR value is not an integer or out of range"), "SCAN", "0", "COUNT", "1", "COUNT", "x"),
		ks(resp.Error("ERR value is not an integer or out of range"), "SCAN", "0", "COUNT", "x", "BOGUS"),
		ks(resp.Error("ERR syntax error"), "SCAN", "0", "BOGUS", "COUNT", "x"),
	}},
	{"SCAN options need their value", []ksStep{
		ks(resp.Error("ERR syntax error"), "SCAN", "0", "COUNT"),
		ks(resp.Error("ERR syntax error"), "SCAN", "0", "MATCH"),
		ks(resp.Error("ERR syntax error"), "SCAN", "0", "TYPE"),
		ks(resp.Error("ERR syntax error"), "SCAN", "0", "MATCH", "*", "COUNT"),
		ks(resp.Error("ERR syntax error"), "SCAN", "0", "foo", "bar"),
	}},
	{"SCAN options are read as C strings", []ksStep{
		ks(resp.OK, "SET", "a", "1"),
		ks(ksScanAll("a"), "SCAN", "0", "count\x00", "5"),
	}},
	{"SCAN needs a cursor", []ksStep{
		ks(resp.Error("ERR wrong number of arguments for 'scan' command"), "SCAN"),
	}},
}

func TestKeyspaceCommands(t *testing.T) { ksRun(t, ksKeyspaceCases) }

func TestScanCommand(t *testing.T) { ksRun(t, ksScanCases) }

// ksScanLoop runs a full SCAN iteration with the given COUNT, calling
// between (if not nil) before every call, and returns each key with how
// often it was returned and how many calls it took.
func ksScanLoop(t *testing.T, n *ksNode, count int, between func(call int)) (map[string]int, int) {
	t.Helper()
	seen := map[string]int{}
	cursor := "0"
	for call := 0; ; call++ {
		if call > 100000 {
			t.Fatalf("SCAN did not end")
		}
		if between != nil {
			between(call)
		}
		r, ok := n.do(0, "SCAN", cursor, "COUNT", strconv.Itoa(count)).(resp.Array)
		if !ok || len(r) != 2 {
			t.Fatalf("exp a two-element array, got %q", ksRESP(r))
		}
		for _, k := range r[1].(resp.Array) {
			seen[string(k.(resp.Bulk))]++
		}
		cursor = string(r[0].(resp.Bulk))
		if cursor == "0" {
			return seen, call + 1
		}
	}
}

func TestScanIteration(t *testing.T) {
	t.Run("a full iteration returns every key exactly once whatever the COUNT", func(t *testing.T) {
		n := ksNewNode(t)
		for i := 0; i < 200; i++ {
			n.do(0, "SET", fmt.Sprintf("key:%d", i), "v")
		}
		for _, count := range []int{1, 2, 7, 10, 199, 200, 1000} {
			seen, calls := ksScanLoop(t, n, count, nil)
			if exp, got := 200, len(seen); exp != got {
				t.Fatalf("COUNT %d: exp %d keys, got %d", count, exp, got)
			}
			for k, times := range seen {
				if times != 1 {
					t.Fatalf("COUNT %d: exp %q once, got %d times", count, k, times)
				}
			}
			if exp, got := (200+count-1)/count, calls; exp != got {
				t.Fatalf("COUNT %d: exp %d calls, got %d", count, exp, got)
			}
		}
	})
	t.Run("each call returns the next keys in hash order and the cursor after the last", func(t *testing.T) {
		n := ksNewNode(t)
		var all []string
		for i := 0; i < 30; i++ {
			k := fmt.Sprintf("k%d", i)
			all = append(all, k)
			n.do(0, "RPUSH", k, "x")
		}
		order := ksScanOrder(all...)
		cursor := "0"
		for i := 0; i < len(order); i += 4 {
			end := min(i+4, len(order))
			next := strconv.FormatUint(scanHash(order[end-1])+1, 10)
			if end == len(order) {
				next = "0"
			}
			exp := resp.Array{resp.BulkString(next), ksBulks(order[i:end]...)}
			if exp, got := ksRESP(exp), ksRESP(n.do(0, "SCAN", cursor, "COUNT", "4")); exp != got {
				t.Fatalf("SCAN %s COUNT 4: exp %q, got %q", cursor, exp, got)
			}
			cursor = next
		}
	})
	t.Run("COUNT counts keys looked at, so a filtered call may return none and go on", func(t *testing.T) {
		n := ksNewNode(t)
		for i := 0; i < 20; i++ {
			n.do(0, "SET", fmt.Sprintf("s%d", i), "v")
		}
		n.do(0, "RPUSH", "the-list", "x")
		calls, empty, lists := 0, 0, 0
		for cursor := "0"; ; calls++ {
			r := n.do(0, "SCAN", cursor, "COUNT", "1", "TYPE", "list").(resp.Array)
			keys := r[1].(resp.Array)
			lists += len(keys)
			if len(keys) == 0 {
				empty++
			}
			if cursor = string(r[0].(resp.Bulk)); cursor == "0" {
				break
			}
		}
		if exp, got := 1, lists; exp != got {
			t.Fatalf("exp %d list key, got %d", exp, got)
		}
		if exp, got := 20, empty; exp != got {
			t.Fatalf("exp %d calls with no key, got %d", exp, got)
		}
	})
	t.Run("a key present for the whole iteration is returned once while others come and go", func(t *testing.T) {
		rng := rand.New(rand.NewSource(7))
		n := ksNewNode(t)
		var stable []string
		for i := 0; i < 100; i++ {
			k := fmt.Sprintf("stable:%d", i)
			stable = append(stable, k)
			n.do(0, "SET", k, "v")
		}
		seen, _ := ksScanLoop(t, n, 3, func(call int) {
			for j := 0; j < 5; j++ {
				k := fmt.Sprintf("churn:%d", rng.Intn(200))
				if rng.Intn(2) == 0 {
					n.do(0, "SET", k, "v")
				} else {
					n.do(0, "DEL", k)
				}
			}
		})
		for _, k := range stable {
			if exp, got := 1, seen[k]; exp != got {
				t.Fatalf("exp %q returned %d time, got %d", k, exp, got)
			}
		}
		for k, times := range seen {
			if times > 1 {
				t.Fatalf("exp %q returned at most once, got %d times", k, times)
			}
		}
	})
}

func TestScanBatch(t *testing.T) {
	items := []scanItem{{9, "e"}, {5, "b"}, {7, "c"}, {5, "a"}, {9, "d"}, {9, "f"}, {12, "g"}}
	name := func(b []scanItem) string {
		var s []string
		for _, it := range b {
			s = append(s, fmt.Sprintf("%d:%s", it.hash, it.key))
		}
		return strings.Join(s, " ")
	}
	for _, tc := range []struct {
		name   string
		cursor uint64
		count  int64
		exp    string
		next   uint64
	}{
		{"keys sharing a hash go out together even past COUNT", 0, 1, "5:a 5:b", 6},
		{"a call starts at the cursor", 6, 1, "7:c", 8},
		{"the last hash's whole group is returned", 6, 2, "7:c 9:d 9:e 9:f", 10},
		{"the cursor is 0 when nothing is left", 10, 1, "12:g", 0},
		{"a COUNT past the end returns the rest and ends", 0, 100, "5:a 5:b 7:c 9:d 9:e 9:f 12:g", 0},
		{"a cursor inside a gap resumes at the next hash", 8, 3, "9:d 9:e 9:f", 10},
		{"a cursor past every hash returns nothing and ends", 13, 10, "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			batch, next := scanBatch(slices.Values(items), tc.cursor, tc.count)
			if exp, got := tc.exp, name(batch); exp != got {
				t.Fatalf("exp %q, got %q", exp, got)
			}
			if exp, got := tc.next, next; exp != got {
				t.Fatalf("exp next cursor %d, got %d", exp, got)
			}
		})
	}
}

func TestScanHash(t *testing.T) {
	t.Run("the hash is FNV-1a 64 with the top bit cleared", func(t *testing.T) {
		for _, k := range []string{"", "a", "foobar", "\x00\xff", strings.Repeat("x", 1000)} {
			h := fnv.New64a()
			h.Write([]byte(k))
			if exp, got := h.Sum64()&(1<<63-1), scanHash(k); exp != got {
				t.Fatalf("%q: exp %d, got %d", k, exp, got)
			}
		}
	})
	t.Run("the hash of a known key is fixed forever", func(t *testing.T) {
		// Changing the hash would change every SCAN reply and cursor.
		if exp, got := uint64(0x0d004ddbbf516dba), scanHash("raftlist"); exp != got {
			t.Fatalf("exp %#x, got %#x", exp, got)
		}
	})
}

func TestParseScanCursor(t *testing.T) {
	for _, tc := range []struct {
		in  string
		exp uint64
		ok  bool
	}{
		{"0", 0, true}, {"", 0, true}, {"42", 42, true}, {"007", 7, true}, {"+5", 5, true},
		{"-0", 0, true}, {"-1", 1<<64 - 1, true}, {"18446744073709551615", 1<<64 - 1, true},
		{"-18446744073709551615", 1, true}, {"12\x00junk", 12, true}, {"\x00", 0, true},
		{"18446744073709551616", 0, false}, {"-18446744073709551616", 0, false},
		{" 1", 0, false}, {"\n1", 0, false}, {"1 ", 0, false}, {"+", 0, false}, {"-", 0, false},
		{"+-1", 0, false}, {"0x1", 0, false}, {"1e3", 0, false}, {"abc", 0, false},
	} {
		t.Run(fmt.Sprintf("cursor %q", tc.in), func(t *testing.T) {
			got, ok := parseScanCursor([]byte(tc.in))
			if exp, got := tc.ok, ok; exp != got {
				t.Fatalf("exp ok %v, got %v", exp, got)
			}
			if exp := tc.exp; exp != got {
				t.Fatalf("exp %d, got %d", exp, got)
			}
		})
	}
}

func TestKeyspaceCommandSpecs(t *testing.T) {
	// What redis-server 7.0.15's COMMAND INFO says, for the flags raftlist has.
	for _, tc := range []struct {
		name                       string
		arity                      int
		flags                      resp.Flags
		firstKey, lastKey, keyStep int
	}{
		{"del", -2, resp.Write, 1, -1, 1},
		{"unlink", -2, resp.Write | resp.Fast, 1, -1, 1},
		{"exists", -2, resp.ReadOnly | resp.Fast, 1, -1, 1},
		{"type", 2, resp.ReadOnly | resp.Fast, 1, 1, 1},
		{"keys", 2, resp.ReadOnly, 0, 0, 0},
		{"scan", -2, resp.ReadOnly, 0, 0, 0},
		{"rename", 3, resp.Write, 1, 2, 1},
		{"renamenx", 3, resp.Write | resp.Fast, 1, 2, 1},
		{"dbsize", 1, resp.ReadOnly | resp.Fast, 0, 0, 0},
		{"flushdb", -1, resp.Write, 0, 0, 0},
		{"flushall", -1, resp.Write, 0, 0, 0},
		{"get", 2, resp.ReadOnly | resp.Fast, 1, 1, 1},
		{"set", -3, resp.Write | resp.DenyOOM, 1, 1, 1},
	} {
		t.Run(tc.name+" declares Redis's arity, flags and key positions", func(t *testing.T) {
			c := Lookup([]byte(tc.name))
			if c == nil {
				t.Fatalf("exp command %s, got none", tc.name)
			}
			exp := fmt.Sprint(tc.arity, tc.flags, tc.firstKey, tc.lastKey, tc.keyStep)
			got := fmt.Sprint(c.Arity, c.Flags, c.FirstKey, c.LastKey, c.KeyStep)
			if exp != got {
				t.Fatalf("exp %s, got %s", exp, got)
			}
		})
	}
}
