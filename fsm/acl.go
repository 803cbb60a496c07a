package fsm

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"slices"
	"sort"
	"strings"

	"github.com/raftlist/raftlist/fsm/resp"
)

// Redis ACL users (ACL SETUSER, DELUSER) are replicated state: a change is
// a KindACL entry, so every node holds the same users and enforces the same
// rules. The state machine stores each user's rules; it does not decide
// whether a command may run. The front door does (cluster/acl.go), before
// anything reaches the log, from the users of the node's applied state and
// the command table's categories, which the state machine's table alone
// does not have (CLIENT, AUTH, ACL live in the front door's). So command
// and category names in rules are checked there before proposal; applying
// a rule here trusts them.

// ACLUser is one user as Redis 7.0 keeps it (one root selector).
type ACLUser struct {
	Name string
	On   bool
	// NoPass accepts any password.
	NoPass bool
	// Sanitize is "", "sanitize-payload" or "skip-sanitize-payload", shown
	// only (raftlist has no RESTORE).
	Sanitize string
	// Passwords are SHA-256 hex digests, in the order they were added.
	Passwords []string
	// AllCommands is the base the command rules start from: +@all (every
	// command, future ones included) or -@all.
	AllCommands bool
	// CommandRules are "+name", "-name", "+@category", "-@category"
	// (lower case) applied in order after the base; a later rule about the
	// same name or category replaces an earlier one, which changes nothing
	// the rules allow and keeps the list bounded.
	CommandRules []string
	AllKeys      bool
	Keys         []KeyPattern
	AllChannels  bool
	Channels     []string
}

// KeyPattern is a key pattern with the access it grants.
type KeyPattern struct {
	Pattern string
	Perm    KeyPerm
}

// KeyPerm is what a key pattern grants: read, write, or both.
type KeyPerm uint8

const (
	PermRead  KeyPerm = 1 << iota // %R~
	PermWrite                     // %W~
	PermAll   = PermRead | PermWrite
)

// ACLOp is what a KindACL entry does.
type ACLOp uint8

const (
	ACLSetUser ACLOp = 1 // Args: name, rule...
	ACLDelUser ACLOp = 2 // Args: name...
)

// ACLChange is a KindACL entry: ACL SETUSER or ACL DELUSER.
type ACLChange struct {
	Op   ACLOp
	Args [][]byte
}

// DefaultUserName is the user every connection starts as.
const DefaultUserName = "default"

// DefaultUser is Redis's default user as every state starts with it: on,
// nopass, ~* &* +@all.
func DefaultUser() *ACLUser { return defaultUser() }

func defaultUser() *ACLUser {
	return &ACLUser{Name: DefaultUserName, On: true, NoPass: true, AllCommands: true, AllKeys: true, AllChannels: true}
}

// newUser is a user ACL SETUSER creates: off, no passwords, keys or
// channels, -@all (Redis 7.0 with acl-pubsub-default resetchannels).
func newUser(name string) *ACLUser { return &ACLUser{Name: name} }

// Clone returns a copy sharing nothing mutable.
func (u *ACLUser) Clone() *ACLUser {
	c := *u
	c.Passwords = slices.Clone(u.Passwords)
	c.CommandRules = slices.Clone(u.CommandRules)
	c.Keys = slices.Clone(u.Keys)
	c.Channels = slices.Clone(u.Channels)
	return &c
}

// ValidUserName reports Redis's rule for user names; err is its error.
func ValidUserName(name []byte) resp.Error {
	if bytes.ContainsAny(name, " \x00") {
		return resp.ErrACLUserName
	}
	return ""
}

// ApplyRules applies ACL SETUSER's rules in order, all or none: on an
// error u is unchanged and the error is SETUSER's reply. known, when not
// nil, says whether a command or category rule's target exists ("get",
// "@read"); the state machine passes nil (the front door checked).
func (u *ACLUser) ApplyRules(rules [][]byte, known func(target string) bool) resp.Error {
	c := u.Clone()
	for _, r := range rules {
		if msg := c.applyRule(string(r), known); msg != "" {
			return resp.Error("ERR Error in ACL SETUSER modifier '" + string(r) + "': " + msg)
		}
	}
	*u = *c
	return ""
}

// Redis's reasons for a rule it refuses (ACLSetUserStringError).
const (
	aclSyntax          = "Syntax error"
	aclUnknown         = "Unknown command or category name in ACL"
	aclKeysAfterAll    = "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any effect. Try 'resetkeys' to start with an empty list of patterns"
	aclChannelsAfter   = "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not have any effect. Try 'resetchannels' to start with an empty list of channels"
	aclNoSuchPassword  = "The password you are trying to remove from the user does not exist"
	aclBadPasswordHash = "The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters"
)

