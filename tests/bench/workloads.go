package main

import (
	"fmt"
	"strconv"
	"time"

	"github.com/raftlist/raftlist/fsm/resp"
)

// element is the value every push writes: 16 bytes.
const element = "0123456789abcdef"

// workload is one command the matrix drives, with the data it needs.
type workload struct {
	name  string
	write bool
	cmd   [][]byte
	key   string
	// need returns how many elements key must hold before a run, given
	// how many ops this target completed in the matching push run (0: no
	// requirement).
	need func(pushed int64) int64
}

var (
	keyPush  = "bench:push"
	keyPop   = "bench:pop"
	keyRange = "bench:range"
	keyMove  = "bench:move"
)

var matrixWorkloads = []workload{
	{name: "LPUSH", write: true, cmd: words("LPUSH", keyPush, element), key: keyPush},
	{name: "RPUSH", write: true, cmd: words("RPUSH", keyPush, element), key: keyPush},
	// Pops must find elements: the list is topped up to twice what the
	// same target pushed in the same configuration, so a pop run never
	// drains it (a nil reply would be a cheaper op; they are counted).
	{name: "LPOP", write: true, cmd: words("LPOP", keyPop), key: keyPop, need: func(p int64) int64 { return 2*p + 1000 }},
	{name: "RPOP", write: true, cmd: words("RPOP", keyPop), key: keyPop, need: func(p int64) int64 { return 2*p + 1000 }},
	{name: "LRANGE 0 99", cmd: words("LRANGE", keyRange, "0", "99"), key: keyRange, need: func(int64) int64 { return 1000 }},
	// LMOVE rotates one list (a reliable-queue pattern), so it never drains.
	{name: "LMOVE", write: true, cmd: words("LMOVE", keyMove, keyMove, "RIGHT", "LEFT"), key: keyMove, need: func(int64) int64 { return 1000 }},
}

// opFor is w's timed op on t: the command, then WAIT after a write on the
// replicated Redis set-ups.
func opFor(t *target, write bool, cmds ...[][]byte) op {
	if t.wait != nil && write {
		o := newOp(append(cmds, t.wait)...)
		o.waitLast = true
		return o
	}
	return newOp(cmds...)
}

// setupConn is a connection for untimed setup work at addr.
type setupConn struct{ *rconn }

func dialSetup(addr string) (setupConn, error) {
	cn, err := dial(addr)
	return setupConn{cn}, err
}

// must runs one command and fails on an error reply.
func (s setupConn) must(args ...string) (resp.Value, error) {
	v, err := s.do(60*time.Second, words(args...)...)
	if err == nil && v.Kind == resp.KindError {
		err = fmt.Errorf("%s: %s", args[0], v.Str)
	}
	return v, err
}

func (s setupConn) llen(key string) (int64, error) {
	v, err := s.must("LLEN", key)
	return v.Int, err
}

// fill pushes n distinct 16-byte elements onto key, 1000 per RPUSH, with 32
// commands in flight: quick, and light on the log (few, large entries).
// Distinct values keep Redis's RDB compression honest.
func (s setupConn) fill(key string, n int64) error {
	const per, window = 1000, 32
	var next int64
	for left := n; left > 0; {
		var wire []byte
		k := 0
		for ; k < window && left > 0; k++ {
			m := min(left, per)
			args := make([][]byte, 0, m+2)
			args = append(args, []byte("RPUSH"), []byte(key))
			for i := int64(0); i < m; i++ {
				args = append(args, fmt.Appendf(nil, "v%015d", next))
				next++
			}
			wire = resp.AppendCommand(wire, args...)
			left -= m
		}
		s.c.SetDeadline(time.Now().Add(120 * time.Second))
		if _, err := s.c.Write(wire); err != nil {
			return err
		}
		for i := 0; i < k; i++ {
			v, err := s.readValue()
			if err != nil {
				return err
			}
			if v.Kind == resp.KindError {
				return fmt.Errorf("fill %s: %s", key, v.Str)
			}
		}
	}
	return nil
}

// topUp makes key hold at least n elements.
func (s setupConn) topUp(key string, n int64) error {
	have, err := s.llen(key)
	if err != nil {
		return err
	}
	if have >= n {
		return nil
	}
	return s.fill(key, n-have)
}

// del removes keys, which keeps lists from growing across configurations.
func (s setupConn) del(keys ...string) error {
	_, err := s.must(append([]string{"DEL"}, keys...)...)
	return err
}

// row is one measured cell of a report.
type row struct {
	workload          string
	clients, pipeline int
	target            string
	res               *result
	note              string
}

func (r row) key() string {
	return r.workload + "|" + strconv.Itoa(r.clients) + "|" + strconv.Itoa(r.pipeline)
}
