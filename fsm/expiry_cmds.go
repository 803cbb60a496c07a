package fsm

import (
	"math"
	"slices"
	"strings"

	"github.com/raftlist/raftlist/fsm/resp"
)

// expiryCommands set, read and remove keys' time to live. Time is the log
// clock (Ctx.TimeMs): the leader's, monotonic, still inside an entry.
var expiryCommands = []Command{
	// EXPIRE key seconds [NX|XX|GT|LT]
	{Spec: resp.Spec{Name: "expire", Arity: -3, Flags: resp.Write | resp.Fast, FirstKey: 1, LastKey: 1, KeyStep: 1,
		Group: "generic", Since: "1.0.0", Summary: "Set a key's time to live in seconds",
		Keys: []resp.KeySpec{resp.OneKey(1, resp.KeyRW|resp.KeyUpdate)}}, Prepare: expireCommand("expire", 1000, true)},
	// PEXPIRE key milliseconds [NX|XX|GT|LT]
	{Spec: resp.Spec{Name: "pexpire", Arity: -3, Flags: resp.Write | resp.Fast, FirstKey: 1, LastKey: 1, KeyStep: 1,
		Group: "generic", Since: "2.6.0", Summary: "Set a key's time to live in milliseconds",
		Keys: []resp.KeySpec{resp.OneKey(1, resp.KeyRW|resp.KeyUpdate)}}, Prepare: expireCommand("pexpire", 1, true)},
	// EXPIREAT key unix-time-seconds [NX|XX|GT|LT]
	{Spec: resp.Spec{Name: "expireat", Arity: -3, Flags: resp.Write | resp.Fast, FirstKey: 1, LastKey: 1, KeyStep: 1,
		Group: "generic", Since: "1.2.0", Summary: "Set the expiration for a key as a UNIX timestamp",
		Keys: []resp.KeySpec{resp.OneKey(1, resp.KeyRW|resp.KeyUpdate)}}, Prepare: expireCommand("expireat", 1000, false)},
	// PEXPIREAT key unix-time-milliseconds [NX|XX|GT|LT]
	{Spec: resp.Spec{Name: "pexpireat", Arity: -3, Flags: resp.Write | resp.Fast, FirstKey: 1, LastKey: 1, KeyStep: 1,
		Group: "generic", Since: "2.6.0", Summary: "Set the expiration for a key as a UNIX timestamp specified in milliseconds",
		Keys: []resp.KeySpec{resp.OneKey(1, resp.KeyRW|resp.KeyUpdate)}}, Prepare: expireCommand("pexpireat", 1, false)},
	// TTL key
	{Spec: resp.Spec{Name: "ttl", Arity: 2, Flags: resp.ReadOnly | resp.Fast, FirstKey: 1, LastKey: 1, KeyStep: 1,
		Group: "generic", Since: "1.0.0", Summary: "Get the time to live for a key in seconds",
		Keys: []resp.KeySpec{resp.OneKey(1, resp.KeyRO|resp.KeyAccess)}, Tips: []string{"nondeterministic_output"}}, Prepare: ttlCommand(false, false)},
	// PTTL key
	{Spec: resp.Spec{Name: "pttl", Arity: 2, Flags: resp.ReadOnly | resp.Fast, FirstKey: 1, LastKey: 1, KeyStep: 1,
		Group: "generic", Since: "2.6.0", Summary: "Get the time to live for a key in milliseconds",
		Keys: []resp.KeySpec{resp.OneKey(1, resp.KeyRO|resp.KeyAccess)}, Tips: []string{"nondeterministic_output"}}, Prepare: ttlCommand(true, false)},
	// EXPIRETIME key
	{Spec: resp.Spec{Name: "expiretime", Arity: 2, Flags: resp.ReadOnly | resp.Fast, FirstKey: 1, LastKey: 1, KeyStep: 1,
		Group: "generic", Since: "7.0.0", Summary: "Get the expiration Unix timestamp for a key",
		Keys: []resp.KeySpec{resp.OneKey(1, resp.KeyRO|resp.KeyAccess)}}, Prepare: ttlCommand(false, true)},
	// PEXPIRETIME key
	{Spec: resp.Spec{Name: "pexpiretime", Arity: 2, Flags: resp.ReadOnly | resp.Fast, FirstKey: 1, LastKey: 1, KeyStep: 1,
		Group: "generic", Since: "7.0.0", Summary: "Get the expiration Unix timestamp for a key in milliseconds",
		Keys: []resp.KeySpec{resp.OneKey(1, resp.KeyRO|resp.KeyAccess)}}, Prepare: ttlCommand(true, true)},
	// PERSIST key
	{Spec: resp.Spec{Name: "persist", Arity: 2, Flags: resp.Write | resp.Fast, FirstKey: 1, LastKey: 1, KeyStep: 1,
		Group: "generic", Since: "2.2.0", Summary: "Remove the expiration from a key",
		Keys: []resp.KeySpec{resp.OneKey(1, resp.KeyRW|resp.KeyUpdate)}}, Prepare: persist},
	// SETEX key seconds value
	{Spec: resp.Spec{Name: "setex", Arity: 4, Flags: resp.Write | resp.DenyOOM, FirstKey: 1, LastKey: 1, KeyStep: 1,
		Group: "string", Since: "2.0.0", Summary: "Set the value and expiration of a key",
		Keys: []resp.KeySpec{resp.OneKey(1, resp.KeyOW|resp.KeyUpdate)}}, Prepare: setexCommand("setex", setEX)},
	// PSETEX key milliseconds value
	{Spec: resp.Spec{Name: "psetex", Arity: 4, Flags: resp.Write | resp.DenyOOM, FirstKey: 1, LastKey: 1, KeyStep: 1,
		Group: "string", Since: "2.6.0", Summary: "Set the value and expiration in milliseconds of a key",
		Keys: []resp.KeySpec{resp.OneKey(1, resp.KeyOW|resp.KeyUpdate)}}, Prepare: setexCommand("psetex", setPX)},
	// GETEX key [EX seconds|PX milliseconds|EXAT unix-time-seconds|PXAT unix-time-milliseconds|PERSIST]
	{Spec: resp.Spec{Name: "getex", Arity: -2, Flags: resp.Write | resp.Fast, FirstKey: 1, LastKey: 1, KeyStep: 1,
		Group: "string", Since: "6.2.0", Summary: "Get the value of a key and optionally set its expiration",
		Keys: []resp.KeySpec{{Flags: resp.KeyRW | resp.KeyAccess | resp.KeyUpdate, Notes: "RW and UPDATE because it changes the TTL", Begin: 1, KeyStep: 1}}}, Prepare: getex},
	// GETDEL key
	{Spec: resp.Spec{Name: "getdel", Arity: 2, Flags: resp.Write | resp.Fast, FirstKey: 1, LastKey: 1, KeyStep: 1,
		Group: "string", Since: "6.2.0", Summary: "Get the value of a key and delete the key",
		Keys: []resp.KeySpec{resp.OneKey(1, resp.KeyRW|resp.KeyAccess|resp.KeyDelete)}}, Prepare: getdel},
}

