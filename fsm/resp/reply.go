package resp

import (
	"math"
	"strconv"
)

// Reply is a value produced by a command. Commands return replies as data,
// free of any protocol: they never write to a connection, and the front
// door encodes them for the client's protocol (AppendReply), so the state
// machine's result is the same whatever protocol its client speaks.
type Reply interface {
	appendReply(dst []byte, proto int) []byte
}

// The protocols a connection speaks (HELLO 2 / HELLO 3).
const (
	RESP2 = 2
	RESP3 = 3
)

// Status is a simple string reply, such as OK or PONG.
type Status string

// Error is an error reply. Its text starts with the Redis error code
// ("ERR", "WRONGTYPE", ...). It doubles as a Go error so syntax checks can
// return it directly.
type Error string

// Int is an integer reply.
type Int int64

// Bulk is a binary-safe bulk string reply.
type Bulk []byte

// Array is an array reply.
type Array []Reply

// Raw is a reply already in wire form, in the client's protocol, such as
// one relayed verbatim from the leader to a client of a follower (the
// follower asked the leader in its client's protocol).
type Raw []byte

// Map is a map reply of keys and values, alternating: RESP3's %, the flat
// array RESP2 gets (CONFIG GET, HELLO, COMMAND DOCS).
type Map []Reply

// Set is a set reply: RESP3's ~, an array in RESP2 (COMMAND INFO's flags).
type Set []Reply

// Double is a floating point reply: RESP3's ",", a bulk string in RESP2,
// both written as Redis's addReplyDouble writes them ("%.17g", inf, -inf).
type Double float64

// Bool is a boolean reply: RESP3's #t / #f, :1 / :0 in RESP2.
type Bool bool

// BigNumber is RESP3's ( reply, a bulk string in RESP2. It holds the
// digits as they were given.
type BigNumber string

// Verbatim is RESP3's verbatim string (=len, "txt:" and the text), a bulk
// string of the text in RESP2 (INFO, CLIENT INFO, CLIENT LIST). Format is
// three bytes, txt or mkd (another length is cut or padded, as Redis does).
type Verbatim struct {
	Format string
	Text   []byte
}

// Text is plain text as a Verbatim reply (Redis's addReplyVerbatim with
// "txt": INFO, CLIENT INFO, CLIENT LIST).
func Text(s string) Verbatim { return Verbatim{Format: "txt", Text: []byte(s)} }

// RESP2Wire is a reply kept in RESP2 wire form (a blocked client's outcome
// recorded in the replicated state, fsm/blocking_ended.go). A RESP3 client
// gets it with its nulls ($-1, *-1) as RESP3's null: the replies kept so
// are the blocking commands', whose RESP2 and RESP3 forms differ only
// there (bulks, arrays, errors, nulls). Bytes it cannot parse are written
// unchanged.
type RESP2Wire []byte

type nullBulk struct{}
type nullArray struct{}

var (
	// NullBulk is the nil bulk string: $-1 in RESP2, _ in RESP3.
	NullBulk Reply = nullBulk{}
	// NullArray is the nil array: *-1 in RESP2, _ in RESP3.
	NullArray Reply = nullArray{}
	// OK is the ubiquitous +OK.
	OK Reply = Status("OK")
)

func (e Error) Error() string { return string(e) }

func (s Status) appendReply(dst []byte, _ int) []byte {
	dst = append(dst, '+')
	dst = append(dst, s...)
	return append(dst, '\r', '\n')
}

func (e Error) appendReply(dst []byte, _ int) []byte {
	dst = append(dst, '-')
	dst = append(dst, e...)
	return append(dst, '\r', '\n')
}

func (n Int) appendReply(dst []byte, _ int) []byte {
	dst = append(dst, ':')
	dst = strconv.AppendInt(dst, int64(n), 10)
	return append(dst, '\r', '\n')
}

func (b Bulk) appendReply(dst []byte, _ int) []byte { return appendBulk(dst, b) }

func appendBulk(dst, b []byte) []byte {
	dst = append(dst, '$')
	dst = strconv.AppendInt(dst, int64(len(b)), 10)
	dst = append(dst, '\r', '\n')
	dst = append(dst, b...)
	return append(dst, '\r', '\n')
}

func (a Array) appendReply(dst []byte, proto int) []byte {
	return appendAggregate(dst, '*', len(a), a, proto)
}

func (m Map) appendReply(dst []byte, proto int) []byte {
	if proto == RESP3 {
		return appendAggregate(dst, '%', len(m)/2, m, proto)
	}
	return appendAggregate(dst, '*', len(m), m, proto)
}

func (s Set) appendReply(dst []byte, proto int) []byte {
	if proto == RESP3 {
		return appendAggregate(dst, '~', len(s), s, proto)
	}
	return appendAggregate(dst, '*', len(s), s, proto)
}

func appendAggregate(dst []byte, kind byte, n int, elems []Reply, proto int) []byte {
	dst = append(dst, kind)
	dst = strconv.AppendInt(dst, int64(n), 10)
	dst = append(dst, '\r', '\n')
	for _, r := range elems {
		dst = r.appendReply(dst, proto)
	}
	return dst
}

