package cluster

import (
	"errors"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/raftlist/raftlist/fsm"
	"github.com/raftlist/raftlist/fsm/resp"
	"github.com/raftlist/raftlist/raftnode"
)

// Redis ACLs. The users are replicated state (fsm/acl.go): ACL SETUSER and
// DELUSER are KindACL entries, so every node holds the same rules. The
// check of a connection's rights runs here, at the front door of the node
// that holds the client, before a command is queued, proposed, read or
// forwarded: a follower checks before its forwarding hop, and the leader
// serves the hop with node rights, so forwarding never launders rights.
//
// Node rights are not an ACL user: ClusterUser logs in with the cluster
// secret only, is never looked up among the ACL users, and ACL SETUSER
// refuses its name, so no ACL rule can grant or take node rights, and the
// internal commands stay refused to every ACL user (internalGate).

// aclView is the node's copy of the applied ACL users, replaced whole by
// every ACL entry and snapshot install (fsm.Machine.OnACL).
type aclView struct {
	users map[string]*fsm.ACLUser
}

// aclState holds the current view.
type aclState struct{ view atomic.Pointer[aclView] }

// user returns the named user, or nil. Before any view arrived (a server
// without a state machine's hook, in tests) the users are a fresh state's.
func (a *aclState) user(name string) *fsm.ACLUser {
	v := a.view.Load()
	if v == nil {
		if name == fsm.DefaultUserName {
			return fsm.DefaultUser()
		}
		return nil
	}
	return v.users[name]
}

// aclChanged takes a new view of the users after an ACL entry or a
// snapshot install, and closes the connections of users that are gone
// (Redis 7.0 disconnects a deleted user's clients; a disabled one's stay).
// It runs inside Apply: the closing happens elsewhere.
func (s *Server) aclChanged(users []*fsm.ACLUser, deleted []string) {
	v := &aclView{users: make(map[string]*fsm.ACLUser, len(users))}
	for _, u := range users {
		v.users[u.Name] = u
	}
	s.acl.view.Store(v)
	go s.dropGoneUsers(v)
}

// dropGoneUsers closes every client logged in as a user the view lacks.
func (s *Server) dropGoneUsers(v *aclView) {
	s.clientsMu.Lock()
	var gone []*client
	for _, c := range s.clients {
		if u := c.getUser(); u != ClusterUser && v.users[u] == nil {
			gone = append(gone, c)
		}
	}
	s.clientsMu.Unlock()
	for _, c := range gone {
		if c.kill() {
			c.conn.NetConn().Close()
		}
		if slot := s.blocked.byClient(c.id); slot != nil {
			select {
			case slot.unblock <- fsm.UnblockCancel:
			default:
			}
		}
	}
}

// aclGate refuses a command the connection's user may not run (NOPERM),
// or the keys it may not touch; nil lets route go on. Unknown commands
// and wrong arities are left to route, as Redis answers them first; so
// are the commands that run before AUTH.
func (s *Server) aclGate(c *client, args [][]byte) resp.Reply {
	name := c.getUser()
	if name == ClusterUser {
		return nil
	}
	sp, cc := findCommand(args[0])
	if sp == nil || sp.Flags&resp.NoAuth != 0 || checkDeclared(sp, cc, args) != "" {
		return nil
	}
	u := s.acl.user(name)
	if u == nil {
		return resp.ErrNoPermCommand(sp.Name) // deleted: being disconnected
	}
	full, cats := sp.Name, (*resp.Spec)(nil)
	if cc != nil && cc.subs != nil && len(args) > 1 {
		if sc := subcommandNamed(cc.subs, args[1]); sc != nil {
			sub := subcommandSpec(&cc.Spec, sc)
			full, cats = sub.Name, &sub
		}
	}
	if cats == nil {
		cats = sp
	}
	if !commandAllowed(u, full, aclCategories(cats)) {
		return resp.ErrNoPermCommand(full)
	}
	if u.AllKeys {
		return nil
	}
	for _, k := range sp.FindKeys(args) {
		if !keyAllowed(u, args[k.Pos], k.Flags) {
			return resp.ErrNoPermKey
		}
	}
	return nil
}

// commandAllowed applies the user's command rules to a command (name, or
// container|subcommand) with categories cats: the last rule that names it,
// its container or one of its categories decides.
func commandAllowed(u *fsm.ACLUser, name string, cats []string) bool {
	ok := u.AllCommands
	container, _, _ := strings.Cut(name, "|")
	for _, r := range u.CommandRules {
		t := r[1:]
		var match bool
		if cat, isCat := strings.CutPrefix(t, "@"); isCat {
			match = slices.Contains(cats, cat)
		} else {
			match = t == name || t == container
		}
		if match {
			ok = r[0] == '+'
		}
	}
	return ok
}

