package resp

import (
	"fmt"
	"math"
	"strconv"
)

// Kind is the type of a RESP2 or RESP3 reply.
type Kind uint8

const (
	KindStatus    Kind = iota + 1 // +OK
	KindError                     // -ERR ...
	KindInt                       // :42
	KindBulk                      // $3\r\nfoo
	KindNull                      // $-1
	KindArray                     // *2 ...
	KindNullArray                 // *-1
	// RESP3. Str holds the line after the type byte of a double or big
	// number (as sent, so that it re-encodes byte for byte), a blob
	// error's bytes, or a verbatim string's whole content ("txt:...");
	// Int a boolean (1 or 0); Array the elements of an aggregate (a
	// map's keys and values alternating; an attribute's keys and values
	// and, last, the value it annotates).
	KindNil       // _
	KindDouble    // ,3.14
	KindBool      // #t
	KindBigNumber // (1234...
	KindBlobError // !len
	KindVerbatim  // =len txt:...
	KindMap       // %n
	KindSet       // ~n
	KindPush      // >n
	KindAttribute // |n
)

var kindNames = [...]string{"Invalid", "KindStatus", "KindError", "KindInt", "KindBulk", "KindNull", "KindArray", "KindNullArray",
	"KindNil", "KindDouble", "KindBool", "KindBigNumber", "KindBlobError", "KindVerbatim", "KindMap", "KindSet", "KindPush", "KindAttribute"}

// aggregateKinds and their type bytes.
var aggregateKinds = map[byte]Kind{'*': KindArray, '%': KindMap, '~': KindSet, '>': KindPush, '|': KindAttribute}

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

// valueTypeByte is the type byte of the kinds AppendValue writes from it.
var valueTypeByte = map[Kind]byte{KindArray: '*', KindMap: '%', KindSet: '~', KindPush: '>', KindAttribute: '|',
	KindDouble: ',', KindBigNumber: '(', KindBlobError: '!', KindVerbatim: '='}

// ParseReply parses raw, which must hold exactly one complete reply, such
// as ReadReply returns. It accepts what a Reader with limits at least
// len(raw) would, except that nesting is not limited (it does not
// recurse, so depth costs heap proportional to the input, not stack).
func ParseReply(raw []byte) (Value, error) {
	type frame struct {
		kind  Kind
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
		case '_', '#', ',', '(':
			if !validScalar(line) {
				return Value{}, protoErr("invalid %q reply %q", line[0], clipLine(line))
			}
			v = scalarValue(line)
		case '$', '!', '=':
			n, ok := ParseInt(line[1:])
			if !ok || n < -1 || (n == -1 && line[0] != '$') || (line[0] == '=' && n >= 0 && n < 4) {
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
			switch line[0] {
			case '!':
				v.Kind = KindBlobError
			case '=':
				if raw[pos+3] != ':' {
					return Value{}, protoErr("verbatim string without its format")
				}
				v.Kind = KindVerbatim
			}
			pos = e + 2
		case '*', '%', '~', '>', '|':
			n, ok := ParseInt(line[1:])
			if !ok || n < -1 || (n == -1 && line[0] != '*') || n > math.MaxInt64/2-1 {
				return Value{}, protoErr("invalid aggregate length %q", clipLine(line))
			}
			if n == -1 {
				v = Value{Kind: KindNullArray}
				break
			}
			elems := aggregateElems(line[0], n)
			// Each element takes at least 3 bytes ("+\r\n").
			if elems > int64(len(raw)-pos)/3 {
				return Value{}, fmt.Errorf("%w: incomplete reply", ErrProtocol)
			}
			kind := aggregateKinds[line[0]]
			if elems > 0 {
				// Small initial capacity: sized by n, nested arrays
				// would cost memory quadratic in the input.
				stack = append(stack, frame{kind: kind, elems: make([]Value, 0, min(elems, 16)), want: int(elems)})
				continue
			}
			v = Value{Kind: kind, Array: []Value{}}
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
			v = Value{Kind: top.kind, Array: top.elems}
			stack = stack[:len(stack)-1]
		}
	}
}

// scalarValue is the Value of a valid one-line RESP3 reply.
func scalarValue(line []byte) Value {
	switch line[0] {
	case '_':
		return Value{Kind: KindNil}
	case '#':
		v := Value{Kind: KindBool}
		if line[1] == 't' {
			v.Int = 1
		}
		return v
	case ',':
		return Value{Kind: KindDouble, Str: line[1:]}
	}
	return Value{Kind: KindBigNumber, Str: line[1:]}
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

// AppendValue appends v's encoding (RESP2, or RESP3 for its kinds) to dst. For any raw that
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
		case KindNil:
			dst = append(dst, "_\r\n"...)
		case KindBool:
			if v.Int != 0 {
				dst = append(dst, "#t\r\n"...)
			} else {
				dst = append(dst, "#f\r\n"...)
			}
		case KindDouble, KindBigNumber:
			dst = append(append(append(dst, valueTypeByte[v.Kind]), v.Str...), '\r', '\n')
		case KindBlobError, KindVerbatim:
			dst = append(strconv.AppendInt(append(dst, valueTypeByte[v.Kind]), int64(len(v.Str)), 10), '\r', '\n')
			dst = append(append(dst, v.Str...), '\r', '\n')
		case KindArray, KindMap, KindSet, KindPush, KindAttribute:
			n := len(v.Array)
			switch v.Kind {
			case KindMap:
				n /= 2
			case KindAttribute:
				n = (n - 1) / 2
			}
			dst = append(strconv.AppendInt(append(dst, valueTypeByte[v.Kind]), int64(n), 10), '\r', '\n')
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
