package fsm

import "github.com/raftlist/raftlist/fsm/resp"

// MaxStringLen is the longest string APPEND and SETRANGE may make, Redis's
// proto-max-bulk-len check. It is a constant of the state machine, not the
// node's --proto-max-bulk-len: every node must refuse the same commands.
// It is raftlist's default proto-max-bulk-len (64 MiB), not Redis's 512 MB,
// because SETRANGE makes a string of offset+len bytes from a command of a
// few bytes, on every node at once: "SETRANGE k 536870911 x", which Redis
// accepts, would cost each node 512 MB for 30 bytes of log.
const MaxStringLen = 64 << 20

// stringRangeCommands read and write parts of a string.
var stringRangeCommands = []Command{
	// APPEND key value
	{Spec: resp.Spec{Name: "append", Arity: 3, Flags: resp.Write | resp.DenyOOM | resp.Fast, FirstKey: 1, LastKey: 1, KeyStep: 1,
		Group: "string", Since: "2.0.0", Summary: "Append a value to a key",
		Keys: []resp.KeySpec{resp.OneKey(1, resp.KeyRW|resp.KeyInsert)}}, Prepare: appendCommand},
	// STRLEN key
	{Spec: resp.Spec{Name: "strlen", Arity: 2, Flags: resp.ReadOnly | resp.Fast, FirstKey: 1, LastKey: 1, KeyStep: 1,
		Group: "string", Since: "2.2.0", Summary: "Get the length of the value stored in a key",
		Keys: []resp.KeySpec{resp.OneKey(1, resp.KeyRO)}}, Prepare: strlenCommand},
	// GETRANGE key start end
	{Spec: resp.Spec{Name: "getrange", Arity: 4, Flags: resp.ReadOnly, FirstKey: 1, LastKey: 1, KeyStep: 1,
		Group: "string", Since: "2.4.0", Summary: "Get a substring of the string stored at a key",
		Keys: []resp.KeySpec{resp.OneKey(1, resp.KeyRO|resp.KeyAccess)}}, Prepare: getrange},
	// SUBSTR key start end
	{Spec: resp.Spec{Name: "substr", Arity: 4, Flags: resp.ReadOnly, FirstKey: 1, LastKey: 1, KeyStep: 1,
		Group: "string", Since: "1.0.0", Summary: "Get a substring of the string stored at a key",
		Keys: []resp.KeySpec{resp.OneKey(1, resp.KeyRO|resp.KeyAccess)}}, Prepare: getrange},
	// SETRANGE key offset value
	{Spec: resp.Spec{Name: "setrange", Arity: 4, Flags: resp.Write | resp.DenyOOM, FirstKey: 1, LastKey: 1, KeyStep: 1,
		Group: "string", Since: "2.2.0", Summary: "Overwrite part of a string at key starting at the specified offset",
		Keys: []resp.KeySpec{resp.OneKey(1, resp.KeyRW|resp.KeyUpdate)}}, Prepare: setrange},
}

// APPEND key value
//
// A missing key is created, even with an empty value. Like Redis's sds, an
// owned value is written in place and grown with spare room (writeAt), so
// a string built by many APPENDs costs linear time, not quadratic.
func appendCommand(args [][]byte) (Exec, error) {
	key, tail := args[1], args[2]
	return func(c *Ctx) resp.Reply {
		d := c.DB()
		s, errReply := stringAt(d, key)
		switch {
		case errReply != nil:
			return errReply
		case s == nil:
			d.Set(key, &String{B: tail})
			return resp.Int(len(tail))
		case len(tail) > MaxStringLen-len(s.B):
			return resp.ErrStringTooLong
		}
		b := writeAt(s, len(s.B), tail)
		d.Set(key, &String{B: b, owned: true})
		return resp.Int(len(b))
	}, nil
}

