package cluster

import (
	"bytes"

	"github.com/raftlist/raftlist/fsm"
	"github.com/raftlist/raftlist/fsm/resp"
)

// connCommand is a command the front door answers itself: it concerns the
// connection or the node, not the replicated data. Its Door is Local or
// LocalAtOnce (spec, below, sets Local).
type connCommand struct {
	resp.Spec
	run func(s *Server, r *request) resp.Reply
	// subs are a container's subcommands that Redis checks before the
	// command runs: an unknown one or a wrong arity is refused at MULTI's
	// queue and before AUTH. MEMORY and DEBUG leave it empty: Redis knows
	// subcommands of theirs that raftlist does not implement.
	subs []subcommand
	// closeAfter closes the connection once the reply is written (QUIT).
	closeAfter bool
	// forwardable commands may arrive through RAFT FORWARD.
	forwardable bool
}

// connCommands is the front door's command table; data commands live in
// fsm's table, and so do SELECT, PING and ECHO, which the state machine
// runs inside EXEC (route.go runs them here outside MULTI). COMMAND
// reports both tables, which is why this one is filled in init: COMMAND's
// handler reads the table it is part of.
var connCommands map[string]*connCommand

func init() {
	connCommands = buildConnTable(append(append(connCommandList, txConnCommands...), authConnCommands...))
	fsm.FrontDoorCommand = frontDoorCommand
}

// frontDoorCommand tells scripts (fsm.FrontDoorCommand) whether args name
// a command of this table, as Redis's lookup finds a command or a
// container's subcommand, and whether their number is right.
func frontDoorCommand(args [][]byte) (known, arityOK bool) {
	cc := lookupConnCommand(args[0])
	if cc == nil || cc.Flags&resp.Internal != 0 {
		return false, false
	}
	if cc.subs == nil || len(args) < 2 {
		return true, cc.CheckArity(args) == nil
	}
	sc := subcommandNamed(cc.subs, args[1])
	if sc == nil || sc.flags&resp.Internal != 0 {
		return false, false // Redis: an unknown subcommand is an unknown command
	}
	sp := subcommandSpec(&cc.Spec, sc)
	return true, sp.CheckArity(args) == nil
}

var connCommandList = []*connCommand{
	// QUIT
	{Spec: atOnce(spec("quit", -1, resp.Fast|resp.NoScript|resp.Loading|resp.Stale|resp.NoAuth|resp.AllowBusy, "connection", "1.0.0", "Close the connection")), run: quit, closeAfter: true},
	// HELLO [protover [AUTH username password] [SETNAME clientname]]
	{Spec: spec("hello", -1, resp.Fast|resp.NoScript|resp.Loading|resp.Stale|resp.NoAuth|resp.AllowBusy, "connection", "6.0.0", "Handshake with Redis"), run: hello},
	// READONLY
	{Spec: described(spec("readonly", 1, resp.Fast|resp.Loading|resp.Stale, "cluster", "3.0.0", "Enables read queries for a connection to a follower: reads are served from local, possibly stale, state"), []string{"connection"}), run: readonly},
	// READWRITE
	{Spec: described(spec("readwrite", 1, resp.Fast|resp.Loading|resp.Stale, "cluster", "3.0.0", "Disables read queries from local state for a connection"), []string{"connection"}), run: readwrite},
	// CLIENT subcommand [arg ...]
	{Spec: spec("client", -2, 0, "connection", "2.4.0", "A container for client connection commands"), run: clientCommand, subs: clientSubcommands},
	// INFO [section ...]
	{Spec: described(spec("info", -1, resp.Loading|resp.Stale, "server", "1.0.0", "Get information and statistics about the server"), []string{"dangerous"},
		"nondeterministic_output", "request_policy:all_shards", "response_policy:special"), run: info},
	// COMMAND [subcommand ...]
	{Spec: described(spec("command", -1, resp.Loading|resp.Stale, "server", "2.8.13", "Get array of Redis command details"), []string{"connection"}, "nondeterministic_output_order"), run: commandCommand, subs: commandSubcommands},
	// CONFIG GET parameter [parameter ...] | HELP
	{Spec: spec("acl", -2, 0, "server", "6.0.0", "A container for Access List Control commands"), run: aclCommand, subs: aclSubcommands},
	{Spec: spec("config", -2, 0, "server", "2.0.0", "A container for server configuration commands"), run: configCommand, subs: configSubcommands},
	// MEMORY PURGE
	{Spec: container(spec("memory", -2, 0, "server", "4.0.0", "A container for memory diagnostics commands")), run: memoryCommand},
	// MONITOR
	{Spec: spec("monitor", 1, resp.Admin|resp.NoScript|resp.Loading|resp.Stale, "server", "1.0.0", "Listen for all requests received by the server in real time"), run: monitorCommand},
	// RESET
	{Spec: atOnce(spec("reset", 1, resp.NoScript|resp.Loading|resp.Stale|resp.Fast|resp.NoAuth|resp.AllowBusy, "connection", "6.2.0", "Reset the connection")), run: resetCommand},
	// DEBUG DIGEST
	{Spec: spec("debug", -2, resp.Admin|resp.NoScript|resp.Loading|resp.Stale, "server", "1.0.0", "A container for debugging commands"), run: debugCommand},
	// RAFT ADDNODE|REMOVENODE|NODES|FORWARD ...
	{Spec: spec("raft", -2, resp.Admin|resp.NoScript|resp.Loading|resp.Stale|resp.NoMulti, "cluster", "0.1.0", "Raft membership and snapshots: ADDNODE id raft-addr resp-addr, REMOVENODE id, NODES, SNAPSHOT"), run: raftCommand, subs: raftSubcommands, forwardable: true},
}