// keyAllowed is Redis 7.0's ACLSelectorCheckKey: a key the command reads
// (access) needs a pattern with read permission, one it changes (insert,
// delete, update) write permission, any other any pattern.
func keyAllowed(u *fsm.ACLUser, key []byte, flags resp.KeyFlags) bool {
	var need fsm.KeyPerm
	if flags&resp.KeyAccess != 0 {
		need |= fsm.PermRead
	}
	if flags&(resp.KeyInsert|resp.KeyDelete|resp.KeyUpdate) != 0 {
		need |= fsm.PermWrite
	}
	for _, p := range u.Keys {
		if p.Perm&need == need && fsm.GlobMatch([]byte(p.Pattern), key, false) {
			return true
		}
	}
	return false
}

// aclTargetKnown says whether a rule's target (after + or -) names a
// command, a container's subcommand or a category.
func aclTargetKnown(t string) bool {
	if cat, ok := strings.CutPrefix(t, "@"); ok {
		return cat == "all" || slices.Contains(aclCategoryOrder, cat)
	}
	name, sub, hasSub := strings.Cut(t, "|")
	sp, cc := findCommand([]byte(name))
	if sp == nil {
		return false
	}
	if !hasSub {
		return true
	}
	return cc != nil && subcommandNamed(cc.subs, []byte(sub)) != nil
}

var aclSubcommands = []subcommand{
	{"setuser", -3, aclSetUser, resp.Admin | resp.NoScript | resp.Loading | resp.Stale},
	{"getuser", 3, aclRead(aclGetUser), resp.Admin | resp.NoScript | resp.Loading | resp.Stale},
	{"deluser", -3, aclDelUser, resp.Admin | resp.NoScript | resp.Loading | resp.Stale},
	{"list", 2, aclRead(aclList), resp.Admin | resp.NoScript | resp.Loading | resp.Stale},
	{"users", 2, aclRead(aclUsers), resp.Admin | resp.NoScript | resp.Loading | resp.Stale},
	{"whoami", 2, aclWhoAmI, resp.NoScript | resp.Loading | resp.Stale},
	{"cat", -2, aclCat, resp.NoScript | resp.Loading | resp.Stale},
}

// ACL subcommand [arg ...]
func aclCommand(s *Server, r *request) resp.Reply {
	return runSubcommand("acl", aclSubcommands, s, r)
}

// ACL SETUSER username [rule ...]
//
// Checked here against the node's users (so the reply to a bad rule is
// Redis's, and nothing bad is proposed), then proposed; the entry applies
// the rules again to the user as the log has it then.
func aclSetUser(s *Server, r *request) resp.Reply {
	name := r.args[2]
	if err := fsm.ValidUserName(name); err != "" {
		return err
	}
	if string(name) == ClusterUser {
		// Node rights are no ACL user's (see the top of this file).
		return resp.Error("ERR Error in ACL SETUSER: the user name '" + ClusterUser + "' is reserved for the cluster's nodes")
	}
	u := s.acl.user(string(name))
	if u == nil {
		u = &fsm.ACLUser{Name: string(name)}
	}
	if err := u.Clone().ApplyRules(r.args[3:], aclTargetKnown); err != "" {
		return err
	}
	return s.proposeACL(r, fsm.ACLChange{Op: fsm.ACLSetUser, Args: r.args[2:]})
}

// ACL DELUSER username [username ...]
func aclDelUser(s *Server, r *request) resp.Reply {
	return s.proposeACL(r, fsm.ACLChange{Op: fsm.ACLDelUser, Args: r.args[2:]})
}

// proposeACL proposes an ACL change, on a follower through the leader as
// RAFT ACL (the follower checked the client's rights).
func (s *Server) proposeACL(r *request, c fsm.ACLChange) resp.Reply {
	ctx, cancel := s.requestContext()
	defer cancel()
	res, err := s.node.ProposeACL(ctx, c)
	if errors.Is(err, raftnode.ErrNotLeader) {
		op := "setuser"
		if c.Op == fsm.ACLDelUser {
			op = "deluser"
		}
		reply := s.forwardToLeader(ctx, r, true, append([][]byte{[]byte("raft"), []byte("acl"), []byte(op)}, c.Args...))
		// Read your own change: this node's rules include it before the
		// client hears the reply (a read barrier waits until this node has
		// applied what the leader had).
		if err := s.readBarrier(ctx, false); err != nil && !isErrorReply(reply) {
			return errorReply(err)
		}
		return reply
	}
	if err != nil {
		return errorReply(err)
	}
	return res.Replies[0]
}