// writeAt returns s's bytes with data written at offset, zero bytes
// filling any gap, for a new owned value. An owned value's bytes are
// written in place when they have room; anything else is copied first
// (its bytes may be shared with replies in flight, snapshots and clones),
// with spare room as Redis's sdsMakeRoomFor gives.
func writeAt(s *String, offset int, data []byte) []byte {
	b := s.B
	n := max(len(b), offset+len(data))
	if !s.owned || n > cap(b) {
		b = make([]byte, len(b), sdsRoom(n))
		copy(b, s.B)
	}
	b = b[:n]
	clear(b[len(s.B):max(offset, len(s.B))])
	copy(b[offset:], data)
	return b
}

// Out returns the value's bytes for anything that outlives the entry (a
// reply, a clone): an owned value's bytes are copied, since a later APPEND
// or SETRANGE writes them in place.
func (s *String) Out() []byte {
	if s.owned {
		return append([]byte{}, s.B...)
	}
	return s.B
}

// sdsRoom is the capacity Redis's sdsMakeRoomFor gives a string that must
// hold n bytes: double below 1 MB, then 1 MB more.
func sdsRoom(n int) int {
	const maxPrealloc = 1 << 20
	if n < maxPrealloc {
		return 2 * n
	}
	return min(n+maxPrealloc, MaxStringLen)
}

// STRLEN key
func strlenCommand(args [][]byte) (Exec, error) {
	key := args[1]
	return func(c *Ctx) resp.Reply {
		s, errReply := stringAt(c.DB(), key)
		if errReply != nil {
			return errReply
		}
		if s == nil {
			return resp.Int(0)
		}
		return resp.Int(len(s.B))
	}, nil
}

// GETRANGE key start end (and SUBSTR, its old name)
//
// Both indexes are read before the key, as Redis does; a missing key is an
// empty string, not nil.
func getrange(args [][]byte) (Exec, error) {
	key := args[1]
	start, err := intArg(args[2])
	if err != nil {
		return nil, err
	}
	end, err := intArg(args[3])
	if err != nil {
		return nil, err
	}
	return func(c *Ctx) resp.Reply {
		s, errReply := stringAt(c.DB(), key)
		switch {
		case errReply != nil:
			return errReply
		case s == nil:
			return resp.Bulk{}
		}
		if lo, hi, ok := byteRange(start, end, int64(len(s.B))); ok {
			if s.owned {
				return resp.Bulk(append([]byte{}, s.B[lo:hi+1]...))
			}
			return resp.Bulk(s.B[lo : hi+1])
		}
		return resp.Bulk{}
	}, nil
}

// byteRange is getrangeCommand's index arithmetic: negative indexes count
// from the end, both are clamped into the string, and ok is false when
// nothing is left.
func byteRange(start, end, n int64) (lo, hi int64, ok bool) {
	if start < 0 && end < 0 && start > end {
		return 0, 0, false
	}
	if start < 0 {
		start += n
	}
	if end < 0 {
		end += n
	}
	start, end = max(start, 0), max(end, 0)
	end = min(end, n-1)
	if start > end || n == 0 {
		return 0, 0, false
	}
	return start, end, true
}

// SETRANGE key offset value
//
// Redis's order: the offset is checked first (before the log), then the
// key's type, then an empty value answers the length without creating
// anything, then the length limit, checked before anything is allocated.
// An owned value is written in place, as Redis does (writeAt).
func setrange(args [][]byte) (Exec, error) {
	key, value := args[1], args[3]
	offset, err := intArg(args[2])
	if err != nil {
		return nil, err
	}
	if offset < 0 {
		return nil, resp.ErrOffsetRange
	}
	return func(c *Ctx) resp.Reply {
		d := c.DB()
		s, errReply := stringAt(d, key)
		switch {
		case errReply != nil:
			return errReply
		case s == nil:
			s = &String{}
		}
		if len(value) == 0 {
			return resp.Int(len(s.B))
		}
		if offset > int64(MaxStringLen-len(value)) {
			return resp.ErrStringTooLong
		}
		b := writeAt(s, int(offset), value)
		d.Set(key, &String{B: b, owned: true})
		return resp.Int(len(b))
	}, nil
}
