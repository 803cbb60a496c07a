package main

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/raftlist/raftlist/fsm/resp"
)

// The harness speaks RESP itself rather than through go-redis: it must
// decide exactly when a connection is dropped (after the command is sent,
// before its reply), never retry anything on its own, and tell "no answer"
// apart from an error reply.

// respError is an error reply (-ERR ..., -TRYAGAIN ..., -UNCERTAIN ...).
type respError string

func (e respError) Error() string { return string(e) }

// errNotSent marks a failure before the command left: nothing was applied.
var errNotSent = errors.New("not sent")

// Reply size bounds: a reply beyond them is garbage, not data.
const (
	maxBulk  = 64 << 20
	maxArray = 1 << 20
)

// rconn is one client connection to one node. Commands are encoded and
// replies framed by fsm/resp, the module's RESP reader and command
// writer, so the harness reads exactly what a node's own forwarder reads.
type rconn struct {
	nc   net.Conn
	rd   *resp.Reader
	node string // the node's id, for the history
}

func dialRESP(node, addr string, timeout time.Duration) (*rconn, error) {
	nc, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errNotSent, err)
	}
	rd := resp.NewReader(nc, maxBulk)
	rd.SetLimits(resp.Limits{MaxBulk: maxBulk, MaxArray: maxArray})
	return &rconn{nc: nc, rd: rd, node: node}, nil
}

func (c *rconn) close() { c.nc.Close() }

// send writes one command.
func (c *rconn) send(timeout time.Duration, args ...string) error {
	bargs := make([][]byte, len(args))
	for i, a := range args {
		bargs[i] = []byte(a)
	}
	c.nc.SetWriteDeadline(time.Now().Add(timeout))
	_, err := c.nc.Write(resp.AppendCommand(nil, bargs...))
	return err
}

// recv reads one reply. An error reply is returned as a respError error;
// error replies nested in arrays (EXEC) stay respError values.
func (c *rconn) recv(timeout time.Duration) (any, error) {
	c.nc.SetReadDeadline(time.Now().Add(timeout))
	v, err := c.read()
	if err != nil {
		return nil, err
	}
	if e, ok := v.(respError); ok {
		return nil, e
	}
	return v, nil
}

// do sends one command and reads its reply.
func (c *rconn) do(timeout time.Duration, args ...string) (any, error) {
	if err := c.send(timeout, args...); err != nil {
		return nil, err
	}
	return c.recv(timeout)
}

// read reads one reply as Go values: a status or bulk string is a string,
// an error a respError, an integer an int64, an array []any, and the nil
// bulk string and nil array nil.
func (c *rconn) read() (any, error) {
	raw, err := c.rd.ReadReply()
	if err != nil {
		return nil, err
	}
	v, err := resp.ParseReply(raw)
	if err != nil {
		return nil, err
	}
	return goValue(v), nil
}

func goValue(v resp.Value) any {
	switch v.Kind {
	case resp.KindStatus, resp.KindBulk:
		return string(v.Str)
	case resp.KindError:
		return respError(v.Str)
	case resp.KindInt:
		return v.Int
	case resp.KindArray:
		out := make([]any, len(v.Array))
		for i, e := range v.Array {
			out[i] = goValue(e)
		}
		return out
	default: // Null, NullArray
		return nil
	}
}

// outcome is what the harness knows about an operation's effect.
type outcome uint8

const (
	// ok: the node answered; the answer is the effect.
	ok outcome = iota
	// failed: it certainly had no effect (TRYAGAIN, MOVED, never sent, or
	// a read that did not answer).
	failed
	// unknown: it may or may not have taken effect (UNCERTAIN, a timeout,
	// a dropped connection, any other error to a write).
	unknown
)

func (o outcome) String() string {
	return [...]string{"ok", "failed", "unknown"}[o]
}

// classifyWrite maps a write's error to its outcome, as the README's
// consistency model says: TRYAGAIN means not applied, UNCERTAIN means
// unknown, and no answer at all is unknown too.
func classifyWrite(err error) outcome {
	var re respError
	switch {
	case err == nil:
		return ok
	case errors.Is(err, errNotSent):
		return failed
	case errors.As(err, &re):
		if strings.HasPrefix(string(re), "TRYAGAIN ") || strings.HasPrefix(string(re), "MOVED ") {
			return failed
		}
		return unknown
	default:
		return unknown
	}
}

// replyStrings reads an array of bulk strings (LRANGE).
func replyStrings(v any) ([]string, bool) {
	arr, isArr := v.([]any)
	if !isArr && v != nil {
		return nil, false
	}
	out := make([]string, 0, len(arr))
	for _, x := range arr {
		s, isStr := x.(string)
		if !isStr {
			return nil, false
		}
		out = append(out, s)
	}
	return out, true
}
