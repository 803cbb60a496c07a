package fsm

import (
	"math/rand"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/raftlist/raftlist/fsm/resp"
)

// Every expected reply and error text below was checked against
// redis-server 7.0.15.

// listCase runs one command against a small keyspace in database 0.
type listCase struct {
	name string
	// given is the keyspace before the command, in listDump's form:
	// `l=[a b c] s="x"`; lists are written as key=[elements], strings as
	// key="value".
	given string
	args  []string
	want  resp.Reply
	// early means the command is rejected before proposal: Validate must
	// answer want. Otherwise Validate must accept the command.
	early bool
	// after is the keyspace after the command: "" when it is unchanged,
	// "(empty)" when no key is left.
	after string
}

// listRunCases runs each case as a t.Run sub-test.
func listRunCases(t *testing.T, cases []listCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := listState(t, tc.given)
			args := listBytes(tc.args)
			cmd, verr := Validate(args)
			switch {
			case tc.early && verr == nil:
				t.Fatalf("Validate: exp rejection %q, got acceptance", listWire(tc.want))
			case tc.early:
				if exp, got := listWire(tc.want), listWire(asError(verr)); exp != got {
					t.Fatalf("Validate: exp %q, got %q", exp, got)
				}
			case verr != nil:
				t.Fatalf("Validate: exp acceptance, got %q", verr)
			}
			got := listRun(st, 0, tc.args...)
			if exp, got := listWire(tc.want), listWire(got); exp != got {
				t.Fatalf("reply: exp %q, got %q", exp, got)
			}
			after := tc.after
			if after == "" || (cmd != nil && cmd.Flags&resp.ReadOnly != 0) {
				after = listDump(listState(t, tc.given))
			}
			if exp, got := after, listDump(st); exp != got {
				t.Fatalf("keyspace: exp %s, got %s", exp, got)
			}
		})
	}
}

// listRun applies args as a one-command log entry in database db, as every
// node would, and returns the command's reply.
func listRun(st *State, db int, args ...string) resp.Reply {
	e := &Entry{Kind: KindCommands, Cmds: []Cmd{{DB: db, Args: listBytes(args)}}}
	res := st.Apply(st.Applied()+1, 1, e)
	return res.Replies[0]
}

func listBytes(args []string) [][]byte {
	out := make([][]byte, len(args))
	for i, a := range args {
		out[i] = []byte(a)
	}
	return out
}

// listArgs splits a command line on spaces; arguments that hold spaces are
// written as []string literals instead.
func listArgs(line string) []string { return strings.Fields(line) }

// listBulks is an array of bulk strings.
func listBulks(elems ...string) resp.Array {
	out := resp.Array{}
	for _, e := range elems {
		out = append(out, resp.Bulk(e))
	}
	return out
}

// listInts is an array of integers.
func listInts(ns ...int64) resp.Array {
	out := resp.Array{}
	for _, n := range ns {
		out = append(out, resp.Int(n))
	}
	return out
}

// listWire is a reply's RESP2 wire form, so replies compare exactly: a nil
// bulk, a nil array and an empty array all differ.
func listWire(r resp.Reply) string { return string(resp.AppendRESP(nil, r)) }

var listFixtureRE = regexp.MustCompile(`^(\S+)=(?:\[([^\]]*)\]|"([^"]*)")$`)

// listState builds a state whose database 0 holds the keys of a fixture in
// listDump's form (elements without spaces).
func listState(t *testing.T, fixture string) *State {
	t.Helper()
	st := NewState()
	for _, kv := range regexp.MustCompile(`\S+=(?:\[[^\]]*\]|"[^"]*")`).FindAllString(fixture, -1) {
		m := listFixtureRE.FindStringSubmatch(kv)
		if strings.HasPrefix(m[0], m[1]+"=[") {
			l := &List{}
			for _, e := range strings.Fields(m[2]) {
				l.PushBack([]byte(e))
			}
			st.DB(0).SetList([]byte(m[1]), l)
		} else {
			st.DB(0).Set([]byte(m[1]), &String{B: []byte(m[3])})
		}
	}
	if fixture != "" && fixture != "(empty)" && st.DB(0).Len() == 0 {
		t.Fatalf("bad fixture %q", fixture)
	}
	return st
}

// listDump renders database 0 in key order: `l=[a b c] s="x"`, or
// "(empty)". Elements that are empty or hold spaces or brackets are quoted.
func listDump(st *State) string {
	d := st.DB(0)
	var parts []string
	for _, k := range d.SortedKeys() {
		switch v := d.Get([]byte(k)).(type) {
		case *List:
			elems := make([]string, v.Len())
			for i := range elems {
				e := string(v.At(i))
				if e == "" || strings.ContainsAny(e, " []\"") || !strconv.CanBackquote(e) {
					e = strconv.Quote(e)
				}
				elems[i] = e
			}
			parts = append(parts, k+"=["+strings.Join(elems, " ")+"]")
		case *String:
			parts = append(parts, k+"="+strconv.Quote(string(v.B)))
		}
	}
	if len(parts) == 0 {
		return "(empty)"
	}
	return strings.Join(parts, " ")
}

