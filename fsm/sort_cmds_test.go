package fsm

import (
	"strconv"
	"strings"
	"testing"

	"github.com/raftlist/raftlist/fsm/resp"
)

// The replies below are redis-server 7.0.15's, taken by experiment.

var ksNull = resp.NullBulk

var ksSortCases = []ksCase{
	{name: "SORT reads its options before the key, answers WRONGTYPE for a string and nothing for a missing key", steps: []ksStep{
		ks(resp.OK, "set", "str", "x"),
		ks(resp.ErrSyntax, "sort", "str", "foo"),
		ks(resp.ErrWrongType, "sort", "str"),
		ks(resp.ErrSyntax, "sort", "nokey", "foo"),
		ks(resp.Array{}, "sort", "nokey"),
		ks(resp.Int(0), "sort", "nokey", "store", "str"),
		ks(resp.Int(0), "sort", "nokey", "store", ""),
		ks(resp.Status("none"), "type", "str"),
		ks(resp.ErrSyntax, "sort", "nokey", "limit", "0"),
		ks(resp.ErrSyntax, "sort", "nokey", "store"),
		ks(resp.ErrSyntax, "sort_ro", "nokey", "store", "d"),
		ks(resp.ErrNotInteger, "sort", "nokey", "limit", "x", "1"),
		ks(resp.ErrNotInteger, "sort", "nokey", "limit", "99999999999999999999", "1"),
	}},
	{name: "SORT orders numbers, ALPHA bytes, and refuses a score that is not a double", steps: []ksStep{
		ks(resp.Int(5), "rpush", "l", "3", "1", "2", "10", "b"),
		ks(resp.ErrSortScore, "sort", "l"),
		ks(resp.ErrSortScore, "sort", "l", "limit", "5", "2"),
		ks(ksBulks("1", "10", "2", "3", "b"), "sort", "l", "alpha"),
		ks(ksBulks("b", "3", "2", "10", "1"), "sort", "l", "alpha", "desc"),
		ks(ksBulks("3", "1", "2", "10", "b"), "sort", "l", "by", "nosort"),
		ks(ksBulks("b", "10", "2", "1", "3"), "sort", "l", "by", "nosort", "desc"),
		ks(ksBulks("1", "2"), "sort", "l", "by", "nosort", "limit", "1", "2"),
		ks(ksBulks("10", "2"), "sort", "l", "by", "nosort", "desc", "limit", "1", "2"),
		ks(ksBulks("1", "10"), "sort", "l", "alpha", "limit", "-5", "2"),
		ks(resp.Array{}, "sort", "l", "alpha", "limit", "10", "2"),
		ks(ksBulks("1", "10", "2", "3", "b"), "sort", "l", "alpha", "limit", "0", "-1"),
		ks(ksBulks("2", "3", "b"), "sort", "l", "alpha", "limit", "2", "9223372036854775807"),
		ks(resp.Array{}, "sort", "l", "alpha", "limit", "9223372036854775807", "9223372036854775807"),
		ks(resp.Int(10), "rpush", "sp", " 1", "0x10", "inf", "-Infinity", "+.5", "1.", "", "1e+2", "0x1p3", "0X1P-2"),
		ks(ksBulks("-Infinity", "", "0X1P-2", "+.5", " 1", "1.", "0x1p3", "0x10", "1e+2", "inf"), "sort", "sp"),
		ks(resp.Int(2), "rpush", "tiny", "1e-310", "2"),
		ks(resp.ErrSortScore, "sort", "tiny"),
		ks(resp.Int(3), "rpush", "ws", "\x00", "", "0"),
		ks(ksBulks("", "\x00", "0"), "sort", "ws"),
		ks(resp.Int(4), "rpush", "ws", "\r\n"),
		ks(resp.ErrSortScore, "sort", "ws", "limit", "2", "0"),
		ks(resp.Int(3), "rpush", "eq", "1.0", "1", "01"),
		ks(ksBulks("01", "1", "1.0"), "sort", "eq"),
	}},
	{name: "SORT BY and GET read string keys named by the pattern; hash fields and wrong types find nothing", steps: []ksStep{
		ks(resp.Int(3), "rpush", "ll", "c", "b", "a"),
		ks(ksBulks("c", "b", "a"), "sort", "ll", "by", "nosuch_*", "alpha"),
		ks(ksBulks("a", "b", "c"), "sort", "ll", "by", "nosuch_*"),
		ks(resp.Array{resp.BulkString("a"), ksNull, ksNull, ksNull, ksNull, resp.BulkString("b"), ksNull, ksNull, ksNull, ksNull, resp.BulkString("c"), ksNull, ksNull, ksNull, ksNull},
			"sort", "ll", "alpha", "get", "#", "get", "w_*", "get", "h_*->f", "get", "nostar", "get", "w_*->"),
		ks(resp.OK, "set", "w_a", "5"),
		ks(resp.OK, "set", "w_b", "3"),
		ks(resp.Int(1), "rpush", "w_c", "list"),
		// GET of a list-valued key finds nothing: nil.
		ks(resp.Array{resp.BulkString("a"), resp.BulkString("5"), resp.BulkString("b"), resp.BulkString("3"), resp.BulkString("c"), ksNull},
			"sort", "ll", "alpha", "get", "#", "get", "w_*"),
		ks(ksBulks("a", "b", "c"), "sort", "ll", "by", "w_*", "desc"),
		ks(ksBulks("c", "b", "a"), "sort", "ll", "by", "nosort", "by", "w_*"),
		ks(resp.Int(3), "sort", "ll", "alpha", "by", "w_*", "store", "dst"),
		ks(ksBulks("c", "b", "a"), "lrange", "dst", "0", "-1"),
		ks(resp.Int(6), "sort", "ll", "by", "w_*", "get", "w_*", "get", "#", "store", "dst2"),
		ks(ksBulks("", "c", "3", "b", "5", "a"), "lrange", "dst2", "0", "-1"),
	}},
}