// spec declares a front-door command: Local, unless the row says
// LocalAtOnce.
func spec(name string, arity int, flags resp.Flags, group, since, summary string) resp.Spec {
	return resp.Spec{Name: name, Arity: arity, Flags: flags, Group: group, Since: since, Summary: summary, Door: resp.Local}
}

// atOnce marks a command Redis runs at once inside MULTI instead of
// queueing it.
func atOnce(sp resp.Spec) resp.Spec {
	sp.Door = resp.LocalAtOnce
	return sp
}

// maxConnCommandName bounds a front-door command's name (lookupConnCommand).
const maxConnCommandName = 32

func buildConnTable(cmds []*connCommand) map[string]*connCommand {
	t := make(map[string]*connCommand, len(cmds))
	for _, c := range cmds {
		if len(c.Name) > maxConnCommandName {
			panic("connection command name too long: " + c.Name)
		}
		t[c.Name] = c
	}
	return t
}

// lookupConnCommand finds name in any case without allocating: it runs for
// every command a client sends.
func lookupConnCommand(name []byte) *connCommand {
	var buf [maxConnCommandName]byte
	if len(name) > len(buf) {
		return nil // longer than any command name
	}
	for i, c := range name {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	return connCommands[string(buf[:len(name)])]
}

// QUIT
func quit(_ *Server, _ *request) resp.Reply { return resp.OK }

// READONLY
func readonly(_ *Server, r *request) resp.Reply {
	r.c.readonly.Store(true)
	return resp.OK
}

// READWRITE
func readwrite(_ *Server, r *request) resp.Reply {
	r.c.readonly.Store(false)
	return resp.OK
}

// HELLO [protover [AUTH username password] [SETNAME clientname]]
//
// The protocol chosen (2 or 3) is the connection's from this reply on,
// the reply included, as in Redis; HELLO without one keeps the current.
func hello(s *Server, r *request) resp.Reply {
	args := r.args[1:]
	proto := r.c.protocol()
	if len(args) > 0 {
		ver, ok := resp.ParseInt(args[0])
		if !ok {
			return resp.ErrProtoVersion
		}
		if ver != resp.RESP2 && ver != resp.RESP3 {
			return resp.ErrNoProto
		}
		proto = int(ver)
		args = args[1:]
	}
	// Redis 7.0 applies each option as it reads it, so the first bad one
	// decides the error and an AUTH before it stays logged in. The name is
	// set only when every option is good (Redis 7.2's rule, the one
	// documented difference), so a failed HELLO never renames.
	var name []byte
	for i := 0; i < len(args); i++ {
		more := len(args) - i - 1
		switch {
		case resp.IsOption(args[i], "auth") && more >= 2:
			if err := s.login(r.c, args[i+1], args[i+2]); err != nil {
				return err
			}
			i += 2
		case resp.IsOption(args[i], "setname") && more >= 1:
			if err := validClientName(args[i+1]); err != nil {
				return err
			}
			name = args[i+1]
			i++
		default:
			return resp.Error("ERR Syntax error in HELLO option '" + string(args[i]) + "'")
		}
	}
	if authLevel(r.c.auth.Load()) == authNone {
		return resp.ErrHelloNoAuth
	}
	if name != nil {
		r.c.setName(name)
	}
	r.c.proto.Store(int32(proto))
	role := "replica"
	if s.node.IsLeader() {
		role = "master"
	}
	return resp.Map{
		resp.BulkString("server"), resp.BulkString("redis"),
		resp.BulkString("version"), resp.BulkString(redisVersion),
		resp.BulkString("proto"), resp.Int(proto),
		resp.BulkString("id"), resp.Int(r.c.id),
		resp.BulkString("mode"), resp.BulkString("standalone"),
		resp.BulkString("role"), resp.BulkString(role),
		resp.BulkString("modules"), resp.Array{},
	}
}

// DEBUG DIGEST
func debugCommand(s *Server, r *request) resp.Reply {
	if resp.IsOption(r.args[1], "digest") && len(r.args) == 2 {
		var d string
		if err := s.node.Machine().View(func(st *fsm.State) { d = st.Digest() }); err != nil {
			return errorReply(err)
		}
		return resp.Status(d)
	}
	return resp.Error("ERR unknown subcommand or wrong number of arguments for '" + string(r.args[1]) + "'. Try DEBUG HELP.")
}

// isName reports whether arg names word, ASCII case ignored: command and
// subcommand names are matched whole, as Redis's command table does (for
// option words, see resp.IsOption).
func isName(arg []byte, word string) bool {
	return len(arg) == len(word) && bytes.EqualFold(arg, []byte(word))
}
