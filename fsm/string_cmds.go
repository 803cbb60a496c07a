package fsm

import "github.com/raftlist/raftlist/fsm/resp"

// stringCommands exist so that a key can hold something other than a list
// and type errors behave exactly as in Redis.
var stringCommands = []Command{
	// GET key
	{Spec: resp.Spec{Name: "get", Arity: 2, Flags: resp.ReadOnly | resp.Fast, FirstKey: 1, LastKey: 1, KeyStep: 1,
		Group: "string", Since: "1.0.0", Summary: "Get the value of a key"}, Prepare: get},
	// SET key value [NX|XX] [GET] [EX seconds|PX milliseconds|EXAT unix-time-seconds|PXAT unix-time-milliseconds|KEEPTTL]
	{Spec: resp.Spec{Name: "set", Arity: -3, Flags: resp.Write | resp.DenyOOM, FirstKey: 1, LastKey: 1, KeyStep: 1,
		Group: "string", Since: "1.0.0", Summary: "Set the string value of a key"}, Prepare: set},
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
// WRONGTYPE. Without GET a set that NX or XX stops answers nil.
func set(args [][]byte) (Exec, error) {
	key, value := args[1], args[2]
	flags, err := parseSetFlags(args[3:])
	if err != nil {
		return nil, err
	}
	return func(c *Ctx) resp.Reply {
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
		return reply
	}, nil
}

// setFlags are SET's options, named after Redis's OBJ_SET_* flags.
type setFlags uint8

const (
	setNX setFlags = 1 << iota
	setXX
	setGet
	setKeepTTL
	setEX
	setPX
	setEXAT
	setPXAT
)

// setExpiry is every option that would give the key a time to live.
const setExpiry = setKeepTTL | setEX | setPX | setEXAT | setPXAT

// setOptions is Redis's parseExtendedStringArgumentsOrReply for SET: each
// option with the options it excludes and whether it takes a value.
var setOptions = []struct {
	word     string
	flag     setFlags
	excludes setFlags
	hasValue bool
}{
	{"nx", setNX, setXX, false},
	{"xx", setXX, setNX, false},
	{"get", setGet, 0, false},
	{"keepttl", setKeepTTL, setEX | setPX | setEXAT | setPXAT, false},
	{"ex", setEX, setKeepTTL | setPX | setEXAT | setPXAT, true},
	{"px", setPX, setKeepTTL | setEX | setEXAT | setPXAT, true},
	{"exat", setEXAT, setKeepTTL | setEX | setPX | setPXAT, true},
	{"pxat", setPXAT, setKeepTTL | setEX | setPX | setEXAT, true},
}

// parseSetFlags reads SET's options left to right exactly as Redis does, so
// a bad combination gives Redis's syntax error. Options are compared as C
// strings ("NX\x00junk" is NX), and the same option may repeat. Any option
// of expiry is then refused: keys never expire in raftlist.
func parseSetFlags(args [][]byte) (setFlags, error) {
	var flags setFlags
	for i := 0; i < len(args); i++ {
		o := setOptionFor(args[i])
		if o < 0 || flags&setOptions[o].excludes != 0 || (setOptions[o].hasValue && i == len(args)-1) {
			return 0, resp.ErrSyntax
		}
		flags |= setOptions[o].flag
		if setOptions[o].hasValue {
			i++
		}
	}
	if flags&setExpiry != 0 {
		return 0, resp.ErrNoExpiry
	}
	return flags, nil
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