// expireFlags are EXPIRE's conditions.
type expireFlags uint8

const (
	expireNX expireFlags = 1 << iota
	expireXX
	expireGT
	expireLT
)

// parseExpireFlags is Redis's parseExtendedExpireArgumentsOrReply: every
// word must be known, then the combinations are checked.
func parseExpireFlags(args [][]byte) (expireFlags, error) {
	var f expireFlags
	for _, a := range args {
		switch {
		case resp.IsOption(a, "nx"):
			f |= expireNX
		case resp.IsOption(a, "xx"):
			f |= expireXX
		case resp.IsOption(a, "gt"):
			f |= expireGT
		case resp.IsOption(a, "lt"):
			f |= expireLT
		default:
			return 0, resp.ErrUnsupportedOption(resp.CString(a))
		}
	}
	if f&expireNX != 0 && f&(expireXX|expireGT|expireLT) != 0 {
		return 0, resp.ErrExpireNXAndOthers
	}
	if f&expireGT != 0 && f&expireLT != 0 {
		return 0, resp.ErrExpireGTAndLT
	}
	return f, nil
}

// EXPIRE key seconds [NX|XX|GT|LT]
// PEXPIRE key milliseconds [NX|XX|GT|LT]
// EXPIREAT key unix-time-seconds [NX|XX|GT|LT]
// PEXPIREAT key unix-time-milliseconds [NX|XX|GT|LT]
//
// Redis's expireGenericCommand: unit is 1000 for seconds, relative adds
// the log time. A deadline already passed deletes the key (and serves no
// blocked client). A key without a time to live counts as living forever
// for GT and LT.
func expireCommand(name string, unit int64, relative bool) func(args [][]byte) (Exec, error) {
	return func(args [][]byte) (Exec, error) {
		key := args[1]
		flags, err := parseExpireFlags(args[3:])
		if err != nil {
			return nil, err
		}
		when, err := intArg(args[2])
		if err != nil {
			return nil, err
		}
		if unit == 1000 && (when > math.MaxInt64/1000 || when < math.MinInt64/1000) {
			return nil, resp.ErrInvalidExpire(name)
		}
		when *= unit
		return func(c *Ctx) resp.Reply {
			at := when
			if relative {
				if at > math.MaxInt64-c.TimeMs {
					return resp.ErrInvalidExpire(name)
				}
				at += c.TimeMs
			}
			d := c.DB()
			if d.Get(key) == nil {
				return resp.Int(0)
			}
			cur, has := d.expires[string(key)]
			switch {
			case flags&expireNX != 0 && has,
				flags&expireXX != 0 && !has,
				flags&expireGT != 0 && (!has || at <= cur),
				flags&expireLT != 0 && has && at >= cur:
				return resp.Int(0)
			}
			d.SetExpire(key, at)
			return resp.Int(1)
		}, nil
	}
}

