package resp

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
)

// Defaults for Limits fields left at zero.
const (
	DefaultMaxBulk = 64 << 20 // as the RESP server's own argument limit
	// DefaultMaxArray is as many elements as a reply of DefaultMaxReply
	// bytes can hold (each takes at least 3, "+\r\n"): counts cost no
	// memory (they are only counted as elements arrive), so the bytes are
	// the limit. A Limits with MaxArray zero derives it from its MaxReply.
	DefaultMaxArray = DefaultMaxReply / minElemSize
	// DefaultMaxDepth is the deepest nesting any reply of the state
	// machine has (a script's nested table inside EXEC's array): a node
	// relays every reply its leader can give. Nesting costs the reader one
	// counter per level, on the heap, never the goroutine stack.
	DefaultMaxDepth = MaxReplyDepth
	DefaultMaxLine  = 64 << 10 // as Redis's PROTO_INLINE_MAX_SIZE
	DefaultMaxReply = 1 << 30  // as Redis's client-query-buffer-limit
)

// minElemSize is the fewest bytes one element of an array takes.
const minElemSize = 3

// headKeep is how much of a line a dropped reply keeps: more than any
// header (a type byte and a canonical int64) needs to be parsed.
const headKeep = 32

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
	if l.MaxArray <= 0 {
		l.MaxArray = l.MaxReply / minElemSize
	}
	return l
}

// Errors from ReadReply and ParseReply are io.EOF (the stream ended between
// replies), io.ErrUnexpectedEOF (it ended inside one), a read error from
// the underlying reader, or one wrapping ErrProtocol or ErrTooLarge. After
// any of them the stream's framing is lost (close the connection), except
// after one wrapping ErrDropped.
var (
	ErrProtocol = errors.New("resp: protocol error")
	ErrTooLarge = errors.New("resp: reply exceeds limit")
	// ErrDropped wraps ErrTooLarge for a reply over a size limit (bulk,
	// line, array length, whole reply) that was still well formed: it was
	// read to its end and thrown away, so the stream is in sync and the
	// next ReadReply reads the next reply. Only nesting beyond MaxDepth,
	// which would cost memory with every level, ends the stream instead.
	ErrDropped = errors.New("resp: reply dropped")
)

func protoErr(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrProtocol}, args...)...)
}

func tooLarge(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrTooLarge}, args...)...)
}

