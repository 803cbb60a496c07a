package resp

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
)

func TestReadReplyValid(t *testing.T) {
	cases := []struct {
		raw  string
		want Value
	}{
		{"+OK\r\n", Value{Kind: KindStatus, Str: []byte("OK")}},
		{"+\r\n", Value{Kind: KindStatus, Str: []byte{}}},
		{"-ERR unknown command 'x'\r\n", Value{Kind: KindError, Str: []byte("ERR unknown command 'x'")}},
		{"-MOVED 0 127.0.0.1:7001\r\n", Value{Kind: KindError, Str: []byte("MOVED 0 127.0.0.1:7001")}},
		{":0\r\n", Value{Kind: KindInt}},
		{":-1\r\n", Value{Kind: KindInt, Int: -1}},
		{":9223372036854775807\r\n", Value{Kind: KindInt, Int: 9223372036854775807}},
		{":-9223372036854775808\r\n", Value{Kind: KindInt, Int: -9223372036854775808}},
		{"$0\r\n\r\n", Value{Kind: KindBulk, Str: []byte{}}},
		{"$5\r\na\r\nb\n\r\n", Value{Kind: KindBulk, Str: []byte("a\r\nb\n")}},
		{"$-1\r\n", Value{Kind: KindNull}},
		{"*-1\r\n", Value{Kind: KindNullArray}},
		{"*0\r\n", Value{Kind: KindArray, Array: []Value{}}},
		{"*3\r\n:1\r\n$-1\r\n*2\r\n+a\r\n*0\r\n", Value{Kind: KindArray, Array: []Value{
			{Kind: KindInt, Int: 1},
			{Kind: KindNull},
			{Kind: KindArray, Array: []Value{{Kind: KindStatus, Str: []byte("a")}, {Kind: KindArray, Array: []Value{}}}},
		}}},
		{"*2\r\n*1\r\n*1\r\n$1\r\nx\r\n*-1\r\n", Value{Kind: KindArray, Array: []Value{
			{Kind: KindArray, Array: []Value{{Kind: KindArray, Array: []Value{{Kind: KindBulk, Str: []byte("x")}}}}},
			{Kind: KindNullArray},
		}}},
		// RESP3, as a leader answers a RESP3 connection.
		{"_\r\n", Value{Kind: KindNil}},
		{"#t\r\n", Value{Kind: KindBool, Int: 1}},
		{"#f\r\n", Value{Kind: KindBool}},
		{",3.1400000000000001\r\n", Value{Kind: KindDouble, Str: []byte("3.1400000000000001")}},
		{",-inf\r\n", Value{Kind: KindDouble, Str: []byte("-inf")}},
		{"(-12345678901234567890\r\n", Value{Kind: KindBigNumber, Str: []byte("-12345678901234567890")}},
		{"!3\r\nE x\r\n", Value{Kind: KindBlobError, Str: []byte("E x")}},
		{"=6\r\ntxt:a\n\r\n", Value{Kind: KindVerbatim, Str: []byte("txt:a\n")}},
		{"%1\r\n+k\r\n~1\r\n_\r\n", Value{Kind: KindMap, Array: []Value{
			{Kind: KindStatus, Str: []byte("k")}, {Kind: KindSet, Array: []Value{{Kind: KindNil}}}}}},
		{"%0\r\n", Value{Kind: KindMap, Array: []Value{}}},
		{">1\r\n:7\r\n", Value{Kind: KindPush, Array: []Value{{Kind: KindInt, Int: 7}}}},
		{"|1\r\n+ttl\r\n:3\r\n$1\r\nv\r\n", Value{Kind: KindAttribute, Array: []Value{
			{Kind: KindStatus, Str: []byte("ttl")}, {Kind: KindInt, Int: 3}, {Kind: KindBulk, Str: []byte("v")}}}},
		{"*2\r\n|0\r\n:1\r\n:2\r\n", Value{Kind: KindArray, Array: []Value{
			{Kind: KindAttribute, Array: []Value{{Kind: KindInt, Int: 1}}}, {Kind: KindInt, Int: 2}}}},
	}
	var stream []byte
	for _, tc := range cases {
		stream = append(stream, tc.raw...)
	}
	for name, src := range map[string]func() io.Reader{
		"whole":    func() io.Reader { return bytes.NewReader(stream) },
		"one byte": func() io.Reader { return iotest.OneByteReader(bytes.NewReader(stream)) },
	} {
		rd := NewReader(src(), 0)
		for _, tc := range cases {
			raw, err := rd.ReadReply()
			if err != nil || string(raw) != tc.raw {
				t.Fatalf("%s: got %q, %v; want %q", name, raw, err, tc.raw)
			}
			v, err := ParseReply(raw)
			if err != nil || !equalValue(v, tc.want) {
				t.Fatalf("ParseReply(%q) = %v, %v; want %v", raw, v, err, tc.want)
			}
			if back := AppendValue(nil, v); string(back) != tc.raw {
				t.Fatalf("AppendValue gave %q, want %q", back, tc.raw)
			}
		}
		if raw, err := rd.ReadReply(); err != io.EOF || raw != nil {
			t.Fatalf("%s: after the last reply got %q, %v; want EOF", name, raw, err)
		}
	}
}

