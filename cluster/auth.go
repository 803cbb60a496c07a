package cluster

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/raftlist/raftlist/fsm/resp"
)

// Authentication, as Redis does it with requirepass, plus one reserved user
// for the cluster itself.
//
// A connection starts at the level its server grants without AUTH:
//
//   - with --requirepass: authNone. Only the commands Redis runs before
//     authentication (flag no_auth: AUTH, HELLO, QUIT) work; everything else
//     answers NOAUTH. Unknown commands and wrong arities are still answered
//     first, in Redis's order.
//   - without it but with a cluster secret: authUser, the default user.
//   - with neither: authCluster, everything, exactly as before auth existed.
//
// The cluster secret is never the password (cmd/raftlist refuses that, and
// makes up a secret for a one-node server with only a password).
//
// authUser runs every command except the internal ones (raft.go's
// forwarding hop, membership, unblocking, snapshots), which answer NOPERM
// as Redis does for a command a user's ACL denies. A fellow node, the
// forwarder and `--join` log in as ClusterUser with the cluster secret and
// reach authCluster.

// ClusterUser is the reserved user name nodes authenticate as, with the
// cluster secret as password: AUTH raftlist-cluster <secret>. It is
// declared in fsm/resp so that cluster/local can use it without importing
// cluster.
const ClusterUser = resp.ClusterUser

type authLevel int32

// The zero level has no rights: a client built anywhere but accept (which
// sets every network connection's level) or selfClient can run nothing, so
// forgetting to set a level fails closed.
const (
	authNone    authLevel = iota // must AUTH first
	authUser                     // the default user: all but internal commands
	authCluster                  // a fellow node, or the node itself: everything
)

// selfClient is the client of a request the node makes to itself (the
// UNBLOCK a blocked client's timer proposes, PURGEOWNER, ACK): node
// rights, granted explicitly.
func selfClient() *client {
	c := &client{}
	c.auth.Store(int32(authCluster))
	c.loggedIn.Store(true)
	c.user = ClusterUser
	return c
}

// authConnCommands join the front door's command table (conncmds.go).
var authConnCommands = []*connCommand{
	// AUTH [username] password
	{Spec: spec("auth", -2, resp.Fast|resp.NoScript|resp.Loading|resp.Stale|resp.NoAuth|resp.AllowBusy, "connection", "1.0.0", "Authenticate to the server"), run: authCommand},
}

// initialAuth is the level a new connection starts at.
func (s *Server) initialAuth() authLevel {
	if s.cfg.RequirePass != "" {
		return authNone
	}
	return s.defaultUserLevel()
}

// defaultUserLevel is what the default user may do: everything only on a
// node with neither a password nor a cluster secret (nothing is protected
// there, as before auth existed). With a password alone the internal
// commands are still refused: knowing the client password must never give
// node rights, and only the cluster secret does.
func (s *Server) defaultUserLevel() authLevel {
	if s.cfg.ClusterSecret == "" && s.cfg.RequirePass == "" {
		return authCluster
	}
	return authUser
}

// gate answers a command the connection may not run yet (NOAUTH, NOPERM),
// or nil. It runs before anything else looks at the command, so a refused
// command never reaches MULTI's queue, a run or the log.
func (s *Server) gate(c *client, args [][]byte) resp.Reply {
	level := authLevel(c.auth.Load())
	if level != authNone && !c.loggedIn.Load() && c.getUser() == "default" && s.defaultNeedsAuth() {
		level = authNone // ACL SETUSER default gave it a password or turned it off
	}
	switch level {
	case authCluster:
		return s.aclGate(c, args)
	case authUser:
		if err := internalGate(args); err != nil {
			return err
		}
		return s.aclGate(c, args)
	}
	return noAuthGate(args)
}

// internalGate refuses a user the Internal subcommands (NOPERM), before
// their arity is looked at.
func internalGate(args [][]byte) resp.Reply {
	_, cc := findCommand(args[0])
	if cc == nil || len(args) < 2 {
		return nil
	}
	if sc := subcommandNamed(cc.subs, args[1]); sc != nil && sc.flags&resp.Internal != 0 {
		return resp.Error("NOPERM this user has no permissions to run the '" + cc.Name + "|" + sc.name + "' command")
	}
	return nil
}

