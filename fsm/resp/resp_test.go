package resp

import (
	"math"
	"strings"
	"testing"
)

// The bytes of every reply type are the protocol: a change here changes
// what every client reads.
func TestAppendRESPWritesRedisBytes(t *testing.T) {
	for _, tc := range []struct {
		name string
		r    Reply
		want string
	}{
		{"a status is a plus line", OK, "+OK\r\n"},
		{"an error is a minus line", ErrWrongType, "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"},
		{"an integer is a colon line", Int(-42), ":-42\r\n"},
		{"a bulk string is binary safe", Bulk("a\r\nb\x00"), "$5\r\na\r\nb\x00\r\n"},
		{"an empty bulk string is not nil", Bulk(""), "$0\r\n\r\n"},
		{"the nil bulk string", NullBulk, "$-1\r\n"},
		{"the nil array", NullArray, "*-1\r\n"},
		{"an array holds any reply", Array{Int(1), NullBulk, Array{}, Status("PONG")}, "*4\r\n:1\r\n$-1\r\n*0\r\n+PONG\r\n"},
		{"a raw reply is written as it is", Raw("+relayed\r\n"), "+relayed\r\n"},
		{"blocked is the forwarding hop's marker", Blocked, BlockedWire},
		{"bulk arrays wrap each element", BulkArray([][]byte{[]byte("x"), nil}), "*2\r\n$1\r\nx\r\n$0\r\n\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := string(AppendRESP([]byte(">"), tc.r)); got != ">"+tc.want {
				t.Fatalf("exp %q, got %q", ">"+tc.want, got)
			}
		})
	}
}

// Each reply kind in both protocols, as redis-server 7.0.15 writes it to a
// HELLO 2 and a HELLO 3 client (CONFIG GET's map, COMMAND INFO's sets,
// INFO's verbatim text, LPOP's and BLPOP's nulls; doubles, booleans and
// big numbers from a script's {double=...}, true and {big_number=...}).
func TestAppendReplyWritesEachProtocolAsRedis(t *testing.T) {
	for _, tc := range []struct {
		name         string
		r            Reply
		resp2, resp3 string
	}{
		{"a map is a flat array in RESP2", Map{Bulk("maxmemory"), Bulk("0")},
			"*2\r\n$9\r\nmaxmemory\r\n$1\r\n0\r\n", "%1\r\n$9\r\nmaxmemory\r\n$1\r\n0\r\n"},
		{"an empty map", Map{}, "*0\r\n", "%0\r\n"},
		{"a set is an array in RESP2", Set{Status("readonly"), Status("fast")},
			"*2\r\n+readonly\r\n+fast\r\n", "~2\r\n+readonly\r\n+fast\r\n"},
		{"the nil bulk string is RESP3's null", NullBulk, "$-1\r\n", "_\r\n"},
		{"the nil array is RESP3's null", NullArray, "*-1\r\n", "_\r\n"},
		{"nulls inside an array", Array{NullBulk, Bulk("v")}, "*2\r\n$-1\r\n$1\r\nv\r\n", "*2\r\n_\r\n$1\r\nv\r\n"},
		{"a double is %.17g, a bulk in RESP2", Double(3.14), "$18\r\n3.1400000000000001\r\n", ",3.1400000000000001\r\n"},
		{"an integral double", Double(1), "$1\r\n1\r\n", ",1\r\n"},
		{"an infinite double", Double(math.Inf(-1)), "$4\r\n-inf\r\n", ",-inf\r\n"},
		{"true", Bool(true), ":1\r\n", "#t\r\n"},
		{"false", Bool(false), ":0\r\n", "#f\r\n"},
		{"a big number", BigNumber("123456789012345678901"), "$21\r\n123456789012345678901\r\n", "(123456789012345678901\r\n"},
		{"verbatim text is a bulk in RESP2", Verbatim{Format: "txt", Text: []byte("a:b\r\n")},
			"$5\r\na:b\r\n\r\n", "=9\r\ntxt:a:b\r\n\r\n"},
		{"raw bytes are already in the client's protocol", Raw("_\r\n"), "_\r\n", "_\r\n"},
		{"a kept RESP2 outcome gets RESP3's nulls", RESP2Wire("*2\r\n$-1\r\n*-1\r\n"), "*2\r\n$-1\r\n*-1\r\n", "*2\r\n_\r\n_\r\n"},
		{"a kept null array", RESP2Wire("*-1\r\n"), "*-1\r\n", "_\r\n"},
		{"a kept pop", RESP2Wire("*2\r\n$1\r\nk\r\n$1\r\nv\r\n"), "*2\r\n$1\r\nk\r\n$1\r\nv\r\n", "*2\r\n$1\r\nk\r\n$1\r\nv\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := string(AppendReply(nil, tc.r, RESP2)); got != tc.resp2 {
				t.Errorf("RESP2: exp %q, got %q", tc.resp2, got)
			}
			if got := string(AppendRESP(nil, tc.r)); got != tc.resp2 {
				t.Errorf("AppendRESP: exp %q, got %q", tc.resp2, got)
			}
			if got := string(AppendReply(nil, tc.r, RESP3)); got != tc.resp3 {
				t.Errorf("RESP3: exp %q, got %q", tc.resp3, got)
			}
		})
	}
}