// TTL key
// PTTL key
// EXPIRETIME key
// PEXPIRETIME key
//
// Redis's ttlGenericCommand: -2 for a missing key, -1 for one without a
// time to live; seconds are rounded to nearest, in unsigned arithmetic as
// redis-server's build computes (ttl+500)/1000 at the top of the range.
func ttlCommand(ms, abs bool) func(args [][]byte) (Exec, error) {
	return func(args [][]byte) (Exec, error) {
		key := args[1]
		return func(c *Ctx) resp.Reply {
			at, ok := c.DB().Deadline(key)
			switch {
			case !ok && c.DB().Get(key) == nil:
				return resp.Int(-2)
			case !ok:
				return resp.Int(-1)
			}
			v := at
			if !abs {
				v = max(at-c.TimeMs, 0)
			}
			if !ms {
				v = int64((uint64(v) + 500) / 1000)
			}
			return resp.Int(v)
		}, nil
	}
}

// PERSIST key
func persist(args [][]byte) (Exec, error) {
	key := args[1]
	return func(c *Ctx) resp.Reply {
		d := c.DB()
		if d.Get(key) != nil && d.Persist(key) {
			return resp.Int(1)
		}
		return resp.Int(0)
	}, nil
}

// SETEX key seconds value
// PSETEX key milliseconds value
func setexCommand(name string, unit setFlags) func(args [][]byte) (Exec, error) {
	return func(args [][]byte) (Exec, error) {
		key, value := args[1], args[3]
		ttl, err := parseTTL(name, unit, args[2])
		if err != nil {
			return nil, err
		}
		return func(c *Ctx) resp.Reply {
			at, err := ttl.deadline(c.TimeMs)
			if err != nil {
				return err
			}
			d := c.DB()
			d.Get(key) // an expired value goes first, with its time to live
			d.Set(key, &String{B: value})
			d.storeExpire(key, at)
			return resp.OK
		}, nil
	}
}

// GETEX key [EX seconds|PX milliseconds|EXAT unix-time-seconds|PXAT unix-time-milliseconds|PERSIST]
//
// Redis reads the key before it reads the time: a missing key answers nil
// and a list WRONGTYPE whatever the time says, so only the syntax is
// checked before proposal. A deadline already passed deletes the key after
// reading it, as Redis does.
func getex(args [][]byte) (Exec, error) {
	key := args[1]
	flags, expire, err := parseStringOptions(args[2:], optGetex)
	if err != nil {
		return nil, err
	}
	return func(c *Ctx) resp.Reply {
		d := c.DB()
		reply := getString(d, key)
		if _, ok := reply.(resp.Bulk); !ok {
			return reply
		}
		ttl, perr := parseTTL("getex", flags, expire)
		if perr != nil {
			return asError(perr)
		}
		at, err := ttl.deadline(c.TimeMs)
		if err != nil {
			return err
		}
		switch {
		case flags&setPersist != 0:
			d.Persist(key)
		case ttl.set:
			d.SetExpire(key, at)
		}
		return reply
	}, nil
}

