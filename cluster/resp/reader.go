package resp

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"

	"github.com/raftlist/raftlist/fsm"
)

// Defaults for Limits fields left at zero.
const (
	DefaultMaxBulk  = 64 << 20 // as the RESP server's own argument limit
	DefaultMaxArray = 1 << 24
	DefaultMaxDepth = 64       // Redis replies nest a handful of levels
	DefaultMaxLine  = 64 << 10 // as Redis's PROTO_INLINE_MAX_SIZE
	DefaultMaxReply = 1 << 30  // as Redis's client-query-buffer-limit
)

// Limits bounds one reply. A zero (or negative) field takes its default.
type Limits struct {
	MaxBulk  int64 // bytes in one bulk string
	MaxArray int64 // elements in one array, at any level
	MaxDepth int   // arrays nested inside one another
	MaxLine  int   // bytes in one line (simple string, error, integer, header)
	MaxReply int64 // bytes in the whole reply; at least MaxBulk plus room
}

func (l Limits) normalize() Limits {
	if l.MaxBulk <= 0 {
		l.MaxBulk = DefaultMaxBulk
	}
	if l.MaxBulk > math.MaxInt32*int64(1024) {
		// Keeps "length + 2" and buffer sizes far from overflow.
		l.MaxBulk = math.MaxInt32 * int64(1024)
	}
	if l.MaxArray <= 0 {
		l.MaxArray = DefaultMaxArray
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultMaxDepth
	}
	if l.MaxLine <= 0 {
		l.MaxLine = DefaultMaxLine
	}
	if l.MaxReply <= 0 {
		l.MaxReply = DefaultMaxReply
		// A raised MaxBulk would otherwise be unreachable.
		if need := l.MaxBulk + 2*int64(l.MaxLine); need > l.MaxReply {
			l.MaxReply = need
		}
	}
	return l
}

// Errors from ReadReply and ParseReply are io.EOF (the stream ended between
// replies), io.ErrUnexpectedEOF (it ended inside one), a read error from
// the underlying reader, or one wrapping ErrProtocol or ErrTooLarge. After
// any of them the stream's framing is lost: close the connection.
var (
	ErrProtocol = errors.New("resp: protocol error")
	ErrTooLarge = errors.New("resp: reply exceeds limit")
)

func protoErr(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrProtocol}, args...)...)
}

func tooLarge(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrTooLarge}, args...)...)
}

// Reader reads whole RESP2 replies from a stream.
type Reader struct {
	br  *bufio.Reader
	lim Limits
	err error // sticky: once framing is lost, every later call fails
}

// NewReader returns a Reader whose bulk strings may hold at most maxBulk
// bytes (<= 0: DefaultMaxBulk); the other limits take their defaults.
func NewReader(r io.Reader, maxBulk int64) *Reader {
	return &Reader{
		br:  bufio.NewReaderSize(r, 16<<10),
		lim: Limits{MaxBulk: maxBulk}.normalize(),
	}
}

// SetLimits replaces all of the reader's limits.
func (r *Reader) SetLimits(l Limits) {
	r.lim = l.normalize()
}

// ReadReply returns exactly the bytes of the next complete reply, nested
// arrays included, so that they can be relayed unchanged. The slice is
// newly allocated and belongs to the caller.
func (r *Reader) ReadReply() (raw []byte, err error) {
	if r.err != nil {
		return nil, r.err
	}
	raw, err = r.readReply()
	if err != nil {
		if err == io.EOF && len(raw) > 0 {
			err = io.ErrUnexpectedEOF
		}
		r.err = err
		return nil, err
	}
	return raw, nil
}

