package fsm

import (
	"strconv"

	"github.com/raftlist/raftlist/fsm/resp"
)

// keyspaceCommands work on keys whatever they hold.
var keyspaceCommands = []Command{
	// DEL key [key ...]
	{Spec: resp.Spec{Name: "del", Arity: -2, Flags: resp.Write, FirstKey: 1, LastKey: -1, KeyStep: 1,
		Group: "generic", Since: "1.0.0", Summary: "Delete a key",
		Keys: []resp.KeySpec{resp.KeyRange(1, -1, resp.KeyRM|resp.KeyDelete)}, Tips: []string{"request_policy:multi_shard", "response_policy:agg_sum"}}, Prepare: del},
	// UNLINK key [key ...]
	{Spec: resp.Spec{Name: "unlink", Arity: -2, Flags: resp.Write | resp.Fast, FirstKey: 1, LastKey: -1, KeyStep: 1,
		Group: "generic", Since: "4.0.0", Summary: "Delete a key asynchronously in another thread. Otherwise it is just as DEL, but non blocking.",
		Keys: []resp.KeySpec{resp.KeyRange(1, -1, resp.KeyRM|resp.KeyDelete)}, Tips: []string{"request_policy:multi_shard", "response_policy:agg_sum"}}, Prepare: del},
	// EXISTS key [key ...]
	{Spec: resp.Spec{Name: "exists", Arity: -2, Flags: resp.ReadOnly | resp.Fast, FirstKey: 1, LastKey: -1, KeyStep: 1,
		Group: "generic", Since: "1.0.0", Summary: "Determine if a key exists",
		Keys: []resp.KeySpec{resp.KeyRange(1, -1, resp.KeyRO)}, Tips: []string{"request_policy:multi_shard", "response_policy:agg_sum"}}, Prepare: exists},
	// TYPE key
	{Spec: resp.Spec{Name: "type", Arity: 2, Flags: resp.ReadOnly | resp.Fast, FirstKey: 1, LastKey: 1, KeyStep: 1,
		Group: "generic", Since: "1.0.0", Summary: "Determine the type stored at key",
		Keys: []resp.KeySpec{resp.OneKey(1, resp.KeyRO)}}, Prepare: typeOf},
	// KEYS pattern
	{Spec: resp.Spec{Name: "keys", Arity: 2, Flags: resp.ReadOnly,
		Group: "generic", Since: "1.0.0", Summary: "Find all keys matching the given pattern",
		ACL: []string{"dangerous"}, Tips: []string{"request_policy:all_shards", "nondeterministic_output_order"}}, Prepare: keys},
	// SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]
	{Spec: resp.Spec{Name: "scan", Arity: -2, Flags: resp.ReadOnly,
		Group: "generic", Since: "2.8.0", Summary: "Incrementally iterate the keys space",
		Tips: []string{"nondeterministic_output", "request_policy:special"}}, Prepare: scan},
	// RENAME key newkey
	{Spec: resp.Spec{Name: "rename", Arity: 3, Flags: resp.Write, FirstKey: 1, LastKey: 2, KeyStep: 1,
		Group: "generic", Since: "1.0.0", Summary: "Rename a key",
		Keys: []resp.KeySpec{resp.OneKey(1, resp.KeyRW|resp.KeyAccess|resp.KeyDelete), resp.OneKey(2, resp.KeyOW|resp.KeyUpdate)}}, Prepare: renameCommand(false)},
	// RENAMENX key newkey
	{Spec: resp.Spec{Name: "renamenx", Arity: 3, Flags: resp.Write | resp.Fast, FirstKey: 1, LastKey: 2, KeyStep: 1,
		Group: "generic", Since: "1.0.0", Summary: "Rename a key, only if the new key does not exist",
		Keys: []resp.KeySpec{resp.OneKey(1, resp.KeyRW|resp.KeyAccess|resp.KeyDelete), resp.OneKey(2, resp.KeyOW|resp.KeyInsert)}}, Prepare: renameCommand(true)},
	// DBSIZE
	{Spec: resp.Spec{Name: "dbsize", Arity: 1, Flags: resp.ReadOnly | resp.Fast,
		Group: "server", Since: "1.0.0", Summary: "Return the number of keys in the selected database",
		ACL: []string{"keyspace"}, Tips: []string{"request_policy:all_shards", "response_policy:agg_sum"}}, Prepare: dbsize},
	// FLUSHDB [ASYNC|SYNC]
	{Spec: resp.Spec{Name: "flushdb", Arity: -1, Flags: resp.Write,
		Group: "server", Since: "1.0.0", Summary: "Remove all keys from the current database",
		ACL: []string{"keyspace", "dangerous"}, Tips: []string{"request_policy:all_shards", "response_policy:all_succeeded"}}, Prepare: flushCommand(false)},
	// FLUSHALL [ASYNC|SYNC]
	{Spec: resp.Spec{Name: "flushall", Arity: -1, Flags: resp.Write,
		Group: "server", Since: "1.0.0", Summary: "Remove all keys from all databases",
		ACL: []string{"keyspace", "dangerous"}, Tips: []string{"request_policy:all_shards", "response_policy:all_succeeded"}}, Prepare: flushCommand(true)},
}