func TestListPush(t *testing.T) {
	listRunCases(t, []listCase{
		{name: "LPUSH on a missing key creates the list, last element first",
			args: listArgs("lpush l a b c"), want: resp.Int(3), after: "l=[c b a]"},
		{name: "RPUSH on a missing key creates the list in argument order",
			args: listArgs("rpush l a b c"), want: resp.Int(3), after: "l=[a b c]"},
		{name: "LPUSH prepends to an existing list and answers the new length",
			given: "l=[x]", args: listArgs("lpush l a b"), want: resp.Int(3), after: "l=[b a x]"},
		{name: "RPUSH appends to an existing list and answers the new length",
			given: "l=[x]", args: listArgs("rpush l a b"), want: resp.Int(3), after: "l=[x a b]"},
		{name: "RPUSH stores elements byte for byte, empty ones included",
			args: []string{"rpush", "l", "", "a b", "\x00\r\n"}, want: resp.Int(3), after: `l=["" "a b" "\x00\r\n"]`},
		{name: "LPUSHX on a missing key answers 0 and creates nothing",
			args: listArgs("lpushx l a"), want: resp.Int(0)},
		{name: "RPUSHX on a missing key answers 0 and creates nothing",
			args: listArgs("rpushx l a"), want: resp.Int(0)},
		{name: "LPUSHX prepends to an existing list",
			given: "l=[x]", args: listArgs("lpushx l a b"), want: resp.Int(3), after: "l=[b a x]"},
		{name: "RPUSHX appends to an existing list",
			given: "l=[x]", args: listArgs("rpushx l a b"), want: resp.Int(3), after: "l=[x a b]"},
		{name: "LPUSH on a string answers WRONGTYPE",
			given: `s="x"`, args: listArgs("lpush s a"), want: resp.ErrWrongType},
		{name: "RPUSH on a string answers WRONGTYPE",
			given: `s="x"`, args: listArgs("rpush s a"), want: resp.ErrWrongType},
		{name: "LPUSHX on a string answers WRONGTYPE",
			given: `s="x"`, args: listArgs("lpushx s a"), want: resp.ErrWrongType},
		{name: "RPUSHX on a string answers WRONGTYPE",
			given: `s="x"`, args: listArgs("rpushx s a"), want: resp.ErrWrongType},
		{name: "LPUSH without an element is an arity error",
			args: listArgs("lpush l"), want: resp.ErrWrongArity("lpush"), early: true},
		{name: "RPUSH without an element is an arity error",
			args: listArgs("rpush l"), want: resp.ErrWrongArity("rpush"), early: true},
		{name: "LPUSHX without an element is an arity error",
			args: listArgs("lpushx l"), want: resp.ErrWrongArity("lpushx"), early: true},
		{name: "RPUSHX without an element is an arity error",
			args: listArgs("rpushx l"), want: resp.ErrWrongArity("rpushx"), early: true},
		{name: "Command names are case-insensitive",
			args: listArgs("RpUsH l a"), want: resp.Int(1), after: "l=[a]"},
	})
}

func TestListLLen(t *testing.T) {
	listRunCases(t, []listCase{
		{name: "LLEN answers the number of elements",
			given: "l=[a b c]", args: listArgs("llen l"), want: resp.Int(3)},
		{name: "LLEN on a missing key answers 0",
			args: listArgs("llen l"), want: resp.Int(0)},
		{name: "LLEN on a string answers WRONGTYPE",
			given: `s="x"`, args: listArgs("llen s"), want: resp.ErrWrongType},
		{name: "LLEN with two keys is an arity error",
			args: listArgs("llen l m"), want: resp.ErrWrongArity("llen"), early: true},
	})
}

func TestListPop(t *testing.T) {
	listRunCases(t, []listCase{
		{name: "LPOP without a count pops the first element",
			given: "l=[a b c]", args: listArgs("lpop l"), want: resp.Bulk("a"), after: "l=[b c]"},
		{name: "RPOP without a count pops the last element",
			given: "l=[a b c]", args: listArgs("rpop l"), want: resp.Bulk("c"), after: "l=[a b]"},
		{name: "LPOP of the last element deletes the key",
			given: "l=[a]", args: listArgs("lpop l"), want: resp.Bulk("a"), after: "(empty)"},
		{name: "LPOP without a count on a missing key answers a nil bulk",
			args: listArgs("lpop l"), want: resp.NullBulk},
		{name: "RPOP without a count on a missing key answers a nil bulk",
			args: listArgs("rpop l"), want: resp.NullBulk},
		{name: "LPOP with a count on a missing key answers a nil array",
			args: listArgs("lpop l 1"), want: resp.NullArray},
		{name: "RPOP with a count on a missing key answers a nil array",
			args: listArgs("rpop l 2"), want: resp.NullArray},
		{name: "LPOP with count 0 on a missing key answers a nil array",
			args: listArgs("lpop l 0"), want: resp.NullArray},
		{name: "LPOP with count 0 on a list answers an empty array and pops nothing",
			given: "l=[a b c]", args: listArgs("lpop l 0"), want: resp.Array{}},
		{name: "LPOP with a count pops that many from the head, in order",
			given: "l=[a b c]", args: listArgs("lpop l 2"), want: listBulks("a", "b"), after: "l=[c]"},
		{name: "RPOP with a count pops that many from the tail, last first",
			given: "l=[a b c]", args: listArgs("rpop l 2"), want: listBulks("c", "b"), after: "l=[a]"},
		{name: "LPOP with a count larger than the list pops everything and deletes the key",
			given: "l=[a b c]", args: listArgs("lpop l 10"), want: listBulks("a", "b", "c"), after: "(empty)"},
		{name: "RPOP with the largest count pops everything",
			given: "l=[a b]", args: listArgs("rpop l 9223372036854775807"), want: listBulks("b", "a"), after: "(empty)"},
		{name: "LPOP on a string answers WRONGTYPE",
			given: `s="x"`, args: listArgs("lpop s"), want: resp.ErrWrongType},
		{name: "RPOP with a count on a string answers WRONGTYPE",
			given: `s="x"`, args: listArgs("rpop s 1"), want: resp.ErrWrongType},
		{name: "LPOP with count 0 on a string answers WRONGTYPE, checked before the empty reply",
			given: `s="x"`, args: listArgs("lpop s 0"), want: resp.ErrWrongType},
		{name: "LPOP with a negative count must be positive",
			given: "l=[a]", args: listArgs("lpop l -1"), want: resp.ErrPositive, early: true},
		{name: "RPOP with a count that is not a number must be positive too",
			given: "l=[a]", args: listArgs("rpop l abc"), want: resp.ErrPositive, early: true},
		{name: "LPOP count is checked before the key's type",
			given: `s="x"`, args: listArgs("lpop s abc"), want: resp.ErrPositive, early: true},
		{name: "LPOP count with a plus sign is not a number",
			given: "l=[a]", args: listArgs("lpop l +1"), want: resp.ErrPositive, early: true},
		{name: "LPOP count with a leading zero is not a number",
			given: "l=[a]", args: listArgs("lpop l 01"), want: resp.ErrPositive, early: true},
		{name: "LPOP count with a leading space is not a number",
			given: "l=[a]", args: []string{"lpop", "l", " 1"}, want: resp.ErrPositive, early: true},
		{name: "LPOP count beyond 64 bits must be positive",
			given: "l=[a]", args: listArgs("lpop l 9223372036854775808"), want: resp.ErrPositive, early: true},
		{name: "LPOP with two counts is an arity error",
			given: "l=[a]", args: listArgs("lpop l 1 2"), want: resp.ErrWrongArity("lpop"), early: true},
		{name: "RPOP with two counts is an arity error naming rpop",
			given: "l=[a]", args: listArgs("RPOP l 1 2"), want: resp.ErrWrongArity("rpop"), early: true},
		{name: "LPOP without a key is an arity error",
			args: listArgs("lpop"), want: resp.ErrWrongArity("lpop"), early: true},
	})
}

