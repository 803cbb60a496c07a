package cluster

import (
	"strings"

	"github.com/raftlist/raftlist/fsm/resp"
)

var clientSubcommands = []subcommand{
	{"id", 2, func(_ *Server, r *request) resp.Reply { return resp.Int(r.c.id) }, 0},
	{"getname", 2, clientGetName, 0},
	{"setname", 3, clientSetName, 0},
	{"info", 2, func(_ *Server, r *request) resp.Reply { return resp.Bulk(r.c.infoLine() + "\n") }, 0},
	{"list", -2, clientList, 0},
	{"unblock", -3, clientUnblock, 0},
}

// CLIENT ID | GETNAME | SETNAME name | LIST [TYPE type] [ID id ...] | INFO
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
		t := strings.ToLower(string(args[1]))
		switch t {
		case "normal":
		case "master", "replica", "slave", "pubsub":
			onlyNone = true
		default:
			return resp.Error("ERR Unknown client type '" + string(args[1]) + "'")
		}
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
	return resp.Bulk(b.String())
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