// applyRule is Redis 7.0's ACLSetSelector/ACLSetUser for one rule.
func (u *ACLUser) applyRule(op string, known func(string) bool) string {
	switch lower := strings.ToLower(op); {
	case lower == "on":
		u.On = true
	case lower == "off":
		u.On = false
	case lower == "skip-sanitize-payload", lower == "sanitize-payload":
		u.Sanitize = lower
	case lower == "nopass":
		u.NoPass, u.Passwords = true, nil
	case lower == "resetpass":
		u.NoPass, u.Passwords = false, nil
	case lower == "allkeys" || op == "~*":
		u.AllKeys, u.Keys = true, nil
	case lower == "resetkeys":
		u.AllKeys, u.Keys = false, nil
	case lower == "allchannels" || op == "&*":
		u.AllChannels, u.Channels = true, nil
	case lower == "resetchannels":
		u.AllChannels, u.Channels = false, nil
	case lower == "allcommands" || lower == "+@all":
		u.AllCommands, u.CommandRules = true, nil
	case lower == "nocommands" || lower == "-@all":
		u.AllCommands, u.CommandRules = false, nil
	case lower == "reset":
		*u = ACLUser{Name: u.Name, Sanitize: "sanitize-payload"}
	case lower == "clearselectors":
		// raftlist keeps no selectors beyond the root one.
	case op == "":
		return aclSyntax
	case op[0] == '>' || op[0] == '#':
		return u.addPassword(op)
	case op[0] == '<' || op[0] == '!':
		return u.removePassword(op)
	case op[0] == '~' || op[0] == '%':
		return u.addKeyPattern(op)
	case op[0] == '&':
		if u.AllChannels {
			return aclChannelsAfter
		}
		if !slices.Contains(u.Channels, op[1:]) {
			u.Channels = append(u.Channels, op[1:])
		}
	case (op[0] == '+' || op[0] == '-') && len(op) > 1:
		target := lower[1:]
		if known != nil && !known(target) {
			return aclUnknown
		}
		u.addCommandRule(lower[:1], target)
	default:
		return aclSyntax
	}
	return ""
}

func (u *ACLUser) addPassword(op string) string {
	h, msg := passwordHash(op)
	if msg != "" {
		return msg
	}
	if !slices.Contains(u.Passwords, h) {
		u.Passwords = append(u.Passwords, h)
	}
	u.NoPass = false
	return ""
}

func (u *ACLUser) removePassword(op string) string {
	h, msg := passwordHash(op)
	if msg != "" {
		return msg
	}
	i := slices.Index(u.Passwords, h)
	if i < 0 {
		return aclNoSuchPassword
	}
	u.Passwords = slices.Delete(u.Passwords, i, i+1)
	u.NoPass = false
	return ""
}

// passwordHash is the SHA-256 hex of >pw and <pw, or the hash #h and !h
// give, checked as Redis checks it.
func passwordHash(op string) (string, string) {
	if op[0] == '>' || op[0] == '<' {
		return PasswordHash([]byte(op[1:])), ""
	}
	h := op[1:]
	if len(h) != 64 || strings.Trim(h, "0123456789abcdef") != "" {
		return "", aclBadPasswordHash
	}
	return h, ""
}

// PasswordHash is how a password is stored and shown: SHA-256, lower-case
// hex.
func PasswordHash(pw []byte) string {
	sum := sha256.Sum256(pw)
	return hex.EncodeToString(sum[:])
}

// addKeyPattern is ~pattern, %R~pattern, %W~pattern or %RW~pattern.
func (u *ACLUser) addKeyPattern(op string) string {
	if u.AllKeys {
		return aclKeysAfterAll
	}
	perm, i := PermAll, 1
	if op[0] == '%' {
		perm = 0
		for ; i < len(op); i++ {
			c := op[i] &^ 0x20 // upper case
			if c == 'R' && perm&PermRead == 0 {
				perm |= PermRead
			} else if c == 'W' && perm&PermWrite == 0 {
				perm |= PermWrite
			} else if op[i] == '~' {
				i++
				break
			} else {
				return aclSyntax
			}
		}
	}
	if perm == 0 {
		return aclSyntax
	}
	// Redis 7.0 takes "%R" (no "~") as the empty pattern.
	pat := op[i:]
	for j := range u.Keys {
		if u.Keys[j].Pattern == pat {
			u.Keys[j].Perm |= perm
			return ""
		}
	}
	u.Keys = append(u.Keys, KeyPattern{Pattern: pat, Perm: perm})
	return ""
}

