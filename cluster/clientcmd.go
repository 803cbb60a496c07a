package cluster

import (
	"strings"

	"github.com/raftlist/raftlist/fsm"
)

// CLIENT ID | GETNAME | SETNAME name | LIST [TYPE normal] [ID id ...] |
// INFO | SETINFO LIB-NAME|LIB-VER value
func clientCommand(s *Server, r *request) fsm.Reply {
	sub, args := r.args[1], r.args[2:]
	switch {
	case isWord(sub, "id") && len(args) == 0:
		return fsm.Int(r.c.id)
	case isWord(sub, "getname") && len(args) == 0:
		if name := r.c.getName(); name != "" {
			return fsm.BulkString(name)
		}
		return fsm.NullBulk
	case isWord(sub, "setname") && len(args) == 1:
		if err := validClientName(args[0]); err != nil {
			return err
		}
		r.c.mu.Lock()
		r.c.name = string(args[0])
		r.c.mu.Unlock()
		return fsm.OK
	case isWord(sub, "setinfo") && len(args) == 2:
		return clientSetInfo(r.c, args[0], args[1])
	case isWord(sub, "info") && len(args) == 0:
		return fsm.Bulk(r.c.infoLine() + "\n")
	case isWord(sub, "list"):
		return clientList(s, args)
	}
	return fsm.Error("ERR unknown subcommand or wrong number of arguments for '" + string(sub) + "'. Try CLIENT HELP.")
}

// clientList answers CLIENT LIST [TYPE normal|master|replica|pubsub] [ID id ...].
func clientList(s *Server, args [][]byte) fsm.Reply {
	var ids map[int64]bool
	onlyNone := false
	switch {
	case len(args) == 0:
	case len(args) == 2 && isWord(args[0], "type"):
		t := strings.ToLower(string(args[1]))
		switch t {
		case "normal":
		case "master", "replica", "slave", "pubsub":
			onlyNone = true
		default:
			return fsm.Error("ERR Unknown client type '" + string(args[1]) + "'")
		}
	case len(args) >= 2 && isWord(args[0], "id"):
		ids = make(map[int64]bool)
		for _, a := range args[1:] {
			id, ok := fsm.ParseInt(a)
			if !ok || id <= 0 {
				return fsm.Error("ERR Invalid client ID")
			}
			ids[id] = true
		}
	default:
		return fsm.ErrSyntax
	}
	var b strings.Builder
	for _, c := range s.clientList() {
		if onlyNone || (ids != nil && !ids[c.id]) {
			continue
		}
		b.WriteString(c.infoLine())
		b.WriteByte('\n')
	}
	return fsm.Bulk(b.String())
}

func clientSetInfo(c *client, attr, value []byte) fsm.Reply {
	for _, ch := range value {
		if ch < '!' || ch > '~' {
			return fsm.Error("ERR " + strings.ToUpper(string(attr)) + " cannot contain spaces, newlines or special characters.")
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case isWord(attr, "lib-name"):
		c.libName = string(value)
	case isWord(attr, "lib-ver"):
		c.libVer = string(value)
	default:
		return fsm.Error("ERR Unrecognized option '" + string(attr) + "'")
	}
	return fsm.OK
}

// validClientName applies Redis's rule: printable ASCII without spaces.
func validClientName(name []byte) fsm.Reply {
	for _, ch := range name {
		if ch < '!' || ch > '~' {
			return fsm.Error("ERR Client names cannot contain spaces, newlines or special characters.")
		}
	}
	return nil
}
