package redcon

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"testing/iotest"
	"time"
)

// startLimitServer serves on 127.0.0.1:0 with the given limits and returns
// its address and the errors passed to the closed callback.
func startLimitServer(t *testing.T, lim Limits) (string, chan error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := make(chan error, 16)
	s := NewServer("", func(conn Conn, cmd Command) {
		switch strings.ToLower(string(cmd.Args[0])) {
		case "ping":
			conn.WriteString("PONG")
		case "echo":
			if len(cmd.Args) != 2 {
				conn.WriteError("ERR wrong number of arguments for 'echo' command")
				return
			}
			conn.WriteBulk(cmd.Args[1])
		case "panic":
			panic("boom")
		default:
			conn.WriteError("ERR unknown command '" + string(cmd.Args[0]) + "'")
		}
	}, nil, func(conn Conn, err error) {
		closed <- err
	})
	s.SetLimits(lim)
	go s.Serve(ln)
	t.Cleanup(func() { ln.Close() })
	return ln.Addr().String(), closed
}

func isReset(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// readToClose reads until the server closes the connection. A reset
// counts as closed: the server may close with request bytes still unread.
func readToClose(c net.Conn) (got []byte, closed bool) {
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 4096)
	for {
		n, err := c.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			return got, err == io.EOF || isReset(err)
		}
	}
}

