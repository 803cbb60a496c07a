package fsm

import (
	"errors"
	"math"
	"strconv"
	"strings"
)

// blockingCommands park their client as a waiter when every key is empty.
// Inside MULTI or a script (Ctx.NoBlock) they answer as their non-blocking
// forms do on empty keys.
var blockingCommands = []Command{
	// BLPOP key [key ...] timeout
	{Spec: Spec{Name: "blpop", Arity: -3, Flags: Write | Blocking, FirstKey: 1, LastKey: -2, KeyStep: 1,
		Group: "list", Since: "2.0.0", Summary: "Remove and get the first element in a list, or block until one is available"}, Prepare: bpop(true)},
	// BRPOP key [key ...] timeout
	{Spec: Spec{Name: "brpop", Arity: -3, Flags: Write | Blocking, FirstKey: 1, LastKey: -2, KeyStep: 1,
		Group: "list", Since: "2.0.0", Summary: "Remove and get the last element in a list, or block until one is available"}, Prepare: bpop(false)},
	// BRPOPLPUSH source destination timeout
	{Spec: Spec{Name: "brpoplpush", Arity: 4, Flags: Write | DenyOOM | Blocking, FirstKey: 1, LastKey: 2, KeyStep: 1,
		Group: "list", Since: "2.2.0", Summary: "Pop an element from a list, push it to another list and return it; or block until one is available"}, Prepare: brpoplpush},
	// BLMOVE source destination LEFT|RIGHT LEFT|RIGHT timeout
	{Spec: Spec{Name: "blmove", Arity: 6, Flags: Write | DenyOOM | Blocking, FirstKey: 1, LastKey: 2, KeyStep: 1,
		Group: "list", Since: "6.2.0", Summary: "Pop an element from a list, push it to another list and return it; or block until one is available"}, Prepare: blmove},
	// BLMPOP timeout numkeys key [key ...] LEFT|RIGHT [COUNT count]
	{Spec: Spec{Name: "blmpop", Arity: -5, Flags: Write | Blocking,
		Group: "list", Since: "7.0.0", Summary: "Pop elements from a list, or block until one is available"}, Prepare: blmpop},
}

var (
	errTimeoutNotFloat = Error("ERR timeout is not a float or out of range")
	errTimeoutNegative = Error("ERR timeout is negative")
)

// ParseTimeout reads a blocking command's timeout in seconds, as Redis does
// (strtold on the whole argument), and returns milliseconds; 0 means
// forever. Values whose milliseconds overflow a long long come out negative
// in Redis, and so here.
func ParseTimeout(arg []byte) (int64, error) {
	s := string(arg)
	if s == "" || strings.ContainsAny(s[:1], " \t\n\r\v\f") || strings.ContainsRune(s, '_') {
		return 0, errTimeoutNotFloat
	}
	lower := strings.ToLower(s)
	if strings.Contains(lower, "0x") && !strings.Contains(lower, "p") {
		s += "p0" // strtold reads C hex floats without an exponent
	}
	f, err := strconv.ParseFloat(s, 64)
	if (err != nil && !errors.Is(err, strconv.ErrRange)) || math.IsNaN(f) {
		return 0, errTimeoutNotFloat
	}
	ms := f * 1000
	if ms < 0 || ms >= math.MaxInt64 {
		return 0, errTimeoutNegative
	}
	return int64(ms), nil
}

// BLPOP key [key ...] timeout
// BRPOP key [key ...] timeout
func bpop(front bool) func(args [][]byte) (Exec, error) {
	return func(args [][]byte) (Exec, error) {
		keys := args[1 : len(args)-1]
		if _, err := ParseTimeout(args[len(args)-1]); err != nil {
			return nil, err
		}
		return func(c *Ctx) Reply {
			for _, key := range keys {
				l, err := c.DB().List(key)
				if err != nil {
					return err.(Error)
				}
				if l != nil {
					return popOneServe(front)(c, key)
				}
			}
			return c.block(keys)
		}, nil
	}
}

// BRPOPLPUSH source destination timeout
func brpoplpush(args [][]byte) (Exec, error) {
	return blockingMove(args[1], args[2], false, true, args[3])
}

// BLMOVE source destination LEFT|RIGHT LEFT|RIGHT timeout
func blmove(args [][]byte) (Exec, error) {
	from, err := listEnd(args[3])
	if err != nil {
		return nil, err
	}
	to, err := listEnd(args[4])
	if err != nil {
		return nil, err
	}
	return blockingMove(args[1], args[2], from, to, args[5])
}

func blockingMove(src, dst []byte, from, to bool, timeout []byte) (Exec, error) {
	if _, err := ParseTimeout(timeout); err != nil {
		return nil, err
	}
	move := moveExec(src, dst, from, to)
	return func(c *Ctx) Reply {
		if r := move(c); r != NullBulk {
			return r
		}
		return c.block([][]byte{src})
	}, nil
}

// BLMPOP timeout numkeys key [key ...] LEFT|RIGHT [COUNT count]
func blmpop(args [][]byte) (Exec, error) {
	if _, err := ParseTimeout(args[1]); err != nil {
		return nil, err
	}
	keys, front, count, err := parseMPop(args[2:])
	if err != nil {
		return nil, err
	}
	pop := mpopExec(keys, front, count)
	return func(c *Ctx) Reply {
		if r := pop(c); r != NullArray {
			return r
		}
		return c.block(keys)
	}, nil
}

// serveWaiter serves a waiter from the ready key, as its command would have
// popped from that key had it been non-empty when the client blocked. ok is
// false when the waiter cannot be served now and stays blocked.
func serveWaiter(c *Ctx, args [][]byte, key []byte) (Reply, bool) {
	switch strings.ToLower(string(args[0])) {
	case "blpop":
		return popOneServe(true)(c, key), true
	case "brpop":
		return popOneServe(false)(c, key), true
	case "brpoplpush":
		return moveServe(c, key, args[2], false, true)
	case "blmove":
		from, _ := listEnd(args[3])
		to, _ := listEnd(args[4])
		return moveServe(c, key, args[2], from, to)
	case "blmpop":
		_, front, count, _ := parseMPop(args[2:])
		l, _ := c.DB().List(key)
		elems := popN(l, front, count)
		c.DB().SetList(key, l)
		return Array{Bulk(key), BulkArray(elems)}, true
	}
	return nil, false
}

// popOneServe pops one element from a non-empty list at key and answers
// [key, element], as BLPOP and BRPOP do.
func popOneServe(front bool) func(c *Ctx, key []byte) Reply {
	return func(c *Ctx, key []byte) Reply {
		l, _ := c.DB().List(key)
		v := popEnd(l, front)
		c.DB().SetList(key, l)
		return Array{Bulk(key), Bulk(v)}
	}
}

// moveServe moves one element from the list at src to dst. A destination
// of another type leaves the waiter blocked, as in Redis.
func moveServe(c *Ctx, src, dst []byte, from, to bool) (Reply, bool) {
	if _, err := c.DB().ListForPush(dst); err != nil {
		return nil, false
	}
	return moveExec(src, dst, from, to)(c), true
}
