package cluster

import (
	"bytes"

	"github.com/raftlist/raftlist/fsm"
)

// connCommand is a command the front door answers itself: it concerns the
// connection or the node, not the replicated data.
type connCommand struct {
	fsm.Spec
	run func(s *Server, r *request) fsm.Reply
	// closeAfter closes the connection once the reply is written (QUIT).
	closeAfter bool
	// forwardable commands may arrive through RAFT FORWARD.
	forwardable bool
}

// connCommands is the front door's command table; data commands live in
// fsm's table. COMMAND reports both, which is why the table is filled in
// init: COMMAND's handler reads the table it is part of.
var connCommands map[string]*connCommand

func init() {
	connCommands = buildConnTable(append(append(connCommandList, txConnCommands...), authConnCommands...))
}

var connCommandList = []*connCommand{
	// PING [message]
	{Spec: spec("ping", -1, fsm.Fast, "connection", "1.0.0", "Ping the server"), run: ping},
	// ECHO message
	{Spec: spec("echo", 2, fsm.Fast|fsm.Loading|fsm.Stale, "connection", "1.0.0", "Echo the given string"), run: echo},
	// SELECT index
	{Spec: spec("select", 2, fsm.Fast|fsm.Loading|fsm.Stale, "connection", "1.0.0", "Change the selected database for the current connection"), run: selectDB},
	// QUIT
	{Spec: spec("quit", -1, fsm.Fast|fsm.NoScript|fsm.Loading|fsm.Stale|fsm.NoAuth|fsm.AllowBusy, "connection", "1.0.0", "Close the connection"), run: quit, closeAfter: true},
	// HELLO [protover [AUTH username password] [SETNAME clientname]]
	{Spec: spec("hello", -1, fsm.Fast|fsm.NoScript|fsm.Loading|fsm.Stale|fsm.NoAuth|fsm.AllowBusy, "connection", "6.0.0", "Handshake with Redis"), run: hello},
	// READONLY
	{Spec: spec("readonly", 1, fsm.Fast|fsm.Loading|fsm.Stale, "cluster", "3.0.0", "Enables read queries for a connection to a follower: reads are served from local, possibly stale, state"), run: readonly},
	// READWRITE
	{Spec: spec("readwrite", 1, fsm.Fast|fsm.Loading|fsm.Stale, "cluster", "3.0.0", "Disables read queries from local state for a connection"), run: readwrite},
	// CLIENT subcommand [arg ...]
	{Spec: spec("client", -2, 0, "connection", "2.4.0", "A container for client connection commands"), run: clientCommand},
	// INFO [section ...]
	{Spec: spec("info", -1, fsm.Loading|fsm.Stale, "server", "1.0.0", "Get information and statistics about the server"), run: info},
	// COMMAND [subcommand ...]
	{Spec: spec("command", -1, fsm.Loading|fsm.Stale, "server", "2.8.13", "Get array of Redis command details"), run: commandCommand},
	// MEMORY PURGE
	{Spec: spec("memory", -2, 0, "server", "4.0.0", "A container for memory diagnostics commands"), run: memoryCommand},
	// DEBUG DIGEST
	{Spec: spec("debug", -2, fsm.Admin|fsm.NoScript|fsm.Loading|fsm.Stale, "server", "1.0.0", "A container for debugging commands"), run: debugCommand},
	// RAFT ADDNODE|REMOVENODE|NODES|FORWARD ...
	{Spec: spec("raft", -2, fsm.Admin|fsm.NoScript|fsm.Loading|fsm.Stale|fsm.NoMulti, "cluster", "0.1.0", "Raft membership and snapshots: ADDNODE id raft-addr resp-addr, REMOVENODE id, NODES, SNAPSHOT"), run: raftCommand, forwardable: true},
}