// GETDEL key
func getdel(args [][]byte) (Exec, error) {
	key := args[1]
	return func(c *Ctx) resp.Reply {
		d := c.DB()
		reply := getString(d, key)
		if _, ok := reply.(resp.Bulk); ok {
			d.Delete(key)
		}
		return reply
	}, nil
}

// ttlArg is a parsed EX/PX/EXAT/PXAT value: milliseconds, relative to the
// log time or not. The zero value sets nothing.
type ttlArg struct {
	set      bool
	ms       int64
	relative bool
	name     string
}

// parseTTL is the part of Redis's getExpireMillisecondsOrReply that needs
// no clock: a positive integer that fits in milliseconds. Without a unit
// among unit (no expiry option given) it sets nothing.
func parseTTL(name string, unit setFlags, arg []byte) (ttlArg, error) {
	if unit&(setEX|setPX|setEXAT|setPXAT) == 0 {
		return ttlArg{}, nil
	}
	v, err := intArg(arg)
	if err != nil {
		return ttlArg{}, err
	}
	seconds := unit&(setEX|setEXAT) != 0
	if v <= 0 || (seconds && v > math.MaxInt64/1000) {
		return ttlArg{}, resp.ErrInvalidExpire(name)
	}
	if seconds {
		v *= 1000
	}
	return ttlArg{set: true, ms: v, relative: unit&(setEX|setPX) != 0, name: name}, nil
}

// deadline is the rest of getExpireMillisecondsOrReply: a relative time
// that overflows when added to the log time is invalid.
func (t ttlArg) deadline(now int64) (int64, resp.Reply) {
	if !t.set || !t.relative {
		return t.ms, nil
	}
	if t.ms > math.MaxInt64-now {
		return 0, resp.ErrInvalidExpire(t.name)
	}
	return t.ms + now, nil
}

// storeExpire gives a key just stored its deadline, even one already
// passed: SET ... PXAT in the past stores a key that is expired at once,
// counted by DBSIZE until it is deleted, as in Redis.
func (d *DB) storeExpire(key []byte, at int64) {
	k := string(key)
	d.dropExpire(k)
	d.expires[k] = at
	d.st.addTTL(ttlEntry{at: at, db: d.num, key: k})
}

// setExpiry is every SET option that concerns a time to live.
const setExpiry = setKeepTTL | setEX | setPX | setEXAT | setPXAT

// errNoExpiryBefore is what binaries before expiry answered SET's expiry
// options with.
const errNoExpiryBefore = resp.Error("ERR raftlist does not support key expiry")

// commandsSince are the commands each entry format brought, by family and
// by name: a binary of an older format answered them "unknown command". A
// new command goes in the row of the format its binary first writes
// (raise FormatVersion with the first new command after a release).
var commandsSince = []struct {
	format   byte
	families [][]Command
	names    []string
}{
	{format: formatExpiry, families: [][]Command{expiryCommands, stringCounterCommands, stringRangeCommands, stringMultiCommands}},
	{format: formatV4, families: [][]Command{dumpCommands, sortCommands, keyspaceCopyCommands, objectCommands, functionCommands},
		names: []string{"time"}},
}

// oldFormatReply is what the binary that wrote an entry of format
// oldFormat answered a command of it, when this one would answer
// differently: a command added with a later format did not exist, and
// before expiry SET refused every expiry option once its syntax was
// right. Nil means the answer is the same. (Such commands reach an old
// entry only inside a script, or from an older member's front door during
// a rolling upgrade.)
func oldFormatReply(cmd *Command, args [][]byte, oldFormat byte) resp.Reply {
	for _, since := range commandsSince {
		if oldFormat >= since.format {
			continue
		}
		if slices.Contains(since.names, cmd.Name) {
			return resp.ErrUnknownCommand(args)
		}
		for _, family := range since.families {
			for i := range family {
				if cmd == &family[i] {
					return resp.ErrUnknownCommand(args)
				}
			}
		}
	}
	if oldFormat < formatExpiry && cmd.Name == "set" && len(args) >= 3 {
		if flags, _, err := parseStringOptions(args[3:], optSet); err == nil && flags&setExpiry != 0 {
			return errNoExpiryBefore
		}
	}
	return nil
}

// isUnknownCommand reports whether r is the unknown-command error, which a
// script's redis.call words its own way.
func isUnknownCommand(r resp.Reply) bool {
	e, ok := r.(resp.Error)
	return ok && strings.HasPrefix(string(e), "ERR unknown command")
}