func equalValue(a, b Value) bool {
	if a.Kind != b.Kind || !bytes.Equal(a.Str, b.Str) || a.Int != b.Int || len(a.Array) != len(b.Array) {
		return false
	}
	if (a.Str == nil) != (b.Str == nil) || (a.Array == nil) != (b.Array == nil) {
		return false
	}
	for i := range a.Array {
		if !equalValue(a.Array[i], b.Array[i]) {
			return false
		}
	}
	return true
}

func TestReadReplyErrors(t *testing.T) {
	small := Limits{MaxBulk: 4, MaxArray: 3, MaxDepth: 2, MaxLine: 8, MaxReply: 64}
	cases := []struct {
		name string
		in   string
		lim  Limits
		want error
	}{
		{"empty stream", "", Limits{}, io.EOF},
		{"eof in line", "+OK", Limits{}, io.ErrUnexpectedEOF},
		{"eof in bulk", "$5\r\nab", Limits{}, io.ErrUnexpectedEOF},
		{"eof before bulk CRLF", "$2\r\nab", Limits{}, io.ErrUnexpectedEOF},
		{"eof in array", "*2\r\n:1\r\n", Limits{}, io.ErrUnexpectedEOF},
		{"unknown type", "?3\r\nfoo\r\n", Limits{}, ErrProtocol},
		{"RESP3 null with a body", "_x\r\n", Limits{}, ErrProtocol},
		{"RESP3 boolean not t or f", "#x\r\n", Limits{}, ErrProtocol},
		{"RESP3 double empty", ",\r\n", Limits{}, ErrProtocol},
		{"RESP3 double junk", ",1.2.3\r\n", Limits{}, ErrProtocol},
		{"RESP3 big number junk", "(12a\r\n", Limits{}, ErrProtocol},
		{"RESP3 verbatim shorter than its format", "=3\r\nabc\r\n", Limits{}, ErrProtocol},
		{"RESP3 verbatim without its colon", "=5\r\ntxtab\r\n", Limits{}, ErrProtocol},
		{"RESP3 blob error -1", "!-1\r\n", Limits{}, ErrProtocol},
		{"RESP3 map -1", "%-1\r\n", Limits{}, ErrProtocol},
		{"RESP3 map whose pairs overflow", "%4611686018427387904\r\n", Limits{}, ErrProtocol},
		{"RESP3 attribute whose pairs overflow", "|4611686018427387903\r\n", Limits{}, ErrProtocol},
		{"RESP3 map over default, cut short", fmt.Sprintf("%%%d\r\n", DefaultMaxArray/2+1), Limits{}, io.ErrUnexpectedEOF},
		{"RESP3 maps too deep", "%1\r\n+k\r\n~1\r\n>1\r\n:1\r\n", small, ErrTooLarge},
		{"empty line", "\r\n", Limits{}, ErrProtocol},
		{"bare LF", "+OK\n", Limits{}, ErrProtocol},
		{"CR inside status", "+O\rK\r\n", Limits{}, ErrProtocol},
		{"int empty", ":\r\n", Limits{}, ErrProtocol},
		{"int plus", ":+1\r\n", Limits{}, ErrProtocol},
		{"int leading zero", ":01\r\n", Limits{}, ErrProtocol},
		{"int minus zero", ":-0\r\n", Limits{}, ErrProtocol},
		{"int overflow", ":9223372036854775808\r\n", Limits{}, ErrProtocol},
		{"int junk", ":1x\r\n", Limits{}, ErrProtocol},
		{"bulk -2", "$-2\r\n", Limits{}, ErrProtocol},
		{"bulk junk", "$x\r\n", Limits{}, ErrProtocol},
		{"bulk overflow", "$9223372036854775808\r\n", Limits{}, ErrProtocol},
		{"bulk near MaxInt64 is dropped until the stream ends", "$9223372036854775806\r\nab", Limits{}, io.ErrUnexpectedEOF},
		{"bulk no CRLF", "$2\r\nabcd", Limits{}, ErrProtocol},
		{"array -2", "*-2\r\n", Limits{}, ErrProtocol},
		{"array junk", "*1a\r\n", Limits{}, ErrProtocol},
		{"bulk over default, cut short", fmt.Sprintf("$%d\r\n", DefaultMaxBulk+1), Limits{}, io.ErrUnexpectedEOF},
		{"array over default, cut short", fmt.Sprintf("*%d\r\n", DefaultMaxArray+1), Limits{}, io.ErrUnexpectedEOF},
		{"dropped reply cut short in a line", "*2\r\n$5\r\nabcde\r\n+OK", small, io.ErrUnexpectedEOF},
		{"dropped bulk without CRLF", "$5\r\nabcdexx", small, ErrProtocol},
		{"dropped reply with a bad element", "*2\r\n$5\r\nabcde\r\n?\r\n", small, ErrProtocol},
		{"dropped reply with a long header", "*2\r\n$5\r\nabcde\r\n:" + strings.Repeat("1", 40) + "\r\n", small, ErrProtocol},
		{"too deep", "*1\r\n*1\r\n*1\r\n:1\r\n", small, ErrTooLarge},
		{"too deep default", strings.Repeat("*1\r\n", DefaultMaxDepth+1) + ":1\r\n", Limits{}, ErrTooLarge},
		{"too deep inside a dropped reply", "*2\r\n$5\r\nabcde\r\n*1\r\n*1\r\n:1\r\n", small, ErrTooLarge},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rd := NewReader(strings.NewReader(tc.in), 0)
			if tc.lim != (Limits{}) {
				rd.SetLimits(tc.lim)
			}
			raw, err := rd.ReadReply()
			if !errors.Is(err, tc.want) || errors.Is(err, ErrDropped) || raw != nil {
				t.Fatalf("got %q, %v; want %v", raw, err, tc.want)
			}
			// Framing is lost: later calls must not resume mid-stream.
			if _, err2 := rd.ReadReply(); err2 != err {
				t.Fatalf("second call: %v, want %v again", err2, err)
			}
		})
	}
}

