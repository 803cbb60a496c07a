package resp

import (
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
