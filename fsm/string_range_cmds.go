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
		Group: "string", Since: "2.0.0", Summary: "Append a value to a key"}, Prepare: appendCommand},
	// STRLEN key
	{Spec: resp.Spec{Name: "strlen", Arity: 2, Flags: resp.ReadOnly | resp.Fast, FirstKey: 1, LastKey: 1, KeyStep: 1,
		Group: "string", Since: "2.2.0", Summary: "Get the length of the value stored in a key"}, Prepare: strlenCommand},
	// GETRANGE key start end
	{Spec: resp.Spec{Name: "getrange", Arity: 4, Flags: resp.ReadOnly, FirstKey: 1, LastKey: 1, KeyStep: 1,
		Group: "string", Since: "2.4.0", Summary: "Get a substring of the string stored at a key"}, Prepare: getrange},
	// SUBSTR key start end
	{Spec: resp.Spec{Name: "substr", Arity: 4, Flags: resp.ReadOnly, FirstKey: 1, LastKey: 1, KeyStep: 1,
		Group: "string", Since: "1.0.0", Summary: "Get a substring of the string stored at a key"}, Prepare: getrange},
	// SETRANGE key offset value
	{Spec: resp.Spec{Name: "setrange", Arity: 4, Flags: resp.Write | resp.DenyOOM, FirstKey: 1, LastKey: 1, KeyStep: 1,
		Group: "string", Since: "2.2.0", Summary: "Overwrite part of a string at key starting at the specified offset"}, Prepare: setrange},
}

// APPEND key value
//
// A missing key is created, even with an empty value. Appending fills
// capacity the value owns (String.grow) and grows it as Redis's sds does,
// so a string built by many APPENDs costs linear time, not quadratic.
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
		b := s.B
		if !s.grow || cap(b)-len(b) < len(tail) {
			b = make([]byte, len(b), sdsRoom(len(b)+len(tail)))
			copy(b, s.B)
		}
		b = append(b, tail...)
		d.Set(key, &String{B: b, grow: true})
		return resp.Int(len(b))
	}, nil
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
// The result is a new string: the old bytes may be shared with a reply in
// flight or a snapshot being written.
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
		var old []byte
		switch {
		case errReply != nil:
			return errReply
		case s != nil:
			old = s.B
		}
		if len(value) == 0 {
			return resp.Int(len(old))
		}
		if offset > int64(MaxStringLen-len(value)) {
			return resp.ErrStringTooLong
		}
		b := make([]byte, max(len(old), int(offset)+len(value)))
		copy(b, old)
		copy(b[offset:], value)
		d.Set(key, &String{B: b})
		return resp.Int(len(b))
	}, nil
}