func TestListLRange(t *testing.T) {
	listRunCases(t, []listCase{
		{name: "LRANGE 0 -1 answers the whole list",
			given: "l=[a b c]", args: listArgs("lrange l 0 -1"), want: listBulks("a", "b", "c")},
		{name: "LRANGE counts negative indexes from the end",
			given: "l=[a b c]", args: listArgs("lrange l -2 -1"), want: listBulks("b", "c")},
		{name: "LRANGE clamps a stop past the end",
			given: "l=[a b c]", args: listArgs("lrange l 1 100"), want: listBulks("b", "c")},
		{name: "LRANGE clamps a start before the beginning",
			given: "l=[a b c]", args: listArgs("lrange l -100 0"), want: listBulks("a")},
		{name: "LRANGE clamps the extreme 64-bit indexes",
			given: "l=[a b c]", args: listArgs("lrange l -9223372036854775808 9223372036854775807"), want: listBulks("a", "b", "c")},
		{name: "LRANGE with a start past the end answers an empty array",
			given: "l=[a b c]", args: listArgs("lrange l 3 5"), want: resp.Array{}},
		{name: "LRANGE with start after stop answers an empty array",
			given: "l=[a b c]", args: listArgs("lrange l 2 1"), want: resp.Array{}},
		{name: "LRANGE with a stop before the beginning answers an empty array",
			given: "l=[a b c]", args: listArgs("lrange l 0 -4"), want: resp.Array{}},
		{name: "LRANGE with a stop at the first element answers it",
			given: "l=[a b c]", args: listArgs("lrange l 0 -3"), want: listBulks("a")},
		{name: "LRANGE on a missing key answers an empty array",
			args: listArgs("lrange l 0 -1"), want: resp.Array{}},
		{name: "LRANGE on a string answers WRONGTYPE",
			given: `s="x"`, args: listArgs("lrange s 0 -1"), want: resp.ErrWrongType},
		{name: "LRANGE with a start that is not a number is rejected before the key is looked at",
			given: `s="x"`, args: listArgs("lrange s a 1"), want: resp.ErrNotInteger, early: true},
		{name: "LRANGE with a stop that is not a number is rejected",
			args: listArgs("lrange l 0 z"), want: resp.ErrNotInteger, early: true},
		{name: "LRANGE with a plus sign is not a number",
			given: "l=[a b c]", args: listArgs("lrange l +1 2"), want: resp.ErrNotInteger, early: true},
		{name: "LRANGE with a leading zero is not a number",
			given: "l=[a b c]", args: listArgs("lrange l 01 2"), want: resp.ErrNotInteger, early: true},
		{name: "LRANGE with a leading space is not a number",
			given: "l=[a b c]", args: []string{"lrange", "l", " 1", "2"}, want: resp.ErrNotInteger, early: true},
		{name: "LRANGE without a stop is an arity error",
			args: listArgs("lrange l 0"), want: resp.ErrWrongArity("lrange"), early: true},
		{name: "LRANGE with an extra argument is an arity error",
			args: listArgs("lrange l 0 1 2"), want: resp.ErrWrongArity("lrange"), early: true},
	})
}

func TestListLIndex(t *testing.T) {
	listRunCases(t, []listCase{
		{name: "LINDEX 0 answers the first element",
			given: "l=[a b c]", args: listArgs("lindex l 0"), want: resp.Bulk("a")},
		{name: "LINDEX -1 answers the last element",
			given: "l=[a b c]", args: listArgs("lindex l -1"), want: resp.Bulk("c")},
		{name: "LINDEX past the end answers a nil bulk",
			given: "l=[a b c]", args: listArgs("lindex l 3"), want: resp.NullBulk},
		{name: "LINDEX before the beginning answers a nil bulk",
			given: "l=[a b c]", args: listArgs("lindex l -4"), want: resp.NullBulk},
		{name: "LINDEX at the smallest 64-bit index answers a nil bulk",
			given: "l=[a b c]", args: listArgs("lindex l -9223372036854775808"), want: resp.NullBulk},
		{name: "LINDEX on a missing key answers a nil bulk",
			args: listArgs("lindex l 0"), want: resp.NullBulk},
		{name: "LINDEX on a missing key answers a nil bulk even with a bad index",
			args: listArgs("lindex l abc"), want: resp.NullBulk},
		{name: "LINDEX on a string answers WRONGTYPE even with a bad index",
			given: `s="x"`, args: listArgs("lindex s abc"), want: resp.ErrWrongType},
		{name: "LINDEX with a bad index on a list answers not an integer",
			given: "l=[a b c]", args: listArgs("lindex l abc"), want: resp.ErrNotInteger},
		{name: "LINDEX with a leading zero is not an integer",
			given: "l=[a b c]", args: listArgs("lindex l 01"), want: resp.ErrNotInteger},
		{name: "LINDEX without an index is an arity error",
			args: listArgs("lindex l"), want: resp.ErrWrongArity("lindex"), early: true},
	})
}