func spec(name string, arity int, flags fsm.Flags, group, since, summary string) fsm.Spec {
	return fsm.Spec{Name: name, Arity: arity, Flags: flags, Group: group, Since: since, Summary: summary}
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

// PING [message]
func ping(_ *Server, r *request) fsm.Reply {
	switch len(r.args) {
	case 1:
		return fsm.Status("PONG")
	case 2:
		return fsm.Bulk(r.args[1])
	}
	return fsm.ErrWrongArity("ping")
}

// ECHO message
func echo(_ *Server, r *request) fsm.Reply { return fsm.Bulk(r.args[1]) }

// SELECT index
func selectDB(_ *Server, r *request) fsm.Reply {
	db, ok := fsm.ParseInt(r.args[1])
	if !ok {
		return fsm.ErrNotInteger
	}
	if db != int64(int32(db)) {
		return fsm.Error("ERR value is out of range, value must between -2147483648 and 2147483647")
	}
	if db < 0 || db >= fsm.NumDBs {
		return fsm.ErrInvalidDB
	}
	r.c.db.Store(db)
	return fsm.OK
}

// QUIT
func quit(_ *Server, _ *request) fsm.Reply { return fsm.OK }

// READONLY
func readonly(_ *Server, r *request) fsm.Reply {
	r.c.readonly.Store(true)
	return fsm.OK
}

// READWRITE
func readwrite(_ *Server, r *request) fsm.Reply {
	r.c.readonly.Store(false)
	return fsm.OK
}

// HELLO [protover [AUTH username password] [SETNAME clientname]]
//
// raftlist speaks RESP2 only, so HELLO 3 answers NOPROTO exactly as a
// server without RESP3 would; clients such as go-redis then stay on RESP2.
func hello(s *Server, r *request) fsm.Reply {
	args := r.args[1:]
	if len(args) > 0 {
		ver, ok := fsm.ParseInt(args[0])
		if !ok {
			return fsm.Error("ERR Protocol version is not an integer or out of range")
		}
		if ver != 2 {
			return fsm.Error("NOPROTO unsupported protocol version")
		}
		args = args[1:]
	}
	var name, user, pass []byte
	for i := 0; i < len(args); i++ {
		more := len(args) - i - 1
		switch {
		case isWord(args[i], "auth") && more >= 2:
			user, pass = args[i+1], args[i+2]
			i += 2
		case isWord(args[i], "setname") && more >= 1:
			name = args[i+1]
			i++
		default:
			return fsm.Error("ERR Syntax error in HELLO option '" + string(args[i]) + "'")
		}
	}
	// Redis's order: options parsed, then AUTH, then the authentication
	// check, and only then the name, so a bad name still leaves the
	// connection logged in.
	if user != nil {
		if err := s.login(r.c, user, pass); err != nil {
			return err
		}
	}
	if authLevel(r.c.auth.Load()) == authNone {
		return errHelloNoAuth
	}
	if name != nil {
		if err := validClientName(name); err != nil {
			return err
		}
		r.c.setName(name)
	}
	role := "replica"
	if s.node.IsLeader() {
		role = "master"
	}
	return fsm.Array{
		fsm.BulkString("server"), fsm.BulkString("redis"),
		fsm.BulkString("version"), fsm.BulkString(redisVersion),
		fsm.BulkString("proto"), fsm.Int(2),
		fsm.BulkString("id"), fsm.Int(r.c.id),
		fsm.BulkString("mode"), fsm.BulkString("standalone"),
		fsm.BulkString("role"), fsm.BulkString(role),
		fsm.BulkString("modules"), fsm.Array{},
	}
}

// DEBUG DIGEST
func debugCommand(s *Server, r *request) fsm.Reply {
	if isWord(r.args[1], "digest") && len(r.args) == 2 {
		var d string
		if err := s.node.Machine().View(func(st *fsm.State) { d = st.Digest() }); err != nil {
			return errorReply(err)
		}
		return fsm.Status(d)
	}
	return fsm.Error("ERR unknown subcommand or wrong number of arguments for '" + string(r.args[1]) + "'. Try DEBUG HELP.")
}

func isWord(arg []byte, word string) bool {
	return len(arg) == len(word) && bytes.EqualFold(arg, []byte(word))
}