var ksCopyCases = []ksCase{
	{name: "COPY checks its options, copies with the time to live, and REPLACE overwrites", steps: []ksStep{
		ks(resp.OK, "set", "a", "1"),
		ks(resp.ErrSameObject, "copy", "a", "a"),
		ks(resp.ErrSameObject, "copy", "a", "a", "db", "0"),
		ks(resp.ErrInvalidDB, "copy", "a", "b", "db", "16"),
		ks(resp.ErrNotInteger, "copy", "a", "b", "db", "x"),
		ks(resp.ErrNotInt32, "copy", "a", "b", "db", "4294967296"),
		ks(resp.ErrSyntax, "copy", "a", "b", "foo"),
		ks(resp.ErrSyntax, "copy", "a", "b", "replace", "db"),
		ks(resp.Int(0), "copy", "nokey", "b"),
		ks(resp.Int(1), "copy", "a", "b"),
		ks(resp.Int(0), "copy", "a", "b"),
		ks(resp.Int(1), "copy", "a", "b", "replace"),
		ks(resp.Int(1), "expire", "a", "100"),
		ks(resp.Int(1), "copy", "a", "c"),
		ks(resp.Int(100), "ttl", "c"),
		ks(resp.Int(1), "copy", "a", "a", "db", "1"),
		ksIn(1, resp.Int(100), "ttl", "a"),
		ks(resp.Int(2), "rpush", "l", "x", "y"),
		ks(resp.Int(1), "copy", "l", "l2", "db", "0", "db", "2"),
		ks(resp.Int(3), "rpush", "l", "z"),
		ksIn(2, ksBulks("x", "y"), "lrange", "l2", "0", "-1"),
	}},
	{name: "TOUCH counts present keys; RANDOMKEY answers nil on an empty database and a present key otherwise", steps: []ksStep{
		ks(ksNull, "randomkey"),
		ks(resp.OK, "set", "a", "1"),
		ks(resp.BulkString("a"), "randomkey"),
		ks(resp.Int(2), "touch", "a", "nokey", "a"),
	}},
	{name: "SWAPDB checks both indexes and swaps keys with their times to live", steps: []ksStep{
		ks(resp.ErrInvalidDB, "swapdb", "0", "16"),
		ks(resp.Error("ERR invalid second DB index"), "swapdb", "0", "x"),
		ks(resp.Error("ERR invalid first DB index"), "swapdb", "x", "0"),
		ks(resp.Error("ERR invalid first DB index"), "swapdb", "4294967296", "0"),
		ks(resp.ErrInvalidDB, "swapdb", "-1", "0"),
		ks(resp.OK, "swapdb", "0", "0"),
		ks(resp.OK, "setex", "a", "100", "v"),
		ks(resp.OK, "swapdb", "0", "1"),
		ks(ksNull, "get", "a"),
		ksIn(1, resp.Int(100), "ttl", "a"),
		ks(resp.OK, "swapdb", "1", "0"),
		ks(resp.BulkString("v"), "get", "a"),
	}},
	{name: "OBJECT answers encodings as Redis 7.0, a fixed idle time and no access frequency", steps: []ksStep{
		ks(resp.Int(2), "rpush", "l", "a", "b"),
		ks(resp.BulkString("quicklist"), "object", "encoding", "l"),
		ks(resp.Int(1), "object", "refcount", "l"),
		ks(resp.Int(0), "object", "idletime", "l"),
		ks(resp.ErrObjectNoLFU, "object", "freq", "l"),
		ks(ksNull, "object", "freq", "nokey"),
		ks(ksNull, "object", "encoding", "nokey"),
		ks(resp.OK, "set", "s", "123"),
		ks(resp.BulkString("int"), "object", "encoding", "s"),
		ks(resp.Int(2147483647), "object", "refcount", "s"),
		ks(resp.OK, "set", "s", "12345"),
		ks(resp.Int(1), "object", "refcount", "s"),
		ks(resp.OK, "set", "s", "01"),
		ks(resp.BulkString("embstr"), "object", "encoding", "s"),
		ks(resp.OK, "set", "s", "12345678901234567890"),
		ks(resp.BulkString("embstr"), "object", "encoding", "s"),
		ks(resp.OK, "set", "s", strings.Repeat("a", 45)),
		ks(resp.BulkString("raw"), "object", "encoding", "s"),
		ks(resp.Error("ERR unknown subcommand 'Foo'. Try OBJECT HELP."), "object", "Foo"),
		ks(resp.ErrWrongArity("object|encoding"), "object", "encoding"),
		ks(resp.ErrWrongArity("object|help"), "object", "help", "x"),
	}},
}