func TestListLSet(t *testing.T) {
	listRunCases(t, []listCase{
		{name: "LSET replaces the element at an index",
			given: "l=[a b c]", args: listArgs("lset l 1 x"), want: resp.OK, after: "l=[a x c]"},
		{name: "LSET counts negative indexes from the end",
			given: "l=[a b c]", args: listArgs("lset l -3 x"), want: resp.OK, after: "l=[x b c]"},
		{name: "LSET past the end answers index out of range",
			given: "l=[a b c]", args: listArgs("lset l 3 x"), want: resp.ErrOutOfRange},
		{name: "LSET before the beginning answers index out of range",
			given: "l=[a b c]", args: listArgs("lset l -4 x"), want: resp.ErrOutOfRange},
		{name: "LSET on a missing key answers no such key",
			args: listArgs("lset l 0 x"), want: resp.ErrNoSuchKey},
		{name: "LSET on a missing key answers no such key even with a bad index",
			args: listArgs("lset l abc x"), want: resp.ErrNoSuchKey},
		{name: "LSET on a string answers WRONGTYPE even with a bad index",
			given: `s="x"`, args: listArgs("lset s abc x"), want: resp.ErrWrongType},
		{name: "LSET with a bad index on a list answers not an integer",
			given: "l=[a b c]", args: listArgs("lset l abc x"), want: resp.ErrNotInteger},
		{name: "LSET with a plus sign is not an integer",
			given: "l=[a b c]", args: listArgs("lset l +1 x"), want: resp.ErrNotInteger},
		{name: "LSET without an element is an arity error",
			args: listArgs("lset l 0"), want: resp.ErrWrongArity("lset"), early: true},
	})
}

func TestListLInsert(t *testing.T) {
	listRunCases(t, []listCase{
		{name: "LINSERT BEFORE puts the element in front of the pivot",
			given: "l=[a b c]", args: listArgs("linsert l before b x"), want: resp.Int(4), after: "l=[a x b c]"},
		{name: "LINSERT AFTER puts the element behind the pivot",
			given: "l=[a b c]", args: listArgs("linsert l after b x"), want: resp.Int(4), after: "l=[a b x c]"},
		{name: "LINSERT BEFORE the first element prepends",
			given: "l=[a b c]", args: listArgs("linsert l before a x"), want: resp.Int(4), after: "l=[x a b c]"},
		{name: "LINSERT AFTER the last element appends",
			given: "l=[a b c]", args: listArgs("linsert l after c x"), want: resp.Int(4), after: "l=[a b c x]"},
		{name: "LINSERT uses the first pivot from the head",
			given: "l=[a b a]", args: listArgs("linsert l after a x"), want: resp.Int(4), after: "l=[a x b a]"},
		{name: "LINSERT reads BEFORE and AFTER in any case",
			given: "l=[a b c]", args: listArgs("linsert l BeFoRe c x"), want: resp.Int(4), after: "l=[a b x c]"},
		{name: "LINSERT without the pivot answers -1 and changes nothing",
			given: "l=[a b c]", args: listArgs("linsert l before z x"), want: resp.Int(-1)},
		{name: "LINSERT on a missing key answers 0 and creates nothing",
			args: listArgs("linsert l before a x"), want: resp.Int(0)},
		{name: "LINSERT on a string answers WRONGTYPE",
			given: `s="x"`, args: listArgs("linsert s before a x"), want: resp.ErrWrongType},
		{name: "LINSERT with neither BEFORE nor AFTER is a syntax error before the key is looked at",
			given: `s="x"`, args: listArgs("linsert s middle a x"), want: resp.ErrSyntax, early: true},
		{name: "LINSERT with neither BEFORE nor AFTER is a syntax error on a missing key",
			args: listArgs("linsert l middle a x"), want: resp.ErrSyntax, early: true},
		{name: "LINSERT without an element is an arity error",
			args: listArgs("linsert l before a"), want: resp.ErrWrongArity("linsert"), early: true},
		{name: "LINSERT with an extra argument is an arity error",
			args: listArgs("linsert l before a x y"), want: resp.ErrWrongArity("linsert"), early: true},
	})
}

func TestListLRem(t *testing.T) {
	listRunCases(t, []listCase{
		{name: "LREM 0 removes every match",
			given: "l=[a b a c a]", args: listArgs("lrem l 0 a"), want: resp.Int(3), after: "l=[b c]"},
		{name: "LREM with a positive count removes that many matches from the head",
			given: "l=[a b a c a]", args: listArgs("lrem l 2 a"), want: resp.Int(2), after: "l=[b c a]"},
		{name: "LREM with a negative count removes that many matches from the tail",
			given: "l=[a b a c a]", args: listArgs("lrem l -2 a"), want: resp.Int(2), after: "l=[a b c]"},
		{name: "LREM with a count above the matches removes them all",
			given: "l=[a b a]", args: listArgs("lrem l 5 a"), want: resp.Int(2), after: "l=[b]"},
		{name: "LREM with the smallest 64-bit count removes every match as Redis does",
			given: "l=[a b a c a]", args: listArgs("lrem l -9223372036854775808 a"), want: resp.Int(3), after: "l=[b c]"},
		{name: "LREM without a match answers 0 and changes nothing",
			given: "l=[a b c]", args: listArgs("lrem l 0 z"), want: resp.Int(0)},
		{name: "LREM that removes every element deletes the key",
			given: "l=[a a]", args: listArgs("lrem l 0 a"), want: resp.Int(2), after: "(empty)"},
		{name: "LREM on a missing key answers 0",
			args: listArgs("lrem l 0 a"), want: resp.Int(0)},
		{name: "LREM on a string answers WRONGTYPE",
			given: `s="x"`, args: listArgs("lrem s 0 a"), want: resp.ErrWrongType},
		{name: "LREM with a count that is not a number is rejected before the key is looked at",
			given: `s="x"`, args: listArgs("lrem s abc a"), want: resp.ErrNotInteger, early: true},
		{name: "LREM with a count that is not a number is rejected on a missing key",
			args: listArgs("lrem l 1.5 a"), want: resp.ErrNotInteger, early: true},
		{name: "LREM without an element is an arity error",
			args: listArgs("lrem l 0"), want: resp.ErrWrongArity("lrem"), early: true},
	})
}