// noAuthGate is Redis's processCommand order for an unauthenticated
// client: unknown command, unknown subcommand and wrong arity are answered
// as such; then only no_auth commands run.
func noAuthGate(args [][]byte) resp.Reply {
	sp, cc := findCommand(args[0])
	if sp == nil {
		return resp.ErrUnknownCommand(args)
	}
	if err := checkDeclared(sp, cc, args); err != "" {
		return err
	}
	if sp.Flags&resp.NoAuth != 0 {
		return nil
	}
	return resp.ErrNoAuth
}

// AUTH [username] password
func authCommand(s *Server, r *request) resp.Reply {
	if len(r.args) > 3 {
		return resp.ErrSyntax
	}
	user, pass := []byte("default"), r.args[1]
	if len(r.args) == 3 {
		user, pass = r.args[1], r.args[2]
	} else if !s.defaultNeedsAuth() {
		return resp.ErrAuthNoPass
	}
	if err := s.login(r.c, user, pass); err != nil {
		return err
	}
	return resp.OK
}

// login checks user and password and raises the connection's level. A
// failed attempt leaves the connection as it was, as in Redis.
func (s *Server) login(c *client, user, pass []byte) resp.Reply {
	var level authLevel
	switch string(user) {
	case "default":
		// requirepass is the default user's password on this node; without
		// it the replicated default user decides (nopass as it starts: any
		// password is accepted).
		if s.cfg.RequirePass != "" {
			if !secretEqual(pass, s.cfg.RequirePass) || !s.acl.user("default").On {
				return resp.ErrWrongPass
			}
		} else if !canLogIn(s.acl.user("default"), pass) {
			return resp.ErrWrongPass
		}
		level = s.defaultUserLevel()
	case ClusterUser:
		if s.cfg.ClusterSecret == "" || !secretEqual(pass, s.cfg.ClusterSecret) {
			return resp.ErrWrongPass
		}
		level = authCluster
	default:
		// An ACL user has a user's rights at most, never node rights.
		if !canLogIn(s.acl.user(string(user)), pass) {
			return resp.ErrWrongPass
		}
		level = authUser
	}
	c.auth.Store(int32(level))
	c.loggedIn.Store(true)
	c.setUser(string(user))
	return nil
}

// secretEqual compares in time independent of where the inputs differ and
// of their lengths (both are hashed first).
func secretEqual(given []byte, want string) bool {
	a, b := sha256.Sum256(given), sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1
}

// authUpstream logs a new connection to another node in as ClusterUser
// before anything else is sent on it; a no-op without a cluster secret.
func authUpstream(ctx context.Context, conn net.Conn, secret string, timeout time.Duration) error {
	if secret == "" {
		return nil
	}
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(timeout)
	}
	conn.SetDeadline(deadline)
	defer conn.SetDeadline(time.Time{})
	if _, err := conn.Write(resp.AppendCommand(nil, []byte("AUTH"), []byte(ClusterUser), []byte(secret))); err != nil {
		return fmt.Errorf("authenticate to %s: %w", conn.RemoteAddr(), err)
	}
	// The node answers nothing but this reply until we send more, so a
	// reader of its own here cannot swallow later replies.
	raw, err := resp.NewReader(conn, 1<<10).ReadReply()
	if err != nil {
		return fmt.Errorf("authenticate to %s: %w", conn.RemoteAddr(), err)
	}
	v, err := resp.ParseReply(raw)
	if err != nil {
		return fmt.Errorf("authenticate to %s: %w", conn.RemoteAddr(), err)
	}
	if v.Kind == resp.KindError {
		return &AuthError{Addr: conn.RemoteAddr().String(), Reply: string(v.Str)}
	}
	return nil
}

// AuthError is a node refusing this node's cluster secret or its rights:
// retrying with the same configuration cannot help.
type AuthError struct {
	Addr  string
	Reply string
}

func (e *AuthError) Error() string {
	return fmt.Sprintf("%s refused this node's cluster credentials (%s); check --cluster-secret matches the cluster's", e.Addr, e.Reply)
}

// isAuthRefusal reports a reply that no retry with the same credentials
// can turn into success.
func isAuthRefusal(reply string) bool {
	for _, p := range []string{"WRONGPASS", "NOAUTH", "NOPERM"} {
		if strings.HasPrefix(reply, p) {
			return true
		}
	}
	return false
}