func (d Double) appendReply(dst []byte, proto int) []byte {
	text := FormatDouble(float64(d))
	if proto == RESP3 {
		return append(append(append(dst, ','), text...), '\r', '\n')
	}
	return appendBulk(dst, []byte(text))
}

// FormatDouble is a double as Redis's addReplyDouble writes it: "%.17g",
// inf and -inf (and nan as glibc prints it).
func FormatDouble(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	case math.IsNaN(f) && math.Signbit(f):
		return "-nan"
	case math.IsNaN(f):
		return "nan"
	}
	return strconv.FormatFloat(f, 'g', 17, 64)
}

func (b Bool) appendReply(dst []byte, proto int) []byte {
	switch {
	case proto == RESP3 && bool(b):
		return append(dst, "#t\r\n"...)
	case proto == RESP3:
		return append(dst, "#f\r\n"...)
	case bool(b):
		return append(dst, ":1\r\n"...)
	}
	return append(dst, ":0\r\n"...)
}

func (n BigNumber) appendReply(dst []byte, proto int) []byte {
	if proto == RESP3 {
		return append(append(append(dst, '('), n...), '\r', '\n')
	}
	return appendBulk(dst, []byte(n))
}

func (v Verbatim) appendReply(dst []byte, proto int) []byte {
	if proto != RESP3 {
		return appendBulk(dst, v.Text)
	}
	// Redis's addReplyVerbatim writes three format bytes: a longer
	// format is cut, a shorter one padded with spaces.
	format := []byte((v.Format + "   ")[:3])
	dst = append(dst, '=')
	dst = strconv.AppendInt(dst, int64(4+len(v.Text)), 10)
	dst = append(dst, '\r', '\n')
	dst = append(append(append(dst, format...), ':'), v.Text...)
	return append(dst, '\r', '\n')
}

func (r Raw) appendReply(dst []byte, _ int) []byte { return append(dst, r...) }

func (w RESP2Wire) appendReply(dst []byte, proto int) []byte {
	if proto != RESP3 {
		return append(dst, w...)
	}
	v, err := ParseReply(w)
	if err != nil {
		return append(dst, w...)
	}
	return AppendValue(dst, nullsToRESP3(v))
}

// nullsToRESP3 turns v's RESP2 nulls, at any depth, into RESP3's.
func nullsToRESP3(v Value) Value {
	switch v.Kind {
	case KindNull, KindNullArray:
		return Value{Kind: KindNil}
	case KindArray:
		for i := range v.Array {
			v.Array[i] = nullsToRESP3(v.Array[i])
		}
	}
	return v
}

func (nullBulk) appendReply(dst []byte, proto int) []byte {
	if proto == RESP3 {
		return append(dst, "_\r\n"...)
	}
	return append(dst, "$-1\r\n"...)
}

func (nullArray) appendReply(dst []byte, proto int) []byte {
	if proto == RESP3 {
		return append(dst, "_\r\n"...)
	}
	return append(dst, "*-1\r\n"...)
}

// AppendRESP appends the RESP2 encoding of r to dst.
func AppendRESP(dst []byte, r Reply) []byte { return r.appendReply(dst, RESP2) }

// AppendReply appends r's encoding in proto (RESP2 or RESP3) to dst.
func AppendReply(dst []byte, r Reply, proto int) []byte { return r.appendReply(dst, proto) }

// BulkString is a convenience for a bulk reply from a Go string.
func BulkString(s string) Bulk { return Bulk(s) }

// BulkArray turns a list of elements into an array of bulk replies.
func BulkArray(elems [][]byte) Array {
	out := make(Array, len(elems))
	for i, e := range elems {
		out[i] = Bulk(e)
	}
	return out
}

// MaxReplyDepth is how deeply arrays nest in the deepest reply the state
// machine gives: a script's reply holds at most 7995 arrays (deeper is
// "reached lua stack limit", as redis-server 7.0.15 answers), and EXEC's
// array holds a script's reply as one element. A node relaying replies
// (reader.go) must accept this much nesting. fsm checks at compile time
// that its script limit agrees.
const MaxReplyDepth = 7995 + 1

// blockedReply marks a command that parked its client as a waiter. It is
// never a client's answer: the owner waits for the Served record instead.
// It crosses the wire only between a follower and the leader.
type blockedReply struct{}

// Blocked is the reply of a blocking command that registered a waiter.
var Blocked Reply = blockedReply{}

// BlockedWire is Blocked's encoding on the forwarding hop.
const BlockedWire = "+RAFTLIST-BLOCKED\r\n"

func (blockedReply) appendReply(dst []byte, _ int) []byte { return append(dst, BlockedWire...) }

// StatusLines is a HELP reply: one status line per line of text, as
// Redis's addReplyHelp sends it.
func StatusLines(lines []string) Array {
	out := make(Array, len(lines))
	for i, l := range lines {
		out[i] = Status(l)
	}
	return out
}
