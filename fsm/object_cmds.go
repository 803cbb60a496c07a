package fsm

import (
	"strconv"

	"github.com/raftlist/raftlist/fsm/resp"
)

// objectCommands is OBJECT, one row for its subcommands: its answers are
// derived from the value alone, so every node gives the same (README:
// differences). The row is readonly, as Redis flags the subcommands that
// take a key: it is served as a read (Redis flags the container itself
// with nothing).
var objectCommands = []Command{
	// OBJECT ENCODING key | REFCOUNT key | IDLETIME key | FREQ key | HELP
	{Spec: resp.Spec{Name: "object", Arity: -2, Flags: resp.ReadOnly,
		Group: "generic", Since: "2.2.3", Summary: "A container for object introspection commands",
		Container: true}, Prepare: objectCommand, CheckSubcommand: checkObjectSubcommand},
}

// objectHelp is OBJECT HELP's text, as redis-server 7.0.15 prints it.
var objectHelp = []string{
	"OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
	"ENCODING <key>",
	"    Return the kind of internal representation used in order to store the value",
	"    associated with a <key>.",
	"FREQ <key>",
	"    Return the access frequency index of the <key>. The returned integer is",
	"    proportional to the logarithm of the recent access frequency of the key.",
	"IDLETIME <key>",
	"    Return the idle time of the <key>, that is the approximated number of",
	"    seconds elapsed since the last access to the key.",
	"REFCOUNT <key>",
	"    Return the number of references of the value associated with the specified",
	"    <key>.",
	"HELP",
	"    Prints this help.",
}

// objectAnswers are the subcommands taking a key, and what they answer
// for a present value.
var objectAnswers = map[string]func(v Value) resp.Reply{
	"encoding": func(v Value) resp.Reply { return resp.BulkString(objectEncoding(v)) },
	"refcount": func(v Value) resp.Reply { return resp.Int(objectRefcount(v)) },
	// Access times are not replicated state: every key was just used.
	"idletime": func(Value) resp.Reply { return resp.Int(0) },
	// maxmemory-policy is noeviction: no access frequency is kept.
	"freq": func(Value) resp.Reply { return resp.ErrObjectNoLFU },
}

// checkObjectSubcommand refuses an unknown subcommand or a wrong arity.
func checkObjectSubcommand(args [][]byte) error {
	sub := string(lowerASCII(args[1]))
	arity := 3
	if _, ok := objectAnswers[sub]; !ok {
		if sub != "help" {
			return resp.ErrUnknownSubcommand(args[0], args[1])
		}
		arity = 2
	}
	if len(args) != arity {
		return resp.ErrWrongArity("object|" + sub)
	}
	return nil
}

// OBJECT ENCODING key | REFCOUNT key | IDLETIME key | FREQ key | HELP
func objectCommand(args [][]byte) (Exec, error) {
	if err := checkObjectSubcommand(args); err != nil {
		return nil, err
	}
	if len(args) == 2 {
		return func(*Ctx) resp.Reply { return resp.StatusLines(objectHelp) }, nil
	}
	answer, key := objectAnswers[string(lowerASCII(args[1]))], args[2]
	return func(c *Ctx) resp.Reply {
		v := c.DB().Get(key)
		if v == nil {
			return resp.NullBulk
		}
		return answer(v)
	}, nil
}

// objectEncoding is what Redis 7.0 reports for a value stored by SET or a
// push: every list is a quicklist in 7.0; a string is "int" when it reads
// back as a C long in canonical form, "embstr" up to 44 bytes, else "raw".
// Redis also reports "raw" for a short string APPEND or SETRANGE made;
// raftlist keeps no such history.
func objectEncoding(v Value) string {
	s, ok := v.(*String)
	switch {
	case !ok:
		return "quicklist"
	case canonicalInt(s.B):
		return "int"
	case len(s.B) <= 44:
		return "embstr"
	}
	return "raw"
}

// objectRefcount is 1, or Redis's shared-object count for the integers
// 0..9999 it shares (OBJ_SHARED_INTEGERS).
func objectRefcount(v Value) int64 {
	if s, ok := v.(*String); ok && canonicalInt(s.B) {
		if n, _ := strconv.ParseInt(string(s.B), 10, 64); n >= 0 && n < 10000 {
			return 2147483647
		}
	}
	return 1
}

// canonicalInt is Redis's string2l: a C long written without a sign
// other than '-', leading zeros or spaces.
func canonicalInt(b []byte) bool {
	if len(b) == 0 || len(b) > 20 {
		return false
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	return err == nil && strconv.FormatInt(n, 10) == string(b)
}

// lowerASCII lower-cases a subcommand name for lookup.
func lowerASCII(b []byte) []byte {
	out := make([]byte, len(b))
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		out[i] = c
	}
	return out
}
