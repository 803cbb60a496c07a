package fsm

import "github.com/raftlist/raftlist/fsm/resp"

// stringCommands exist so that a key can hold something other than a list
// and type errors behave exactly as in Redis.
var stringCommands = []Command{
	// GET key
	{Spec: resp.Spec{Name: "get", Arity: 2, Flags: resp.ReadOnly | resp.Fast, FirstKey: 1, LastKey: 1, KeyStep: 1,
		Group: "string", Since: "1.0.0", Summary: "Get the value of a key",
		Keys: []resp.KeySpec{resp.OneKey(1, resp.KeyRO|resp.KeyAccess)}}, Prepare: get},
	// SET key value [NX|XX] [GET] [EX seconds|PX milliseconds|EXAT unix-time-seconds|PXAT unix-time-milliseconds|KEEPTTL]
	{Spec: resp.Spec{Name: "set", Arity: -3, Flags: resp.Write | resp.DenyOOM, FirstKey: 1, LastKey: 1, KeyStep: 1,
		Group: "string", Since: "1.0.0", Summary: "Set the string value of a key",
		Keys: []resp.KeySpec{{Flags: resp.KeyRW | resp.KeyAccess | resp.KeyUpdate | resp.KeyVariableFlags, Notes: "RW and ACCESS due to the optional `GET` argument", Begin: 1, KeyStep: 1}}}, Prepare: set},
}

// GET key
func get(args [][]byte) (Exec, error) {
	key := args[1]
	return func(c *Ctx) resp.Reply { return getString(c.DB(), key) }, nil
}

// getString is Redis's getGenericCommand: the value, a nil bulk when the
// key is missing, WRONGTYPE when it holds something else.
func getString(d *DB, key []byte) resp.Reply {
	switch v := d.Get(key).(type) {
	case nil:
		return resp.NullBulk
	case *String:
		return resp.Bulk(v.Out())
	}
	return resp.ErrWrongType
}

// SET key value [NX|XX] [GET] [EX seconds|PX milliseconds|EXAT unix-time-seconds|PXAT unix-time-milliseconds|KEEPTTL]
//
// With GET the reply is the old value (nil when there was none) whether or
// not the value was set, and a key holding a non-string is left alone with
// WRONGTYPE. Without GET a set that NX or XX stops answers nil. The new
// value has no time to live unless given one or KEEPTTL keeps the old.
func set(args [][]byte) (Exec, error) {
	key, value := args[1], args[2]
	flags, expire, err := parseStringOptions(args[3:], optSet)
	if err != nil {
		return nil, err
	}
	ttl, err := parseTTL("set", flags, expire)
	if err != nil {
		return nil, err
	}
	return func(c *Ctx) resp.Reply {
		// Redis checks the time before anything else.
		at, err := ttl.deadline(c.TimeMs)
		if err != nil {
			return err
		}
		d := c.DB()
		reply := resp.OK
		if flags&setGet != 0 {
			if reply = getString(d, key); reply == resp.ErrWrongType {
				return reply
			}
		}
		found := d.Get(key) != nil
		if (flags&setNX != 0 && found) || (flags&setXX != 0 && !found) {
			if flags&setGet != 0 {
				return reply
			}
			return resp.NullBulk
		}
		d.Set(key, &String{B: value})
		switch {
		case ttl.set:
			d.storeExpire(key, at)
		case flags&setKeepTTL == 0:
			d.Persist(key)
		}
		return reply
	}, nil
}

// setFlags are SET's and GETEX's options, named after Redis's OBJ_* flags.
type setFlags uint16

const (
	setNX setFlags = 1 << iota
	setXX
	setGet
	setKeepTTL
	setEX
	setPX
	setEXAT
	setPXAT
	setPersist
)

// optSet and optGetex say which command takes an option (Redis's
// COMMAND_SET and COMMAND_GET).
const (
	optSet = 1 << iota
	optGetex
)

// setOptions is Redis's parseExtendedStringArgumentsOrReply: each option
// with the commands that take it, the options it excludes and whether it
// takes a value. An option does not exclude itself: the last EX wins.
var setOptions = []struct {
	word     string
	flag     setFlags
	cmds     int
	excludes setFlags
	hasValue bool
}{
	{"nx", setNX, optSet, setXX, false},
	{"xx", setXX, optSet, setNX, false},
	{"get", setGet, optSet, 0, false},
	{"keepttl", setKeepTTL, optSet, setPersist | setEX | setPX | setEXAT | setPXAT, false},
	{"persist", setPersist, optGetex, setKeepTTL | setEX | setPX | setEXAT | setPXAT, false},
	{"ex", setEX, optSet | optGetex, setKeepTTL | setPersist | setPX | setEXAT | setPXAT, true},
	{"px", setPX, optSet | optGetex, setKeepTTL | setPersist | setEX | setEXAT | setPXAT, true},
	{"exat", setEXAT, optSet | optGetex, setKeepTTL | setPersist | setEX | setPX | setPXAT, true},
	{"pxat", setPXAT, optSet | optGetex, setKeepTTL | setPersist | setEX | setPX | setEXAT, true},
}

// parseStringOptions reads the options of SET (cmd optSet) or GETEX
// (optGetex) left to right exactly as Redis does, so a bad combination
// gives Redis's syntax error. Options are compared as C strings
// ("NX\x00junk" is NX), and the same option may repeat, the last value
// winning: it returns that value for parseTTL.
func parseStringOptions(args [][]byte, cmd int) (setFlags, []byte, error) {
	var flags setFlags
	var expire []byte
	for i := 0; i < len(args); i++ {
		o := setOptionFor(args[i])
		if o < 0 || setOptions[o].cmds&cmd == 0 || flags&setOptions[o].excludes != 0 ||
			(setOptions[o].hasValue && i == len(args)-1) {
			return 0, nil, resp.ErrSyntax
		}
		flags |= setOptions[o].flag
		if setOptions[o].hasValue {
			i++
			expire = args[i]
		}
	}
	return flags, expire, nil
}

// setOptionFor returns the index in setOptions of arg, or -1.
func setOptionFor(arg []byte) int {
	for i, o := range setOptions {
		if resp.IsOption(arg, o.word) {
			return i
		}
	}
	return -1
}
