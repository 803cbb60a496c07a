package fsm

import (
	"bytes"

	"github.com/raftlist/raftlist/fsm/resp"
)

// listCommands are the list family: every command that reads or writes a
// list value. Moves between lists (LMOVE, RPOPLPUSH, LMPOP) live in
// list_move.go, LPOS in list_pos.go.
var listCommands = []Command{
	// LPUSH key element [element ...]
	{Spec: resp.Spec{Name: "lpush", Arity: -3, Flags: resp.Write | resp.DenyOOM | resp.Fast, FirstKey: 1, LastKey: 1, KeyStep: 1,
		Group: "list", Since: "1.0.0", Summary: "Prepend one or multiple elements to a list",
		Keys: []resp.KeySpec{resp.OneKey(1, resp.KeyRW|resp.KeyInsert)}}, Prepare: pushCommand(true, false)},
	// RPUSH key element [element ...]
	{Spec: resp.Spec{Name: "rpush", Arity: -3, Flags: resp.Write | resp.DenyOOM | resp.Fast, FirstKey: 1, LastKey: 1, KeyStep: 1,
		Group: "list", Since: "1.0.0", Summary: "Append one or multiple elements to a list",
		Keys: []resp.KeySpec{resp.OneKey(1, resp.KeyRW|resp.KeyInsert)}}, Prepare: pushCommand(false, false)},
	// LPUSHX key element [element ...]
	{Spec: resp.Spec{Name: "lpushx", Arity: -3, Flags: resp.Write | resp.DenyOOM | resp.Fast, FirstKey: 1, LastKey: 1, KeyStep: 1,
		Group: "list", Since: "2.2.0", Summary: "Prepend an element to a list, only if the list exists",
		Keys: []resp.KeySpec{resp.OneKey(1, resp.KeyRW|resp.KeyInsert)}}, Prepare: pushCommand(true, true)},
	// RPUSHX key element [element ...]
	{Spec: resp.Spec{Name: "rpushx", Arity: -3, Flags: resp.Write | resp.DenyOOM | resp.Fast, FirstKey: 1, LastKey: 1, KeyStep: 1,
		Group: "list", Since: "2.2.0", Summary: "Append an element to a list, only if the list exists",
		Keys: []resp.KeySpec{resp.OneKey(1, resp.KeyRW|resp.KeyInsert)}}, Prepare: pushCommand(false, true)},
	// LLEN key
	{Spec: resp.Spec{Name: "llen", Arity: 2, Flags: resp.ReadOnly | resp.Fast, FirstKey: 1, LastKey: 1, KeyStep: 1,
		Group: "list", Since: "1.0.0", Summary: "Get the length of a list",
		Keys: []resp.KeySpec{resp.OneKey(1, resp.KeyRO)}}, Prepare: llen},
	// LPOP key [count]
	{Spec: resp.Spec{Name: "lpop", Arity: -2, Flags: resp.Write | resp.Fast, FirstKey: 1, LastKey: 1, KeyStep: 1,
		Group: "list", Since: "1.0.0", Summary: "Remove and get the first elements in a list",
		Keys: []resp.KeySpec{resp.OneKey(1, resp.KeyRW|resp.KeyAccess|resp.KeyDelete)}}, Prepare: popCommand("lpop", true)},
	// RPOP key [count]
	{Spec: resp.Spec{Name: "rpop", Arity: -2, Flags: resp.Write | resp.Fast, FirstKey: 1, LastKey: 1, KeyStep: 1,
		Group: "list", Since: "1.0.0", Summary: "Remove and get the last elements in a list",
		Keys: []resp.KeySpec{resp.OneKey(1, resp.KeyRW|resp.KeyAccess|resp.KeyDelete)}}, Prepare: popCommand("rpop", false)},
	// LRANGE key start stop
	{Spec: resp.Spec{Name: "lrange", Arity: 4, Flags: resp.ReadOnly, FirstKey: 1, LastKey: 1, KeyStep: 1,
		Group: "list", Since: "1.0.0", Summary: "Get a range of elements from a list",
		Keys: []resp.KeySpec{resp.OneKey(1, resp.KeyRO|resp.KeyAccess)}}, Prepare: lrange},
	// LINDEX key index
	{Spec: resp.Spec{Name: "lindex", Arity: 3, Flags: resp.ReadOnly, FirstKey: 1, LastKey: 1, KeyStep: 1,
		Group: "list", Since: "1.0.0", Summary: "Get an element from a list by its index",
		Keys: []resp.KeySpec{resp.OneKey(1, resp.KeyRO|resp.KeyAccess)}}, Prepare: lindex},
	// LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len]
	{Spec: resp.Spec{Name: "lpos", Arity: -3, Flags: resp.ReadOnly, FirstKey: 1, LastKey: 1, KeyStep: 1,
		Group: "list", Since: "6.0.6", Summary: "Return the index of matching elements on a list",
		Keys: []resp.KeySpec{resp.OneKey(1, resp.KeyRO|resp.KeyAccess)}}, Prepare: lpos},
	// LSET key index element
	{Spec: resp.Spec{Name: "lset", Arity: 4, Flags: resp.Write | resp.DenyOOM, FirstKey: 1, LastKey: 1, KeyStep: 1,
		Group: "list", Since: "1.0.0", Summary: "Set the value of an element in a list by its index",
		Keys: []resp.KeySpec{resp.OneKey(1, resp.KeyRW|resp.KeyUpdate)}}, Prepare: lset},
	// LINSERT key BEFORE|AFTER pivot element
	{Spec: resp.Spec{Name: "linsert", Arity: 5, Flags: resp.Write | resp.DenyOOM, FirstKey: 1, LastKey: 1, KeyStep: 1,
		Group: "list", Since: "2.2.0", Summary: "Insert an element before or after another element in a list",
		Keys: []resp.KeySpec{resp.OneKey(1, resp.KeyRW|resp.KeyInsert)}}, Prepare: linsert},
	// LREM key count element
	{Spec: resp.Spec{Name: "lrem", Arity: 4, Flags: resp.Write, FirstKey: 1, LastKey: 1, KeyStep: 1,
		Group: "list", Since: "1.0.0", Summary: "Remove elements from a list",
		Keys: []resp.KeySpec{resp.OneKey(1, resp.KeyRW|resp.KeyDelete)}}, Prepare: lrem},
	// LTRIM key start stop
	{Spec: resp.Spec{Name: "ltrim", Arity: 4, Flags: resp.Write, FirstKey: 1, LastKey: 1, KeyStep: 1,
		Group: "list", Since: "1.0.0", Summary: "Trim a list to the specified range",
		Keys: []resp.KeySpec{resp.OneKey(1, resp.KeyRW|resp.KeyDelete)}}, Prepare: ltrim},
	// LMOVE source destination LEFT|RIGHT LEFT|RIGHT
	{Spec: resp.Spec{Name: "lmove", Arity: 5, Flags: resp.Write | resp.DenyOOM, FirstKey: 1, LastKey: 2, KeyStep: 1,
		Group: "list", Since: "6.2.0", Summary: "Pop an element from a list, push it to another list and return it",
		Keys: []resp.KeySpec{resp.OneKey(1, resp.KeyRW|resp.KeyAccess|resp.KeyDelete), resp.OneKey(2, resp.KeyRW|resp.KeyInsert)}}, Prepare: lmove},
	// RPOPLPUSH source destination
	{Spec: resp.Spec{Name: "rpoplpush", Arity: 3, Flags: resp.Write | resp.DenyOOM, FirstKey: 1, LastKey: 2, KeyStep: 1,
		Group: "list", Since: "1.2.0", Summary: "Remove the last element in a list, prepend it to another list and return it",
		Keys: []resp.KeySpec{resp.OneKey(1, resp.KeyRW|resp.KeyAccess|resp.KeyDelete), resp.OneKey(2, resp.KeyRW|resp.KeyInsert)}}, Prepare: rpoplpush},
	// LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT count]
	//
	// Its keys are found through numkeys (Redis: movablekeys), so the fixed
	// key positions are zero, as COMMAND INFO reports them.
	{Spec: resp.Spec{Name: "lmpop", Arity: -4, Flags: resp.Write | resp.MovableKeys,
		Group: "list", Since: "7.0.0", Summary: "Pop elements from a list",
		Keys: []resp.KeySpec{resp.KeysCounted(1, resp.KeyRW|resp.KeyAccess|resp.KeyDelete)}}, Prepare: lmpop},
}

