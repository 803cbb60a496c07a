package fsm

import (
	"sort"
	"strings"

	"github.com/raftlist/raftlist/fsm/lua"
	"github.com/raftlist/raftlist/fsm/resp"
)

// scriptCommands are Lua scripting, as redis-server 7.0.15 has it. EVAL,
// EVALSHA and SCRIPT go through the log: the script cache is replicated
// state, so EVALSHA works on any node and after a leader change. EVAL_RO and
// EVALSHA_RO are reads: they neither write nor add to the cache.
var scriptCommands = []Command{
	// EVAL script numkeys [key [key ...]] [arg [arg ...]]
	{Spec: resp.Spec{Name: "eval", Arity: -3, Flags: resp.Write | resp.NoScript | resp.Stale | resp.SkipMonitor | resp.NoMandatoryKeys | resp.MovableKeys,
		Group: "scripting", Since: "2.6.0", Summary: "Execute a Lua script server side",
		Keys: []resp.KeySpec{{Flags: resp.KeyRW | resp.KeyAccess | resp.KeyUpdate, Notes: "We cannot tell how the keys will be used so we assume the worst, RW and UPDATE", Begin: 2, NumKeys: true, FirstKey: 1, KeyStep: 1}}}, Prepare: evalCommand(false)},
	// EVALSHA sha1 numkeys [key [key ...]] [arg [arg ...]]
	{Spec: resp.Spec{Name: "evalsha", Arity: -3, Flags: resp.Write | resp.NoScript | resp.Stale | resp.SkipMonitor | resp.NoMandatoryKeys | resp.MovableKeys,
		Group: "scripting", Since: "2.6.0", Summary: "Execute a Lua script server side",
		Keys: []resp.KeySpec{resp.KeysCounted(2, resp.KeyRW|resp.KeyAccess|resp.KeyUpdate)}}, Prepare: evalshaCommand(false)},
	// EVAL_RO script numkeys [key [key ...]] [arg [arg ...]]
	{Spec: resp.Spec{Name: "eval_ro", Arity: -3, Flags: resp.ReadOnly | resp.NoScript | resp.Stale | resp.SkipMonitor | resp.NoMandatoryKeys | resp.MovableKeys,
		Group: "scripting", Since: "7.0.0", Summary: "Execute a read-only Lua script server side",
		Keys: []resp.KeySpec{{Flags: resp.KeyRO | resp.KeyAccess, Notes: "We cannot tell how the keys will be used so we assume the worst, RO and ACCESS", Begin: 2, NumKeys: true, FirstKey: 1, KeyStep: 1}}}, Prepare: evalCommand(true)},
	// EVALSHA_RO sha1 numkeys [key [key ...]] [arg [arg ...]]
	{Spec: resp.Spec{Name: "evalsha_ro", Arity: -3, Flags: resp.ReadOnly | resp.NoScript | resp.Stale | resp.SkipMonitor | resp.NoMandatoryKeys | resp.MovableKeys,
		Group: "scripting", Since: "7.0.0", Summary: "Execute a read-only Lua script server side",
		Keys: []resp.KeySpec{resp.KeysCounted(2, resp.KeyRO|resp.KeyAccess)}}, Prepare: evalshaCommand(true)},
	// SCRIPT LOAD script | EXISTS sha1 [sha1 ...] | FLUSH [ASYNC|SYNC] | KILL | DEBUG YES|SYNC|NO | HELP
	//
	// One write command: every subcommand goes through the log, so LOAD
	// and FLUSH are replicated and EXISTS is linearizable.
	{Spec: resp.Spec{Name: "script", Arity: -2, Flags: resp.Write | resp.NoScript,
		Group: "scripting", Since: "2.6.0", Summary: "A container for Lua scripts management commands",
		Container: true}, Prepare: scriptCommand, CheckSubcommand: checkScriptSubcommand},
}

// scriptSubcommandArity are SCRIPT's subcommands with Redis 7.0's arities:
// what Redis checks before running SCRIPT, also when MULTI queues it.
var scriptSubcommandArity = map[string]int{"debug": 3, "exists": -3, "flush": -2, "help": 2, "kill": 2, "load": 3}