func TestParseIntAcceptsExactlyWhatString2llAccepts(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true}, {"-1", -1, true}, {"42", 42, true},
		{"9223372036854775807", 9223372036854775807, true},
		{"-9223372036854775808", -9223372036854775808, true},
		{"9223372036854775808", 0, false}, {"-9223372036854775809", 0, false},
		{"", 0, false}, {"-", 0, false}, {"-0", 0, false}, {"+1", 0, false},
		{"01", 0, false}, {" 1", 0, false}, {"1 ", 0, false}, {"1x", 0, false},
		{"99999999999999999999", 0, false}, {"123456789012345678901", 0, false},
	} {
		got, ok := ParseInt([]byte(tc.in))
		if got != tc.want || ok != tc.ok {
			t.Errorf("ParseInt(%q): exp %d %v, got %d %v", tc.in, tc.want, tc.ok, got, ok)
		}
	}
}

func TestSplitArgsSplitsAsSdssplitargs(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
		ok   bool
	}{
		{"", nil, true},
		{"  a  b\tc ", []string{"a", "b", "c"}, true},
		{`"a b" 'c d'`, []string{"a b", "c d"}, true},
		{`"\x41\n\"" 'it\'s'`, []string{"A\n\"", "it's"}, true},
		{`""`, []string{""}, true},
		{`"unclosed`, nil, false},
		{`"a"b`, nil, false},
	} {
		got, ok := SplitArgs(tc.in)
		if ok != tc.ok || strings.Join(got, "|") != strings.Join(tc.want, "|") || len(got) != len(tc.want) {
			t.Errorf("SplitArgs(%q): exp %q %v, got %q %v", tc.in, tc.want, tc.ok, got, ok)
		}
	}
}

func TestCheckArityCountsTheNameAndReadsNegativeAsAtLeast(t *testing.T) {
	args := func(n int) [][]byte { return make([][]byte, n) }
	exact := Spec{Name: "llen", Arity: 2}
	atLeast := Spec{Name: "lpush", Arity: -3}
	for _, tc := range []struct {
		s    Spec
		n    int
		want error
	}{
		{exact, 2, nil}, {exact, 1, ErrWrongArity("llen")}, {exact, 3, ErrWrongArity("llen")},
		{atLeast, 3, nil}, {atLeast, 9, nil}, {atLeast, 2, ErrWrongArity("lpush")},
	} {
		if got := tc.s.CheckArity(args(tc.n)); got != tc.want {
			t.Errorf("%s with %d args: exp %v, got %v", tc.s.Name, tc.n, tc.want, got)
		}
	}
}

func TestErrorTextsQuoteClientInputOnOneLine(t *testing.T) {
	got := ErrUnknownCommand([][]byte{[]byte("fo\r\no"), []byte("a\x00b")})
	if want := Error("ERR unknown command 'fo  o', with args beginning with: 'a' "); got != want {
		t.Fatalf("exp %q, got %q", want, got)
	}
	got = ErrUnknownSubcommand([]byte("client"), []byte("x\ny"))
	if want := Error("ERR unknown subcommand 'x y'. Try CLIENT HELP."); got != want {
		t.Fatalf("exp %q, got %q", want, got)
	}
	if got, want := ErrWrongArity("get"), Error("ERR wrong number of arguments for 'get' command"); got != want {
		t.Fatalf("exp %q, got %q", want, got)
	}
}
