package tests

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/raftlist/raftlist/fsm/resp"
)

// maxReplyBulk bounds one bulk string the test client accepts.
const maxReplyBulk = 512 << 20

// rawConn is a plain RESP connection: commands go out exactly as given and
// replies come back as raw bytes, so two servers' answers can be compared
// byte for byte.
type rawConn struct {
	addr    string
	conn    net.Conn
	rd      *resp.Reader
	timeout time.Duration
}

func dialRaw(addr string, timeout time.Duration) (*rawConn, error) {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	return &rawConn{addr: addr, conn: conn, rd: resp.NewReader(conn, maxReplyBulk), timeout: timeout}, nil
}

func (c *rawConn) Close() error { return c.conn.Close() }

// do sends one command and reads its raw reply.
func (c *rawConn) do(args ...[]byte) ([]byte, error) {
	c.conn.SetDeadline(time.Now().Add(c.timeout))
	if _, err := c.conn.Write(resp.AppendCommand(nil, args...)); err != nil {
		return nil, err
	}
	return c.rd.ReadReply()
}

// pipeline sends several commands in one write and reads their replies.
func (c *rawConn) pipeline(cmds [][][]byte) ([][]byte, error) {
	c.conn.SetDeadline(time.Now().Add(c.timeout))
	var buf []byte
	for _, args := range cmds {
		buf = resp.AppendCommand(buf, args...)
	}
	if _, err := c.conn.Write(buf); err != nil {
		return nil, err
	}
	out := make([][]byte, 0, len(cmds))
	for range cmds {
		raw, err := c.rd.ReadReply()
		if err != nil {
			return out, err
		}
		out = append(out, raw)
	}
	return out, nil
}

// doStr is do with string arguments.
func (c *rawConn) doStr(args ...string) ([]byte, error) {
	return c.do(bargs(args...)...)
}

// writeRaw sends bytes as they are, for malformed input.
func (c *rawConn) writeRaw(b []byte) error {
	c.conn.SetDeadline(time.Now().Add(c.timeout))
	_, err := c.conn.Write(b)
	return err
}

// readReply reads one raw reply.
func (c *rawConn) readReply() ([]byte, error) {
	c.conn.SetDeadline(time.Now().Add(c.timeout))
	return c.rd.ReadReply()
}

func bargs(args ...string) [][]byte {
	out := make([][]byte, len(args))
	for i, a := range args {
		out[i] = []byte(a)
	}
	return out
}

// isClosed reports whether err means the peer closed the connection.
func isClosed(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) {
		return true
	}
	s := err.Error()
	return strings.Contains(s, "connection reset") || strings.Contains(s, "broken pipe")
}

// isTimeout reports whether err is a read or write deadline.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// ---------------------------------------------------------------------------
// Parsed replies.

// reply is a parsed reply, in the few shapes tests look at. A RESP3
// aggregate (map, set, push) is an array whose agg says which, a
// verbatim string a bulk string (agg '='), RESP3's null kind '_'; the
// other RESP3 scalars keep their type byte as kind.
type reply struct {
	kind  byte // '+', '-', ':', '$', '*', '_', ',', '#', '('
	agg   byte // RESP3's type byte of a map, set, push or verbatim string
	str   []byte
	n     int64
	elems []reply
	null  bool
}

// parseRaw parses one raw reply with fsm/resp.
func parseRaw(raw []byte) (reply, error) {
	v, err := resp.ParseReply(raw)
	if err != nil {
		return reply{}, err
	}
	return fromValue(v), nil
}

