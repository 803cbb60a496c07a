package cluster

import (
	"bytes"
	"sort"
	"strings"

	"github.com/raftlist/raftlist/fsm"
	"github.com/raftlist/raftlist/fsm/resp"
)

// COMMAND answers from the command rows alone (fsm's table and
// connCommands, with their subcommand rows): flags, key specs, ACL
// categories and tips are declared there once, so COMMAND cannot disagree
// with the route a command gets.

// allSpecs returns every command the node answers, data and connection
// commands alike, in name order.
func allSpecs() []*resp.Spec {
	var out []*resp.Spec
	for _, c := range fsm.Commands() {
		out = append(out, &c.Spec)
	}
	for _, c := range connCommands {
		out = append(out, &c.Spec)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// findSpec finds a command by the name COMMAND INFO and DOCS take: a
// command's, or a subcommand's full name ("client|list"), as Redis 7's
// lookupCommandBySds.
func findSpec(name []byte) *resp.Spec {
	if i := bytes.IndexByte(name, '|'); i >= 0 {
		_, cc := findCommand(name[:i])
		if cc == nil {
			return nil
		}
		sc := subcommandNamed(cc.subs, name[i+1:])
		if sc == nil || sc.flags&resp.Internal != 0 {
			return nil
		}
		sp := subcommandSpec(&cc.Spec, sc)
		return &sp
	}
	sp, _ := findCommand(name)
	return sp
}

var commandSubcommands = []subcommand{
	{"count", 2, func(*Server, *request) resp.Reply { return resp.Int(len(allSpecs())) }, resp.Loading | resp.Stale},
	{"list", -2, commandList, resp.Loading | resp.Stale},
	{"info", -2, commandInfoCmd, resp.Loading | resp.Stale},
	{"docs", -2, commandDocs, resp.Loading | resp.Stale},
	{"getkeys", -4, commandGetKeys(false), resp.Loading | resp.Stale},
	{"getkeysandflags", -4, commandGetKeys(true), resp.Loading | resp.Stale},
	{"help", 2, commandHelp, resp.Loading | resp.Stale},
}

// COMMAND | COMMAND COUNT | COMMAND LIST [FILTERBY ...] | COMMAND INFO
// [name ...] | COMMAND DOCS [name ...] | COMMAND GETKEYS command [arg ...] |
// COMMAND GETKEYSANDFLAGS command [arg ...] | COMMAND HELP
func commandCommand(s *Server, r *request) resp.Reply {
	if len(r.args) == 1 {
		return commandInfos(allSpecs())
	}
	return runSubcommand("command", commandSubcommands, s, r)
}

var commandHelpLines = []string{
	"COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
	"(no subcommand)",
	"    Return details about all Redis commands.",
	"COUNT",
	"    Return the total number of commands in this Redis server.",
	"LIST",
	"    Return a list of all commands in this Redis server.",
	"INFO [<command-name> ...]",
	"    Return details about multiple Redis commands.",
	"    If no command names are given, documentation details for all",
	"    commands are returned.",
	"DOCS [<command-name> ...]",
	"    Return documentation details about multiple Redis commands.",
	"    If no command names are given, documentation details for all",
	"    commands are returned.",
	"GETKEYS <full-command>",
	"    Return the keys from a full Redis command.",
	"GETKEYSANDFLAGS <full-command>",
	"    Return the keys and the access flags from a full Redis command.",
	"HELP",
	"    Prints this help.",
}

// COMMAND HELP
func commandHelp(*Server, *request) resp.Reply {
	out := make(resp.Array, len(commandHelpLines))
	for i, l := range commandHelpLines {
		out[i] = resp.Status(l)
	}
	return out
}

// COMMAND LIST [FILTERBY MODULE module-name | ACLCAT category | PATTERN
// pattern]. Without a filter only commands are listed; a filter also sees
// subcommands ("client|list"), as Redis 7.0's commandListWithFilter.
func commandList(_ *Server, r *request) resp.Reply {
	var keep func(sp *resp.Spec) bool
	switch {
	case len(r.args) == 2:
		out := resp.Array{}
		for _, sp := range allSpecs() {
			out = append(out, resp.BulkString(sp.Name))
		}
		return out
	case len(r.args) != 5 || !resp.IsOption(r.args[2], "filterby"):
		return resp.ErrSyntax
	case resp.IsOption(r.args[3], "module"):
		keep = func(*resp.Spec) bool { return false } // raftlist loads no modules
	case resp.IsOption(r.args[3], "aclcat"):
		cat := strings.ToLower(string(r.args[4]))
		keep = func(sp *resp.Spec) bool {
			for _, c := range aclCategories(sp) {
				if c == cat {
					return true
				}
			}
			return false
		}
	case resp.IsOption(r.args[3], "pattern"):
		pat := r.args[4]
		keep = func(sp *resp.Spec) bool { return fsm.GlobMatch(pat, []byte(sp.Name), true) }
	default:
		return resp.ErrSyntax
	}
	out := resp.Array{}
	for _, sp := range allSpecs() {
		if keep(sp) {
			out = append(out, resp.BulkString(sp.Name))
		}
		for _, sub := range subcommandSpecs(sp) {
			if keep(&sub) {
				out = append(out, resp.BulkString(sub.Name))
			}
		}
	}
	return out
}

// COMMAND INFO [name ...]
func commandInfoCmd(_ *Server, r *request) resp.Reply {
	if len(r.args) == 2 {
		return commandInfos(allSpecs())
	}
	var out resp.Array
	for _, a := range r.args[2:] {
		if sp := findSpec(a); sp != nil {
			out = append(out, commandInfo(sp))
		} else {
			out = append(out, resp.NullBulk)
		}
	}
	return out
}

// COMMAND DOCS [name ...]
func commandDocs(_ *Server, r *request) resp.Reply {
	specs := allSpecs()
	if len(r.args) > 2 {
		specs = nil
		for _, a := range r.args[2:] {
			if sp := findSpec(a); sp != nil {
				specs = append(specs, sp)
			}
		}
	}
	out := resp.Map{}
	for _, sp := range specs {
		out = append(out, resp.BulkString(sp.Name), resp.Map{
			resp.BulkString("summary"), resp.BulkString(sp.Summary),
			resp.BulkString("since"), resp.BulkString(sp.Since),
			resp.BulkString("group"), resp.BulkString(sp.Group),
		})
	}
	return out
}

// commandGetKeys is COMMAND GETKEYS (withFlags false) and
// GETKEYSANDFLAGS: Redis 7.0's commandGetKeys, checks in its order.
func commandGetKeys(withFlags bool) func(*Server, *request) resp.Reply {
	return func(_ *Server, r *request) resp.Reply {
		args := r.args[2:]
		sp, cc := findCommand(args[0])
		if sp == nil {
			return resp.ErrGetKeysUnknown
		}
		if isContainer(sp) && len(args) > 1 {
			// A subcommand this node does not declare is one it does not
			// have, or has no row for (SCRIPT's): Redis's lookupCommand
			// finds no command.
			var sc *subcommand
			if cc != nil {
				sc = subcommandNamed(cc.subs, args[1])
			}
			if sc == nil || sc.flags&resp.Internal != 0 {
				return resp.ErrGetKeysUnknown
			}
			sub := subcommandSpec(sp, sc)
			sp = &sub
		}
		if len(sp.KeySpecs()) == 0 {
			return resp.ErrGetKeysNoKeys
		}
		if sp.CheckArity(args) != nil {
			return resp.ErrGetKeysArity
		}
		keys := sp.FindKeys(args)
		if len(keys) == 0 {
			if sp.Flags&resp.NoMandatoryKeys != 0 {
				return resp.Array{}
			}
			return resp.ErrGetKeysInvalid
		}
		out := make(resp.Array, len(keys))
		for i, k := range keys {
			if withFlags {
				out[i] = resp.Array{resp.Bulk(args[k.Pos]), keyFlagsReply(k.Flags)}
			} else {
				out[i] = resp.Bulk(args[k.Pos])
			}
		}
		return out
	}
}

func commandInfos(specs []*resp.Spec) resp.Array {
	out := make(resp.Array, len(specs))
	for i, sp := range specs {
		out[i] = commandInfo(sp)
	}
	return out
}

// commandInfo is Redis 7.0's ten-field command description: name, arity,
// flags, first key, last key, key step, ACL categories, tips, key specs,
// subcommands. In RESP3 the flags, categories, tips and key specs are
// sets, a key spec a map, and the subcommands an array, or an empty set
// when there are none (Redis 7.0's addReplyCommandSubCommands).
func commandInfo(sp *resp.Spec) resp.Reply {
	flags := resp.Set{}
	for _, f := range resp.FlagNames {
		if sp.Flags&f.Flag != 0 {
			flags = append(flags, resp.Status(f.Name))
		}
	}
	cats := resp.Set{}
	for _, c := range aclCategories(sp) {
		cats = append(cats, resp.Status("@"+c))
	}
	tips := resp.Set{}
	for _, t := range sp.Tips {
		tips = append(tips, resp.BulkString(t))
	}
	keySpecs := resp.Set{}
	for _, ks := range sp.KeySpecs() {
		keySpecs = append(keySpecs, keySpecReply(ks))
	}
	var subs resp.Reply = resp.Set{}
	if specs := subcommandSpecs(sp); len(specs) > 0 {
		infos := make(resp.Array, len(specs))
		for i := range specs {
			infos[i] = commandInfo(&specs[i])
		}
		subs = infos
	}
	return resp.Array{
		resp.BulkString(sp.Name), resp.Int(sp.Arity), flags,
		resp.Int(sp.FirstKey), resp.Int(sp.LastKey), resp.Int(sp.KeyStep),
		cats, tips, keySpecs, subs,
	}
}

func keyFlagsReply(f resp.KeyFlags) resp.Set {
	out := resp.Set{}
	for _, n := range resp.KeyFlagNames {
		if f&n.Flag != 0 {
			out = append(out, resp.Status(n.Name))
		}
	}
	return out
}

// keySpecReply is one key spec as Redis 7.0's addReplyCommandKeySpecs
// prints it.
func keySpecReply(ks resp.KeySpec) resp.Reply {
	var out resp.Map
	if ks.Notes != "" {
		out = append(out, resp.BulkString("notes"), resp.BulkString(ks.Notes))
	}
	out = append(out, resp.BulkString("flags"), keyFlagsReply(ks.Flags))
	if ks.Unknown {
		unknown := resp.Map{resp.BulkString("type"), resp.BulkString("unknown"), resp.BulkString("spec"), resp.Map{}}
		return append(out, resp.BulkString("begin_search"), unknown, resp.BulkString("find_keys"), unknown)
	}
	out = append(out, resp.BulkString("begin_search"), resp.Map{
		resp.BulkString("type"), resp.BulkString("index"),
		resp.BulkString("spec"), resp.Map{resp.BulkString("index"), resp.Int(ks.Begin)},
	})
	var find resp.Map
	if ks.NumKeys {
		find = resp.Map{resp.BulkString("type"), resp.BulkString("keynum"),
			resp.BulkString("spec"), resp.Map{
				resp.BulkString("keynumidx"), resp.Int(ks.KeyNumIdx),
				resp.BulkString("firstkey"), resp.Int(ks.FirstKey),
				resp.BulkString("keystep"), resp.Int(ks.KeyStep),
			}}
	} else {
		find = resp.Map{resp.BulkString("type"), resp.BulkString("range"),
			resp.BulkString("spec"), resp.Map{
				resp.BulkString("lastkey"), resp.Int(ks.LastKey),
				resp.BulkString("keystep"), resp.Int(ks.KeyStep),
				resp.BulkString("limit"), resp.Int(ks.Limit),
			}}
	}
	return append(out, resp.BulkString("find_keys"), find)
}

// aclCategoryOrder is Redis 7.0's ACL category table, the order COMMAND
// INFO lists a command's categories in.
var aclCategoryOrder = []string{
	"keyspace", "read", "write", "set", "sortedset", "list", "hash", "string",
	"bitmap", "hyperloglog", "geo", "stream", "pubsub", "admin", "fast", "slow",
	"blocking", "dangerous", "connection", "transaction", "scripting",
}

// groupCategory is the ACL category Redis's command table declares for
// the commands of a group; the rest of a command's categories Redis
// derives from its flags (setImplicitACLCategories), and a row adds any
// other in ACL.
var groupCategory = map[string]string{
	"generic": "keyspace", "list": "list", "string": "string", "scripting": "scripting",
	"connection": "connection", "transactions": "transaction", "hash": "hash",
	"set": "set", "sorted_set": "sortedset", "stream": "stream", "pubsub": "pubsub",
}

// aclCategories are a command's ACL categories without "@", in Redis's
// order. A container declares no category of its group, as in Redis,
// where its subcommands carry them.
func aclCategories(sp *resp.Spec) []string {
	have := map[string]bool{}
	if c, ok := groupCategory[sp.Group]; ok && !isContainer(sp) && !sp.NoGroupACL {
		have[c] = true
	}
	for _, c := range sp.ACL {
		have[c] = true
	}
	f := sp.Flags
	if f&resp.Write != 0 {
		have["write"] = true
	}
	if f&resp.ReadOnly != 0 && !have["scripting"] {
		have["read"] = true
	}
	if f&resp.Admin != 0 {
		have["admin"], have["dangerous"] = true, true
	}
	if f&resp.Fast != 0 {
		have["fast"] = true
	} else {
		have["slow"] = true
	}
	if f&resp.Blocking != 0 {
		have["blocking"] = true
	}
	var out []string
	for _, c := range aclCategoryOrder {
		if have[c] {
			out = append(out, c)
		}
	}
	return out
}

// subcommandSpecs are a container's subcommands as COMMAND describes them
// (the cluster's own Internal ones left out).
func subcommandSpecs(sp *resp.Spec) []resp.Spec {
	cc := lookupConnCommand([]byte(sp.Name))
	if cc == nil {
		return nil
	}
	var out []resp.Spec
	for i := range cc.subs {
		if cc.subs[i].flags&resp.Internal == 0 {
			out = append(out, subcommandSpec(&cc.Spec, &cc.subs[i]))
		}
	}
	return out
}

// subcommandSpec is a subcommand's row as a command's: its full name,
// arity and flags, with the container's declared ACL categories and group
// (Redis declares them per subcommand; raftlist's subcommands share them).
func subcommandSpec(container *resp.Spec, sc *subcommand) resp.Spec {
	return resp.Spec{Name: container.Name + "|" + sc.name, Arity: sc.arity,
		Flags: sc.flags &^ resp.Internal, Group: container.Group, ACL: container.ACL}
}

// described adds to a front-door row the ACL categories and tips Redis
// declares for it beyond what its group and flags give.
func described(sp resp.Spec, acl []string, tips ...string) resp.Spec {
	sp.ACL, sp.Tips = acl, tips
	return sp
}

// isContainer reports a command that is a container of subcommands: it
// declares subcommand rows (COMMAND, CLIENT), or its row says it is one
// (SCRIPT, MEMORY). DEBUG, whatever its summary, is no container in Redis.
func isContainer(sp *resp.Spec) bool {
	if sp.Container {
		return true
	}
	cc := lookupConnCommand([]byte(sp.Name))
	return cc != nil && cc.subs != nil
}

// container marks a front-door row a container whose subcommands have no
// rows (MEMORY).
func container(sp resp.Spec) resp.Spec {
	sp.Container = true
	return sp
}
