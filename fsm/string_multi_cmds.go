package fsm

import "github.com/raftlist/raftlist/fsm/resp"

// stringMultiCommands read or write several strings at once, or set one
// on a condition.
var stringMultiCommands = []Command{
	// MGET key [key ...]
	{Spec: resp.Spec{Name: "mget", Arity: -2, Flags: resp.ReadOnly | resp.Fast, FirstKey: 1, LastKey: -1, KeyStep: 1,
		Group: "string", Since: "1.0.0", Summary: "Get the values of all the given keys",
		Keys: []resp.KeySpec{resp.KeyRange(1, -1, resp.KeyRO|resp.KeyAccess)}, Tips: []string{"request_policy:multi_shard"}}, Prepare: mget},
	// MSET key value [key value ...]
	{Spec: resp.Spec{Name: "mset", Arity: -3, Flags: resp.Write | resp.DenyOOM, FirstKey: 1, LastKey: -1, KeyStep: 2,
		Group: "string", Since: "1.0.1", Summary: "Set multiple keys to multiple values",
		Keys: []resp.KeySpec{{Flags: resp.KeyOW | resp.KeyUpdate, Begin: 1, LastKey: -1, KeyStep: 2}}, Tips: []string{"request_policy:multi_shard", "response_policy:all_succeeded"}}, Prepare: msetCommand("mset", false)},
	// MSETNX key value [key value ...]
	{Spec: resp.Spec{Name: "msetnx", Arity: -3, Flags: resp.Write | resp.DenyOOM, FirstKey: 1, LastKey: -1, KeyStep: 2,
		Group: "string", Since: "1.0.1", Summary: "Set multiple keys to multiple values, only if none of the keys exist",
		Keys: []resp.KeySpec{{Flags: resp.KeyOW | resp.KeyInsert, Begin: 1, LastKey: -1, KeyStep: 2}}, Tips: []string{"request_policy:multi_shard", "response_policy:agg_min"}}, Prepare: msetCommand("msetnx", true)},
	// SETNX key value
	{Spec: resp.Spec{Name: "setnx", Arity: 3, Flags: resp.Write | resp.DenyOOM | resp.Fast, FirstKey: 1, LastKey: 1, KeyStep: 1,
		Group: "string", Since: "1.0.0", Summary: "Set the value of a key, only if the key does not exist",
		Keys: []resp.KeySpec{resp.OneKey(1, resp.KeyOW|resp.KeyInsert)}}, Prepare: setnx},
	// GETSET key value
	{Spec: resp.Spec{Name: "getset", Arity: 3, Flags: resp.Write | resp.DenyOOM | resp.Fast, FirstKey: 1, LastKey: 1, KeyStep: 1,
		Group: "string", Since: "1.0.0", Summary: "Set the string value of a key and return its old value",
		Keys: []resp.KeySpec{resp.OneKey(1, resp.KeyRW|resp.KeyAccess|resp.KeyUpdate)}}, Prepare: getset},
}

// MGET key [key ...]
//
// A key that is missing or holds something other than a string is nil,
// never WRONGTYPE.
func mget(args [][]byte) (Exec, error) {
	keys := args[1:]
	return func(c *Ctx) resp.Reply {
		d := c.DB()
		out := make(resp.Array, len(keys))
		for i, k := range keys {
			out[i] = resp.NullBulk
			if s, ok := d.Get(k).(*String); ok {
				out[i] = resp.Bulk(s.Out())
			}
		}
		return out
	}, nil
}

// MSET key value [key value ...] / MSETNX key value [key value ...]
//
// An odd count is the arity error, given by the command (inside MULTI it
// is queued and fails at EXEC, as in Redis). MSETNX sets nothing when any
// key exists, whatever it holds; a key named twice takes its last value.
func msetCommand(name string, nx bool) func(args [][]byte) (Exec, error) {
	return func(args [][]byte) (Exec, error) {
		if len(args)%2 == 0 {
			return nil, resp.ErrWrongArity(name)
		}
		pairs := args[1:]
		return func(c *Ctx) resp.Reply {
			d := c.DB()
			if nx {
				for i := 0; i < len(pairs); i += 2 {
					if d.Get(pairs[i]) != nil {
						return resp.Int(0)
					}
				}
			}
			for i := 0; i < len(pairs); i += 2 {
				d.Replace(pairs[i], &String{B: pairs[i+1]})
			}
			if nx {
				return resp.Int(1)
			}
			return resp.OK
		}, nil
	}
}

// SETNX key value
func setnx(args [][]byte) (Exec, error) {
	key, value := args[1], args[2]
	return func(c *Ctx) resp.Reply {
		d := c.DB()
		if d.Get(key) != nil {
			return resp.Int(0)
		}
		d.Set(key, &String{B: value})
		return resp.Int(1)
	}, nil
}

// GETSET key value
//
// The old value (nil when there was none); a key holding something other
// than a string is WRONGTYPE and left alone.
func getset(args [][]byte) (Exec, error) {
	key, value := args[1], args[2]
	return func(c *Ctx) resp.Reply {
		d := c.DB()
		reply := getString(d, key)
		if reply == resp.ErrWrongType {
			return reply
		}
		d.Replace(key, &String{B: value})
		return reply
	}, nil
}
