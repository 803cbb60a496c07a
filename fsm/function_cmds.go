package fsm

import (
	"encoding/binary"
	"fmt"
	"sort"
	"strings"

	"github.com/raftlist/raftlist/fsm/lua"
	"github.com/raftlist/raftlist/fsm/rdb"
	"github.com/raftlist/raftlist/fsm/resp"
)

// functionCommands are Redis 7's functions, as redis-server 7.0.15 has
// them. The libraries are replicated state like the script cache: FUNCTION
// is one write row whose LOAD, DELETE, FLUSH and RESTORE go through the
// log, and whose LIST, DUMP, STATS, KILL and HELP are routed as reads
// (WritesWith: linearizable, on any node);
// FCALL goes through the log like EVAL, FCALL_RO is a read like EVAL_RO.
var functionCommands = []Command{
	// FUNCTION LOAD [REPLACE] code | DELETE name | FLUSH [ASYNC|SYNC] |
	// LIST [LIBRARYNAME pattern] [WITHCODE] | DUMP | RESTORE payload
	// [FLUSH|APPEND|REPLACE] | STATS | KILL | HELP
	{Spec: resp.Spec{Name: "function", Arity: -2, Flags: resp.Write | resp.NoScript,
		Group: "scripting", Since: "7.0.0", Summary: "A container for function commands",
		Container: true, WritesWith: functionWrites}, Prepare: functionCommand, CheckSubcommand: checkFunctionSubcommand},
	// FCALL function numkeys [key [key ...]] [arg [arg ...]]
	{Spec: resp.Spec{Name: "fcall", Arity: -3, Flags: resp.Write | resp.NoScript | resp.Stale | resp.SkipMonitor | resp.NoMandatoryKeys | resp.MovableKeys,
		Group: "scripting", Since: "7.0.0", Summary: "Invoke a function",
		Keys: []resp.KeySpec{{Flags: resp.KeyRW | resp.KeyAccess | resp.KeyUpdate, Notes: "We cannot tell how the keys will be used so we assume the worst, RW and UPDATE", Begin: 2, NumKeys: true, FirstKey: 1, KeyStep: 1}}}, Prepare: fcallCommand(false)},
	// FCALL_RO function numkeys [key [key ...]] [arg [arg ...]]
	{Spec: resp.Spec{Name: "fcall_ro", Arity: -3, Flags: resp.ReadOnly | resp.NoScript | resp.Stale | resp.SkipMonitor | resp.NoMandatoryKeys | resp.MovableKeys,
		Group: "scripting", Since: "7.0.0", Summary: "Invoke a read-only function",
		Keys: []resp.KeySpec{{Flags: resp.KeyRO | resp.KeyAccess, Notes: "We cannot tell how the keys will be used so we assume the worst, RO and ACCESS", Begin: 2, NumKeys: true, FirstKey: 1, KeyStep: 1}}}, Prepare: fcallCommand(true)},
}

// functionReadSubcommands are FUNCTION's subcommands that change nothing.
var functionReadSubcommands = []string{"list", "dump", "stats", "kill", "help"}

// functionWrites is FUNCTION's WritesWith: every subcommand but the ones
// that only read goes through the log.
func functionWrites(args [][]byte) bool {
	if len(args) < 2 {
		return true
	}
	for _, sub := range functionReadSubcommands {
		if resp.IsOption(args[1], sub) {
			return false
		}
	}
	return true
}

// library is one loaded library: its code (compiled once, immutable) and
// the functions its code registered, in registration order.
type library struct {
	lib   *lua.Library
	funcs []lua.Function
}

// Errors of FUNCTION and FCALL, as redis-server 7.0.15 words them.
var (
	errFunctionNotFound   = resp.Error("ERR Function not found")
	errLibraryNotFound    = resp.Error("ERR Library not found")
	errNoFunctions        = resp.Error("ERR No functions registered")
	errFunctionCode       = resp.Error("ERR Function code is missing")
	errFunctionFlush      = resp.Error("ERR FUNCTION FLUSH only supports SYNC|ASYNC option")
	errFunctionNumkeys    = resp.Error("ERR Bad number of keys provided")
	errFunctionTooMany    = resp.Error("ERR Number of keys can't be greater than number of args")
	errFunctionNegative   = resp.Error("ERR Number of keys can't be negative")
	errFunctionListName   = resp.Error("ERR library name argument was not given")
	errFunctionRestoreArg = resp.Error("ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.")
)