func (r *Reader) readReply() ([]byte, error) {
	var raw []byte
	// Elements still owed by each open array, innermost last. Walking with
	// this stack instead of recursion keeps hostile nesting off the
	// goroutine stack; MaxDepth bounds it.
	var owed []int64
	for {
		lineStart := len(raw)
		var err error
		raw, err = r.readLine(raw)
		if err != nil {
			return raw, err
		}
		line := raw[lineStart : len(raw)-2]
		switch line[0] {
		case '+', '-':
			if err := checkSimple(line[1:]); err != nil {
				return raw, err
			}
		case ':':
			if _, ok := parseInt(line[1:]); !ok {
				return raw, protoErr("invalid integer %q", clip(line))
			}
		case '$':
			n, ok := parseInt(line[1:])
			if !ok || n < -1 {
				return raw, protoErr("invalid bulk length %q", clip(line))
			}
			if n > r.lim.MaxBulk {
				return raw, tooLarge("bulk length %d above %d", n, r.lim.MaxBulk)
			}
			if n >= 0 {
				if raw, err = r.readBulk(raw, n); err != nil {
					return raw, err
				}
			}
		case '*':
			n, ok := parseInt(line[1:])
			if !ok || n < -1 {
				return raw, protoErr("invalid array length %q", clip(line))
			}
			if n > r.lim.MaxArray {
				return raw, tooLarge("array length %d above %d", n, r.lim.MaxArray)
			}
			if n > 0 {
				if len(owed) == r.lim.MaxDepth {
					return raw, tooLarge("arrays nested deeper than %d", r.lim.MaxDepth)
				}
				// Nothing is allocated for the n elements: they are
				// only counted as they arrive.
				owed = append(owed, n)
				continue
			}
		default:
			return raw, protoErr("invalid reply type %q", line[0])
		}
		// One value is complete; close every array it completes.
		for {
			if len(owed) == 0 {
				return raw, nil
			}
			owed[len(owed)-1]--
			if owed[len(owed)-1] > 0 {
				break
			}
			owed = owed[:len(owed)-1]
		}
	}
}

// readLine appends one CRLF-terminated line (of at least one byte before
// the CRLF) to raw.
func (r *Reader) readLine(raw []byte) ([]byte, error) {
	start := len(raw)
	for {
		frag, err := r.br.ReadSlice('\n')
		if len(raw)-start+len(frag) > r.lim.MaxLine+2 {
			return raw, tooLarge("line longer than %d bytes", r.lim.MaxLine)
		}
		if int64(len(raw)+len(frag)) > r.lim.MaxReply {
			return raw, tooLarge("reply longer than %d bytes", r.lim.MaxReply)
		}
		raw = append(raw, frag...)
		if err == nil {
			break
		}
		if err != bufio.ErrBufferFull {
			return raw, err
		}
	}
	line := raw[start:]
	if len(line) < 3 || line[len(line)-2] != '\r' {
		return raw, protoErr("line not terminated by CRLF: %q", clip(line))
	}
	return raw, nil
}

// readBulk appends the n bytes of a bulk string and its CRLF to raw,
// growing raw only as the bytes arrive.
func (r *Reader) readBulk(raw []byte, n int64) ([]byte, error) {
	if int64(len(raw))+n+2 > r.lim.MaxReply {
		return raw, tooLarge("reply longer than %d bytes", r.lim.MaxReply)
	}
	need := int(n) + 2
	for need > 0 {
		chunk := min(need, 64<<10)
		raw = slices.Grow(raw, chunk)
		got, err := io.ReadFull(r.br, raw[len(raw):len(raw)+chunk])
		raw = raw[:len(raw)+got]
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return raw, err
		}
		need -= chunk
	}
	if raw[len(raw)-2] != '\r' || raw[len(raw)-1] != '\n' {
		return raw, protoErr("bulk string not followed by CRLF")
	}
	return raw, nil
}

// checkSimple rejects a CR inside a simple string or error: RESP forbids
// it, and a client receiving one relayed could misframe what follows.
func checkSimple(s []byte) error {
	for _, c := range s {
		if c == '\r' {
			return protoErr("CR inside simple string")
		}
	}
	return nil
}

// parseInt accepts only canonical decimal integers (optional '-', no '+',
// no leading zeros, no "-0", fits in int64), the form Redis writes and
// reads (string2ll). Being strict keeps ParseReply and AppendValue exact
// inverses.
func parseInt(b []byte) (int64, bool) { return fsm.ParseInt(b) }

// clip keeps error messages short when the offending line is long.
func clip(b []byte) []byte {
	if len(b) > 32 {
		return b[:32]
	}
	return b
}
