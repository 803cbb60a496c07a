package fsm

import "github.com/raftlist/raftlist/fsm/resp"

// listEnd parses LEFT or RIGHT, as Redis's getListPositionFromObjectOrReply
// does; front is true for LEFT.
func listEnd(arg []byte) (front bool, err error) {
	switch {
	case resp.IsOption(arg, "left"):
		return true, nil
	case resp.IsOption(arg, "right"):
		return false, nil
	}
	return false, resp.ErrSyntax
}

// LMOVE source destination LEFT|RIGHT LEFT|RIGHT
func lmove(args [][]byte) (Exec, error) {
	from, err := listEnd(args[3])
	if err != nil {
		return nil, err
	}
	to, err := listEnd(args[4])
	if err != nil {
		return nil, err
	}
	return moveExec(args[1], args[2], from, to), nil
}

// RPOPLPUSH source destination
func rpoplpush(args [][]byte) (Exec, error) {
	return moveExec(args[1], args[2], false, true), nil
}

// moveExec is the shared shape of LMOVE and RPOPLPUSH (Redis's
// lmoveGenericCommand). A missing source answers nil whatever the
// destination holds; a destination of the wrong type is refused before
// anything is popped. When source and destination are the same key the
// element rotates: the list is one object, popped and pushed in place.
func moveExec(src, dst []byte, from, to bool) Exec {
	return func(c *Ctx) resp.Reply {
		sl, err := c.DB().List(src)
		if err != nil {
			return err.(resp.Error)
		}
		if sl == nil {
			return resp.NullBulk
		}
		dl, err := c.DB().ListForPush(dst)
		if err != nil {
			return err.(resp.Error)
		}
		v := popEnd(sl, from)
		pushTo(c, dst, dl, to, v)
		c.DB().SetList(src, sl)
		return resp.Bulk(v)
	}
}

// LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT count]
//
// Pops from the first non-empty list among the keys and answers [key,
// [elements]], or a nil array when every key is missing. A key of another
// type answers WRONGTYPE only if no key before it had elements.
func lmpop(args [][]byte) (Exec, error) {
	keys, front, count, err := parseMPop(args[1:])
	if err != nil {
		return nil, err
	}
	return mpopExec(keys, front, count), nil
}

// parseMPop parses "numkeys key [key ...] LEFT|RIGHT [COUNT count]", the
// tail LMPOP and BLMPOP share.
func parseMPop(args [][]byte) (keys [][]byte, front bool, count int64, err error) {
	numKeys, ok := resp.ParseInt(args[0])
	if !ok || numKeys < 1 {
		return nil, false, 0, resp.ErrNumKeys
	}
	// Redis: the LEFT|RIGHT after the keys must exist (compared without
	// adding, so a huge numkeys cannot overflow).
	if numKeys > int64(len(args)-2) {
		return nil, false, 0, resp.ErrSyntax
	}
	keys, rest := args[1:1+numKeys], args[1+numKeys:]
	if front, err = listEnd(rest[0]); err != nil {
		return nil, false, 0, err
	}
	if count, err = mpopCount(rest[1:]); err != nil {
		return nil, false, 0, err
	}
	return keys, front, count, nil
}

// mpopExec pops up to count elements from the first non-empty list among
// keys; a nil array when every key is missing.
func mpopExec(keys [][]byte, front bool, count int64) Exec {
	return func(c *Ctx) resp.Reply {
		for _, key := range keys {
			l, err := c.DB().List(key)
			if err != nil {
				return err.(resp.Error)
			}
			if l == nil {
				continue
			}
			elems := popN(l, front, count)
			c.DB().SetList(key, l)
			return resp.Array{resp.Bulk(key), resp.BulkArray(elems)}
		}
		return resp.NullArray
	}
}

// mpopCount parses LMPOP's options after LEFT|RIGHT: at most one
// COUNT count, count >= 1; without it the count is 1.
func mpopCount(opts [][]byte) (int64, error) {
	count := int64(-1)
	for j := 0; j < len(opts); j++ {
		if count != -1 || !resp.IsOption(opts[j], "count") || j+1 == len(opts) {
			return 0, resp.ErrSyntax
		}
		j++
		n, ok := resp.ParseInt(opts[j])
		if !ok || n < 1 {
			return 0, resp.ErrCountPositive
		}
		count = n
	}
	if count == -1 {
		count = 1
	}
	return count, nil
}
