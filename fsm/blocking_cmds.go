package fsm

import (
	"errors"
	"math"
	"math/big"
	"strconv"
	"strings"

	"github.com/raftlist/raftlist/fsm/resp"
)

// blockingCommands park their client as a waiter when every key is empty.
// Inside MULTI or a script (Ctx.NoBlock) they answer as their non-blocking
// forms do on empty keys.
var blockingCommands = []Command{
	// BLPOP key [key ...] timeout
	{Spec: resp.Spec{Name: "blpop", Arity: -3, Flags: resp.Write | resp.NoScript | resp.Blocking, FirstKey: 1, LastKey: -2, KeyStep: 1,
		Group: "list", Since: "2.0.0", Summary: "Remove and get the first element in a list, or block until one is available",
		Keys: []resp.KeySpec{resp.KeyRange(1, -2, resp.KeyRW|resp.KeyAccess|resp.KeyDelete)}}, Prepare: bpop(true)},
	// BRPOP key [key ...] timeout
	{Spec: resp.Spec{Name: "brpop", Arity: -3, Flags: resp.Write | resp.NoScript | resp.Blocking, FirstKey: 1, LastKey: -2, KeyStep: 1,
		Group: "list", Since: "2.0.0", Summary: "Remove and get the last element in a list, or block until one is available",
		Keys: []resp.KeySpec{resp.KeyRange(1, -2, resp.KeyRW|resp.KeyAccess|resp.KeyDelete)}}, Prepare: bpop(false)},
	// BRPOPLPUSH source destination timeout
	{Spec: resp.Spec{Name: "brpoplpush", Arity: 4, Flags: resp.Write | resp.DenyOOM | resp.NoScript | resp.Blocking, FirstKey: 1, LastKey: 2, KeyStep: 1,
		Group: "list", Since: "2.2.0", Summary: "Pop an element from a list, push it to another list and return it; or block until one is available",
		Keys: []resp.KeySpec{resp.OneKey(1, resp.KeyRW|resp.KeyAccess|resp.KeyDelete), resp.OneKey(2, resp.KeyRW|resp.KeyInsert)}}, Prepare: brpoplpush},
	// BLMOVE source destination LEFT|RIGHT LEFT|RIGHT timeout
	{Spec: resp.Spec{Name: "blmove", Arity: 6, Flags: resp.Write | resp.DenyOOM | resp.NoScript | resp.Blocking, FirstKey: 1, LastKey: 2, KeyStep: 1,
		Group: "list", Since: "6.2.0", Summary: "Pop an element from a list, push it to another list and return it; or block until one is available",
		Keys: []resp.KeySpec{resp.OneKey(1, resp.KeyRW|resp.KeyAccess|resp.KeyDelete), resp.OneKey(2, resp.KeyRW|resp.KeyInsert)}}, Prepare: blmove},
	// BLMPOP timeout numkeys key [key ...] LEFT|RIGHT [COUNT count]
	{Spec: resp.Spec{Name: "blmpop", Arity: -5, Flags: resp.Write | resp.Blocking | resp.MovableKeys,
		Group: "list", Since: "7.0.0", Summary: "Pop elements from a list, or block until one is available",
		Keys: []resp.KeySpec{resp.KeysCounted(2, resp.KeyRW|resp.KeyAccess|resp.KeyDelete)}}, Prepare: blmpop},
}

// maxTimeoutChars is the longest timeout Redis reads: string2ld's buffer of
// MAX_LONG_DOUBLE_CHARS (5 KiB) also holds the terminating NUL.
const maxTimeoutChars = 5*1024 - 1

// Redis parses a timeout into an x87 long double (64-bit mantissa, 15-bit
// exponent). strtold overflows to HUGE_VAL from 2^16384 on and underflows to
// 0 at half the least denormal, 2^-16446, and below; Redis refuses both.
var (
	longDoubleOverflow  = new(big.Float).SetMantExp(big.NewFloat(1), 16384)
	longDoubleUnderflow = new(big.Float).SetMantExp(big.NewFloat(1), -16446)
)