// pushTo pushes elems one by one onto the front or the back of l, the list
// at key (a new, not yet stored list when the key was missing), and stores
// it. Every push of the list family goes through here, so this is the one
// place that will signal a key as ready for blocked clients when a push
// makes it non-empty.
func pushTo(c *Ctx, key []byte, l *List, front bool, elems ...[]byte) {
	for _, e := range elems {
		if front {
			l.PushFront(e)
		} else {
			l.PushBack(e)
		}
	}
	c.DB().SetList(key, l)
	if len(elems) > 0 {
		c.State.signalReady(c.DBNum, key)
	}
}

// popEnd removes and returns one element from the front or the back of l,
// which must not be empty. The caller stores l again (SetList), which
// deletes the key when l is left empty.
func popEnd(l *List, front bool) []byte {
	if front {
		return l.PopFront()
	}
	return l.PopBack()
}

// popN removes up to n elements from the front or the back of l and
// returns them in the order they were popped.
func popN(l *List, front bool, n int64) [][]byte {
	if n > int64(l.Len()) {
		n = int64(l.Len())
	}
	out := make([][]byte, 0, n)
	for i := int64(0); i < n; i++ {
		out = append(out, popEnd(l, front))
	}
	return out
}

// clampRange turns LRANGE/LTRIM's start and stop (negative counts from the
// end) into valid inclusive indexes of a list of n elements, exactly as
// Redis clamps them; ok is false when the range is empty.
func clampRange(start, stop int64, n int) (from, to int, ok bool) {
	size := int64(n)
	if start < 0 {
		start += size
	}
	if stop < 0 {
		stop += size
	}
	if start < 0 {
		start = 0
	}
	if start > stop || start >= size {
		return 0, 0, false
	}
	if stop >= size {
		stop = size - 1
	}
	return int(start), int(stop), true
}

