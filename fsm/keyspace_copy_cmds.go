package fsm

import (
	"bytes"
	"encoding/binary"
	"hash/fnv"
	"sort"

	"github.com/raftlist/raftlist/fsm/resp"
)

// keyspaceCopyCommands copy, touch, pick and swap keys and databases, as
// redis-server 7.0.15's db.c does.
var keyspaceCopyCommands = []Command{
	// COPY source destination [DB destination-db] [REPLACE]
	{Spec: resp.Spec{Name: "copy", Arity: -3, Flags: resp.Write | resp.DenyOOM, FirstKey: 1, LastKey: 2, KeyStep: 1,
		Group: "generic", Since: "6.2.0", Summary: "Copy a key",
		Keys: []resp.KeySpec{resp.OneKey(1, resp.KeyRO|resp.KeyAccess), resp.OneKey(2, resp.KeyOW|resp.KeyUpdate)}}, Prepare: copyCommand},
	// TOUCH key [key ...]
	{Spec: resp.Spec{Name: "touch", Arity: -2, Flags: resp.ReadOnly | resp.Fast, FirstKey: 1, LastKey: -1, KeyStep: 1,
		Group: "generic", Since: "3.2.1", Summary: "Alters the last access time of a key(s). Returns the number of existing keys specified.",
		Keys: []resp.KeySpec{resp.KeyRange(1, -1, resp.KeyRO)}, Tips: []string{"request_policy:multi_shard", "response_policy:agg_sum"}}, Prepare: exists},
	// RANDOMKEY
	{Spec: resp.Spec{Name: "randomkey", Arity: 1, Flags: resp.ReadOnly,
		Group: "generic", Since: "1.0.0", Summary: "Return a random key from the keyspace",
		Tips: []string{"request_policy:all_shards", "nondeterministic_output"}}, Prepare: randomKey},
	// SWAPDB index1 index2
	{Spec: resp.Spec{Name: "swapdb", Arity: 3, Flags: resp.Write | resp.Fast,
		Group: "server", Since: "4.0.0", Summary: "Swaps two Redis databases",
		ACL: []string{"keyspace", "dangerous"}}, Prepare: swapDB},
}

// COPY source destination [DB destination-db] [REPLACE]
//
// The copy keeps the source's time to live and, as Redis's dbAdd, wakes
// clients blocked on the destination.
func copyCommand(args [][]byte) (Exec, error) {
	src, dst := args[1], args[2]
	dstDB, replace := -1, false
	for j := 3; j < len(args); j++ {
		switch {
		case resp.IsOption(args[j], "replace"):
			replace = true
		case resp.IsOption(args[j], "db") && j+1 < len(args):
			n, err := dbIndexArg(args[j+1], resp.ErrNotInteger, resp.ErrNotInt32)
			if err != nil {
				return nil, err
			}
			dstDB = n
			j++
		default:
			return nil, resp.ErrSyntax
		}
	}
	return func(c *Ctx) resp.Reply {
		to := dstDB
		if to < 0 {
			to = c.DBNum
		}
		if to == c.DBNum && bytes.Equal(src, dst) {
			return resp.ErrSameObject
		}
		from := c.DB()
		v := from.Get(src)
		if v == nil {
			return resp.Int(0)
		}
		at, hasTTL := from.Deadline(src)
		target := c.State.dbs[to]
		if target.Get(dst) != nil {
			if !replace {
				return resp.Int(0)
			}
			target.Delete(dst)
		}
		target.Set(dst, cloneValue(v))
		if hasTTL {
			target.SetExpire(dst, at)
		}
		if _, isList := v.(*List); isList {
			c.State.signalReady(to, dst)
		}
		return resp.Int(1)
	}, nil
}

// cloneValue copies a value for COPY: the copy and the source change
// apart from then on.
func cloneValue(v Value) Value {
	switch v := v.(type) {
	case *List:
		return v.Clone()
	case *String:
		return &String{B: v.Out()}
	}
	return v
}

