package resp

import (
	"fmt"
	"strconv"
)

// Kind is the type of a RESP2 reply.
type Kind uint8

const (
	KindStatus    Kind = iota + 1 // +OK
	KindError                     // -ERR ...
	KindInt                       // :42
	KindBulk                      // $3\r\nfoo
	KindNull                      // $-1
	KindArray                     // *2 ...
	KindNullArray                 // *-1
)

var kindNames = [...]string{"Invalid", "KindStatus", "KindError", "KindInt", "KindBulk", "KindNull", "KindArray", "KindNullArray"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Value is one parsed reply. Str holds a Status or Error without its
// prefix, or a Bulk's bytes; Int an Int; Array an Array's elements.
// Slices alias the raw bytes that were parsed.
type Value struct {
	Kind  Kind
	Str   []byte
	Int   int64
	Array []Value
}

func (v Value) String() string {
	return string(AppendValue(nil, v))
}

// ParseReply parses raw, which must hold exactly one complete reply, such
// as ReadReply returns. It accepts what a Reader with limits at least
// len(raw) would, except that nesting is not limited (it does not
// recurse, so depth costs heap proportional to the input, not stack).
func ParseReply(raw []byte) (Value, error) {
	type frame struct {
		elems []Value
		want  int
	}
	var stack []frame
	pos := 0
	for {
		if pos == len(raw) {
			return Value{}, fmt.Errorf("%w: incomplete reply", ErrProtocol)
		}
		end := indexCRLF(raw, pos)
		if end == -1 {
			return Value{}, fmt.Errorf("%w: incomplete reply", ErrProtocol)
		}
		if end < 0 {
			return Value{}, protoErr("line not terminated by CRLF")
		}
		line := raw[pos:end]
		pos = end + 2
		var v Value
		switch line[0] {
		case '+', '-':
			// indexCRLF already refused a CR inside the line.
			v = Value{Kind: KindStatus, Str: line[1:]}
			if line[0] == '-' {
				v.Kind = KindError
			}
		case ':':
			n, ok := ParseInt(line[1:])
			if !ok {
				return Value{}, protoErr("invalid integer %q", clipLine(line))
			}
			v = Value{Kind: KindInt, Int: n}
		case '$':
			n, ok := ParseInt(line[1:])
			if !ok || n < -1 {
				return Value{}, protoErr("invalid bulk length %q", clipLine(line))
			}
			if n == -1 {
				v = Value{Kind: KindNull}
				break
			}
			// Written so that a huge n cannot overflow.
			if n > int64(len(raw)-pos-2) {
				return Value{}, fmt.Errorf("%w: incomplete reply", ErrProtocol)
			}
			e := pos + int(n)
			if raw[e] != '\r' || raw[e+1] != '\n' {
				return Value{}, protoErr("bulk string not followed by CRLF")
			}
			v = Value{Kind: KindBulk, Str: raw[pos:e]}
			pos = e + 2
		case '*':
			n, ok := ParseInt(line[1:])
			if !ok || n < -1 {
				return Value{}, protoErr("invalid array length %q", clipLine(line))
			}
			if n == -1 {
				v = Value{Kind: KindNullArray}
				break
			}
			// Each element takes at least 3 bytes ("+\r\n").
			if n > int64(len(raw)-pos)/3 {
				return Value{}, fmt.Errorf("%w: incomplete reply", ErrProtocol)
			}
			if n > 0 {
				// Small initial capacity: sized by n, nested arrays
				// would cost memory quadratic in the input.
				stack = append(stack, frame{elems: make([]Value, 0, min(n, 16)), want: int(n)})
				continue
			}
			v = Value{Kind: KindArray, Array: []Value{}}
		default:
			return Value{}, protoErr("invalid reply type %q", line[0])
		}
		for {
			if len(stack) == 0 {
				if pos != len(raw) {
					return Value{}, protoErr("%d bytes after the reply", len(raw)-pos)
				}
				return v, nil
			}
			top := &stack[len(stack)-1]
			top.elems = append(top.elems, v)
			if len(top.elems) < top.want {
				break
			}
			v = Value{Kind: KindArray, Array: top.elems}
			stack = stack[:len(stack)-1]
		}
	}
}

// indexCRLF returns the index of the CRLF ending the non-empty line that
// starts at pos, -1 if b ends first, or -2 if a lone CR or LF comes first.
func indexCRLF(b []byte, pos int) int {
	for i := pos + 1; i < len(b); i++ {
		switch b[i] {
		case '\n':
			return -2
		case '\r':
			if i+1 == len(b) {
				return -1
			}
			if b[i+1] == '\n' {
				return i
			}
			return -2
		}
	}
	return -1
}

// AppendValue appends v's RESP2 encoding to dst. For any raw that
// ParseReply accepts, AppendValue(nil, v) gives raw back byte for byte.
// A Value of unknown Kind is encoded as an error reply, so that a bug never
// produces a malformed stream.
func AppendValue(dst []byte, v Value) []byte {
	// Iterative, like ParseReply: elements still to write, innermost last.
	type frame struct{ rest []Value }
	var stack []frame
	for {
		switch v.Kind {
		case KindStatus:
			dst = append(append(append(dst, '+'), v.Str...), '\r', '\n')
		case KindError:
			dst = append(append(append(dst, '-'), v.Str...), '\r', '\n')
		case KindInt:
			dst = append(strconv.AppendInt(append(dst, ':'), v.Int, 10), '\r', '\n')
		case KindBulk:
			dst = append(strconv.AppendInt(append(dst, '$'), int64(len(v.Str)), 10), '\r', '\n')
			dst = append(append(dst, v.Str...), '\r', '\n')
		case KindNull:
			dst = append(dst, "$-1\r\n"...)
		case KindNullArray:
			dst = append(dst, "*-1\r\n"...)
		case KindArray:
			dst = append(strconv.AppendInt(append(dst, '*'), int64(len(v.Array)), 10), '\r', '\n')
			if len(v.Array) > 0 {
				stack = append(stack, frame{rest: v.Array})
			}
		default:
			dst = append(dst, "-ERR invalid reply kind "+v.Kind.String()+"\r\n"...)
		}
		for len(stack) > 0 && len(stack[len(stack)-1].rest) == 0 {
			stack = stack[:len(stack)-1]
		}
		if len(stack) == 0 {
			return dst
		}
		top := &stack[len(stack)-1]
		v, top.rest = top.rest[0], top.rest[1:]
	}
}