// rangeArgs parses LRANGE/LTRIM's start and stop.
func rangeArgs(startArg, stopArg []byte) (start, stop int64, err error) {
	if start, err = intArg(startArg); err == nil {
		stop, err = intArg(stopArg)
	}
	return start, stop, err
}

// listIndex turns LINDEX/LSET's index (negative counts from the end) into a
// valid index of a list of n elements; ok is false when it is out of range.
func listIndex(index int64, n int) (int, bool) {
	if index < 0 {
		index += int64(n)
	}
	if index < 0 || index >= int64(n) {
		return 0, false
	}
	return int(index), true
}

// pushCommand is the shared shape of LPUSH, RPUSH, LPUSHX and RPUSHX
// (Redis's pushGenericCommand).
func pushCommand(front, onlyExisting bool) func(args [][]byte) (Exec, error) {
	return func(args [][]byte) (Exec, error) {
		key, elems := args[1], args[2:]
		return func(c *Ctx) resp.Reply {
			l, err := c.DB().List(key)
			if err != nil {
				return err.(resp.Error)
			}
			if l == nil {
				if onlyExisting {
					return resp.Int(0)
				}
				l = &List{}
			}
			pushTo(c, key, l, front, elems...)
			return resp.Int(l.Len())
		}, nil
	}
}

// LLEN key
func llen(args [][]byte) (Exec, error) {
	key := args[1]
	return func(c *Ctx) resp.Reply {
		l, err := c.DB().List(key)
		if err != nil {
			return err.(resp.Error)
		}
		if l == nil {
			return resp.Int(0)
		}
		return resp.Int(l.Len())
	}, nil
}

// popCommand is the shared shape of LPOP and RPOP (Redis's
// popGenericCommand): without a count it answers one element or a nil bulk,
// with one an array or a nil array. The count is parsed before the key is
// looked up, and any bad count, even a non-number, is "must be positive".
func popCommand(name string, front bool) func(args [][]byte) (Exec, error) {
	return func(args [][]byte) (Exec, error) {
		if len(args) > 3 {
			return nil, resp.ErrWrongArity(name)
		}
		key, count := args[1], int64(-1)
		if len(args) == 3 {
			n, ok := resp.ParseInt(args[2])
			if !ok || n < 0 {
				return nil, resp.ErrPositive
			}
			count = n
		}
		return func(c *Ctx) resp.Reply {
			l, err := c.DB().List(key)
			switch {
			case err != nil:
				return err.(resp.Error)
			case l == nil && count < 0:
				return resp.NullBulk
			case l == nil:
				return resp.NullArray
			case count < 0:
				v := popEnd(l, front)
				c.DB().SetList(key, l)
				return resp.Bulk(v)
			case count == 0:
				return resp.Array{} // nothing popped: not a modification
			}
			elems := popN(l, front, count)
			c.DB().SetList(key, l)
			return resp.BulkArray(elems)
		}, nil
	}
}

// LRANGE key start stop
func lrange(args [][]byte) (Exec, error) {
	key := args[1]
	start, stop, err := rangeArgs(args[2], args[3])
	if err != nil {
		return nil, err
	}
	return func(c *Ctx) resp.Reply {
		l, err := c.DB().List(key)
		if err != nil {
			return err.(resp.Error)
		}
		if l == nil {
			return resp.Array{}
		}
		from, to, ok := clampRange(start, stop, l.Len())
		if !ok {
			return resp.Array{}
		}
		return resp.BulkArray(l.Range(from, to))
	}, nil
}

