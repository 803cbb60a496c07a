package cluster

import (
	"time"

	"github.com/raftlist/raftlist/fsm"
	"github.com/raftlist/raftlist/fsm/resp"
)

// CLIENT KILL closes clients of this node, as Redis closes its own. A
// killed client that is serving a command finishes it and answers it
// first (Redis runs a kill between two commands); one blocked in a
// blocking pop has its waiter cancelled through the log, like a client
// that disconnects, and the kill answers once the waiter has ended, so
// that a push after it is never served to the killed client. Connections
// that carry other nodes' traffic are never killed: they serve clients
// of other nodes, which a client of this one has no say over.

// killFilter is CLIENT KILL's parsed arguments; a zero field matches all.
type killFilter struct {
	old         bool // CLIENT KILL ip:port
	addr, laddr *string
	user        *string
	id          int64
	typ         string // "" any, else normal|master|replica|pubsub
	skipMe      bool
}

// CLIENT KILL ip:port
// CLIENT KILL [ID id] [TYPE NORMAL|MASTER|SLAVE|REPLICA|PUBSUB] [ADDR ip:port] [LADDR ip:port] [USER username] [SKIPME yes|no] ...
func clientKill(s *Server, r *request) resp.Reply {
	f, err := s.parseKillFilter(r.args[2:])
	if err != "" {
		return err
	}
	killed := 0
	var ended []chan struct{}
	for _, c := range s.clientList() {
		if !f.matches(c, r.c) {
			continue
		}
		killed++
		if c.kill() {
			c.conn.NetConn().Close() // idle: its goroutine wakes from its read and cleans up
		}
		if slot := s.blocked.byClient(c.id); slot != nil {
			select {
			case slot.unblock <- fsm.UnblockCancel:
			default: // an unblock is already on its way; it ends the waiter too
			}
			ended = append(ended, slot.ended)
		}
	}
	s.awaitEnded(ended)
	if f.old {
		if killed == 0 {
			return resp.ErrNoSuchClient
		}
		return resp.OK
	}
	return resp.Int(int64(killed))
}

// awaitEnded waits, within the request timeout, until each killed
// client's waiter has ended through the log.
func (s *Server) awaitEnded(ended []chan struct{}) {
	if len(ended) == 0 {
		return
	}
	t := time.NewTimer(s.cfg.RequestTimeout)
	defer t.Stop()
	for _, e := range ended {
		select {
		case <-e:
		case <-t.C:
			return
		case <-s.done:
			return
		}
	}
}

// parseKillFilter reads CLIENT KILL's arguments in Redis's order, with
// its errors: the first bad option decides the reply.
func (s *Server) parseKillFilter(args [][]byte) (killFilter, resp.Error) {
	if len(args) == 1 {
		// Compared as Redis's strcmp does; the old form may kill the
		// caller.
		addr := string(resp.CString(args[0]))
		return killFilter{old: true, addr: &addr}, ""
	}
	f := killFilter{skipMe: true}
	for i := 0; i < len(args); i += 2 {
		if i+1 >= len(args) {
			return f, resp.ErrSyntax
		}
		opt, val := args[i], args[i+1]
		switch {
		case resp.IsOption(opt, "id"):
			id, ok := resp.ParseInt(val)
			if !ok || id < 1 {
				return f, resp.ErrKillClientID
			}
			f.id = id
		case resp.IsOption(opt, "type"):
			t, ok := clientTypeByName(val)
			if !ok {
				return f, resp.ErrUnknownClientType(val)
			}
			f.typ = t
		case resp.IsOption(opt, "addr"):
			a := string(resp.CString(val))
			f.addr = &a
		case resp.IsOption(opt, "laddr"):
			a := string(resp.CString(val))
			f.laddr = &a
		case resp.IsOption(opt, "user"):
			u := string(val)
			if !s.userExists(u) {
				return f, resp.ErrNoSuchUser(val)
			}
			f.user = &u
		case resp.IsOption(opt, "skipme"):
			switch {
			case resp.IsOption(val, "yes"):
				f.skipMe = true
			case resp.IsOption(val, "no"):
				f.skipMe = false
			default:
				return f, resp.ErrSyntax
			}
		default:
			return f, resp.ErrSyntax
		}
	}
	return f, ""
}

// clientTypeByName is Redis's getClientTypeByName; slave is replica.
func clientTypeByName(name []byte) (string, bool) {
	for _, t := range []string{"normal", "master", "replica", "pubsub"} {
		if resp.IsOption(name, t) {
			return t, true
		}
	}
	if resp.IsOption(name, "slave") {
		return "replica", true
	}
	return "", false
}

// userExists reports a user AUTH could log in as here.
func (s *Server) userExists(user string) bool {
	return s.acl.user(user) != nil || (user == ClusterUser && s.cfg.ClusterSecret != "")
}

// matches reports whether CLIENT KILL with f, sent by self, kills c.
// Every client raftlist serves is of type normal: it has no replicas,
// masters or subscribers. A connection logged in with the cluster secret
// has node rights, which a client's kill must not take away.
func (f *killFilter) matches(c, self *client) bool {
	switch {
	case c.node.Load() || c.nodeLink.Load() || c.getUser() == ClusterUser || c.killed.Load():
		return false
	case f.addr != nil && c.conn.RemoteAddr() != *f.addr:
		return false
	case f.laddr != nil && c.conn.NetConn().LocalAddr().String() != *f.laddr:
		return false
	case f.typ != "" && f.typ != "normal":
		return false
	case f.id != 0 && c.id != f.id:
		return false
	case f.user != nil && c.getUser() != *f.user:
		return false
	case c == self && f.skipMe:
		return false
	}
	return true
}

// isNodeCommand reports an internal RAFT subcommand (a forwarding hop,
// an unblock, …) run with node rights: the connection carries another
// node's traffic.
func isNodeCommand(c *client, args [][]byte) bool {
	if len(args) < 2 || !isName(args[0], "raft") || authLevel(c.auth.Load()) != authCluster {
		return false
	}
	sc := subcommandNamed(raftSubcommands, args[1])
	return sc != nil && sc.flags&resp.Internal != 0
}
