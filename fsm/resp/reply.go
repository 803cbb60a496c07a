package resp

import "strconv"

// Reply is a RESP2 value produced by a command. Commands return replies as
// data; they never write to a connection.
type Reply interface {
	appendRESP(dst []byte) []byte
}

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

// Raw is a reply already in wire form, such as one relayed verbatim from the
// leader to a client of a follower.
type Raw []byte

type nullBulk struct{}
type nullArray struct{}

var (
	// NullBulk is the RESP2 nil bulk string ($-1).
	NullBulk Reply = nullBulk{}
	// NullArray is the RESP2 nil array (*-1).
	NullArray Reply = nullArray{}
	// OK is the ubiquitous +OK.
	OK Reply = Status("OK")
)

func (e Error) Error() string { return string(e) }

func (s Status) appendRESP(dst []byte) []byte {
	dst = append(dst, '+')
	dst = append(dst, s...)
	return append(dst, '\r', '\n')
}

func (e Error) appendRESP(dst []byte) []byte {
	dst = append(dst, '-')
	dst = append(dst, e...)
	return append(dst, '\r', '\n')
}

func (n Int) appendRESP(dst []byte) []byte {
	dst = append(dst, ':')
	dst = strconv.AppendInt(dst, int64(n), 10)
	return append(dst, '\r', '\n')
}

func (b Bulk) appendRESP(dst []byte) []byte {
	dst = append(dst, '$')
	dst = strconv.AppendInt(dst, int64(len(b)), 10)
	dst = append(dst, '\r', '\n')
	dst = append(dst, b...)
	return append(dst, '\r', '\n')
}

func (a Array) appendRESP(dst []byte) []byte {
	dst = append(dst, '*')
	dst = strconv.AppendInt(dst, int64(len(a)), 10)
	dst = append(dst, '\r', '\n')
	for _, r := range a {
		dst = r.appendRESP(dst)
	}
	return dst
}

func (r Raw) appendRESP(dst []byte) []byte { return append(dst, r...) }

func (nullBulk) appendRESP(dst []byte) []byte  { return append(dst, "$-1\r\n"...) }
func (nullArray) appendRESP(dst []byte) []byte { return append(dst, "*-1\r\n"...) }

// AppendRESP appends the RESP2 encoding of r to dst.
func AppendRESP(dst []byte, r Reply) []byte { return r.appendRESP(dst) }

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

func (blockedReply) appendRESP(dst []byte) []byte { return append(dst, BlockedWire...) }

// StatusLines is a HELP reply: one status line per line of text, as
// Redis's addReplyHelp sends it.
func StatusLines(lines []string) Array {
	out := make(Array, len(lines))
	for i, l := range lines {
		out[i] = Status(l)
	}
	return out
}