// errFunctionSyntax is Redis's addReplySubcommandSyntaxError for FUNCTION.
func errFunctionSyntax(sub []byte) resp.Error {
	return resp.Sanitize("ERR unknown subcommand or wrong number of arguments for '" + string(resp.CString(sub)) + "'. Try FUNCTION HELP.")
}

// functionArity are FUNCTION's subcommands and their arities.
var functionArity = map[string]int{"load": -3, "delete": 3, "flush": -2, "list": -2, "dump": 2,
	"restore": -3, "stats": 2, "kill": 2, "help": 2}

// checkFunctionSubcommand is Redis's check of a FUNCTION subcommand's
// name and arity, which inside MULTI refuses it at queue time and in a
// script makes an unknown subcommand an unknown command.
func checkFunctionSubcommand(args [][]byte) error {
	sub := strings.ToLower(string(resp.CString(args[1])))
	arity := functionArity[sub]
	if arity == 0 || !resp.IsOption(args[1], sub) {
		return resp.ErrUnknownSubcommand(args[0], args[1])
	}
	return (&resp.Spec{Name: "function|" + sub, Arity: arity}).CheckArity(args)
}

// FUNCTION subcommand [arg ...]
func functionCommand(args [][]byte) (Exec, error) {
	if err := checkFunctionSubcommand(args); err != nil {
		return nil, err
	}
	sub := strings.ToLower(string(resp.CString(args[1])))
	switch sub {
	case "load":
		return functionLoad(args)
	case "delete":
		return functionDelete(args), nil
	case "flush":
		return functionFlush(args)
	case "list":
		return functionList(args)
	case "dump":
		return functionDump, nil
	case "restore":
		return functionRestore(args)
	case "stats":
		return functionStats, nil
	case "kill":
		return func(*Ctx) resp.Reply { return resp.ErrNotBusy }, nil
	}
	return func(*Ctx) resp.Reply { return functionHelp }, nil
}

// FUNCTION LOAD [REPLACE] code
//
// The metadata line is checked here, so a library without a name never
// reaches the log; compiling and running its code are decided when the
// entry is applied, after the existing library is looked at (Redis's
// order).
func functionLoad(args [][]byte) (Exec, error) {
	replace, pos := false, 2
	for ; pos < len(args)-1; pos++ {
		if !resp.IsOption(args[pos], "replace") {
			return nil, resp.Sanitize("ERR Unknown option given: " + string(resp.CString(args[pos])))
		}
		replace = true
	}
	if pos >= len(args) {
		return nil, errFunctionCode
	}
	lib, err := lua.ParseLibrary(args[pos])
	if err != nil {
		return nil, err
	}
	return func(c *Ctx) resp.Reply {
		if err := c.State.loadLibrary(c, lib, replace); err != nil {
			return asError(err)
		}
		return resp.BulkString(lib.Name())
	}, nil
}

// loadLibrary runs lib's code and links its functions, replacing the
// library of its name if replace, or leaves the state as it was and
// returns why not.
func (s *State) loadLibrary(c *Ctx, lib *lua.Library, replace bool) error {
	if _, ok := s.libraries[lib.Name()]; ok && !replace {
		return resp.Error("ERR Library '" + lib.Name() + "' already exists")
	}
	l, err := s.runLibrary(c, lib, lua.DefaultBudget)
	if err != nil {
		return err
	}
	for _, f := range l.funcs {
		if owner, ok := s.functions[strings.ToLower(f.Name)]; ok && owner != lib.Name() {
			return resp.Sanitize("ERR Function " + f.Name + " already exists")
		}
	}
	s.unlinkLibrary(lib.Name())
	s.linkLibrary(l)
	return nil
}

// runLibrary compiles lib and runs its code as FUNCTION LOAD does, charged
// to budget: a library that loops forever stops, at the same instruction
// on every node.
func (s *State) runLibrary(c *Ctx, lib *lua.Library, budget lua.Budget) (*library, error) {
	h := &scriptHost{ctx: c, db: c.DBNum, readOnly: true}
	funcs, err := s.vms.LoadLibrary(lib, h, budget)
	if err != nil {
		return nil, err
	}
	if len(funcs) == 0 {
		return nil, errNoFunctions
	}
	return &library{lib: lib, funcs: funcs}, nil
}

