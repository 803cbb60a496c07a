package fsm

// listCommands are the list family: every command that reads or writes a
// list value.
var listCommands = []Command{
	// LPUSH key element [element ...]
	{Spec: Spec{Name: "lpush", Arity: -3, Flags: Write | DenyOOM | Fast, FirstKey: 1, LastKey: 1, KeyStep: 1,
		Group: "list", Since: "1.0.0", Summary: "Prepend one or multiple elements to a list"}, Prepare: pushCommand(true, false)},
	// RPUSH key element [element ...]
	{Spec: Spec{Name: "rpush", Arity: -3, Flags: Write | DenyOOM | Fast, FirstKey: 1, LastKey: 1, KeyStep: 1,
		Group: "list", Since: "1.0.0", Summary: "Append one or multiple elements to a list"}, Prepare: pushCommand(false, false)},
	// LPUSHX key element [element ...]
	{Spec: Spec{Name: "lpushx", Arity: -3, Flags: Write | DenyOOM | Fast, FirstKey: 1, LastKey: 1, KeyStep: 1,
		Group: "list", Since: "2.2.0", Summary: "Prepend an element to a list, only if the list exists"}, Prepare: pushCommand(true, true)},
	// RPUSHX key element [element ...]
	{Spec: Spec{Name: "rpushx", Arity: -3, Flags: Write | DenyOOM | Fast, FirstKey: 1, LastKey: 1, KeyStep: 1,
		Group: "list", Since: "2.2.0", Summary: "Append an element to a list, only if the list exists"}, Prepare: pushCommand(false, true)},
	// LLEN key
	{Spec: Spec{Name: "llen", Arity: 2, Flags: ReadOnly | Fast, FirstKey: 1, LastKey: 1, KeyStep: 1,
		Group: "list", Since: "1.0.0", Summary: "Get the length of a list"}, Prepare: llen},
}

// pushCommand is the shared shape of LPUSH, RPUSH, LPUSHX and RPUSHX
// (Redis's pushGenericCommand).
func pushCommand(front, onlyExisting bool) func(args [][]byte) (Exec, error) {
	return func(args [][]byte) (Exec, error) {
		key, elems := args[1], args[2:]
		return func(c *Ctx) Reply {
			l, err := c.DB().List(key)
			if err != nil {
				return err.(Error)
			}
			if l == nil {
				if onlyExisting {
					return Int(0)
				}
				l = &List{}
			}
			for _, e := range elems {
				if front {
					l.PushFront(e)
				} else {
					l.PushBack(e)
				}
			}
			c.DB().SetList(key, l)
			return Int(l.Len())
		}, nil
	}
}

// LLEN key
func llen(args [][]byte) (Exec, error) {
	key := args[1]
	return func(c *Ctx) Reply {
		l, err := c.DB().List(key)
		if err != nil {
			return err.(Error)
		}
		if l == nil {
			return Int(0)
		}
		return Int(l.Len())
	}, nil
}