func TestListLTrim(t *testing.T) {
	listRunCases(t, []listCase{
		{name: "LTRIM keeps the range and drops the rest",
			given: "l=[a b c d e]", args: listArgs("ltrim l 1 -2"), want: resp.OK, after: "l=[b c d]"},
		{name: "LTRIM 0 -1 keeps everything",
			given: "l=[a b c]", args: listArgs("ltrim l 0 -1"), want: resp.OK},
		{name: "LTRIM clamps the extreme 64-bit indexes and keeps everything",
			given: "l=[a b c]", args: listArgs("ltrim l -9223372036854775808 9223372036854775807"), want: resp.OK},
		{name: "LTRIM with a start past the end deletes the key",
			given: "l=[a b c]", args: listArgs("ltrim l 3 10"), want: resp.OK, after: "(empty)"},
		{name: "LTRIM with start after stop deletes the key",
			given: "l=[a b c]", args: listArgs("ltrim l 2 1"), want: resp.OK, after: "(empty)"},
		{name: "LTRIM with a stop before the beginning deletes the key",
			given: "l=[a b c] m=[x]", args: listArgs("ltrim l 0 -4"), want: resp.OK, after: "m=[x]"},
		{name: "LTRIM on a missing key answers OK and creates nothing",
			args: listArgs("ltrim l 0 1"), want: resp.OK},
		{name: "LTRIM on a string answers WRONGTYPE",
			given: `s="x"`, args: listArgs("ltrim s 0 1"), want: resp.ErrWrongType},
		{name: "LTRIM with a start that is not a number is rejected before the key is looked at",
			given: `s="x"`, args: listArgs("ltrim s a 1"), want: resp.ErrNotInteger, early: true},
		{name: "LTRIM with a stop that is not a number is rejected",
			args: listArgs("ltrim l 0 -"), want: resp.ErrNotInteger, early: true},
		{name: "LTRIM without a stop is an arity error",
			args: listArgs("ltrim l 0"), want: resp.ErrWrongArity("ltrim"), early: true},
	})
}

func TestListLPos(t *testing.T) {
	const l = "l=[a b c a b c a]"
	listRunCases(t, []listCase{
		{name: "LPOS answers the index of the first match",
			given: l, args: listArgs("lpos l b"), want: resp.Int(1)},
		{name: "LPOS without a match answers a nil bulk",
			given: l, args: listArgs("lpos l z"), want: resp.NullBulk},
		{name: "LPOS with COUNT without a match answers an empty array",
			given: l, args: listArgs("lpos l z count 0"), want: resp.Array{}},
		{name: "LPOS on a missing key answers a nil bulk",
			args: listArgs("lpos l a"), want: resp.NullBulk},
		{name: "LPOS with COUNT on a missing key answers an empty array",
			args: listArgs("lpos l a count 1"), want: resp.Array{}},
		{name: "LPOS on a string answers WRONGTYPE",
			given: `s="x"`, args: listArgs("lpos s a"), want: resp.ErrWrongType},
		{name: "LPOS with COUNT on a string answers WRONGTYPE",
			given: `s="x"`, args: listArgs("lpos s a count 1"), want: resp.ErrWrongType},
		{name: "LPOS RANK 2 answers the second match",
			given: l, args: listArgs("lpos l a rank 2"), want: resp.Int(3)},
		{name: "LPOS with a negative RANK counts matches from the tail",
			given: l, args: listArgs("lpos l a rank -2"), want: resp.Int(3)},
		{name: "LPOS with a RANK beyond the matches answers a nil bulk",
			given: l, args: listArgs("lpos l a rank 4"), want: resp.NullBulk},
		{name: "LPOS with the largest RANK answers a nil bulk",
			given: l, args: listArgs("lpos l a rank 9223372036854775807"), want: resp.NullBulk},
		{name: "LPOS COUNT 0 answers every match",
			given: l, args: listArgs("lpos l a count 0"), want: listInts(0, 3, 6)},
		{name: "LPOS COUNT 2 answers the first two matches",
			given: l, args: listArgs("lpos l a count 2"), want: listInts(0, 3)},
		{name: "LPOS with the largest COUNT answers every match",
			given: l, args: listArgs("lpos l a count 9223372036854775807"), want: listInts(0, 3, 6)},
		{name: "LPOS with RANK and COUNT starts at the ranked match",
			given: l, args: listArgs("lpos l a rank 2 count 2"), want: listInts(3, 6)},
		{name: "LPOS with a negative RANK and COUNT 0 answers matches from the tail",
			given: l, args: listArgs("lpos l a rank -1 count 0"), want: listInts(6, 3, 0)},
		{name: "LPOS with a RANK beyond the matches and COUNT answers an empty array",
			given: l, args: listArgs("lpos l a rank 4 count 0"), want: resp.Array{}},
		{name: "LPOS MAXLEN limits how many elements are compared",
			given: l, args: listArgs("lpos l a maxlen 3 count 0"), want: listInts(0)},
		{name: "LPOS MAXLEN counts from the tail with a negative RANK",
			given: l, args: listArgs("lpos l a RaNk -1 MAXLEN 2 count 0"), want: listInts(6)},
		{name: "LPOS MAXLEN too short for the ranked match answers a nil bulk",
			given: l, args: listArgs("lpos l a maxlen 1 rank 2"), want: resp.NullBulk},
		{name: "LPOS MAXLEN 0 compares the whole list",
			given: l, args: listArgs("lpos l c maxlen 0"), want: resp.Int(2)},
		{name: "LPOS takes the last of a repeated option",
			given: l, args: listArgs("lpos l a count 1 count 0"), want: listInts(0, 3, 6)},
		{name: "LPOS RANK of the smallest 64-bit number answers the last match as Redis 7.0 does",
			given: l, args: listArgs("lpos l a rank -9223372036854775808"), want: resp.Int(6)},
		{name: "LPOS RANK of the smallest 64-bit number ignores COUNT as Redis 7.0 does",
			given: l, args: listArgs("lpos l a rank -9223372036854775808 count 1"), want: listInts(6, 3, 0)},
		{name: "LPOS RANK 0 is refused",
			given: l, args: listArgs("lpos l a rank 0"), want: resp.ErrRankZero, early: true},
		{name: "LPOS RANK 0 is refused before the key's type is looked at",
			given: `s="x"`, args: listArgs("lpos s a rank 0"), want: resp.ErrRankZero, early: true},
		{name: "LPOS RANK 0 is refused on a missing key",
			args: listArgs("lpos l a rank 0"), want: resp.ErrRankZero, early: true},
		{name: "LPOS RANK that is not a number is not an integer",
			given: l, args: listArgs("lpos l a rank abc"), want: resp.ErrNotInteger, early: true},
		{name: "LPOS RANK beyond 64 bits is not an integer",
			given: l, args: listArgs("lpos l a rank 9223372036854775808"), want: resp.ErrNotInteger, early: true},
		{name: "LPOS with a negative COUNT is refused",
			given: l, args: listArgs("lpos l a count -1"), want: resp.ErrCountNegative, early: true},
		{name: "LPOS with a COUNT that is not a number gets the negative COUNT error",
			given: l, args: listArgs("lpos l a count abc"), want: resp.ErrCountNegative, early: true},
		{name: "LPOS with a COUNT beyond 64 bits gets the negative COUNT error",
			given: l, args: listArgs("lpos l a count 9223372036854775808"), want: resp.ErrCountNegative, early: true},
		{name: "LPOS with a COUNT with a leading zero gets the negative COUNT error",
			given: l, args: listArgs("lpos l a count 01"), want: resp.ErrCountNegative, early: true},
		{name: "LPOS with a negative MAXLEN is refused",
			given: l, args: listArgs("lpos l a maxlen -1"), want: resp.ErrMaxLenNegative, early: true},
		{name: "LPOS with a MAXLEN that is not a number gets the negative MAXLEN error",
			given: l, args: listArgs("lpos l a maxlen abc"), want: resp.ErrMaxLenNegative, early: true},
		{name: "LPOS reports the first bad option in argument order",
			given: l, args: listArgs("lpos l a count -1 rank 0"), want: resp.ErrCountNegative, early: true},
		{name: "LPOS with an option missing its value is a syntax error",
			given: l, args: listArgs("lpos l a rank"), want: resp.ErrSyntax, early: true},
		{name: "LPOS with an unknown option is a syntax error",
			given: l, args: listArgs("lpos l a foo rank 0"), want: resp.ErrSyntax, early: true},
		{name: "LPOS without an element is an arity error",
			given: l, args: listArgs("lpos l"), want: resp.ErrWrongArity("lpos"), early: true},
	})
}