// A well-formed reply over a size limit is read to its end and dropped:
// only that reply fails, and the next one on the stream is read as sent.
func TestReadReplyDropsAReplyOverASizeLimitAndStaysInSync(t *testing.T) {
	small := Limits{MaxBulk: 4, MaxArray: 3, MaxDepth: 2, MaxLine: 8, MaxReply: 64}
	cases := []struct {
		name string
		in   string
		lim  Limits
	}{
		{"bulk over limit", "$5\r\nabcde\r\n", small},
		{"array over limit", "*4\r\n:1\r\n:2\r\n:3\r\n:4\r\n", small},
		{"line too long", "+123456789\r\n", small},
		{"error too long", "-ERR " + strings.Repeat("x", 100) + "\r\n", small},
		{"line too long default", "+" + strings.Repeat("x", DefaultMaxLine) + "\r\n", Limits{}},
		{"reply too long", "*3\r\n$4\r\nabcd\r\n$4\r\nabcd\r\n$4\r\nabcd\r\n", Limits{MaxReply: 30}},
		{"reply too long in a line", "*2\r\n+" + strings.Repeat("y", 20) + "\r\n+" + strings.Repeat("z", 20) + "\r\n", Limits{MaxReply: 30}},
		{"limit broken inside an array, more elements after it", "*3\r\n$5\r\nabcde\r\n*2\r\n:1\r\n+" + strings.Repeat("w", 40) + "\r\n$-1\r\n", small},
		{"empty and null elements after the limit", "*4\r\n$5\r\nabcde\r\n$0\r\n\r\n*-1\r\n*0\r\n", small},
	}
	const next = "*1\r\n+NEXT\r\n"
	for _, tc := range cases {
		for name, src := range map[string]func(string) io.Reader{
			"whole":    func(s string) io.Reader { return strings.NewReader(s) },
			"one byte": func(s string) io.Reader { return iotest.OneByteReader(strings.NewReader(s)) },
		} {
			t.Run(tc.name+", "+name, func(t *testing.T) {
				rd := NewReader(src(tc.in+next+tc.in), 0)
				rd.SetLimits(tc.lim)
				for i, exp := range []string{"", next, ""} {
					raw, err := rd.ReadReply()
					if exp == "" && (!errors.Is(err, ErrDropped) || !errors.Is(err, ErrTooLarge) || raw != nil) {
						t.Fatalf("reply %d: exp it dropped, got %q, %v", i, raw, err)
					}
					if exp != "" && (err != nil || string(raw) != exp) {
						t.Fatalf("reply %d: exp %q, got %q, %v", i, exp, raw, err)
					}
				}
				if raw, err := rd.ReadReply(); err != io.EOF {
					t.Fatalf("exp EOF after the last reply, got %q, %v", raw, err)
				}
			})
		}
	}
}