func TestProtocolErrorsOverTCP(t *testing.T) {
	const (
		badBulk  = "-ERR Protocol error: invalid bulk length\r\n"
		badMbulk = "-ERR Protocol error: invalid multibulk length\r\n"
		badQuote = "-ERR Protocol error: unbalanced quotes in request\r\n"
		bigLine  = "-ERR Protocol error: too big inline request\r\n"
	)
	long := func(c byte, n int) string { return strings.Repeat(string([]byte{c}), n) }
	small := Limits{MaxBulkLen: 10, MaxArgs: 2, MaxInlineLen: 100}
	cases := []struct {
		name string
		in   string
		lim  Limits
		want string // exact reply bytes
		// open: the connection must survive (checked with a PING);
		// otherwise it must be closed right after want.
		open bool
		// quiet: closed without a reply, with ErrQueryBufferLimit.
		quiet bool
	}{
		// Upstream redcon panicked on this one and took the process down.
		{name: "bulk len near MaxInt64", in: "*1\r\n$9223372036854775806\r\n", want: badBulk},
		{name: "bulk len MaxInt64", in: "*1\r\n$9223372036854775807\r\n", want: badBulk},
		{name: "bulk len overflow", in: "*1\r\n$99999999999999999999\r\n", want: badBulk},
		{name: "bulk len negative", in: "*1\r\n$-5\r\n", want: badBulk},
		{name: "bulk len -1", in: "*1\r\n$-1\r\n", want: badBulk},
		{name: "bulk len non numeric", in: "*1\r\n$abc\r\n", want: badBulk},
		{name: "bulk len plus sign", in: "*1\r\n$+3\r\nfoo\r\n", want: badBulk},
		{name: "bulk len leading zero", in: "*1\r\n$03\r\nfoo\r\n", want: badBulk},
		{name: "bulk len empty", in: "*1\r\n$\r\n", want: badBulk},
		{name: "bulk len bare LF", in: "*1\r\n$4\nPING\r\n", want: badBulk},
		{name: "bulk len above default 64MiB", in: "*1\r\n$67108865\r\n", want: badBulk},
		{name: "bulk len above Redis 512MB", in: "*1\r\n$600000000\r\n", want: badBulk},
		{name: "bulk len above set limit", in: "*1\r\n$11\r\nhello world\r\n", lim: small, want: badBulk},
		{name: "bulk len at set limit", in: "*2\r\n$4\r\nECHO\r\n$10\r\n0123456789\r\n", lim: small,
			want: "$10\r\n0123456789\r\n", open: true},
		{name: "bulk not followed by CRLF", in: "*1\r\n$4\r\nPINGXY", want: badBulk},
		{name: "redis: negative payload length", in: "*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$-10\r\n", want: badBulk},
		{name: "redis: out of range payload length", in: "*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$2000000000\r\n", want: badBulk},
		{name: "redis: non-number payload length", in: "*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$blabla\r\n", want: badBulk},

		{name: "mbulk non numeric", in: "*abc\r\n", want: badMbulk},
		{name: "mbulk empty", in: "*\r\n", want: badMbulk},
		{name: "mbulk plus sign", in: "*+1\r\n$4\r\nPING\r\n", want: badMbulk},
		{name: "mbulk leading zero", in: "*01\r\n$4\r\nPING\r\n", want: badMbulk},
		{name: "mbulk bare LF", in: "*1\n$4\r\nPING\r\n", want: badMbulk},
		{name: "mbulk overflow", in: "*99999999999999999999\r\n", want: badMbulk},
		{name: "mbulk above default max args", in: "*1048577\r\n", want: badMbulk},
		{name: "mbulk 2e9 (upstream burned seconds)", in: "*2000000000\r\n", want: badMbulk},
		{name: "mbulk above set limit", in: "*3\r\n$4\r\nECHO\r\n", lim: small, want: badMbulk},
		{name: "redis: out of range multibulk length", in: "*20000000\r\n", want: badMbulk},
		{name: "redis: negative multibulk length", in: "*-10\r\n", open: true},
		{name: "mbulk zero", in: "*0\r\nPING\r\n", want: "+PONG\r\n", open: true},
		{name: "mbulk -1", in: "*-1\r\n", open: true},

		{name: "expected dollar", in: "*1\r\nX4\r\nPING\r\n", want: "-ERR Protocol error: expected '$', got 'X'\r\n"},
		{name: "redis: wrong multibulk payload header", in: "*3\r\n$3\r\nSET\r\n$1\r\nx\r\nfooz\r\n",
			want: "-ERR Protocol error: expected '$', got 'f'\r\n"},
		{name: "redis: multibulk not followed by bulk", in: "*1\r\nfoo\r\n",
			want: "-ERR Protocol error: expected '$', got 'f'\r\n"},
		{name: "expected dollar got LF", in: "*1\r\n\n\r\n", want: "-ERR Protocol error: expected '$', got ' '\r\n"},
		{name: "expected dollar got CR", in: "*1\r\n\r\n", want: "-ERR Protocol error: expected '$', got ' '\r\n"},
		{name: "expected dollar got 0xff", in: "*1\r\n\xff\r\n", want: "-ERR Protocol error: expected '$', got '\xff'\r\n"},

		{name: "unbalanced double quote", in: "SET \"abc\r\n", want: badQuote},
		{name: "unbalanced single quote", in: "SET 'abc\r\n", want: badQuote},
		{name: "char after closing quote", in: "ECHO \"a\"b\r\n", want: badQuote},
		{name: "escape at end of quoted arg", in: "ECHO \"a\\\r\n", want: badQuote},
		{name: "redis: unbalanced number of quotes", in: "set \"\"\"test-key\"\"\" test-value\r\nping\r\n", want: badQuote},

		{name: "inline without newline over 64KiB", in: long('A', 64<<10+2), want: bigLine},
		{name: "inline line over 64KiB", in: long('A', 64<<10+1) + "\r\n", want: bigLine},
		{name: "inline line of exactly 64KiB", in: "ECHO " + long('a', 64<<10-5) + "\r\n",
			want: fmt.Sprintf("$%d\r\n%s\r\n", 64<<10-5, long('a', 64<<10-5)), open: true},
		{name: "inline over set limit", in: "ECHO " + long('a', 96) + "\r\n", lim: small, want: bigLine},
		{name: "redis: desync NUL", in: "\x00" + strings.Repeat("payload", 20000), want: bigLine},
		{name: "redis: desync *NUL", in: "*\x00" + strings.Repeat("payload", 20000),
			want: "-ERR Protocol error: too big mbulk count string\r\n"},
		{name: "redis: desync $NUL", in: "$\x00" + strings.Repeat("payload", 20000), want: bigLine},
		{name: "mbulk count line over 64KiB", in: "*" + long('1', 70000),
			want: "-ERR Protocol error: too big mbulk count string\r\n"},
		{name: "bulk count line over 64KiB", in: "*1\r\n$" + long('1', 70000),
			want: "-ERR Protocol error: too big bulk count string\r\n"},

		{name: "commands before the error still run", in: "PING\r\n*1\r\n$-5\r\nPING\r\n", want: "+PONG\r\n" + badBulk},
		{name: "empty lines are skipped", in: "\r\n\n  \r\nPING\r\n", want: "+PONG\r\n", open: true},

		{name: "request can never fit query buffer",
			in: "*1\r\n$2000\r\n", lim: Limits{MaxBulkLen: 4096, MaxQueryBuffer: 1024}, quiet: true},
		{name: "request outgrows query buffer",
			in:  "*2\r\n$600\r\n" + long('x', 600) + "\r\n$600\r\n" + long('y', 600) + "\r\n",
			lim: Limits{MaxBulkLen: 4096, MaxQueryBuffer: 1024}, quiet: true},
		{name: "inline outgrows query buffer",
			in: long('x', 2000), lim: Limits{MaxInlineLen: 4096, MaxQueryBuffer: 1024}, quiet: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			addr, closedErrs := startLimitServer(t, tc.lim)
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if tc.open {
				if _, err := c.Write([]byte(tc.in)); err != nil {
					t.Fatal(err)
				}
				got := make([]byte, len(tc.want))
				c.SetReadDeadline(time.Now().Add(5 * time.Second))
				if _, err := io.ReadFull(c, got); err != nil {
					t.Fatalf("reading reply: %v", err)
				}
				if string(got) != tc.want {
					t.Fatalf("got %q, want %q", got, tc.want)
				}
				if _, err := c.Write([]byte("PING\r\n")); err != nil {
					t.Fatal(err)
				}
				pong := make([]byte, 7)
				if _, err := io.ReadFull(c, pong); err != nil || string(pong) != "+PONG\r\n" {
					t.Fatalf("connection unusable after %q: %q %v", tc.in, pong, err)
				}
				return
			}
			// Written concurrently: the server may stop reading (and
			// reset the connection) before all of a long input is sent.
			go c.Write([]byte(tc.in))
			got, closed := readToClose(c)
			if string(got) != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
			if !closed {
				t.Fatalf("connection left open")
			}
			var cerr error
			select {
			case cerr = <-closedErrs:
			case <-time.After(5 * time.Second):
				t.Fatal("closed callback not called")
			}
			if tc.quiet {
				if !errors.Is(cerr, ErrQueryBufferLimit) {
					t.Fatalf("closed with %v, want ErrQueryBufferLimit", cerr)
				}
				return
			}
			var perr *errProtocol
			if !errors.As(cerr, &perr) || !strings.HasSuffix(tc.want, "-ERR "+perr.Error()+"\r\n") {
				t.Fatalf("closed with %v, want the protocol error of %q", cerr, tc.want)
			}
		})
	}
}