// LINDEX key index
func lindex(args [][]byte) (Exec, error) {
	key, indexArg := args[1], args[2]
	return func(c *Ctx) resp.Reply {
		l, i, reply := elementAt(c, key, indexArg, resp.NullBulk, resp.NullBulk)
		if reply != nil {
			return reply
		}
		return resp.Bulk(l.At(i))
	}, nil
}

// LSET key index element
func lset(args [][]byte) (Exec, error) {
	key, indexArg, elem := args[1], args[2], args[3]
	return func(c *Ctx) resp.Reply {
		l, i, reply := elementAt(c, key, indexArg, resp.ErrNoSuchKey, resp.ErrOutOfRange)
		if reply != nil {
			return reply
		}
		l.Set(i, elem)
		c.DB().Touch(key)
		return resp.OK
	}, nil
}

// elementAt finds the list at key and the position indexArg names in it,
// or returns the reply to give instead. Redis looks the key up before it
// parses the index: a missing key answers onMissing and a key of another
// type WRONGTYPE whatever the index says, so the index is checked here,
// against state, not before proposal. An index outside the list answers
// onRange.
func elementAt(c *Ctx, key, indexArg []byte, onMissing, onRange resp.Reply) (*List, int, resp.Reply) {
	l, err := c.DB().List(key)
	if err != nil {
		return nil, 0, err.(resp.Error)
	}
	if l == nil {
		return nil, 0, onMissing
	}
	index, err := intArg(indexArg)
	if err != nil {
		return nil, 0, err.(resp.Error)
	}
	i, ok := listIndex(index, l.Len())
	if !ok {
		return nil, 0, onRange
	}
	return l, i, nil
}

// LINSERT key BEFORE|AFTER pivot element
func linsert(args [][]byte) (Exec, error) {
	key, pivot, elem := args[1], args[3], args[4]
	var after bool
	switch {
	case resp.IsOption(args[2], "after"):
		after = true
	case !resp.IsOption(args[2], "before"):
		return nil, resp.ErrSyntax
	}
	return func(c *Ctx) resp.Reply {
		l, err := c.DB().List(key)
		if err != nil {
			return err.(resp.Error)
		}
		if l == nil {
			return resp.Int(0)
		}
		for i := 0; i < l.Len(); i++ {
			if bytes.Equal(l.At(i), pivot) {
				if after {
					i++
				}
				l.Insert(i, elem)
				c.DB().Touch(key)
				return resp.Int(l.Len())
			}
		}
		return resp.Int(-1)
	}, nil
}

// LREM key count element
func lrem(args [][]byte) (Exec, error) {
	key, elem := args[1], args[3]
	count, err := intArg(args[2])
	if err != nil {
		return nil, err
	}
	return func(c *Ctx) resp.Reply {
		l, err := c.DB().List(key)
		if err != nil {
			return err.(resp.Error)
		}
		if l == nil {
			return resp.Int(0)
		}
		removed := removeMatches(l, elem, count)
		if removed > 0 {
			c.DB().SetList(key, l)
		}
		return resp.Int(removed)
	}, nil
}

// removeMatches removes elements equal to elem from l as LREM does: count > 0
// removes the first count matches from the head, count < 0 the first -count
// from the tail, count 0 all of them. It returns how many it removed.
func removeMatches(l *List, elem []byte, count int64) int64 {
	limit, fromTail := count, count < 0
	if fromTail {
		// -math.MinInt64 wraps to itself, still negative: Redis then
		// removes every match, and so does the limit <= 0 test below.
		limit = -count
	}
	n := l.Len()
	drop := make([]bool, n)
	removed := int64(0)
	for j := 0; j < n && (limit <= 0 || removed < limit); j++ {
		i := j
		if fromTail {
			i = n - 1 - j
		}
		if bytes.Equal(l.At(i), elem) {
			drop[i] = true
			removed++
		}
	}
	if removed == 0 {
		return 0
	}
	keep := make([][]byte, 0, n-int(removed))
	for i := 0; i < n; i++ {
		if !drop[i] {
			keep = append(keep, l.At(i))
		}
	}
	l.Replace(keep)
	return removed
}

// LTRIM key start stop
func ltrim(args [][]byte) (Exec, error) {
	key := args[1]
	start, stop, err := rangeArgs(args[2], args[3])
	if err != nil {
		return nil, err
	}
	return func(c *Ctx) resp.Reply {
		l, err := c.DB().List(key)
		if err != nil {
			return err.(resp.Error)
		}
		if l == nil {
			return resp.OK
		}
		if from, to, ok := clampRange(start, stop, l.Len()); !ok {
			l.Replace(nil)
		} else if to-from+1 < l.Len() {
			l.Replace(l.Range(from, to))
		}
		c.DB().SetList(key, l)
		return resp.OK
	}, nil
}