// Reader reads whole RESP2 or RESP3 replies from a stream. An attribute
// (|) is read with the value it annotates, as one reply; a push (>) is a
// reply like any other.
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
		if !errors.Is(err, ErrDropped) {
			r.err = err
		}
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
	// over is the size limit the reply broke. From then on the rest of it
	// is read only to find its end, keeping nothing but the current line's
	// head, so that the stream stays in sync.
	var over error
	for {
		if over != nil {
			raw = raw[:0]
			if cap(raw) > 4*headKeep {
				raw = nil // let what was read before the limit go
			}
		}
		lineStart := len(raw)
		var err error
		raw, err = r.readLine(raw, &over)
		if err != nil {
			if err == io.EOF && (over != nil || len(owed) > 0) {
				err = io.ErrUnexpectedEOF
			}
			return raw, err
		}
		line := raw[lineStart : len(raw)-2]
		switch line[0] {
		case '+', '-':
			// readLine refused a CR inside the line.
		case ':', '_', '#', ',', '(':
			if !validScalar(line) {
				return raw, protoErr("invalid %q reply %q", line[0], clipLine(line))
			}
		case '$', '!', '=':
			n, ok := ParseInt(line[1:])
			if !ok || n < -1 || (n == -1 && line[0] != '$') || (line[0] == '=' && n >= 0 && n < 4) {
				return raw, protoErr("invalid bulk length %q", clipLine(line))
			}
			if n > r.lim.MaxBulk && over == nil {
				over = tooLarge("bulk length %d above %d", n, r.lim.MaxBulk)
			}
			if n >= 0 {
				start := len(raw)
				if raw, err = r.readBulk(raw, n, &over); err != nil {
					return raw, err
				}
				if line[0] == '=' && over == nil && raw[start+3] != ':' {
					return raw, protoErr("verbatim string without its format")
				}
			}
		case '*', '~', '>', '%', '|':
			n, ok := ParseInt(line[1:])
			if !ok || n < -1 || (n == -1 && line[0] != '*') || n > math.MaxInt64/2-1 {
				return raw, protoErr("invalid aggregate length %q", clipLine(line))
			}
			elems := aggregateElems(line[0], n)
			if elems > r.lim.MaxArray && over == nil {
				over = tooLarge("aggregate of %d elements above %d", elems, r.lim.MaxArray)
			}
			if elems > 0 {
				if len(owed) == r.lim.MaxDepth {
					return raw, tooLarge("aggregates nested deeper than %d", r.lim.MaxDepth)
				}
				// Nothing is allocated for the elements: they are
				// only counted as they arrive.
				owed = append(owed, elems)
				continue
			}
		default:
			return raw, protoErr("invalid reply type %q", line[0])
		}
		// One value is complete; close every array it completes.
		for {
			if len(owed) == 0 {
				if over != nil {
					return nil, fmt.Errorf("%w: %w", ErrDropped, over)
				}
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
// the CRLF, and no other CR: RESP forbids it, and a client receiving one
// relayed could misframe what follows) to raw. A line that would break
// MaxLine or MaxReply sets *over; once it is set, only the line's first
// headKeep bytes and a CRLF are appended, whatever its length.
func (r *Reader) readLine(raw []byte, over *error) ([]byte, error) {
	start := len(raw)
	n := 0      // bytes of the line read so far
	cr := false // the last byte read was a CR
	for {
		frag, err := r.br.ReadSlice('\n')
		if *over == nil {
			if n+len(frag) > r.lim.MaxLine+2 {
				*over = tooLarge("line longer than %d bytes", r.lim.MaxLine)
			} else if int64(len(raw)+len(frag)) > r.lim.MaxReply {
				*over = tooLarge("reply longer than %d bytes", r.lim.MaxReply)
			}
			if *over != nil {
				raw = raw[:start+min(len(raw)-start, headKeep)]
			}
		}
		if *over == nil {
			raw = append(raw, frag...)
		} else if keep := headKeep - (len(raw) - start); keep > 0 {
			raw = append(raw, frag[:min(keep, len(frag))]...)
		}
		for i, c := range frag {
			switch {
			case c == '\n' && (!cr || n+i < 2):
				return raw, protoErr("line not terminated by CRLF")
			case cr && c != '\n':
				return raw, protoErr("CR inside a line")
			}
			cr = c == '\r'
		}
		n += len(frag)
		if err == nil {
			break
		}
		if err != bufio.ErrBufferFull {
			if err == io.EOF && n > 0 {
				err = io.ErrUnexpectedEOF
			}
			return raw, err
		}
	}
	if *over != nil {
		// What was kept of a dropped line, ended as the caller expects.
		raw = append(raw[:start+min(len(raw)-start, n-2)], '\r', '\n')
	}
	return raw, nil
}

// readBulk appends the n bytes of a bulk string and its CRLF to raw,
// growing raw only as the bytes arrive. One that would break MaxReply sets
// *over; once it is set, the bytes are read and dropped.
func (r *Reader) readBulk(raw []byte, n int64, over *error) ([]byte, error) {
	if *over == nil && int64(len(raw))+n+2 > r.lim.MaxReply {
		*over = tooLarge("reply longer than %d bytes", r.lim.MaxReply)
	}
	if *over != nil {
		return raw, r.dropBulk(n)
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

// dropBulk reads a bulk string's n bytes and its CRLF, keeping nothing.
func (r *Reader) dropBulk(n int64) error {
	for n > 0 {
		chunk := int(min(n, 1<<30))
		got, err := r.br.Discard(chunk)
		n -= int64(got)
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
	}
	var crlf [2]byte
	if _, err := io.ReadFull(r.br, crlf[:]); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return err
	}
	if crlf != [2]byte{'\r', '\n'} {
		return protoErr("bulk string not followed by CRLF")
	}
	return nil
}

// aggregateElems is how many values follow an aggregate's header of
// length n: a map's keys and values, an attribute's and the value it
// annotates.
func aggregateElems(kind byte, n int64) int64 {
	switch kind {
	case '%':
		return 2 * n
	case '|':
		return 2*n + 1
	}
	return n
}

// validScalar checks a one-line RESP3 value (integer, null, boolean,
// double, big number), type byte included.
func validScalar(line []byte) bool {
	body := line[1:]
	switch line[0] {
	case ':':
		_, ok := ParseInt(body)
		return ok
	case '_':
		return len(body) == 0
	case '#':
		return len(body) == 1 && (body[0] == 't' || body[0] == 'f')
	case ',':
		_, err := strconv.ParseFloat(string(body), 64)
		return len(body) > 0 && (err == nil || errors.Is(err, strconv.ErrRange))
	case '(':
		if len(body) > 0 && (body[0] == '-' || body[0] == '+') {
			body = body[1:]
		}
		for _, c := range body {
			if c < '0' || c > '9' {
				return false
			}
		}
		return len(body) > 0
	}
	return false
}

// clipLine keeps error messages short when the offending line is long.
func clipLine(b []byte) []byte {
	if len(b) > 32 {
		return b[:32]
	}
	return b
}