// checkScriptSubcommand is Redis's check of a SCRIPT subcommand's name and
// arity, which inside MULTI refuses it at queue time.
func checkScriptSubcommand(args [][]byte) error {
	sub := string(lowerASCII(args[1]))
	arity, ok := scriptSubcommandArity[sub]
	if !ok {
		return resp.ErrUnknownSubcommand(args[0], args[1])
	}
	if (arity > 0 && len(args) != arity) || len(args) < -arity {
		return resp.ErrWrongArity("script|" + sub)
	}
	return nil
}

// scriptKeysArgs splits EVAL's arguments after the script into KEYS and ARGV.
func scriptKeysArgs(args [][]byte) (keys, argv [][]byte, err error) {
	n, ok := resp.ParseInt(args[2])
	switch {
	case !ok:
		return nil, nil, resp.ErrNotInteger
	case n > int64(len(args)-3):
		return nil, nil, resp.ErrScriptTooManyKeys
	case n < 0:
		return nil, nil, resp.ErrScriptNegativeKeys
	}
	return args[3 : 3+n], args[3+n:], nil
}

// EVAL script numkeys [key [key ...]] [arg [arg ...]]
// EVAL_RO script numkeys [key [key ...]] [arg [arg ...]]
//
// The script is compiled here, so a script that does not compile never
// reaches the log. EVAL adds it to the cache, as Redis does.
func evalCommand(readOnly bool) func(args [][]byte) (Exec, error) {
	return func(args [][]byte) (Exec, error) {
		keys, argv, err := scriptKeysArgs(args)
		if err != nil {
			return nil, err
		}
		s, err := lua.Load(args[1])
		if err != nil {
			return nil, err
		}
		if err := checkReadOnlyScript(s, readOnly); err != nil {
			return nil, err
		}
		return func(c *Ctx) resp.Reply {
			if !readOnly {
				c.State.scripts[s.SHA()] = s.Body()
			}
			return runScript(c, s, keys, argv, readOnly)
		}, nil
	}
}

// EVALSHA sha1 numkeys [key [key ...]] [arg [arg ...]]
// EVALSHA_RO sha1 numkeys [key [key ...]] [arg [arg ...]]
//
// Whether the script is cached depends on state: that is decided when the
// command is applied. A name that is not 40 characters long can never
// match, and Redis says so before it looks at numkeys.
func evalshaCommand(readOnly bool) func(args [][]byte) (Exec, error) {
	return func(args [][]byte) (Exec, error) {
		if len(args[1]) != 40 {
			return nil, resp.ErrNoScript
		}
		keys, argv, err := scriptKeysArgs(args)
		if err != nil {
			return nil, err
		}
		sha := strings.ToLower(string(args[1]))
		return func(c *Ctx) resp.Reply {
			body, ok := c.State.scripts[sha]
			if !ok {
				return resp.ErrNoScript
			}
			s, err := lua.Load([]byte(body))
			if err == nil {
				err = checkReadOnlyScript(s, readOnly)
			}
			if err != nil {
				return asError(err)
			}
			return runScript(c, s, keys, argv, readOnly)
		}, nil
	}
}

// checkReadOnlyScript refuses, for EVAL_RO and EVALSHA_RO, a script that
// declares itself with "#!lua" but not flags=no-writes. Scripts without a
// shebang may run read-only; a write inside them fails when it is called.
func checkReadOnlyScript(s *lua.Script, readOnly bool) error {
	if readOnly && s.Shebang() && !s.NoWrites() {
		return resp.ErrScriptWriteFlag
	}
	return nil
}