// RAFT ACL SETUSER|DELUSER arg... (internal: a follower's ACL change).
func raftACL(s *Server, r *request) resp.Reply {
	op := fsm.ACLSetUser
	switch {
	case isName(r.args[2], "deluser"):
		op = fsm.ACLDelUser
	case !isName(r.args[2], "setuser"):
		return resp.ErrSyntax
	}
	ctx, cancel := s.requestContext()
	defer cancel()
	res, err := s.node.ProposeACL(ctx, fsm.ACLChange{Op: op, Args: r.args[3:]})
	if err != nil {
		return errorReply(err)
	}
	return res.Replies[0]
}

// aclRead runs an ACL read behind the read barrier, so that it shows
// every change acknowledged before it, on a follower too.
func aclRead(read func(*Server, *request) resp.Reply) func(*Server, *request) resp.Reply {
	return func(s *Server, r *request) resp.Reply {
		ctx, cancel := s.requestContext()
		defer cancel()
		if err := s.readBarrier(ctx, false); err != nil {
			return errorReply(err)
		}
		return read(s, r)
	}
}

// ACL GETUSER username
func aclGetUser(s *Server, r *request) resp.Reply {
	u := s.shownUser(string(r.args[2]))
	if u == nil {
		return resp.NullBulk
	}
	str := func(ws []string) resp.Reply { return resp.BulkString(strings.Join(ws, " ")) }
	arr := func(ws []string) resp.Array {
		out := resp.Array{}
		for _, w := range ws {
			out = append(out, resp.BulkString(w))
		}
		return out
	}
	// A map whose flags are a set, as Redis builds it: a flat array and
	// an array to a RESP2 client.
	return resp.Map{
		resp.BulkString("flags"), resp.Set(arr(userFlags(u))),
		resp.BulkString("passwords"), arr(u.Passwords),
		resp.BulkString("commands"), str(describeCommands(u)),
		resp.BulkString("keys"), str(describeKeys(u)),
		resp.BulkString("channels"), str(describeChannels(u, false)),
		resp.BulkString("selectors"), resp.Array{},
	}
}

// ACL LIST
func aclList(s *Server, _ *request) resp.Reply {
	out := resp.Array{}
	for _, name := range s.userNames() {
		u := s.shownUser(name)
		w := append([]string{"user", u.Name}, userFlags(u)...)
		for _, h := range u.Passwords {
			w = append(w, "#"+h)
		}
		w = append(w, describeKeys(u)...)
		w = append(w, describeChannels(u, true)...)
		w = append(w, describeCommands(u)...)
		out = append(out, resp.BulkString(strings.Join(w, " ")))
	}
	return out
}

// ACL USERS
func aclUsers(s *Server, _ *request) resp.Reply {
	out := resp.Array{}
	for _, name := range s.userNames() {
		out = append(out, resp.BulkString(name))
	}
	return out
}

// ACL WHOAMI
func aclWhoAmI(_ *Server, r *request) resp.Reply { return resp.BulkString(r.c.getUser()) }

// ACL CAT [category]
func aclCat(_ *Server, r *request) resp.Reply {
	if len(r.args) > 3 {
		return resp.Error("ERR unknown subcommand or wrong number of arguments for '" + string(r.args[1]) + "'. Try ACL HELP.")
	}
	out := resp.Array{}
	if len(r.args) == 2 {
		for _, c := range aclCategoryOrder {
			out = append(out, resp.BulkString(c))
		}
		return out
	}
	cat := strings.ToLower(string(r.args[2]))
	if !slices.Contains(aclCategoryOrder, cat) {
		return resp.ErrACLUnknownCategory(r.args[2])
	}
	for _, sp := range allCommandSpecs() {
		if slices.Contains(aclCategories(&sp), cat) {
			out = append(out, resp.BulkString(sp.Name))
		}
	}
	return out
}