func TestHandlerPanicClosesOnlyItsConnection(t *testing.T) {
	addr, closedErrs := startLimitServer(t, Limits{})
	other, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	ping := func(c net.Conn) {
		t.Helper()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Write([]byte("PING\r\n")); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 7)
		if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "+PONG\r\n" {
			t.Fatalf("ping: %q %v", buf, err)
		}
	}
	ping(other)

	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("PANIC\r\n"))
	if got, closed := readToClose(c); len(got) != 0 || !closed {
		t.Fatalf("got %q closed=%v, want a silent close", got, closed)
	}
	select {
	case err := <-closedErrs:
		var pe *PanicError
		if !errors.As(err, &pe) || pe.Value != "boom" || len(pe.Stack) == 0 {
			t.Fatalf("closed with %#v, want *PanicError", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("closed callback not called")
	}
	ping(other)
}

// readAllCommands drains a Reader over data delivered chunk bytes per
// Read (0: all at once) and returns deep copies of the commands and the
// error that ended the stream.
func readAllCommands(data []byte, lim Limits, chunk int) ([]Command, error) {
	var src io.Reader = bytes.NewReader(data)
	if chunk > 0 {
		src = &chunkReader{b: data, n: chunk}
	}
	rd := NewReader(src)
	rd.SetLimits(lim)
	var cmds []Command
	for {
		cmd, err := rd.ReadCommand()
		if err != nil {
			return cmds, err
		}
		c := Command{Raw: append([]byte(nil), cmd.Raw...)}
		for _, a := range cmd.Args {
			c.Args = append(c.Args, append([]byte(nil), a...))
		}
		cmds = append(cmds, c)
	}
}

type chunkReader struct {
	b []byte
	n int
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	k := r.n
	if k > len(p) {
		k = len(p)
	}
	if k > len(r.b) {
		k = len(r.b)
	}
	copy(p, r.b[:k])
	r.b = r.b[k:]
	return k, nil
}

func sameCommands(a, b []Command) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i].Raw, b[i].Raw) || len(a[i].Args) != len(b[i].Args) {
			return false
		}
		for j := range a[i].Args {
			if !bytes.Equal(a[i].Args[j], b[i].Args[j]) {
				return false
			}
		}
	}
	return true
}

