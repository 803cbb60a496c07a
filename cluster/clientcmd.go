package cluster

import (
	"strings"

	"github.com/raftlist/raftlist/fsm/resp"
)

// Flags are Redis 7.0's (7.2's for SETINFO and NO-TOUCH): MONITOR hides the
// admin ones, and COMMAND INFO shows them.
var clientSubcommands = []subcommand{
	{"id", 2, func(_ *Server, r *request) resp.Reply { return resp.Int(r.c.id) }, resp.NoScript | resp.Loading | resp.Stale},
	{"getname", 2, clientGetName, resp.NoScript | resp.Loading | resp.Stale},
	{"setname", 3, clientSetName, resp.NoScript | resp.Loading | resp.Stale},
	{"info", 2, func(_ *Server, r *request) resp.Reply { return resp.Text(r.c.infoLine() + "\n") }, resp.NoScript | resp.Loading | resp.Stale},
	{"list", -2, clientList, resp.Admin | resp.NoScript | resp.Loading | resp.Stale},
	{"unblock", -3, clientUnblock, resp.Admin | resp.NoScript | resp.Loading | resp.Stale},
	{"kill", -3, clientKill, resp.Admin | resp.NoScript | resp.Loading | resp.Stale},
	{"reply", 3, clientReply, resp.NoScript | resp.Loading | resp.Stale},
	{"no-evict", 3, clientNoEvict, resp.Admin | resp.NoScript | resp.Loading | resp.Stale},
	{"no-touch", 3, clientNoTouch, resp.NoScript | resp.Loading | resp.Stale},
	{"setinfo", 4, clientSetInfo, resp.NoScript | resp.Loading | resp.Stale},
	{"help", 2, clientHelp, resp.Loading | resp.Stale},
}

// CLIENT ID | GETNAME | SETNAME name | LIST [TYPE type] [ID id ...] | INFO |
// UNBLOCK | KILL | REPLY | NO-EVICT | NO-TOUCH | SETINFO | HELP
func clientCommand(s *Server, r *request) resp.Reply {
	return runSubcommand("client", clientSubcommands, s, r)
}

// CLIENT GETNAME
func clientGetName(_ *Server, r *request) resp.Reply {
	if name := r.c.getName(); name != "" {
		return resp.BulkString(name)
	}
	return resp.NullBulk
}

// CLIENT SETNAME name
func clientSetName(_ *Server, r *request) resp.Reply {
	if err := validClientName(r.args[2]); err != nil {
		return err
	}
	r.c.setName(r.args[2])
	return resp.OK
}

// clientList answers CLIENT LIST [TYPE normal|master|replica|pubsub] [ID id ...].
func clientList(s *Server, r *request) resp.Reply {
	args := r.args[2:]
	var ids map[int64]bool
	onlyNone := false
	switch {
	case len(args) == 0:
	case len(args) == 2 && resp.IsOption(args[0], "type"):
		t, ok := clientTypeByName(args[1])
		if !ok {
			return resp.ErrUnknownClientType(args[1])
		}
		onlyNone = t != "normal" // every client raftlist serves is normal
	case len(args) >= 2 && resp.IsOption(args[0], "id"):
		ids = make(map[int64]bool)
		for _, a := range args[1:] {
			id, ok := resp.ParseInt(a)
			if !ok {
				return resp.ErrInvalidClientID
			}
			ids[id] = true
		}
	default:
		return resp.ErrSyntax
	}
	var b strings.Builder
	for _, c := range s.clientList() {
		if onlyNone || (ids != nil && !ids[c.id]) {
			continue
		}
		b.WriteString(c.infoLine())
		b.WriteByte('\n')
	}
	return resp.Text(b.String())
}

// validClientName applies Redis's rule: printable ASCII without spaces.
func validClientName(name []byte) resp.Reply {
	for _, ch := range name {
		if ch < '!' || ch > '~' {
			return resp.ErrClientName
		}
	}
	return nil
}

// CLIENT HELP
//
// Redis 7.0's text for the subcommands raftlist has (it lacks tracking,
// CACHING, GETREDIR and PAUSE), with Redis 7.2's lines for NO-TOUCH and
// SETINFO.
func clientHelp(_ *Server, _ *request) resp.Reply {
	return helpReply("CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
		"GETNAME",
		"    Return the name of the current connection.",
		"ID",
		"    Return the ID of the current connection.",
		"INFO",
		"    Return information about the current client connection.",
		"KILL <ip:port>",
		"    Kill connection made from <ip:port>.",
		"KILL <option> <value> [<option> <value> [...]]",
		"    Kill connections. Options are:",
		"    * ADDR (<ip:port>|<unixsocket>:0)",
		"      Kill connections made from the specified address",
		"    * LADDR (<ip:port>|<unixsocket>:0)",
		"      Kill connections made to specified local address",
		"    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
		"      Kill connections by type.",
		"    * USER <username>",
		"      Kill connections authenticated by <username>.",
		"    * SKIPME (YES|NO)",
		"      Skip killing current connection (default: yes).",
		"LIST [options ...]",
		"    Return information about client connections. Options:",
		"    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
		"      Return clients of specified type.",
		"REPLY (ON|OFF|SKIP)",
		"    Control the replies sent to the current connection.",
		"SETNAME <name>",
		"    Assign the name <name> to the current connection.",
		"UNBLOCK <clientid> [TIMEOUT|ERROR]",
		"    Unblock the specified blocked client.",
		"NO-EVICT (ON|OFF)",
		"    Protect current client connection from eviction.",
		"NO-TOUCH (ON|OFF)",
		"    Will not touch LRU/LFU stats when this mode is on.",
		"SETINFO <option> <value>",
		"    Set client meta attr. Options are:",
		"    * LIB-NAME: the client lib name.",
		"    * LIB-VER: the client lib version.")
}