// DEL key [key ...]
// UNLINK key [key ...] is the same here: nothing is freed in the background.
func del(args [][]byte) (Exec, error) {
	keys := args[1:]
	return func(c *Ctx) resp.Reply {
		n := 0
		for _, k := range keys {
			if c.DB().Delete(k) {
				n++
			}
		}
		return resp.Int(n)
	}, nil
}

// EXISTS key [key ...]
// A key named twice counts twice, as in Redis.
func exists(args [][]byte) (Exec, error) {
	keys := args[1:]
	return func(c *Ctx) resp.Reply {
		n := 0
		for _, k := range keys {
			if c.DB().Get(k) != nil {
				n++
			}
		}
		return resp.Int(n)
	}, nil
}

// TYPE key
func typeOf(args [][]byte) (Exec, error) {
	key := args[1]
	return func(c *Ctx) resp.Reply {
		v := c.DB().Get(key)
		if v == nil {
			return resp.Status("none")
		}
		return resp.Status(v.TypeName())
	}, nil
}

// KEYS pattern
//
// Redis answers in hash-table order, which no client may rely on; raftlist
// answers in byte order so that every node gives the same reply. Expired
// keys are skipped, not deleted, as Redis's KEYS does.
func keys(args [][]byte) (Exec, error) {
	pattern := args[1]
	all := len(pattern) == 1 && pattern[0] == '*'
	return func(c *Ctx) resp.Reply {
		out := resp.Array{}
		d := c.DB()
		now := d.now()
		for _, k := range d.SortedKeys() {
			if d.expiredAt(k, now) {
				continue
			}
			if all || globMatch(pattern, []byte(k), false) {
				out = append(out, resp.BulkString(k))
			}
		}
		return out
	}, nil
}

// RENAME key newkey
// RENAMENX key newkey
func renameCommand(nx bool) func(args [][]byte) (Exec, error) {
	return func(args [][]byte) (Exec, error) {
		from, to := args[1], args[2]
		return func(c *Ctx) resp.Reply {
			d := c.DB()
			v := d.Get(from)
			switch {
			case v == nil:
				return resp.ErrNoSuchKey
			case string(from) == string(to):
				// Redis checks that the key exists, then does nothing.
				return renameReply(nx, false)
			case nx && d.Get(to) != nil:
				return renameReply(nx, false)
			}
			// The time to live goes with the value, as Redis's RENAME;
			// whatever newkey held goes with its own.
			at, hasTTL := d.expires[string(from)]
			d.Delete(from)
			d.Delete(to)
			d.Set(to, v)
			if hasTTL {
				d.storeExpire(to, at)
			}
			if _, isList := v.(*List); isList {
				c.State.signalReady(c.DBNum, to)
			}
			return renameReply(nx, true)
		}, nil
	}
}

// renameReply is OK for RENAME, and 1 or 0 for RENAMENX.
func renameReply(nx, renamed bool) resp.Reply {
	switch {
	case !nx:
		return resp.OK
	case renamed:
		return resp.Int(1)
	}
	return resp.Int(0)
}

// DBSIZE
func dbsize(args [][]byte) (Exec, error) {
	return func(c *Ctx) resp.Reply { return resp.Int(c.DB().Len()) }, nil
}

// FLUSHDB [ASYNC|SYNC]
// FLUSHALL [ASYNC|SYNC]
// Both modes do the same here: an apply never frees memory in the background.
func flushCommand(all bool) func(args [][]byte) (Exec, error) {
	return func(args [][]byte) (Exec, error) {
		if len(args) > 2 || (len(args) == 2 && !resp.IsOption(args[1], "sync") && !resp.IsOption(args[1], "async")) {
			return nil, resp.ErrSyntax
		}
		return func(c *Ctx) resp.Reply {
			for i, d := range c.State.dbs {
				if all || i == c.DBNum {
					d.Flush()
				}
			}
			return resp.OK
		}, nil
	}
}

// formatCursor renders a SCAN cursor.
func formatCursor(cursor uint64) resp.Bulk {
	return resp.Bulk(strconv.AppendUint(nil, cursor, 10))
}