func TestSortCommand(t *testing.T)          { ksRun(t, ksSortCases) }
func TestKeyspaceCopyCommands(t *testing.T) { ksRun(t, ksCopyCases) }

func TestRandomKeyDependsOnTheIndexNotOnMapOrder(t *testing.T) {
	// Two states holding the same keys, filled in opposite orders, pick
	// the same key at each index; across indexes the pick moves.
	fill := func(order []int) *State {
		st := NewState()
		for _, i := range order {
			st.dbs[0].keys["k"+strconv.Itoa(i)] = &String{B: []byte("v")}
		}
		return st
	}
	var up, down []int
	for i := 0; i < 50; i++ {
		up, down = append(up, i), append([]int{i}, down...)
	}
	a, b := fill(up), fill(down)
	picks := map[string]bool{}
	for index := uint64(1); index <= 40; index++ {
		a.applied, b.applied = index, index
		ra := a.ReadAt(0, 0, ksArgv([]string{"randomkey"}))
		rb := b.ReadAt(0, 0, ksArgv([]string{"randomkey"}))
		if exp, got := ksRESP(ra), ksRESP(rb); exp != got {
			t.Fatalf("index %d: exp %s on both states, got %s", index, exp, got)
		}
		picks[ksRESP(ra)] = true
	}
	if len(picks) < 10 {
		t.Fatalf("exp RANDOMKEY to pick many keys over 40 indexes, got %d", len(picks))
	}
}

func TestSortRefusesUnboundedWork(t *testing.T) {
	n := ksNewNode(t)
	args := []string{"rpush", "l"}
	for i := 0; i < 1000; i++ {
		args = append(args, strconv.Itoa(i))
	}
	n.do(0, args...)
	sortArgs := []string{"sort", "l"}
	for i := 0; i < maxSortLookups/1000+1; i++ {
		sortArgs = append(sortArgs, "get", "k*")
	}
	if exp, got := ksRESP(resp.ErrSortTooMuchWork), ksRESP(n.do(0, sortArgs...)); exp != got {
		t.Fatalf("SORT with %d GETs of 1000 elements: exp %q, got %q", len(sortArgs)/2, exp, got)
	}
	// One big string named by every element: the GET bytes are bounded.
	n.do(0, "set", "big", strings.Repeat("x", MaxStringLen))
	n.do(0, "del", "l")
	args = []string{"rpush", "l"}
	for i := 0; i < 5; i++ {
		args = append(args, "")
	}
	n.do(0, args...)
	if exp, got := ksRESP(resp.ErrSortTooMuchWork), ksRESP(n.do(0, "sort", "l", "by", "nosort", "get", "big*", "store", "d")); exp != got {
		t.Fatalf("SORT STORE of 5 copies of a %d-byte string: exp %q, got %q", MaxStringLen, exp, got)
	}
	if exp, got := ksRESP(resp.Int(0)), ksRESP(n.do(0, "exists", "d")); exp != got {
		t.Fatalf("refused SORT STORE: exp nothing stored, got EXISTS %s", got)
	}
	// LIMIT bounds the rows, so the same GETs over fewer rows run.
	if exp, got := ksRESP(resp.Int(4)), ksRESP(n.do(0, "sort", "l", "by", "nosort", "limit", "0", "4", "get", "big*", "store", "d")); exp != got {
		t.Fatalf("SORT STORE of 4 copies: exp %q, got %q", exp, got)
	}
}
