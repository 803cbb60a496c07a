package fsm

import (
	"math"
	"math/big"
	"strconv"

	"github.com/raftlist/raftlist/fsm/resp"
)

// stringCounterCommands are the counters job queues lean on (id
// generators, rate counters). Like Redis, they keep the number as its
// decimal string: GET and TYPE see a string, and the digest and snapshot
// need nothing new.
var stringCounterCommands = []Command{
	// INCR key
	{Spec: resp.Spec{Name: "incr", Arity: 2, Flags: resp.Write | resp.DenyOOM | resp.Fast, FirstKey: 1, LastKey: 1, KeyStep: 1,
		Group: "string", Since: "1.0.0", Summary: "Increment the integer value of a key by one",
		Keys: []resp.KeySpec{resp.OneKey(1, resp.KeyRW|resp.KeyAccess|resp.KeyUpdate)}}, Prepare: incrBy(1)},
	// DECR key
	{Spec: resp.Spec{Name: "decr", Arity: 2, Flags: resp.Write | resp.DenyOOM | resp.Fast, FirstKey: 1, LastKey: 1, KeyStep: 1,
		Group: "string", Since: "1.0.0", Summary: "Decrement the integer value of a key by one",
		Keys: []resp.KeySpec{resp.OneKey(1, resp.KeyRW|resp.KeyAccess|resp.KeyUpdate)}}, Prepare: incrBy(-1)},
	// INCRBY key increment
	{Spec: resp.Spec{Name: "incrby", Arity: 3, Flags: resp.Write | resp.DenyOOM | resp.Fast, FirstKey: 1, LastKey: 1, KeyStep: 1,
		Group: "string", Since: "1.0.0", Summary: "Increment the integer value of a key by the given amount",
		Keys: []resp.KeySpec{resp.OneKey(1, resp.KeyRW|resp.KeyAccess|resp.KeyUpdate)}}, Prepare: incrByArg(false)},
	// DECRBY key decrement
	{Spec: resp.Spec{Name: "decrby", Arity: 3, Flags: resp.Write | resp.DenyOOM | resp.Fast, FirstKey: 1, LastKey: 1, KeyStep: 1,
		Group: "string", Since: "1.0.0", Summary: "Decrement the integer value of a key by the given number",
		Keys: []resp.KeySpec{resp.OneKey(1, resp.KeyRW|resp.KeyAccess|resp.KeyUpdate)}}, Prepare: incrByArg(true)},
	// INCRBYFLOAT key increment
	{Spec: resp.Spec{Name: "incrbyfloat", Arity: 3, Flags: resp.Write | resp.DenyOOM | resp.Fast, FirstKey: 1, LastKey: 1, KeyStep: 1,
		Group: "string", Since: "2.6.0", Summary: "Increment the float value of a key by the given amount",
		Keys: []resp.KeySpec{resp.OneKey(1, resp.KeyRW|resp.KeyAccess|resp.KeyUpdate)}}, Prepare: incrByFloat},
}

// stringAt returns the string at key: nil when the key is missing,
// WRONGTYPE when it holds something else (Redis's checkType).
func stringAt(d *DB, key []byte) (*String, resp.Reply) {
	switch v := d.Get(key).(type) {
	case nil:
		return nil, nil
	case *String:
		return v, nil
	}
	return nil, resp.ErrWrongType
}

// incrBy makes INCR and DECR.
func incrBy(by int64) func(args [][]byte) (Exec, error) {
	return func(args [][]byte) (Exec, error) { return incrExec(args[1], by), nil }
}

// INCRBY key increment / DECRBY key decrement
//
// The argument is checked before the key, as Redis does: a bad increment on
// a list answers "not an integer", never reaches the log. DECRBY cannot
// negate the smallest integer.
func incrByArg(decr bool) func(args [][]byte) (Exec, error) {
	return func(args [][]byte) (Exec, error) {
		by, err := intArg(args[2])
		if err != nil {
			return nil, err
		}
		if decr {
			if by == math.MinInt64 {
				return nil, resp.ErrDecrOverflow
			}
			by = -by
		}
		return incrExec(args[1], by), nil
	}
}

// incrExec is Redis's incrDecrCommand: a missing key counts from 0, a value
// must read as a 64-bit integer exactly as Redis's string2ll reads it, and
// a result past the int64 range is refused and changes nothing.
func incrExec(key []byte, by int64) Exec {
	return func(c *Ctx) resp.Reply {
		d := c.DB()
		s, errReply := stringAt(d, key)
		if errReply != nil {
			return errReply
		}
		var v int64
		if s != nil {
			var ok bool
			if v, ok = resp.ParseInt(s.B); !ok {
				return resp.ErrNotInteger
			}
		}
		if (by < 0 && v < 0 && by < math.MinInt64-v) || (by > 0 && v > 0 && by > math.MaxInt64-v) {
			return resp.ErrIncrOverflow
		}
		v += by
		d.Set(key, &String{B: strconv.AppendInt(nil, v, 10)})
		return resp.Int(v)
	}
}

// INCRBYFLOAT key increment
//
// Redis checks the key's type, then its value, then the increment, so the
// increment is read at apply time: "INCRBYFLOAT list x" is WRONGTYPE. The
// string stored is the one answered (Redis replicates it as a SET of that
// string), computed in x87 long double on every node (string_float.go).
func incrByFloat(args [][]byte) (Exec, error) {
	key, incr := args[1], args[2]
	return func(c *Ctx) resp.Reply {
		d := c.DB()
		s, errReply := stringAt(d, key)
		if errReply != nil {
			return errReply
		}
		v := longDouble{f: new(big.Float)}
		if s != nil {
			var ok bool
			if v, ok = parseLongDouble(s.B); !ok {
				return resp.ErrNotFloat
			}
		}
		by, ok := parseLongDouble(incr)
		if !ok {
			return resp.ErrNotFloat
		}
		sum, inf := addLongDouble(v, by)
		if inf {
			return resp.ErrNaNOrInf
		}
		b := formatLongDouble(sum)
		d.Set(key, &String{B: b})
		return resp.Bulk(b)
	}, nil
}