// addCommandRule appends sign+target, dropping the earlier rules it
// overrides: the same target, and for a whole command its subcommands'.
func (u *ACLUser) addCommandRule(sign, target string) {
	u.CommandRules = slices.DeleteFunc(u.CommandRules, func(r string) bool {
		t := r[1:]
		return t == target || (!strings.HasPrefix(target, "@") && strings.HasPrefix(t, target+"|"))
	})
	u.CommandRules = append(u.CommandRules, sign+target)
}

// Rules spells the user as the rules that build it from a fresh user, in
// a fixed order: the snapshot's and the digest's form of a user.
func (u *ACLUser) Rules() []string {
	out := []string{"reset"}
	if u.Sanitize != "" {
		out = append(out, u.Sanitize)
	}
	if u.On {
		out = append(out, "on")
	}
	if u.NoPass {
		out = append(out, "nopass")
	}
	for _, h := range u.Passwords {
		out = append(out, "#"+h)
	}
	if u.AllKeys {
		out = append(out, "allkeys")
	}
	for _, k := range u.Keys {
		out = append(out, k.Rule())
	}
	if u.AllChannels {
		out = append(out, "allchannels")
	}
	for _, c := range u.Channels {
		out = append(out, "&"+c)
	}
	if u.AllCommands {
		out = append(out, "+@all")
	}
	return append(out, u.CommandRules...)
}

// Rule is the pattern as ACL LIST shows it.
func (k KeyPattern) Rule() string {
	switch k.Perm {
	case PermRead:
		return "%R~" + k.Pattern
	case PermWrite:
		return "%W~" + k.Pattern
	}
	return "~" + k.Pattern
}

// userFromRules rebuilds a user from Rules' form; the reset rule leaves a
// sanitize-payload flag only if the rules set one.
func userFromRules(name string, rules [][]byte) (*ACLUser, resp.Error) {
	u := newUser(name)
	if err := u.ApplyRules(rules, nil); err != "" {
		return nil, err
	}
	if !slices.ContainsFunc(rules, func(r []byte) bool { return strings.HasSuffix(string(r), "sanitize-payload") }) {
		u.Sanitize = ""
	}
	return u, ""
}

// applyACL applies a KindACL entry. deleted names the users ACL DELUSER
// removed, whose clients every node disconnects.
func (s *State) applyACL(c ACLChange) (reply resp.Reply, deleted []string) {
	switch c.Op {
	case ACLSetUser:
		if len(c.Args) == 0 {
			return resp.ErrWrongArity("acl|setuser"), nil
		}
		name := string(c.Args[0])
		if err := ValidUserName(c.Args[0]); err != "" {
			return err, nil
		}
		u, ok := s.users[name]
		if ok {
			u = u.Clone()
		} else {
			u = newUser(name)
		}
		if err := u.ApplyRules(c.Args[1:], nil); err != "" {
			return err, nil
		}
		s.users[name] = u
		return resp.OK, nil
	case ACLDelUser:
		for _, n := range c.Args {
			if string(n) == DefaultUserName {
				return resp.ErrACLDelDefault, nil
			}
		}
		for _, n := range c.Args {
			if _, ok := s.users[string(n)]; ok {
				delete(s.users, string(n))
				deleted = append(deleted, string(n))
			}
		}
		return resp.Int(len(deleted)), deleted
	}
	return resp.ErrSyntax, nil
}

// Users returns a copy of every ACL user, in name order.
func (s *State) Users() []*ACLUser {
	out := make([]*ACLUser, 0, len(s.users))
	for _, u := range s.users {
		out = append(out, u.Clone())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// aclIsInitial reports users that are only the untouched default user, so
// a state without ACL changes digests as before ACLs existed.
func (s *State) aclIsInitial() bool {
	if len(s.users) != 1 {
		return false
	}
	u, ok := s.users[DefaultUserName]
	return ok && slices.Equal(u.Rules(), defaultUser().Rules())
}

// appendUser encodes a user record: name and rules. Snapshots and the
// digest use the same bytes.
func appendUser(b []byte, u *ACLUser) []byte {
	b = append(b, recUser)
	b = appendBytes(b, []byte(u.Name))
	rules := u.Rules()
	b = binary.AppendUvarint(b, uint64(len(rules)))
	for _, r := range rules {
		b = appendBytes(b, []byte(r))
	}
	return b
}