// ParseTimeout reads a blocking command's timeout in seconds exactly as
// Redis 7.0 does, (long long) ceill(strtold(arg) * 1000.0) in long double
// arithmetic, and returns milliseconds; 0 means forever. So a timeout under
// a millisecond is one millisecond, one in (-0.001, 0] is forever, and
// milliseconds past a long long come out LLONG_MIN: "negative".
func ParseTimeout(arg []byte) (int64, error) {
	s := string(arg)
	if s == "" || len(s) > maxTimeoutChars || strings.ContainsAny(s[:1], " \t\n\r\v\f") || strings.ContainsRune(s, '_') {
		return 0, resp.ErrTimeoutNotFloat
	}
	lower := strings.ToLower(s)
	if strings.Contains(lower, "0x") && !strings.Contains(lower, "p") {
		s += "p0" // strtold reads C hex floats without an exponent
	}
	// strconv decides which texts strtold accepts; big does the arithmetic
	// at long double precision and range.
	f, err := strconv.ParseFloat(s, 64)
	if (err != nil && !errors.Is(err, strconv.ErrRange)) || math.IsNaN(f) {
		return 0, resp.ErrTimeoutNotFloat
	}
	if err == nil && math.IsInf(f, 0) {
		return 0, resp.ErrTimeoutNegative // "inf" itself: (long long) of inf
	}
	x, _, err := big.ParseFloat(s, 0, 64, big.ToNearestEven)
	if err != nil || new(big.Float).Abs(x).Cmp(longDoubleOverflow) >= 0 {
		return 0, resp.ErrTimeoutNotFloat
	}
	if x.Sign() != 0 && x.MantExp(nil) <= -16445 {
		// At the underflow line 64 bits blur which side the text is on.
		x, _, _ = big.ParseFloat(s, 0, 128, big.ToNearestEven)
		if new(big.Float).Abs(x).Cmp(longDoubleUnderflow) <= 0 {
			return 0, resp.ErrTimeoutNotFloat
		}
	}
	ms, acc := x.Mul(x, big.NewFloat(1000)).Int(nil) // rounded to 64 bits, then truncated
	if acc == big.Below {
		ms.Add(ms, big.NewInt(1)) // ceill
	}
	if !ms.IsInt64() || ms.Sign() < 0 {
		return 0, resp.ErrTimeoutNegative
	}
	return ms.Int64(), nil
}

// BLPOP key [key ...] timeout
// BRPOP key [key ...] timeout
func bpop(front bool) func(args [][]byte) (Exec, error) {
	return func(args [][]byte) (Exec, error) {
		keys := args[1 : len(args)-1]
		if _, err := ParseTimeout(args[len(args)-1]); err != nil {
			return nil, err
		}
		return func(c *Ctx) resp.Reply {
			for _, key := range keys {
				l, err := c.DB().List(key)
				if err != nil {
					return err.(resp.Error)
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
	return func(c *Ctx) resp.Reply {
		// Inside MULTI an empty source answers LMOVE's nil bulk, not the
		// nil array of the other blocking pops (Redis: addReplyNull).
		if r := move(c); r != resp.NullBulk || c.NoBlock {
			return r
		}
		return c.block([][]byte{src})
	}, nil
}

// BLMPOP timeout numkeys key [key ...] LEFT|RIGHT [COUNT count]
//
// Redis checks numkeys, the side and COUNT before the timeout.
func blmpop(args [][]byte) (Exec, error) {
	keys, front, count, err := parseMPop(args[2:])
	if err != nil {
		return nil, err
	}
	if _, err := ParseTimeout(args[1]); err != nil {
		return nil, err
	}
	pop := mpopExec(keys, front, count)
	return func(c *Ctx) resp.Reply {
		if r := pop(c); r != resp.NullArray {
			return r
		}
		return c.block(keys)
	}, nil
}

// serveWaiter serves a waiter from the ready key, as its command would have
// popped from that key had it been non-empty when the client blocked. ok is
// false when the waiter cannot be served now and stays blocked (only a
// command this binary does not know as blocking).
func serveWaiter(c *Ctx, args [][]byte, key []byte) (resp.Reply, bool) {
	switch strings.ToLower(string(args[0])) {
	case "blpop":
		return popOneServe(true)(c, key), true
	case "brpop":
		return popOneServe(false)(c, key), true
	case "brpoplpush":
		// A destination of another type ends the waiter with WRONGTYPE
		// and pops nothing, leaving the element to the next waiter, as
		// Redis 7.0 does.
		return moveExec(key, args[2], false, true)(c), true
	case "blmove":
		from, _ := listEnd(args[3])
		to, _ := listEnd(args[4])
		return moveExec(key, args[2], from, to)(c), true
	case "blmpop":
		_, front, count, _ := parseMPop(args[2:])
		l, _ := c.DB().List(key)
		elems := popN(l, front, count)
		c.DB().SetList(key, l)
		return resp.Array{resp.Bulk(key), resp.BulkArray(elems)}, true
	}
	return nil, false
}

// popOneServe pops one element from a non-empty list at key and answers
// [key, element], as BLPOP and BRPOP do.
func popOneServe(front bool) func(c *Ctx, key []byte) resp.Reply {
	return func(c *Ctx, key []byte) resp.Reply {
		l, _ := c.DB().List(key)
		v := popEnd(l, front)
		c.DB().SetList(key, l)
		return resp.Array{resp.Bulk(key), resp.Bulk(v)}
	}
}