// SCRIPT subcommand [arg ...]
func scriptCommand(args [][]byte) (Exec, error) {
	sub := strings.ToLower(string(resp.CString(args[1])))
	arity := map[string]int{"load": 3, "exists": -3, "flush": -2, "kill": 2, "debug": 3, "help": 2}[sub]
	if arity == 0 || !resp.IsOption(args[1], sub) {
		return nil, resp.ErrUnknownSubcommand(args[0], args[1])
	}
	spec := resp.Spec{Name: "script|" + sub, Arity: arity}
	if err := spec.CheckArity(args); err != nil {
		return nil, err
	}
	switch sub {
	case "load":
		return scriptLoad(args)
	case "exists":
		return scriptExists(args), nil
	case "flush":
		return scriptFlush(args)
	case "kill":
		return func(*Ctx) resp.Reply { return resp.ErrNotBusy }, nil
	case "debug":
		return scriptDebug(args)
	}
	return func(*Ctx) resp.Reply { return scriptHelp }, nil
}

// SCRIPT LOAD script
func scriptLoad(args [][]byte) (Exec, error) {
	s, err := lua.Load(args[2])
	if err != nil {
		return nil, err
	}
	return func(c *Ctx) resp.Reply {
		c.State.scripts[s.SHA()] = s.Body()
		return resp.BulkString(s.SHA())
	}, nil
}

// SCRIPT EXISTS sha1 [sha1 ...]
func scriptExists(args [][]byte) Exec {
	shas := args[2:]
	return func(c *Ctx) resp.Reply {
		out := make(resp.Array, len(shas))
		for i, sha := range shas {
			_, ok := c.State.scripts[strings.ToLower(string(sha))]
			out[i] = resp.Int(0)
			if ok {
				out[i] = resp.Int(1)
			}
		}
		return out
	}
}

// SCRIPT FLUSH [ASYNC|SYNC]
func scriptFlush(args [][]byte) (Exec, error) {
	if len(args) > 3 || (len(args) == 3 && !resp.IsOption(args[2], "async") && !resp.IsOption(args[2], "sync")) {
		return nil, resp.ErrScriptFlushOption
	}
	return func(c *Ctx) resp.Reply {
		c.State.scripts = make(map[string]string)
		return resp.OK
	}, nil
}

// SCRIPT DEBUG YES|SYNC|NO: raftlist has no Lua debugger; NO is what is
// always in effect.
func scriptDebug(args [][]byte) (Exec, error) {
	switch {
	case resp.IsOption(args[2], "no"):
		return func(*Ctx) resp.Reply { return resp.OK }, nil
	case resp.IsOption(args[2], "yes"), resp.IsOption(args[2], "sync"):
		return nil, resp.ErrScriptDebug
	}
	return nil, resp.ErrScriptDebugMode
}

// scriptHelp is SCRIPT HELP's reply, as redis-server 7.0.15 words it.
var scriptHelp = resp.StatusLines([]string{
	"SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
	"DEBUG (YES|SYNC|NO)",
	"    Set the debug mode for subsequent scripts executed.",
	"EXISTS <sha1> [<sha1> ...]",
	"    Return information about the existence of the scripts in the script cache.",
	"FLUSH [ASYNC|SYNC]",
	"    Flush the Lua scripts cache. Very dangerous on replicas.",
	"    When called without the optional mode argument, the behavior is determined by the",
	"    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
	"    * ASYNC: Asynchronously flush the scripts cache.",
	"    * SYNC: Synchronously flush the scripts cache.",
	"KILL",
	"    Kill the currently executing Lua script.",
	"LOAD <script>",
	"    Load a script into the scripts cache without executing it.",
	"HELP",
	"    Prints this help.",
})

// ScriptSHA returns the lowercase hex SHA1 of a script body, its name in
// the script cache.
func ScriptSHA(body []byte) string { return lua.SHA(body) }

// ScriptCount returns how many scripts the cache holds.
func (s *State) ScriptCount() int { return len(s.scripts) }

// sortedScripts returns the cached scripts' SHA1s in order: snapshots and
// the digest walk the cache this way, never in map order.
func (s *State) sortedScripts() []string {
	out := make([]string, 0, len(s.scripts))
	for sha := range s.scripts {
		out = append(out, sha)
	}
	sort.Strings(out)
	return out
}