func (s *State) linkLibrary(l *library) {
	s.libraries[l.lib.Name()] = l
	for _, f := range l.funcs {
		s.functions[strings.ToLower(f.Name)] = l.lib.Name()
	}
}

func (s *State) unlinkLibrary(name string) {
	l, ok := s.libraries[name]
	if !ok {
		return
	}
	for _, f := range l.funcs {
		delete(s.functions, strings.ToLower(f.Name))
	}
	delete(s.libraries, name)
}

// FUNCTION DELETE library-name
func functionDelete(args [][]byte) Exec {
	name := string(resp.CString(args[2]))
	return func(c *Ctx) resp.Reply {
		if _, ok := c.State.libraries[name]; !ok {
			return errLibraryNotFound
		}
		c.State.unlinkLibrary(name)
		return resp.OK
	}
}

// FUNCTION FLUSH [ASYNC|SYNC]
func functionFlush(args [][]byte) (Exec, error) {
	switch {
	case len(args) > 3:
		return nil, errFunctionSyntax(args[1])
	case len(args) == 3 && !resp.IsOption(args[2], "sync") && !resp.IsOption(args[2], "async"):
		return nil, errFunctionFlush
	}
	return func(c *Ctx) resp.Reply {
		c.State.flushLibraries()
		return resp.OK
	}, nil
}

func (s *State) flushLibraries() {
	s.libraries = make(map[string]*library)
	s.functions = make(map[string]string)
}

// FUNCTION LIST [LIBRARYNAME pattern] [WITHCODE]
//
// Libraries in name order, each library's functions in name order (Redis
// lists both in its hash tables' order, which differs from run to run).
func functionList(args [][]byte) (Exec, error) {
	var pattern []byte
	withCode, named := false, false
	for i := 2; i < len(args); i++ {
		switch {
		case !withCode && resp.IsOption(args[i], "withcode"):
			withCode = true
		case !named && resp.IsOption(args[i], "libraryname"):
			if i >= len(args)-1 {
				return nil, errFunctionListName
			}
			i++
			pattern, named = resp.CString(args[i]), true
		default:
			return nil, resp.Sanitize("ERR Unknown argument " + string(resp.CString(args[i])))
		}
	}
	return func(c *Ctx) resp.Reply {
		out := resp.Array{}
		for _, name := range c.State.sortedLibraries() {
			if named && !GlobMatch(pattern, []byte(name), true) {
				continue
			}
			out = append(out, c.State.libraries[name].listReply(withCode))
		}
		return out
	}, nil
}

// listReply is one library in FUNCTION LIST.
func (l *library) listReply(withCode bool) resp.Reply {
	funcs := make(resp.Array, 0, len(l.funcs))
	for _, f := range l.sortedFuncs() {
		var desc resp.Reply = resp.NullBulk
		if f.HasDesc {
			desc = resp.BulkString(f.Description)
		}
		flags := resp.Set{}
		for bit, name := range lua.FunctionFlagNames {
			if f.Flags&(1<<bit) != 0 {
				flags = append(flags, resp.Status(name))
			}
		}
		funcs = append(funcs, resp.Map{resp.BulkString("name"), resp.BulkString(f.Name),
			resp.BulkString("description"), desc, resp.BulkString("flags"), flags})
	}
	m := resp.Map{resp.BulkString("library_name"), resp.BulkString(l.lib.Name()),
		resp.BulkString("engine"), resp.BulkString("LUA"), resp.BulkString("functions"), funcs}
	if withCode {
		m = append(m, resp.BulkString("library_code"), resp.BulkString(l.lib.Code()))
	}
	return m
}