func TestReadReplyAtLimits(t *testing.T) {
	lim := Limits{MaxBulk: 4, MaxArray: 3, MaxDepth: 2, MaxLine: 8, MaxReply: 64}
	for _, in := range []string{
		"$4\r\nabcd\r\n",
		"*3\r\n:1\r\n:2\r\n:3\r\n",
		"*1\r\n*1\r\n:1\r\n",
		"+1234567\r\n",
		"-ERR 123\r\n",
	} {
		rd := NewReader(strings.NewReader(in), 0)
		rd.SetLimits(lim)
		if raw, err := rd.ReadReply(); err != nil || string(raw) != in {
			t.Errorf("%q: got %q, %v", in, raw, err)
		}
	}
	// The maxBulk given to NewReader is the bulk limit.
	if _, err := NewReader(strings.NewReader("$5\r\nabcde\r\n"), 4).ReadReply(); !errors.Is(err, ErrTooLarge) {
		t.Errorf("maxBulk not applied: %v", err)
	}
	if raw, err := NewReader(strings.NewReader("$5\r\nabcde\r\n"), 5).ReadReply(); err != nil || len(raw) != 11 {
		t.Errorf("maxBulk off by one: %q %v", raw, err)
	}
}

func allocated() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.TotalAlloc
}

// Declared sizes must not be allocated before their bytes arrive.
func TestReadReplyDoesNotPreallocate(t *testing.T) {
	for _, in := range []string{
		fmt.Sprintf("$%d\r\nabc", DefaultMaxBulk),
		fmt.Sprintf("*%d\r\n:1\r\n", DefaultMaxArray),
		fmt.Sprintf("*%d\r\n", DefaultMaxArray) + strings.Repeat(fmt.Sprintf("*%d\r\n", DefaultMaxArray), DefaultMaxDepth-1),
	} {
		before := allocated()
		_, err := NewReader(strings.NewReader(in), 0).ReadReply()
		// The nesting counters cost heap in proportion to the input.
		if used := allocated() - before; used > 256<<10+uint64(8*len(in)) {
			t.Errorf("%.20q: allocated %d bytes", in, used)
		}
		if err != io.ErrUnexpectedEOF {
			t.Errorf("%.20q: %v", in, err)
		}
	}
	// Nested arrays each declaring as many elements as the input could
	// hold: sizing each by its count would cost ~36 MiB here.
	in := []byte(strings.Repeat("*1000\r\n", 1000))
	before := allocated()
	if _, err := ParseReply(in); !errors.Is(err, ErrProtocol) {
		t.Errorf("ParseReply: %v", err)
	}
	if used := allocated() - before; used > 4<<20 {
		t.Errorf("ParseReply allocated %d bytes for %d", used, len(in))
	}
}