// dbIndexArg reads a database number as Redis's getIntFromObjectOrReply
// (notInt unless an integer, notInt32 unless a C int) followed by
// selectDb's range check.
func dbIndexArg(b []byte, notInt, notInt32 error) (int, error) {
	n, ok := resp.ParseInt(b)
	switch {
	case !ok:
		return 0, notInt
	case n != int64(int32(n)):
		return 0, notInt32
	case n < 0 || n >= NumDBs:
		return 0, resp.ErrInvalidDB
	}
	return int(n), nil
}

// RANDOMKEY
//
// Redis picks at random; every node must pick the same key at the same
// log index, so the pick is the live key whose FNV-1a hash, seeded by the
// log index the command runs at, is smallest (ties by key bytes): one
// pass, no sort, the same on every node, changing from index to index.
func randomKey(args [][]byte) (Exec, error) {
	return func(c *Ctx) resp.Reply {
		d := c.DB()
		var seed [8]byte
		binary.LittleEndian.PutUint64(seed[:], c.Index)
		now := d.now()
		var best string
		var bestHash uint64
		found := false
		for k := range d.keys {
			if d.expiredAt(k, now) {
				continue
			}
			h := fnv.New64a()
			h.Write(seed[:])
			h.Write([]byte(k))
			sum := h.Sum64()
			if !found || sum < bestHash || (sum == bestHash && k < best) {
				best, bestHash, found = k, sum, true
			}
		}
		if !found {
			return resp.NullBulk
		}
		return resp.BulkString(best)
	}, nil
}

// SWAPDB index1 index2
//
// Clients stay in their database, as in Redis: one blocked on a key that
// the swap brings as a list is served, and a WATCH on a key present in
// either database sees it changed.
func swapDB(args [][]byte) (Exec, error) {
	a, err := swapDBIndex(args[1], resp.Error("ERR invalid first DB index"))
	if err != nil {
		return nil, err
	}
	b, err := swapDBIndex(args[2], resp.Error("ERR invalid second DB index"))
	if err != nil {
		return nil, err
	}
	if a < 0 || b < 0 {
		return nil, resp.ErrInvalidDB
	}
	return func(c *Ctx) resp.Reply {
		if a != b {
			c.State.swapDBs(a, b)
		}
		return resp.OK
	}, nil
}

// swapDBIndex reads SWAPDB's index: notInt unless a C int; -1 when out of
// range (Redis checks both numbers before the range).
func swapDBIndex(b []byte, notInt resp.Error) (int, error) {
	n, err := dbIndexArg(b, notInt, notInt)
	if err == resp.ErrInvalidDB {
		return -1, nil
	}
	return n, err
}

// swapDBs swaps databases a and b, touches every key either holds in
// both (Redis's touchAllWatchedKeysInDb) and signals the keys that
// clients in either wait on, in key order.
func (s *State) swapDBs(a, b int) {
	keys := map[string]bool{}
	for _, i := range []int{a, b} {
		for k := range s.dbs[i].keys {
			keys[k] = true
		}
	}
	s.dbs[a], s.dbs[b] = s.dbs[b], s.dbs[a]
	s.dbs[a].num, s.dbs[b].num = a, b
	s.rebuildTTLs()
	for k := range keys {
		for _, i := range []int{a, b} {
			s.dbs[i].touch(k)
			if s.dbs[i].keys[k] == nil {
				s.dbs[i].deleted(k)
			}
		}
	}
	var waited []dbKey
	for dk := range s.blk.queues {
		if (dk.db == a || dk.db == b) && s.dbs[dk.db].keys[dk.key] != nil {
			waited = append(waited, dk)
		}
	}
	sort.Slice(waited, func(i, j int) bool {
		if waited[i].db != waited[j].db {
			return waited[i].db < waited[j].db
		}
		return waited[i].key < waited[j].key
	})
	for _, dk := range waited {
		s.signalReady(dk.db, []byte(dk.key))
	}
}