func (l *library) sortedFuncs() []lua.Function {
	out := append([]lua.Function(nil), l.funcs...)
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// FUNCTION STATS: no function ever runs while another command is served
// (running_script is always nil), and one engine, LUA.
func functionStats(c *Ctx) resp.Reply {
	return resp.Map{resp.BulkString("running_script"), resp.NullBulk,
		resp.BulkString("engines"), resp.Map{resp.BulkString("LUA"), resp.Map{
			resp.BulkString("libraries_count"), resp.Int(len(c.State.libraries)),
			resp.BulkString("functions_count"), resp.Int(len(c.State.functions))}}}
}

// FCALL function numkeys [key [key ...]] [arg [arg ...]]
// FCALL_RO function numkeys [key [key ...]] [arg [arg ...]]
//
// Everything is decided when the command is applied: Redis looks the
// function up before it reads numkeys.
func fcallCommand(readOnly bool) func(args [][]byte) (Exec, error) {
	return func(args [][]byte) (Exec, error) {
		name := string(resp.CString(args[1]))
		return func(c *Ctx) resp.Reply {
			libName, ok := c.State.functions[strings.ToLower(name)]
			if !ok {
				return errFunctionNotFound
			}
			n, ok := resp.ParseInt(args[2])
			switch {
			case !ok:
				return errFunctionNumkeys
			case n > int64(len(args)-3):
				return errFunctionTooMany
			case n < 0:
				return errFunctionNegative
			}
			l := c.State.libraries[libName]
			f := l.function(name)
			noWrites := f.Flags&lua.FunctionNoWrites != 0
			if readOnly && !noWrites {
				return resp.ErrScriptWriteFlag
			}
			h := &scriptHost{ctx: c, db: c.DBNum, readOnly: readOnly || noWrites, seed: scriptSeed(c)}
			return c.State.vms.CallFunction(l.lib, f.Name, args[3:3+n], args[3+n:], h, lua.DefaultBudget)
		}, nil
	}
}

func (l *library) function(name string) lua.Function {
	for _, f := range l.funcs {
		if strings.EqualFold(f.Name, name) {
			return f
		}
	}
	return lua.Function{}
}

// sortedLibraries returns the libraries' names in order: LIST, DUMP,
// snapshots and the digest walk them this way, never in map order.
func (s *State) sortedLibraries() []string {
	out := make([]string, 0, len(s.libraries))
	for name := range s.libraries {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// functionHelp is FUNCTION HELP's reply, as redis-server 7.0.15 words it.
var functionHelp = resp.StatusLines([]string{
	"FUNCTION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
	"LOAD [REPLACE] <FUNCTION CODE>",
	"    Create a new library with the given library name and code.",
	"DELETE <LIBRARY NAME>",
	"    Delete the given library.",
	"LIST [LIBRARYNAME PATTERN] [WITHCODE]",
	"    Return general information on all the libraries:",
	"    * Library name",
	"    * The engine used to run the Library",
	"    * Library description",
	"    * Functions list",
	"    * Library code (if WITHCODE is given)",
	"    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
	"STATS",
	"    Return information about the current function running:",
	"    * Function name",
	"    * Command used to run the function",
	"    * Duration in MS that the function is running",
	"    If no function is running, return nil",
	"    In addition, returns a list of available engines.",
	"KILL",
	"    Kill the current running function.",
	"FLUSH [ASYNC|SYNC]",
	"    Delete all the libraries.",
	"    When called without the optional mode argument, the behavior is determined by the",
	"    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
	"    * ASYNC: Asynchronously flush the libraries.",
	"    * SYNC: Synchronously flush the libraries.",
	"DUMP",
	"    Return a serialized payload representing the current libraries, can be restored using FUNCTION RESTORE command",
	"RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
	"    Restore the libraries represented by the given payload, it is possible to give a restore policy to",
	"    control how to handle existing libraries (default APPEND):",
	"    * FLUSH: delete all existing libraries.",
	"    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.",
	"    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old",
	"      libraries with the new libraries (notice that even on this option there is a chance of failure",
	"      in case of functions name collision with another library).",
	"HELP",
	"    Prints this help.",
})

// FUNCTION DUMP: every library's code in redis-server 7.0.15's format
// (RDB_OPCODE_FUNCTION2, RDB version 10, CRC64), in name order.
func functionDump(c *Ctx) resp.Reply {
	codes := make([]string, 0, len(c.State.libraries))
	for _, name := range c.State.sortedLibraries() {
		codes = append(codes, c.State.libraries[name].lib.Code())
	}
	return resp.Bulk(rdb.DumpFunctions(codes))
}

// FUNCTION RESTORE payload [FLUSH|APPEND|REPLACE]
//
// The payload's checksum and records are read here; loading its
// libraries is decided when the entry is applied. Nothing changes unless
// every library loads.
func functionRestore(args [][]byte) (Exec, error) {
	if len(args) > 4 {
		return nil, errFunctionSyntax(args[1])
	}
	policy := "append"
	if len(args) == 4 {
		switch {
		case resp.IsOption(args[3], "append"), resp.IsOption(args[3], "replace"), resp.IsOption(args[3], "flush"):
			policy = strings.ToLower(string(args[3]))
		default:
			return nil, errFunctionRestoreArg
		}
	}
	codes, err := rdb.DecodeFunctions(args[2], maxRestoreBytes)
	switch {
	case err == rdb.ErrChecksum:
		return nil, resp.Error("ERR DUMP payload version or checksum are wrong")
	case err != nil:
		return nil, resp.Sanitize("ERR " + err.Error())
	}
	libs := make([]*lua.Library, len(codes))
	for i, code := range codes {
		if libs[i], err = lua.ParseLibrary([]byte(code)); err != nil {
			return nil, err
		}
	}
	return func(c *Ctx) resp.Reply {
		if err := c.State.restoreLibraries(c, libs, policy); err != nil {
			return asError(err)
		}
		return resp.OK
	}, nil
}

// restoreLibraries is Redis's functionRestoreCommand after the payload is
// read: the libraries load into a context of their own (a name twice is
// "already exists"), which then replaces the current one (flush) or joins
// it (append: a library of the same name fails; replace: it is replaced),
// refusing a function name another library has. The libraries share one
// script budget (Redis loads them without a time limit): a payload of many
// libraries that loop cannot hold every node's apply loop for long.
func (s *State) restoreLibraries(c *Ctx, libs []*lua.Library, policy string) error {
	budget := lua.DefaultBudget
	if n := int64(len(libs)); n > 1 {
		budget.Instructions /= n
		budget.Bytes /= n
	}
	fresh := make(map[string]*library)
	freshFuncs := make(map[string]bool)
	var order []*library
	for _, lib := range libs {
		if _, ok := fresh[lib.Name()]; ok {
			return resp.Error("ERR Library '" + lib.Name() + "' already exists")
		}
		l, err := s.runLibrary(c, lib, budget)
		if err != nil {
			return err
		}
		for _, f := range l.funcs {
			if freshFuncs[strings.ToLower(f.Name)] {
				return resp.Sanitize("ERR Function " + f.Name + " already exists")
			}
		}
		for _, f := range l.funcs {
			freshFuncs[strings.ToLower(f.Name)] = true
		}
		fresh[lib.Name()] = l
		order = append(order, l)
	}
	if policy != "flush" {
		for _, l := range order {
			if _, ok := s.libraries[l.lib.Name()]; ok && policy == "append" {
				return resp.Sanitize("ERR Library " + l.lib.Name() + " already exists")
			}
		}
		for _, l := range order {
			for _, f := range l.funcs {
				if owner, ok := s.functions[strings.ToLower(f.Name)]; ok && fresh[owner] == nil {
					return resp.Sanitize("ERR Function " + f.Name + " already exists")
				}
			}
		}
	} else {
		s.flushLibraries()
	}
	for _, l := range order {
		s.unlinkLibrary(l.lib.Name())
		s.linkLibrary(l)
	}
	return nil
}

// appendLibrary is a library's snapshot record, also what the digest
// hashes of it.
func appendLibrary(b []byte, l *library) []byte {
	b = append(b, recLibrary)
	b = appendBytes(b, []byte(l.lib.Code()))
	b = binary.AppendUvarint(b, uint64(len(l.funcs)))
	for _, f := range l.funcs {
		b = appendBytes(b, []byte(f.Name))
		desc := byte(0)
		if f.HasDesc {
			desc = 1
		}
		b = appendBytes(append(b, desc), []byte(f.Description))
		b = append(b, byte(f.Flags))
	}
	return b
}

// library reads a recLibrary's body. The code's metadata is checked again
// (a snapshot names the library by its code alone); it is compiled only
// when first called.
func (sr *snapReader) library() *library {
	code := sr.bytes()
	n := sr.uvarint()
	if sr.err != nil {
		return nil
	}
	lib, err := lua.ParseLibrary(code)
	if err != nil {
		sr.fail(fmt.Errorf("snapshot library: %v", err))
		return nil
	}
	l := &library{lib: lib}
	for i := uint64(0); i < n && sr.err == nil; i++ {
		f := lua.Function{Name: string(sr.bytes())}
		f.HasDesc = sr.byte() == 1
		f.Description = string(sr.bytes())
		f.Flags = lua.FunctionFlags(sr.byte())
		l.funcs = append(l.funcs, f)
	}
	if sr.err == nil && len(l.funcs) == 0 {
		sr.fail(fmt.Errorf("snapshot library %q has no functions", lib.Name()))
	}
	return l
}
