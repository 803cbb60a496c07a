package fsm

import (
	"math"

	"github.com/raftlist/raftlist/fsm/rdb"
	"github.com/raftlist/raftlist/fsm/resp"
)

// dumpCommands serialize a key's value as Redis 7.0 does (fsm/rdb), so
// that migration tools can move keys between raftlist and redis-server.
var dumpCommands = []Command{
	// DUMP key
	{Spec: resp.Spec{Name: "dump", Arity: 2, Flags: resp.ReadOnly, FirstKey: 1, LastKey: 1, KeyStep: 1,
		Group: "generic", Since: "2.6.0", Summary: "Return a serialized version of the value stored at the specified key.",
		Keys: []resp.KeySpec{resp.OneKey(1, resp.KeyRO|resp.KeyAccess)}, Tips: []string{"nondeterministic_output"}}, Prepare: dump},
	// RESTORE key ttl serialized-value [REPLACE] [ABSTTL] [IDLETIME seconds] [FREQ frequency]
	{Spec: resp.Spec{Name: "restore", Arity: -4, Flags: resp.Write | resp.DenyOOM, FirstKey: 1, LastKey: 1, KeyStep: 1,
		Group: "generic", Since: "2.6.0", Summary: "Create a key using the provided serialized value, previously obtained using DUMP.",
		ACL: []string{"dangerous"}, Keys: []resp.KeySpec{resp.OneKey(1, resp.KeyOW|resp.KeyUpdate)}}, Prepare: restore},
}

// maxRestoreBytes bounds what one RESTORE may decode to (rdb.Decode's
// limit): as much as one log entry may carry, so that a small payload
// claiming a huge LZF expansion costs no node more than a large one.
const maxRestoreBytes = 2 * MaxStringLen

// DUMP key
func dump(args [][]byte) (Exec, error) {
	key := args[1]
	return func(c *Ctx) resp.Reply {
		switch v := c.DB().Get(key).(type) {
		case *String:
			return resp.Bulk(rdb.DumpString(v.B))
		case *List:
			return resp.Bulk(rdb.DumpList(v.Elements()))
		}
		return resp.NullBulk
	}, nil
}

// restoreArgs are RESTORE's arguments once read.
type restoreArgs struct {
	key             []byte
	ttl             int64
	replace, absTTL bool
	value           rdb.Value
}

// RESTORE key ttl serialized-value [REPLACE] [ABSTTL] [IDLETIME seconds] [FREQ frequency]
//
// Redis answers BUSYKEY before it reads the time to live or the payload,
// so without REPLACE their errors wait for the state: such a command is
// proposed, and every node decodes the payload again and answers the same
// error. Everything else is refused before proposal, and what reaches the
// log decodes on every node to the same value (rdb.Decode is pure and
// bounded by maxRestoreBytes). IDLETIME and FREQ are checked and have no
// effect: raftlist keeps no LRU or LFU clock.
func restore(args [][]byte) (Exec, error) {
	a := &restoreArgs{key: args[1]}
	if err := a.options(args[4:]); err != nil {
		return nil, err
	}
	late := a.read(args[2], args[3])
	if late != nil && a.replace {
		return nil, late
	}
	return func(c *Ctx) resp.Reply {
		d := c.DB()
		if !a.replace && d.Get(a.key) != nil {
			return resp.ErrBusyKey
		}
		if late != nil {
			return asError(late)
		}
		return a.store(c, d)
	}, nil
}

// options reads REPLACE, ABSTTL, IDLETIME and FREQ as Redis does: IDLETIME
// and FREQ exclude each other, and a word it does not know is a syntax
// error.
func (a *restoreArgs) options(opts [][]byte) error {
	idle, freq := false, false
	for j := 0; j < len(opts); j++ {
		more := len(opts) - j - 1
		switch o := opts[j]; {
		case resp.IsOption(o, "replace"):
			a.replace = true
		case resp.IsOption(o, "absttl"):
			a.absTTL = true
		case resp.IsOption(o, "idletime") && more >= 1 && !freq:
			v, err := intArg(opts[j+1])
			if err != nil {
				return err
			}
			if v < 0 {
				return resp.ErrInvalidIdleTime
			}
			idle = true
			j++
		case resp.IsOption(o, "freq") && more >= 1 && !idle:
			v, err := intArg(opts[j+1])
			if err != nil {
				return err
			}
			if v < 0 || v > 255 {
				return resp.ErrInvalidFrequency
			}
			freq = true
			j++
		default:
			return resp.ErrSyntax
		}
	}
	return nil
}

// read checks the time to live, then the payload, in Redis's order.
func (a *restoreArgs) read(ttl, payload []byte) error {
	var err error
	if a.ttl, err = intArg(ttl); err != nil {
		return err
	}
	if a.ttl < 0 {
		return resp.ErrInvalidTTL
	}
	if a.value, err = rdb.Decode(payload, maxRestoreBytes); err == rdb.ErrChecksum {
		return resp.ErrDumpPayload
	}
	if err != nil || (!a.value.IsList && len(a.value.String) > MaxStringLen) {
		return resp.ErrBadDataFormat
	}
	return nil
}

// store replaces the key with the value and its time to live. A deadline
// already passed (or past the clock's range) stores nothing but still
// deletes what REPLACE replaces, as Redis does.
func (a *restoreArgs) store(c *Ctx, d *DB) resp.Reply {
	if a.replace {
		d.Delete(a.key)
	}
	at := a.ttl
	if at != 0 && !a.absTTL {
		if at > math.MaxInt64-c.TimeMs {
			return resp.OK // Redis's sum overflows into the past
		}
		at += c.TimeMs
	}
	if at != 0 && at <= c.TimeMs {
		return resp.OK
	}
	if !a.value.IsList {
		d.Set(a.key, &String{B: a.value.String})
	} else {
		l := &List{}
		l.Replace(append([][]byte(nil), a.value.List...))
		d.Set(a.key, l)
		c.State.signalReady(c.DBNum, a.key)
	}
	if at != 0 {
		d.storeExpire(a.key, at)
	}
	return resp.OK
}