func TestListLMove(t *testing.T) {
	listRunCases(t, []listCase{
		{name: "LMOVE LEFT RIGHT moves the first element to the destination's tail",
			given: "d=[x] l=[a b c]", args: listArgs("lmove l d left right"), want: resp.Bulk("a"), after: "d=[x a] l=[b c]"},
		{name: "LMOVE LEFT LEFT moves the first element to the destination's head",
			given: "d=[x] l=[a b c]", args: listArgs("lmove l d left left"), want: resp.Bulk("a"), after: "d=[a x] l=[b c]"},
		{name: "LMOVE RIGHT LEFT moves the last element to the destination's head",
			given: "d=[x] l=[a b c]", args: listArgs("lmove l d right left"), want: resp.Bulk("c"), after: "d=[c x] l=[a b]"},
		{name: "LMOVE RIGHT RIGHT moves the last element to the destination's tail",
			given: "d=[x] l=[a b c]", args: listArgs("lmove l d RIGHT RIGHT"), want: resp.Bulk("c"), after: "d=[x c] l=[a b]"},
		{name: "LMOVE creates a missing destination",
			given: "l=[a b]", args: listArgs("lmove l d left left"), want: resp.Bulk("a"), after: "d=[a] l=[b]"},
		{name: "LMOVE of the last element deletes the source",
			given: "l=[a]", args: listArgs("lmove l d left left"), want: resp.Bulk("a"), after: "d=[a]"},
		{name: "LMOVE onto the same list LEFT RIGHT rotates it left",
			given: "l=[a b c]", args: listArgs("lmove l l left right"), want: resp.Bulk("a"), after: "l=[b c a]"},
		{name: "LMOVE onto the same list RIGHT LEFT rotates it right",
			given: "l=[a b c]", args: listArgs("lmove l l right left"), want: resp.Bulk("c"), after: "l=[c a b]"},
		{name: "LMOVE onto the same list LEFT LEFT leaves it as it was",
			given: "l=[a b c]", args: listArgs("lmove l l left left"), want: resp.Bulk("a")},
		{name: "LMOVE of a one-element list onto itself keeps the key",
			given: "l=[a]", args: listArgs("lmove l l left right"), want: resp.Bulk("a")},
		{name: "LMOVE from a missing source answers a nil bulk even when the destination is a string",
			given: `s="x"`, args: listArgs("lmove l s left left"), want: resp.NullBulk},
		{name: "LMOVE from a string answers WRONGTYPE",
			given: `d=[x] s="x"`, args: listArgs("lmove s d left left"), want: resp.ErrWrongType},
		{name: "LMOVE to a string answers WRONGTYPE and pops nothing",
			given: `l=[a b] s="x"`, args: listArgs("lmove l s left left"), want: resp.ErrWrongType},
		{name: "LMOVE with a bad source side is a syntax error before any key is looked at",
			args: listArgs("lmove l d up left"), want: resp.ErrSyntax, early: true},
		{name: "LMOVE with a bad destination side is a syntax error",
			given: "l=[a]", args: listArgs("lmove l d left down"), want: resp.ErrSyntax, early: true},
		{name: "LMOVE without a destination side is an arity error",
			args: listArgs("lmove l d left"), want: resp.ErrWrongArity("lmove"), early: true},
	})
}

