package main

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
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

// rconn is one client connection to one node.
type rconn struct {
	nc   net.Conn
	br   *bufio.Reader
	node string // the node's id, for the history
}

func dialRESP(node, addr string, timeout time.Duration) (*rconn, error) {
	nc, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errNotSent, err)
	}
	return &rconn{nc: nc, br: bufio.NewReader(nc), node: node}, nil
}

func (c *rconn) close() { c.nc.Close() }

// send writes one command.
func (c *rconn) send(timeout time.Duration, args ...string) error {
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	c.nc.SetWriteDeadline(time.Now().Add(timeout))
	_, err := c.nc.Write([]byte(b.String()))
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

func (c *rconn) line() (string, error) {
	s, err := c.br.ReadString('\n')
	if err != nil {
		return "", err
	}
	if len(s) < 3 || s[len(s)-2] != '\r' {
		return "", fmt.Errorf("malformed reply line %q", s)
	}
	return s[:len(s)-2], nil
}

func (c *rconn) read() (any, error) {
	l, err := c.line()
	if err != nil {
		return nil, err
	}
	body := l[1:]
	switch l[0] {
	case '+':
		return body, nil
	case '-':
		return respError(body), nil
	case ':':
		return strconv.ParseInt(body, 10, 64)
	case '$':
		n, err := strconv.Atoi(body)
		if err != nil || n > maxBulk {
			return nil, fmt.Errorf("bad bulk length %q", body)
		}
		if n < 0 {
			return nil, nil
		}
		buf := make([]byte, n+2)
		if _, err := readFull(c.br, buf); err != nil {
			return nil, err
		}
		return string(buf[:n]), nil
	case '*':
		n, err := strconv.Atoi(body)
		if err != nil || n > maxArray {
			return nil, fmt.Errorf("bad array length %q", body)
		}
		if n < 0 {
			return nil, nil
		}
		out := make([]any, n)
		for i := range out {
			if out[i], err = c.read(); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("unknown reply type in %q", l)
}

func readFull(r *bufio.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := r.Read(buf[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
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