// allCommandSpecs are every command and declared subcommand, in name order.
func allCommandSpecs() []resp.Spec {
	var out []resp.Spec
	for _, c := range fsm.Commands() {
		out = append(out, c.Spec)
	}
	for _, cc := range connCommands {
		if cc.Flags&resp.Internal != 0 {
			continue
		}
		if cc.subs == nil {
			out = append(out, cc.Spec)
		}
		out = append(out, subcommandSpecs(&cc.Spec)...)
	}
	slices.SortFunc(out, func(a, b resp.Spec) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// userNames are the ACL users' names in order.
func (s *Server) userNames() []string {
	v := s.acl.view.Load()
	var out []string
	if v != nil {
		for n := range v.users {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}

// shownUser is a user as this node enforces it: the default user's
// password is the node's requirepass when it has one (as Redis's
// requirepass sets the default user's password).
func (s *Server) shownUser(name string) *fsm.ACLUser {
	u := s.acl.user(name)
	if u == nil || name != fsm.DefaultUserName || s.cfg.RequirePass == "" {
		return u
	}
	u = u.Clone()
	u.NoPass, u.Passwords = false, []string{fsm.PasswordHash([]byte(s.cfg.RequirePass))}
	return u
}

// userFlags are ACL GETUSER's flags in Redis's order.
func userFlags(u *fsm.ACLUser) []string {
	out := []string{"off"}
	if u.On {
		out[0] = "on"
	}
	if u.NoPass {
		out = append(out, "nopass")
	}
	if u.Sanitize != "" {
		out = append(out, u.Sanitize)
	}
	return out
}

func describeKeys(u *fsm.ACLUser) []string {
	if u.AllKeys {
		return []string{"~*"}
	}
	var out []string
	for _, k := range u.Keys {
		out = append(out, k.Rule())
	}
	return out
}

// describeChannels: ACL LIST starts the patterns with resetchannels.
func describeChannels(u *fsm.ACLUser, list bool) []string {
	switch {
	case u.AllChannels:
		return []string{"&*"}
	}
	var out []string
	if list {
		out = append(out, "resetchannels")
	}
	for _, c := range u.Channels {
		out = append(out, "&"+c)
	}
	return out
}

// describeCommands is Redis 7.0's ACLDescribeSelectorCommandRules over
// raftlist's commands: +@all or -@all, then, greedily, the category that
// fits best what is left to say (more of its commands follow it than not;
// fewest exceptions, then most commands), then single commands that still
// differ, in name order (Redis: its command table's hash order).
func describeCommands(u *fsm.ACLUser) []string {
	specs := allCommandSpecs()
	want := make([]bool, len(specs))
	cats := make([][]string, len(specs))
	for i := range specs {
		cats[i] = aclCategories(&specs[i])
		want[i] = commandAllowed(u, specs[i].Name, cats[i])
	}
	additive := !u.AllCommands
	fake := &fsm.ACLUser{AllCommands: u.AllCommands}
	out := []string{"+@all"}
	sign, inverse := "-@", true
	if additive {
		out[0], sign, inverse = "-@all", "+@", false
	}
	temp := slices.Clone(want)
	for {
		best, minDiff, maxSame := "", len(specs)+1, 0
		for _, cat := range aclCategoryOrder {
			on, off := 0, 0
			for i := range specs {
				if slices.Contains(cats[i], cat) {
					if temp[i] {
						on++
					} else {
						off++
					}
				}
			}
			diff, same := on, off
			if additive {
				diff, same = off, on
			}
			if same > diff && (diff < minDiff || (diff == minDiff && same > maxSame)) {
				best, minDiff, maxSame = cat, diff, same
			}
		}
		if best == "" {
			break
		}
		fake.CommandRules = append(fake.CommandRules, sign+best)
		out = append(out, sign+best)
		for i := range specs {
			if slices.Contains(cats[i], best) {
				temp[i] = inverse
			}
		}
	}
	for i := range specs {
		if have := commandAllowed(fake, specs[i].Name, cats[i]); have != want[i] {
			r := "-" + specs[i].Name
			if want[i] {
				r = "+" + specs[i].Name
			}
			out = append(out, r)
		}
	}
	return out
}

// canLogIn reports whether pass logs in as the ACL user name (not the
// default user on a node with requirepass, nor ClusterUser).
func canLogIn(u *fsm.ACLUser, pass []byte) bool {
	if u == nil || !u.On {
		return false
	}
	if u.NoPass {
		return true
	}
	h := fsm.PasswordHash(pass)
	ok := false
	for _, p := range u.Passwords {
		ok = secretEqual([]byte(h), p) || ok
	}
	return ok
}

// defaultNeedsAuth is Redis's authRequired for a connection that never
// logged in: the default user has a password, or is off.
func (s *Server) defaultNeedsAuth() bool {
	if s.cfg.RequirePass != "" {
		return true
	}
	u := s.acl.user(fsm.DefaultUserName)
	return u != nil && (!u.On || !u.NoPass)
}