func TestReaderChunkingDoesNotMatter(t *testing.T) {
	stream := "*2\r\n$4\r\nECHO\r\n$12\r\nhello\r\nworld\r\n" +
		"PING\r\n" +
		"SET \"a b\" 'c\\td' \"\"\n" +
		"*0\r\n*-3\r\n\r\n" +
		"*3\r\n$3\r\nSET\r\n$0\r\n\r\n$5\r\nvalue\r\n" +
		"*1\r\n$4\r\nPINGXY"
	want, wantErr := readAllCommands([]byte(stream), Limits{}, 0)
	if len(want) != 4 || wantErr == nil || wantErr.Error() != errInvalidBulkLength.Error() {
		t.Fatalf("whole: %d commands, %v", len(want), wantErr)
	}
	for _, chunk := range []int{1, 2, 3, 5, 7, 16} {
		got, err := readAllCommands([]byte(stream), Limits{}, chunk)
		if !sameCommands(got, want) || err == nil || err.Error() != wantErr.Error() {
			t.Fatalf("chunk %d: %d commands, %v", chunk, len(got), err)
		}
	}
}

func heapAllocated() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.TotalAlloc
}

// Upstream sized its work by the declared counts: this asserts that
// nothing is allocated for arguments that never arrive.
func TestReaderDoesNotPreallocate(t *testing.T) {
	cases := []struct {
		name string
		in   string
		lim  Limits
	}{
		{"max args header", "*1048576\r\n$1\r\na\r\n", Limits{}},
		{"2e9 args allowed", "*2000000000\r\n$1\r\na\r\n$1\r\nb\r\n", Limits{MaxArgs: 2000000000}},
		{"max bulk header", "*1\r\n$67108864\r\nabcdef", Limits{}},
		{"1 GiB bulk allowed", "*1\r\n$1073741824\r\nabcdef", Limits{MaxBulkLen: 1 << 30}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := heapAllocated()
			start := time.Now()
			cmds, err := readAllCommands([]byte(tc.in), tc.lim, 0)
			allocated := heapAllocated() - before
			if len(cmds) != 0 || err != io.EOF {
				t.Fatalf("got %d commands, %v; want none and EOF", len(cmds), err)
			}
			if allocated > 256<<10 {
				t.Fatalf("allocated %d bytes for a %d byte input", allocated, len(tc.in))
			}
			if d := time.Since(start); d > time.Second {
				t.Fatalf("took %v", d)
			}
		})
	}
}