func TestListRPopLPush(t *testing.T) {
	listRunCases(t, []listCase{
		{name: "RPOPLPUSH moves the last element to the destination's head",
			given: "d=[x] l=[a b c]", args: listArgs("rpoplpush l d"), want: resp.Bulk("c"), after: "d=[c x] l=[a b]"},
		{name: "RPOPLPUSH creates a missing destination and deletes an emptied source",
			given: "l=[a]", args: listArgs("rpoplpush l d"), want: resp.Bulk("a"), after: "d=[a]"},
		{name: "RPOPLPUSH onto the same list rotates it",
			given: "l=[a b c]", args: listArgs("rpoplpush l l"), want: resp.Bulk("c"), after: "l=[c a b]"},
		{name: "RPOPLPUSH from a missing source answers a nil bulk",
			given: `s="x"`, args: listArgs("rpoplpush l s"), want: resp.NullBulk},
		{name: "RPOPLPUSH from a string answers WRONGTYPE",
			given: `l=[a] s="x"`, args: listArgs("rpoplpush s l"), want: resp.ErrWrongType},
		{name: "RPOPLPUSH to a string answers WRONGTYPE and pops nothing",
			given: `l=[a] s="x"`, args: listArgs("rpoplpush l s"), want: resp.ErrWrongType},
		{name: "RPOPLPUSH with an extra argument is an arity error",
			args: listArgs("rpoplpush l d x"), want: resp.ErrWrongArity("rpoplpush"), early: true},
	})
}

func TestListLMPop(t *testing.T) {
	const lm = "l=[a b c] m=[x y]"
	listRunCases(t, []listCase{
		{name: "LMPOP pops one element from the first key with elements",
			given: lm, args: listArgs("lmpop 2 l m left"), want: resp.Array{resp.Bulk("l"), listBulks("a")}, after: "l=[b c] m=[x y]"},
		{name: "LMPOP skips missing keys",
			given: lm, args: listArgs("lmpop 2 z m right"), want: resp.Array{resp.Bulk("m"), listBulks("y")}, after: "l=[a b c] m=[x]"},
		{name: "LMPOP LEFT COUNT pops from the head in order",
			given: lm, args: listArgs("lmpop 1 l LEFT COUNT 2"), want: resp.Array{resp.Bulk("l"), listBulks("a", "b")}, after: "l=[c] m=[x y]"},
		{name: "LMPOP RIGHT COUNT pops from the tail, last first",
			given: lm, args: listArgs("lmpop 1 l right count 2"), want: resp.Array{resp.Bulk("l"), listBulks("c", "b")}, after: "l=[a] m=[x y]"},
		{name: "LMPOP with a COUNT beyond the list pops it all and deletes the key",
			given: lm, args: listArgs("lmpop 1 m left count 9223372036854775807"), want: resp.Array{resp.Bulk("m"), listBulks("x", "y")}, after: "l=[a b c]"},
		{name: "LMPOP on missing keys answers a nil array",
			args: listArgs("lmpop 2 l m left"), want: resp.NullArray},
		{name: "LMPOP never looks at a string after a key with elements",
			given: `l=[a] s="x"`, args: listArgs("lmpop 2 l s left"), want: resp.Array{resp.Bulk("l"), listBulks("a")}, after: `s="x"`},
		{name: "LMPOP answers WRONGTYPE for a string reached before any elements",
			given: `l=[a] s="x"`, args: listArgs("lmpop 3 z s l left"), want: resp.ErrWrongType},
		{name: "LMPOP may name a key twice",
			given: "l=[a]", args: listArgs("lmpop 2 l l right"), want: resp.Array{resp.Bulk("l"), listBulks("a")}, after: "(empty)"},
		{name: "LMPOP numkeys 0 is refused",
			args: listArgs("lmpop 0 l left"), want: resp.ErrNumKeys, early: true},
		{name: "LMPOP negative numkeys is refused",
			args: listArgs("lmpop -1 l left"), want: resp.ErrNumKeys, early: true},
		{name: "LMPOP numkeys that is not a number gets the numkeys error",
			args: listArgs("lmpop abc l left"), want: resp.ErrNumKeys, early: true},
		{name: "LMPOP numkeys beyond 64 bits gets the numkeys error",
			args: listArgs("lmpop 9223372036854775808 l left"), want: resp.ErrNumKeys, early: true},
		{name: "LMPOP numkeys larger than the keys given is a syntax error",
			args: listArgs("lmpop 2 l left"), want: resp.ErrSyntax, early: true},
		{name: "LMPOP the largest numkeys is a syntax error, not an overflow",
			args: listArgs("lmpop 9223372036854775807 l left"), want: resp.ErrSyntax, early: true},
		{name: "LMPOP with neither LEFT nor RIGHT after the keys is a syntax error",
			given: lm, args: listArgs("lmpop 2 l m up"), want: resp.ErrSyntax, early: true},
		{name: "LMPOP numkeys too small leaves a key where LEFT|RIGHT belongs: syntax error",
			given: lm, args: listArgs("lmpop 1 l m left"), want: resp.ErrSyntax, early: true},
		{name: "LMPOP COUNT 0 is refused",
			given: lm, args: listArgs("lmpop 1 l left count 0"), want: resp.ErrCountPositive, early: true},
		{name: "LMPOP negative COUNT is refused",
			args: listArgs("lmpop 1 l left count -1"), want: resp.ErrCountPositive, early: true},
		{name: "LMPOP COUNT that is not a number gets the COUNT error",
			given: `s="x"`, args: listArgs("lmpop 1 s left count abc"), want: resp.ErrCountPositive, early: true},
		{name: "LMPOP COUNT without a value is a syntax error",
			given: lm, args: listArgs("lmpop 1 l left count"), want: resp.ErrSyntax, early: true},
		{name: "LMPOP COUNT given twice is a syntax error",
			given: lm, args: listArgs("lmpop 1 l left count 1 count 1"), want: resp.ErrSyntax, early: true},
		{name: "LMPOP with an unknown option is a syntax error",
			given: lm, args: listArgs("lmpop 1 l left foo"), want: resp.ErrSyntax, early: true},
		{name: "LMPOP without LEFT|RIGHT is an arity error",
			args: listArgs("lmpop 1 l"), want: resp.ErrWrongArity("lmpop"), early: true},
	})
}