// A dropped reply keeps nothing of what it drops past the limit.
func TestReadReplyDroppingAReplyKeepsNoneOfIt(t *testing.T) {
	big := strings.Repeat("x", 32<<20)
	for _, in := range []string{
		"$" + strconv.Itoa(len(big)) + "\r\n" + big + "\r\n",
		"+" + big + "\r\n",
		"*2\r\n$1\r\nx\r\n-" + big + "\r\n",
	} {
		rd := NewReader(strings.NewReader(in+":1\r\n"), 0)
		rd.SetLimits(Limits{MaxBulk: 1 << 20, MaxLine: 1 << 20, MaxReply: 2 << 20})
		before := allocated()
		_, err := rd.ReadReply()
		// What it keeps is in proportion to the limits (the line grows
		// to MaxLine before it is known to be too long), not to the input.
		if used := allocated() - before; used > 8<<20 {
			t.Errorf("%.20q: allocated %d bytes to drop %d", in, used, len(in))
		}
		if !errors.Is(err, ErrDropped) {
			t.Errorf("%.20q: exp it dropped, got %v", in, err)
		}
		if raw, err := rd.ReadReply(); err != nil || string(raw) != ":1\r\n" {
			t.Errorf("%.20q: exp the next reply, got %q, %v", in, raw, err)
		}
	}
}

func TestParseReplyErrors(t *testing.T) {
	for _, in := range []string{
		"", "+OK", "+OK\r\n+OK\r\n", "+OK\r\nx", "$3\r\nab\r\n", "$3\r\nabcd\r\n",
		"*2\r\n:1\r\n", "*1\r\n", "$9223372036854775807\r\n", "*9223372036854775807\r\n:1\r\n",
		"+a\rb\r\n", "+a\nb\r\n", "\r\n", "?\r\n", ":x\r\n", "$-5\r\n", "*-5\r\n", "+OK\r",
	} {
		if v, err := ParseReply([]byte(in)); !errors.Is(err, ErrProtocol) {
			t.Errorf("ParseReply(%q) = %v, %v; want ErrProtocol", in, v, err)
		}
	}
}

// Neither parsing nor encoding recurses, so nesting far beyond any limit
// costs heap, not stack.
func TestParseReplyDeepNesting(t *testing.T) {
	const depth = 1 << 20
	raw := []byte(strings.Repeat("*1\r\n", depth) + ":7\r\n")
	v, err := ParseReply(raw)
	if err != nil {
		t.Fatal(err)
	}
	if back := AppendValue(nil, v); !bytes.Equal(back, raw) {
		t.Fatalf("round trip differs")
	}
	rd := NewReader(bytes.NewReader(raw), 0)
	rd.SetLimits(Limits{MaxDepth: depth})
	if got, err := rd.ReadReply(); err != nil || !bytes.Equal(got, raw) {
		t.Fatalf("ReadReply: %v", err)
	}
}

func TestAppendCommand(t *testing.T) {
	got := AppendCommand([]byte("prefix"), []byte("SET"), []byte("k"), []byte{}, []byte("a\r\nb"))
	want := "prefix*4\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n$4\r\na\r\nb\r\n"
	if string(got) != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	if got := AppendCommand(nil); string(got) != "*0\r\n" {
		t.Fatalf("no args: %q", got)
	}
	args := make([][]byte, 12)
	for i := range args {
		args[i] = bytes.Repeat([]byte("x"), i*i)
	}
	cmd := AppendCommand(nil, args...)
	if len(cmd) != cap(cmd) {
		t.Fatalf("size estimate off: len %d cap %d", len(cmd), cap(cmd))
	}
	v, err := ParseReply(cmd)
	if err != nil || v.Kind != KindArray || len(v.Array) != len(args) {
		t.Fatalf("command does not parse as an array: %v %v", v, err)
	}
	for i, e := range v.Array {
		if e.Kind != KindBulk || !bytes.Equal(e.Str, args[i]) {
			t.Fatalf("arg %d: %v", i, e)
		}
	}
}

func TestAppendValueUnknownKind(t *testing.T) {
	got := AppendValue(nil, Value{Kind: Kind(42)})
	if v, err := ParseReply(got); err != nil || v.Kind != KindError {
		t.Fatalf("got %q (%v, %v), want a well-formed error reply", got, v, err)
	}
}