// The buffer must track what arrived, not what was declared, and never
// exceed twice that.
func TestReaderBufferTracksArrivedBytes(t *testing.T) {
	const size = 8 << 20
	data := []byte(fmt.Sprintf("*2\r\n$3\r\nSET\r\n$%d\r\n%s\r\nPING\r\n", size, strings.Repeat("v", size)))
	src := &watchReader{chunkReader: chunkReader{b: data, n: 64 << 10}}
	rd := NewReader(src)
	src.rd = rd
	cmd, err := rd.ReadCommand()
	if err != nil || len(cmd.Args) != 2 || len(cmd.Args[1]) != size {
		t.Fatalf("big command: %v", err)
	}
	if src.maxRatio > 2.01 {
		t.Fatalf("buffer reached %.2fx the bytes delivered", src.maxRatio)
	}
	cmd, err = rd.ReadCommand()
	if err != nil || string(cmd.Args[0]) != "PING" {
		t.Fatalf("next command: %q %v", cmd.Args, err)
	}
	if len(rd.buf) != minBufSize {
		t.Fatalf("read buffer kept %d bytes after draining", len(rd.buf))
	}
}

type watchReader struct {
	chunkReader
	rd        *Reader
	delivered int
	maxRatio  float64
}

func (w *watchReader) Read(p []byte) (int, error) {
	if w.delivered > minBufSize {
		if r := float64(len(w.rd.buf)) / float64(w.delivered); r > w.maxRatio {
			w.maxRatio = r
		}
	}
	n, err := w.chunkReader.Read(p)
	w.delivered += n
	return n, err
}

// Parsing resumes where it stopped, so a request of many small arguments
// arriving in small reads costs linear, not quadratic, time.
func TestReaderResumesPartialRequest(t *testing.T) {
	const nargs = 300000
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", nargs)
	for i := 0; i < nargs; i++ {
		b.WriteString("$1\r\nx\r\n")
	}
	data := []byte(b.String())
	rd := NewReader(&chunkReader{b: data, n: 4096})
	rd.SetLimits(Limits{MaxArgs: nargs})
	cmd, err := rd.ReadCommand()
	if err != nil || len(cmd.Args) != nargs {
		t.Fatalf("got %d args, %v", len(cmd.Args), err)
	}
	// White-box: with resumption each byte is looked at a bounded number
	// of times; upstream rescanned the whole request on every read
	// (~nargs*7/4096/2 times on average).
	half := len(data) / 2
	rd2 := NewReader(bytes.NewReader(data[:half]))
	rd2.SetLimits(Limits{MaxArgs: nargs})
	if _, err := rd2.ReadCommand(); err != io.EOF {
		t.Fatalf("partial: %v", err)
	}
	if rd2.mbCount != nargs || rd2.mbPos < half-16 || len(rd2.mbMarks) < 2*(half/7-2) {
		t.Fatalf("no progress kept: count=%d pos=%d marks=%d", rd2.mbCount, rd2.mbPos, len(rd2.mbMarks))
	}
}

func TestReaderStickyErrorAfterCommands(t *testing.T) {
	rd := NewReader(strings.NewReader("PING\r\nECHO x\r\n*1\r\n$-5\r\nPING\r\n"))
	for _, want := range []string{"PING", "ECHO"} {
		cmd, err := rd.ReadCommand()
		if err != nil || string(cmd.Args[0]) != want {
			t.Fatalf("want %s, got %q %v", want, cmd.Args, err)
		}
	}
	for i := 0; i < 2; i++ {
		if _, err := rd.ReadCommand(); err == nil || err.Error() != "Protocol error: invalid bulk length" {
			t.Fatalf("call %d: %v", i, err)
		}
	}
}

func TestReaderKeepsDataReturnedWithError(t *testing.T) {
	rd := NewReader(iotest.DataErrReader(strings.NewReader("PING\r\n")))
	cmd, err := rd.ReadCommand()
	if err != nil || string(cmd.Args[0]) != "PING" {
		t.Fatalf("got %q %v", cmd.Args, err)
	}
	if _, err := rd.ReadCommand(); err != io.EOF {
		t.Fatalf("got %v, want EOF", err)
	}
}

