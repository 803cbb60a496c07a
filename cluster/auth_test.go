package cluster

import (
	"strings"
	"testing"

	"github.com/raftlist/raftlist/fsm"
	"github.com/raftlist/raftlist/fsm/resp"
)

func words(s string) [][]byte {
	var out [][]byte
	for _, w := range strings.Fields(s) {
		out = append(out, []byte(w))
	}
	return out
}

// gateCase is a command a client sends and what the gate answers ("" lets
// it through).
type gateCase struct {
	name    string
	client  *client
	command string
	want    string
}

func requireGate(t *testing.T, s *Server, cases []gateCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := ""
			if r := s.gate(tc.client, words(tc.command)); r != nil {
				got = string(r.(resp.Error))
			}
			if got != tc.want {
				t.Fatalf("gate(%q): exp %q, got %q", tc.command, tc.want, got)
			}
		})
	}
}

// TestRightsFailClosed: a client is worth what its level says, and the
// zero level is worth nothing, so a client built outside accept (and
// selfClient) can run nothing.
func TestRightsFailClosed(t *testing.T) {
	s := &Server{}
	requireGate(t, s, []gateCase{
		{"a bare client cannot remove a member", &client{}, "RAFT REMOVENODE node1", "NOAUTH Authentication required."},
		{"a bare client cannot forward", &client{}, "RAFT FORWARD 0 someone 1 RPUSH k v", "NOAUTH Authentication required."},
		{"a bare client cannot write", &client{}, "RPUSH k v", "NOAUTH Authentication required."},
		{"the node's own requests have node rights", selfClient(), "RAFT UNBLOCK owner 1 1", ""},
	})
}

// TestNodeTrafficIsToldByProof: only a first command that proves the
// cluster secret makes a connection node traffic (outside maxclients and
// timeout); what the command is proves nothing.
func TestNodeTrafficIsToldByProof(t *testing.T) {
	for _, tc := range []struct {
		name, secret, first string
		want                bool
	}{
		{"without a secret, RAFT FORWARD first is a client", "", "RAFT FORWARD 0 o 1 PING", false},
		{"without a secret, RAFT NODES first is a client", "", "RAFT NODES", false},
		{"with a secret, RAFT NODES first is a client", "s3cret", "RAFT NODES", false},
		{"a wrong secret is a client", "s3cret", "AUTH raftlist-cluster wrong", false},
		{"the right secret is a node", "s3cret", "AUTH raftlist-cluster s3cret", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &Server{cfg: Config{ClusterSecret: tc.secret}}
			if got := s.isNodeTraffic(words(tc.first)); got != tc.want {
				t.Fatalf("isNodeTraffic(%q): exp %v, got %v", tc.first, tc.want, got)
			}
		})
	}
}

// TestACLRightsAtTheGate: ACL users are refused what their rules deny,
// never get node rights, and the node's own requests keep node rights
// whatever the default user requires.
func TestACLRightsAtTheGate(t *testing.T) {
	s := &Server{cfg: Config{RequirePass: "pw", ClusterSecret: "secret"}}
	app := &fsm.ACLUser{Name: "app", On: true}
	if err := app.ApplyRules(words("+@read ~jobs:* %R~r:*"), aclTargetKnown); err != "" {
		t.Fatal(err)
	}
	s.aclChanged([]*fsm.ACLUser{fsm.DefaultUser(), app}, nil)
	user := func(name string) *client {
		c := &client{}
		c.auth.Store(int32(authUser))
		c.loggedIn.Store(true)
		c.user = name
		return c
	}
	requireGate(t, s, []gateCase{
		{"the node's own requests have node rights with a password set", selfClient(), "RAFT UNBLOCK owner 1 1", ""},
		{"a read-only user reads its keys", user("app"), "LRANGE jobs:1 0 -1", ""},
		{"a read-only user reads with a read pattern", user("app"), "LLEN r:1", ""},
		{"a read-only user cannot write", user("app"), "LPUSH jobs:1 x", "NOPERM this user has no permissions to run the 'lpush' command"},
		{"a read-only user cannot run scripts", user("app"), "EVAL x 0", "NOPERM this user has no permissions to run the 'eval' command"},
		{"a user cannot read other keys", user("app"), "LRANGE other 0 -1", "NOPERM this user has no permissions to access one of the keys used as arguments"},
		{"a user cannot forward", user("app"), "RAFT FORWARD 0 someone 1 LLEN jobs:1", "NOPERM this user has no permissions to run the 'raft|forward' command"},
		{"a deleted user can run nothing", user("gone"), "LLEN jobs:1", "NOPERM this user has no permissions to run the 'llen' command"},
		{"AUTH is always allowed", user("app"), "AUTH app pw", ""},
	})
	if err := s.login(&client{}, []byte("app"), []byte("any")); err == nil {
		t.Fatal("exp a wrong password refused")
	}
}
