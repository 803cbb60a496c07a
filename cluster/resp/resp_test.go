package resp

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"
)

func TestReadReplyValid(t *testing.T) {
	cases := []struct {
		raw  string
		want Value
	}{
		{"+OK\r\n", Value{Kind: Status, Str: []byte("OK")}},
		{"+\r\n", Value{Kind: Status, Str: []byte{}}},
		{"-ERR unknown command 'x'\r\n", Value{Kind: Error, Str: []byte("ERR unknown command 'x'")}},
		{"-MOVED 0 127.0.0.1:7001\r\n", Value{Kind: Error, Str: []byte("MOVED 0 127.0.0.1:7001")}},
		{":0\r\n", Value{Kind: Int}},
		{":-1\r\n", Value{Kind: Int, Int: -1}},
		{":9223372036854775807\r\n", Value{Kind: Int, Int: 9223372036854775807}},
		{":-9223372036854775808\r\n", Value{Kind: Int, Int: -9223372036854775808}},
		{"$0\r\n\r\n", Value{Kind: Bulk, Str: []byte{}}},
		{"$5\r\na\r\nb\n\r\n", Value{Kind: Bulk, Str: []byte("a\r\nb\n")}},
		{"$-1\r\n", Value{Kind: Null}},
		{"*-1\r\n", Value{Kind: NullArray}},
		{"*0\r\n", Value{Kind: Array, Array: []Value{}}},
		{"*3\r\n:1\r\n$-1\r\n*2\r\n+a\r\n*0\r\n", Value{Kind: Array, Array: []Value{
			{Kind: Int, Int: 1},
			{Kind: Null},
			{Kind: Array, Array: []Value{{Kind: Status, Str: []byte("a")}, {Kind: Array, Array: []Value{}}}},
		}}},
		{"*2\r\n*1\r\n*1\r\n$1\r\nx\r\n*-1\r\n", Value{Kind: Array, Array: []Value{
			{Kind: Array, Array: []Value{{Kind: Array, Array: []Value{{Kind: Bulk, Str: []byte("x")}}}}},
			{Kind: NullArray},
		}}},
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
		{"unknown type", "!3\r\nfoo\r\n", Limits{}, ErrProtocol},
		{"RESP3 null", "_\r\n", Limits{}, ErrProtocol},
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
		{"bulk near MaxInt64", "$9223372036854775806\r\nab", Limits{}, ErrTooLarge},
		{"bulk no CRLF", "$2\r\nabcd", Limits{}, ErrProtocol},
		{"array -2", "*-2\r\n", Limits{}, ErrProtocol},
		{"array junk", "*1a\r\n", Limits{}, ErrProtocol},
		{"bulk over default", fmt.Sprintf("$%d\r\n", DefaultMaxBulk+1), Limits{}, ErrTooLarge},
		{"bulk over limit", "$5\r\nabcde\r\n", small, ErrTooLarge},
		{"array over default", fmt.Sprintf("*%d\r\n", DefaultMaxArray+1), Limits{}, ErrTooLarge},
		{"array over limit", "*4\r\n:1\r\n:2\r\n:3\r\n:4\r\n", small, ErrTooLarge},
		{"too deep", "*1\r\n*1\r\n*1\r\n:1\r\n", small, ErrTooLarge},
		{"too deep default", strings.Repeat("*1\r\n", DefaultMaxDepth+1) + ":1\r\n", Limits{}, ErrTooLarge},
		{"line too long", "+123456789\r\n", small, ErrTooLarge},
		{"line too long default", "+" + strings.Repeat("x", DefaultMaxLine) + "\r\n", Limits{}, ErrTooLarge},
		{"reply too long", "*3\r\n$4\r\nabcd\r\n$4\r\nabcd\r\n$4\r\nabcd\r\n*3\r\n", Limits{MaxReply: 30}, ErrTooLarge},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rd := NewReader(strings.NewReader(tc.in), 0)
			if tc.lim != (Limits{}) {
				rd.SetLimits(tc.lim)
			}
			raw, err := rd.ReadReply()
			if !errors.Is(err, tc.want) || raw != nil {
				t.Fatalf("got %q, %v; want %v", raw, err, tc.want)
			}
			// Framing is lost: later calls must not resume mid-stream.
			if _, err2 := rd.ReadReply(); err2 != err {
				t.Fatalf("second call: %v, want %v again", err2, err)
			}
		})
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
		if used := allocated() - before; used > 256<<10 {
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
	if err != nil || v.Kind != Array || len(v.Array) != len(args) {
		t.Fatalf("command does not parse as an array: %v %v", v, err)
	}
	for i, e := range v.Array {
		if e.Kind != Bulk || !bytes.Equal(e.Str, args[i]) {
			t.Fatalf("arg %d: %v", i, e)
		}
	}
}

func TestAppendValueUnknownKind(t *testing.T) {
	got := AppendValue(nil, Value{Kind: Kind(42)})
	if v, err := ParseReply(got); err != nil || v.Kind != Error {
		t.Fatalf("got %q (%v, %v), want a well-formed error reply", got, v, err)
	}
}