// TestListCommandTable checks every list command's declaration against
// COMMAND INFO of redis-server 7.0.15.
func TestListCommandTable(t *testing.T) {
	cases := []struct {
		name              string
		arity             int
		flags             resp.Flags
		first, last, step int
	}{
		{"lpush", -3, resp.Write | resp.DenyOOM | resp.Fast, 1, 1, 1},
		{"rpush", -3, resp.Write | resp.DenyOOM | resp.Fast, 1, 1, 1},
		{"lpushx", -3, resp.Write | resp.DenyOOM | resp.Fast, 1, 1, 1},
		{"rpushx", -3, resp.Write | resp.DenyOOM | resp.Fast, 1, 1, 1},
		{"llen", 2, resp.ReadOnly | resp.Fast, 1, 1, 1},
		{"lpop", -2, resp.Write | resp.Fast, 1, 1, 1},
		{"rpop", -2, resp.Write | resp.Fast, 1, 1, 1},
		{"lrange", 4, resp.ReadOnly, 1, 1, 1},
		{"lindex", 3, resp.ReadOnly, 1, 1, 1},
		{"lpos", -3, resp.ReadOnly, 1, 1, 1},
		{"lset", 4, resp.Write | resp.DenyOOM, 1, 1, 1},
		{"linsert", 5, resp.Write | resp.DenyOOM, 1, 1, 1},
		{"lrem", 4, resp.Write, 1, 1, 1},
		{"ltrim", 4, resp.Write, 1, 1, 1},
		{"lmove", 5, resp.Write | resp.DenyOOM, 1, 2, 1},
		{"rpoplpush", 3, resp.Write | resp.DenyOOM, 1, 2, 1},
		{"lmpop", -4, resp.Write | resp.MovableKeys, 0, 0, 0},
	}
	if exp, got := len(cases), len(listCommands); exp != got {
		t.Fatalf("list commands: exp %d, got %d", exp, got)
	}
	for _, tc := range cases {
		t.Run(strings.ToUpper(tc.name)+" is declared as Redis declares it", func(t *testing.T) {
			c := Lookup([]byte(tc.name))
			if c == nil {
				t.Fatalf("exp %s in the command table, got nothing", tc.name)
			}
			exp := []int{tc.arity, int(tc.flags), tc.first, tc.last, tc.step}
			got := []int{c.Arity, int(c.Flags), c.FirstKey, c.LastKey, c.KeyStep}
			if !slices.Equal(exp, got) {
				t.Fatalf("arity, flags, keys: exp %v, got %v", exp, got)
			}
			if c.Group != "list" || c.Since == "" || c.Summary == "" {
				t.Fatalf("docs: exp group list, a since and a summary, got %q %q %q", c.Group, c.Since, c.Summary)
			}
		})
	}
}

func TestListCommandsUseTheSelectedDB(t *testing.T) {
	st := NewState()
	listRun(st, 3, "rpush", "l", "a", "b")
	listRun(st, 3, "lmove", "l", "d", "left", "left")
	if exp, got := "(empty)", listDump(st); exp != got {
		t.Fatalf("database 0: exp %s, got %s", exp, got)
	}
	got := listRun(st, 3, "lrange", "d", "0", "-1")
	if exp, got := listWire(listBulks("a")), listWire(got); exp != got {
		t.Fatalf("database 3: exp %q, got %q", exp, got)
	}
}

// TestListMatchesASliceModel drives a list through many pushes, pops and
// rotations, growing and shrinking its ring buffer across wrap-around, and
// checks it against a plain slice after every command.
func TestListMatchesASliceModel(t *testing.T) {
	st := NewState()
	var model []string
	rng := rand.New(rand.NewSource(1))
	for step := 0; step < 5000; step++ {
		elem := strconv.Itoa(step)
		n := strconv.Itoa(rng.Intn(40))
		var args []string
		switch op := rng.Intn(7); {
		case op == 0 || (op == 1 && len(model) < 300):
			args = []string{"rpush", "l", elem, elem + "b"}
			model = append(model, elem, elem+"b")
		case op == 1:
			args = []string{"lpush", "l", elem}
			model = append([]string{elem}, model...)
		case op == 2:
			args = []string{"lpop", "l", n}
			k, _ := strconv.Atoi(n)
			model = model[min(k, len(model)):]
		case op == 3:
			args = []string{"rpop", "l", n}
			k, _ := strconv.Atoi(n)
			model = model[:len(model)-min(k, len(model))]
		case op == 4 && len(model) > 0:
			args = []string{"lmove", "l", "l", "left", "right"}
			model = append(model[1:], model[0])
		case op == 5 && len(model) > 0:
			args = []string{"rpoplpush", "l", "l"}
			model = append([]string{model[len(model)-1]}, model[:len(model)-1]...)
		default:
			args = []string{"llen", "l"}
		}
		listRun(st, 0, args...)
		got := listRun(st, 0, "lrange", "l", "0", "-1")
		if exp, got := listWire(listBulks(model...)), listWire(got); exp != got {
			t.Fatalf("after step %d %v: exp %q, got %q", step, args, exp, got)
		}
		if i := len(model) / 2; len(model) > 0 {
			got := listRun(st, 0, "lindex", "l", strconv.Itoa(i))
			if exp, got := listWire(resp.Bulk(model[i])), listWire(got); exp != got {
				t.Fatalf("LINDEX %d after step %d: exp %q, got %q", i, step, exp, got)
			}
		}
	}
	if exp, got := len(model) > 0, st.DB(0).Get([]byte("l")) != nil; exp != got {
		t.Fatalf("key l exists: exp %v, got %v", exp, got)
	}
}