func fromValue(v resp.Value) reply {
	r := reply{}
	switch v.Kind {
	case resp.KindStatus:
		r.kind, r.str = '+', v.Str
	case resp.KindError:
		r.kind, r.str = '-', v.Str
	case resp.KindInt:
		r.kind, r.n = ':', v.Int
	case resp.KindBulk:
		r.kind, r.str = '$', v.Str
	case resp.KindNull:
		r.kind, r.null = '$', true
	case resp.KindArray:
		r.kind = '*'
		for _, e := range v.Array {
			r.elems = append(r.elems, fromValue(e))
		}
	case resp.KindNullArray:
		r.kind, r.null = '*', true
	case resp.KindMap, resp.KindSet, resp.KindPush:
		r.kind, r.agg = '*', map[resp.Kind]byte{resp.KindMap: '%', resp.KindSet: '~', resp.KindPush: '>'}[v.Kind]
		for _, e := range v.Array {
			r.elems = append(r.elems, fromValue(e))
		}
	case resp.KindVerbatim:
		r.kind, r.agg, r.str = '$', '=', v.Str[4:]
	case resp.KindNil:
		r.kind, r.null = '_', true
	case resp.KindDouble, resp.KindBigNumber:
		r.kind, r.str = map[resp.Kind]byte{resp.KindDouble: ',', resp.KindBigNumber: '('}[v.Kind], v.Str
	case resp.KindBool:
		r.kind, r.n = '#', v.Int
	}
	return r
}

// String renders a reply readably, for messages and normalised
// comparisons.
func (r reply) String() string {
	switch {
	case r.kind == '$' && r.null:
		return "(nil)"
	case r.kind == '*' && r.null:
		return "(nil array)"
	case r.kind == '_':
		return "(null)"
	case r.kind == ',' || r.kind == '(':
		return string(r.kind) + string(r.str)
	case r.kind == '#':
		return "#" + strconv.FormatInt(r.n, 10)
	case r.agg == '=':
		return "=" + quoteBytes(r.str, 200)
	}
	switch r.kind {
	case '+':
		return "+" + string(r.str)
	case '-':
		return "-" + string(r.str)
	case ':':
		return ":" + strconv.FormatInt(r.n, 10)
	case '$':
		return quoteBytes(r.str, 200)
	case '*':
		parts := make([]string, len(r.elems))
		for i, e := range r.elems {
			parts[i] = e.String()
		}
		if r.agg != 0 {
			return string(r.agg) + "[" + strings.Join(parts, " ") + "]"
		}
		return "[" + strings.Join(parts, " ") + "]"
	}
	return "?"
}

// strings returns the elements of an array of bulk strings.
func (r reply) strings() []string {
	out := make([]string, 0, len(r.elems))
	for _, e := range r.elems {
		out = append(out, string(e.str))
	}
	return out
}

// sortedStrings returns the elements of an array of bulk strings, sorted.
func (r reply) sortedStrings() []string {
	out := r.strings()
	sort.Strings(out)
	return out
}

// quoteBytes quotes b for a message, shortening long values.
func quoteBytes(b []byte, max int) string {
	if len(b) <= max {
		return strconv.Quote(string(b))
	}
	return fmt.Sprintf("%s...(%d bytes)", strconv.Quote(string(b[:max/2])), len(b))
}

// quoteCommand renders a command with every argument quoted.
func quoteCommand(args [][]byte) string {
	parts := make([]string, len(args))
	for i, a := range args {
		parts[i] = quoteBytes(a, 120)
	}
	return strings.Join(parts, " ")
}

// quoteRaw renders a raw reply for a message.
func quoteRaw(raw []byte) string {
	return quoteBytes(raw, 600)
}

// mustDo runs a command and parses its reply, failing the test on a
// transport error.
func mustDo(t testingT, c *rawConn, args ...string) reply {
	t.Helper()
	raw, err := c.doStr(args...)
	if err != nil {
		t.Fatalf("%s on %s: %v", quoteCommand(bargs(args...)), c.addr, err)
	}
	r, err := parseRaw(raw)
	if err != nil {
		t.Fatalf("%s on %s: unparsable reply %s: %v", quoteCommand(bargs(args...)), c.addr, quoteRaw(raw), err)
	}
	return r
}

// testingT is the part of testing.TB helpers here need.
type testingT interface {
	Helper()
	Fatalf(format string, args ...any)
	Logf(format string, args ...any)
}

// isErrorPrefix reports whether raw is an error reply starting with prefix.
func isErrorPrefix(raw []byte, prefix string) bool {
	return bytes.HasPrefix(raw, []byte("-"+prefix))
}