func TestParseInt(t *testing.T) {
	cases := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true}, {"1", 1, true}, {"-1", -1, true}, {"42", 42, true},
		{"9223372036854775807", 9223372036854775807, true},
		{"-9223372036854775808", -9223372036854775808, true},
		{"9223372036854775808", 0, false}, {"-9223372036854775809", 0, false},
		{"18446744073709551615", 0, false}, {"18446744073709551616", 0, false},
		{"99999999999999999999", 0, false}, {"123456789012345678901", 0, false},
		{"", 0, false}, {"-", 0, false}, {"+1", 0, false}, {"01", 0, false},
		{"-0", 0, false}, {"00", 0, false}, {" 1", 0, false}, {"1 ", 0, false},
		{"1a", 0, false}, {"0x10", 0, false},
	}
	for _, tc := range cases {
		got, ok := parseInt([]byte(tc.in))
		if got != tc.want || ok != tc.ok {
			t.Errorf("parseInt(%q) = %d, %v; want %d, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestParseKeepsUpstreamContract(t *testing.T) {
	for in, want := range map[string]error{
		"":                     errIncompleteCommand,
		"\r\n":                 errIncompleteCommand,
		"*1\r\n":               errIncompleteCommand,
		"*0\r\n":               errInvalidMultiBulkLength,
		"*-1\r\n":              errInvalidMultiBulkLength,
		"A\r\n*1\r\n":          errTooMuchData,
		"*1\r\n$-1\r\n":        errInvalidBulkLength,
		"*1\r\n$1\r\nA\r\nB\n": nil,
	} {
		if _, err := Parse([]byte(in)); err != want {
			t.Errorf("Parse(%q) = %v, want %v", in, err, want)
		}
	}
	cmd, err := Parse([]byte(`SET "a b" 'c\nd'` + "\r\n"))
	if err != nil || string(cmd.Args[1]) != "a b" || string(cmd.Args[2]) != "c\nd" ||
		string(cmd.Raw) != "*3\r\n$3\r\nSET\r\n$3\r\na b\r\n$3\r\nc\nd\r\n" {
		t.Fatalf("got %q %q %v", cmd.Raw, cmd.Args, err)
	}
}

// Upstream gave every token a copy of the rest of the line: a 64 KiB line
// of one-byte tokens allocated about 1 GiB.
func TestInlineAllocationIsLinear(t *testing.T) {
	line := strings.Repeat("a ", 32<<10-1) + "a\r\n"
	before := heapAllocated()
	cmds, err := readAllCommands([]byte(line), Limits{}, 0)
	allocated := heapAllocated() - before
	if err != io.EOF || len(cmds) != 1 || len(cmds[0].Args) != 32<<10 {
		t.Fatalf("got %d commands, %v", len(cmds), err)
	}
	if allocated > 16<<20 {
		t.Fatalf("allocated %d bytes for a %d byte line", allocated, len(line))
	}
}

func TestSplitInlineMatchesUpstreamRules(t *testing.T) {
	cases := []struct {
		in   string
		want []string // nil: unbalanced quotes
	}{
		{"HELLO WORLD", []string{"HELLO", "WORLD"}},
		{"  HELLO  PLANET ", []string{"HELLO", "PLANET"}},
		{`"HELLO " JELLO`, []string{"HELLO ", "JELLO"}},
		{`'a\tb' "c\\d" "\"" ""`, []string{"a\tb", `c\d`, `"`, ""}},
		{"a\tb", []string{"a\tb"}},
		{"", []string{}},
		{`a"b`, nil},
		{`"a"b`, nil},
		{`"abc`, nil},
		{`'abc\'`, nil},
		{`"abc\`, nil},
	}
	for _, tc := range cases {
		args, err := splitInline([]byte(tc.in), nil)
		if tc.want == nil {
			if err != errUnbalancedQuotes {
				t.Errorf("%q: got %q, %v; want unbalanced quotes", tc.in, args, err)
			}
			continue
		}
		got := []string{}
		for _, a := range args {
			got = append(got, string(a))
		}
		if err != nil || fmt.Sprint(got) != fmt.Sprint(tc.want) || len(got) != len(tc.want) {
			t.Errorf("%q: got %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestLimitsDefaults(t *testing.T) {
	d := DefaultLimits()
	if d.MaxBulkLen != 64<<20 || d.MaxArgs != 1024*1024 || d.MaxInlineLen != 64<<10 || d.MaxQueryBuffer != 1<<30 {
		t.Fatalf("defaults: %+v", d)
	}
	l := Limits{MaxBulkLen: 2 << 30}.normalize()
	if int64(l.MaxQueryBuffer) < l.MaxBulkLen {
		t.Fatalf("a raised MaxBulkLen must raise the default query buffer: %+v", l)
	}
	l = Limits{MaxBulkLen: 1 << 62}.normalize()
	if l.MaxBulkLen != maxBulkCeiling {
		t.Fatalf("MaxBulkLen not capped: %+v", l)
	}
}

// The standalone parsers in resp.go take caller-supplied bytes; hostile
// input must not panic them or blow their stack.
func TestRespHelpersOnHostileInput(t *testing.T) {
	deep := strings.Repeat("*1\r\n", 1<<20) + ":1\r\n"
	if n, resp := ReadNextRESP([]byte(deep)); n != len(deep) || resp.Type != Array {
		t.Fatalf("deep array: n=%d", n)
	}
	for _, in := range []string{
		"$9223372036854775806\r\nabc",
		"$9223372036854775807\r\n",
		"*9223372036854775807\r\n:1\r\n",
		"*2\r\n*9223372036854775807\r\n",
		"$-2\r\n",
	} {
		if n, _ := ReadNextRESP([]byte(in)); n > len(in) {
			t.Fatalf("%q: n=%d", in, n)
		}
	}
	for _, in := range []string{
		"*1\r\n$-2\r\nab\r\n",
		"*1\r\n$9223372036854775806\r\n",
		"*1\r\n$9223372036854775807\r\nab",
		"$9223372036854775806 x\r\n",
		"$-3 x\r\n",
		"*9223372036854775807\r\n$1\r\na\r\n",
	} {
		complete, _, _, _, _ := ReadNextCommand([]byte(in), nil)
		if complete {
			t.Fatalf("%q: parsed as complete", in)
		}
	}
	if _, _, _, _, err := ReadNextCommand([]byte("*1\r\n$-2\r\nab\r\n"), nil); err != errInvalidBulkLength {
		t.Fatalf("negative bulk: %v", err)
	}
}

// A long pipeline that fills every read is read in bigger bites, up to
// maxIdleBufSize, so a handler gets many commands at once; the buffer still
// tracks the bytes that arrived.
func TestReaderGrowsForAPipelineThatFillsEveryRead(t *testing.T) {
	data := []byte(strings.Repeat("*1\r\n$4\r\nPING\r\n", 20000))
	src := &watchReader{chunkReader: chunkReader{b: data, n: 1 << 20}}
	rd := NewReader(src)
	src.rd = rd
	most, total := 0, 0
	for total < 20000 {
		cmds, err := rd.readCommands()
		if err != nil {
			t.Fatalf("after %d commands: %v", total, err)
		}
		most = max(most, len(cmds))
		total += len(cmds)
	}
	if len(rd.buf) != maxIdleBufSize {
		t.Fatalf("exp the buffer to grow to %d, got %d", maxIdleBufSize, len(rd.buf))
	}
	if exp := maxIdleBufSize / 14 * 9 / 10; most < exp {
		t.Fatalf("exp a read of at least %d commands, the most was %d", exp, most)
	}
	if src.maxRatio > 2.01 {
		t.Fatalf("buffer reached %.2fx the bytes delivered", src.maxRatio)
	}
}
