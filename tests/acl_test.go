package tests

import (
	"context"
	"strings"
	"testing"
	"time"
)

// Redis ACL users, replicated through the log and enforced by the node that
// holds the client (issue 16, item 6).

// aclScripts run on one fresh connection each, on redis-server and on every
// node; each ends by deleting what it made, so that it can run again. The
// rules are ones whose ACL LIST description does not depend on commands
// raftlist lacks (see docs/operations/auth.md).
var aclScripts = [][]string{
	{
		"ACL LIST", "ACL USERS", "ACL WHOAMI", "ACL GETUSER default", "ACL GETUSER nosuch",
		"ACL SETUSER app on >pw ~* +@read", "ACL LIST", "ACL GETUSER app",
		"ACL SETUSER u3 on nopass ~jobs:* %R~r:* allcommands -lpush +@write -@dangerous +get >a >b <a", "ACL LIST",
		"ACL SETUSER x -@all +get &ch %W~w* sanitize-payload", "ACL GETUSER x", "ACL LIST",
		"ACL SETUSER x reset", "ACL GETUSER x", "ACL SETUSER x nopass resetpass >p #30c952fab122c3f9759f02a6d95c3758b246b4fee239957b2d4fee46e26170c4 !30c952fab122c3f9759f02a6d95c3758b246b4fee239957b2d4fee46e26170c4", "ACL GETUSER x",
		"ACL SETUSER x +nosuch", "ACL SETUSER x +@nosuch", "ACL SETUSER x bogus", "ACL SETUSER x ~a allkeys ~b",
		"ACL SETUSER x &a allchannels &b", "ACL SETUSER x <nope", "ACL SETUSER x !abc", "ACL SETUSER x %X~d", "ACL SETUSER x %R", "ACL SETUSER x %RW~ ~ %W~a ~a %R~b", "ACL GETUSER x", "ACL SETUSER x %", "ACL SETUSER x %~a",
		"ACL SETUSER", "ACL GETUSER", "ACL DELUSER", "ACL CAT a b", "ACL WHOAMI x", "ACL FOO", "ACL",
		"ACL CAT", "ACL CAT nosuch", "ACL DELUSER default", "ACL USERS",
		"AUTH app pw", "ACL WHOAMI", "LPUSH aclq 1", "LRANGE aclq 0 -1", "EVAL return 1 0", "MULTI", "RPUSH aclq 1", "EXEC",
		"HELLO 2 AUTH u3 wrong", "ACL WHOAMI", "HELLO 2 AUTH u3 b", "ACL WHOAMI", "LPUSH other 1", "LPUSH jobs:1 a", "LPOP jobs:1", "LPUSH r:1 a", "LRANGE r:1 0 -1", "MULTI", "LLEN other", "EXEC",
		"EVAL return 1 1 other", "FLUSHALL", "AUTH u3 a", "AUTH nosuch p", "AUTH x p",
		"AUTH default x", "ACL DELUSER app u3 x nosuch", "ACL LIST",
	},
	// The default user given a password and then turned off: connections
	// that never logged in must authenticate; an off user cannot log in.
	{
		"ACL SETUSER default resetpass >dpw", "PING", "AUTH dpw", "PING", "ACL SETUSER default off", "AUTH dpw",
		"PING", "ACL SETUSER default on nopass", "AUTH x", "PING",
	},
}

func TestACLRepliesMatchRedisOnEveryNode(t *testing.T) {
	rds := mustStartRedis(t)
	c := mustStartSecretCluster(t, 3)
	// Each run starts once every node applied the last one's changes (a
	// follower enforces what it has applied).
	requireScriptsMatchRedis(t, rds.Addr, c, aclScripts, func() { mustConverge(t, c) })
	mustConverge(t, c)
}

// TestACLRightsHoldOnEveryNodeAndThroughForwarding: a read-only user and a
// user confined to jobs:* try, on the leader and on each follower (which
// forwards writes with node rights), to write, to run a script, and to
// reach other keys through MULTI/EXEC and EVAL's KEYS. Nothing they were
// refused reaches any node's state.
func TestACLRightsHoldOnEveryNodeAndThroughForwarding(t *testing.T) {
	c := mustStartSecretCluster(t, 3)
	leader := mustLeader(t, c)
	admin := mustDial(t, followers(c, leader)[0].ClientAddr)
	for _, set := range [][]string{
		{"ACL", "SETUSER", "app", "on", ">pw", "~*", "+@read"},
		{"ACL", "SETUSER", "jobs", "on", ">pw", "~jobs:*", "+@all"},
	} {
		if r := mustDo(t, admin, set...); r.String() != "+OK" {
			t.Fatalf("%v through a follower: exp OK, got %s", set, r)
		}
	}
	for _, n := range c.Nodes {
		app, jobs := mustDial(t, n.ClientAddr), mustDial(t, n.ClientAddr)
		mustDo(t, app, "AUTH", "app", "pw")
		mustDo(t, jobs, "AUTH", "jobs", "pw")
		steps := []struct {
			conn *rawConn
			cmd  []string
			exp  string
		}{
			{app, []string{"LPUSH", "q", "x"}, "-NOPERM this user has no permissions to run the 'lpush' command"},
			{app, []string{"EVAL", "return redis.call('lpush', KEYS[1], 'x')", "1", "q"}, "-NOPERM this user has no permissions to run the 'eval' command"},
			{app, []string{"LRANGE", "q", "0", "-1"}, ""},
			{app, []string{"MULTI"}, "-NOPERM this user has no permissions to run the 'multi' command"},
			{app, []string{"ACL", "SETUSER", "app", "+@all"}, "-NOPERM this user has no permissions to run the 'acl|setuser' command"},
			{app, []string{"RAFT", "FORWARD", "0", "x/1", "1", "LPUSH", "q", "x"}, "-NOPERM this user has no permissions to run the 'raft|forward' command"},
			{jobs, []string{"LPUSH", "other", "x"}, "-NOPERM this user has no permissions to access one of the keys used as arguments"},
			{jobs, []string{"MULTI"}, "+OK"},
			{jobs, []string{"LPUSH", "jobs:1", "x"}, "+QUEUED"},
			{jobs, []string{"LPUSH", "other", "x"}, "-NOPERM this user has no permissions to access one of the keys used as arguments"},
			{jobs, []string{"EXEC"}, "-EXECABORT Transaction discarded because of previous errors."},
			{jobs, []string{"EVAL", "return redis.call('lpush', KEYS[1], 'x')", "1", "other"}, "-NOPERM this user has no permissions to access one of the keys used as arguments"},
			{jobs, []string{"RPOPLPUSH", "jobs:a", "other"}, "-NOPERM this user has no permissions to access one of the keys used as arguments"},
			{jobs, []string{"LPUSH", "jobs:ok", "x"}, ":1"},
			{jobs, []string{"DEL", "jobs:ok"}, ":1"},
		}
		for _, st := range steps {
			r := mustDo(t, st.conn, st.cmd...)
			if st.exp != "" && r.String() != st.exp {
				t.Errorf("%v on %s: exp %s, got %s", st.cmd, n.ID, st.exp, r)
			}
		}
		app.Close()
		jobs.Close()
	}
	mustConverge(t, c)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, n := range c.Nodes {
		if v, err := n.Client().Exists(ctx, "q", "other", "jobs:1").Result(); err != nil || v != 0 {
			t.Errorf("EXISTS q other jobs:1 on %s: exp 0, got %d (%v)", n.ID, v, err)
		}
	}
}

// TestACLDeletedUsersConnectionsCloseOnEveryNode: a user logged in on every
// node is deleted through one follower; every node applies the entry and
// closes its connections, as Redis 7.0 does. Then the leader changes, and
// every node still holds the same users (digests and ACL LIST).
func TestACLDeletedUsersConnectionsCloseOnEveryNode(t *testing.T) {
	c := mustStartSecretCluster(t, 3)
	leader := mustLeader(t, c)
	admin := mustDial(t, leader.ClientAddr)
	mustDo(t, admin, "ACL", "SETUSER", "gone", "on", ">pw", "~*", "+@all")
	mustDo(t, admin, "ACL", "SETUSER", "stays", "on", ">pw", "~*", "+@read")
	mustConverge(t, c)
	var conns []*rawConn
	for _, n := range c.Nodes {
		conn := mustDial(t, n.ClientAddr)
		if r := mustDo(t, conn, "AUTH", "gone", "pw"); r.String() != "+OK" {
			t.Fatalf("AUTH gone on %s: %s", n.ID, r)
		}
		conns = append(conns, conn)
	}
	f := mustDial(t, followers(c, leader)[1].ClientAddr)
	if r := mustDo(t, f, "ACL", "DELUSER", "gone"); r.String() != ":1" {
		t.Fatalf("ACL DELUSER gone through a follower: exp 1, got %s", r)
	}
	// Each node closes them when it applies the entry: a follower may
	// still answer for a moment.
	for i, conn := range conns {
		conn.timeout = 5 * time.Second
		deadline := time.Now().Add(5 * time.Second)
		for {
			raw, err := conn.doStr("PING")
			if err != nil {
				break
			}
			if time.Now().After(deadline) {
				t.Errorf("%s: the deleted user's connection still answers %q; exp it closed", c.Nodes[i].ID, raw)
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	mustConverge(t, c)
	leader.Stop()
	next := mustNewLeader(t, c, leader)
	var want string
	for _, n := range c.Nodes {
		if n == leader {
			continue
		}
		conn := mustDial(t, n.ClientAddr)
		got := mustDo(t, conn, "ACL", "LIST").String()
		for deadline := time.Now().Add(10 * time.Second); strings.HasPrefix(got, "-TRYAGAIN") && time.Now().Before(deadline); {
			time.Sleep(100 * time.Millisecond) // the new leader opens its gate
			got = mustDo(t, conn, "ACL", "LIST").String()
		}
		if want == "" {
			want = got
		}
		if got != want || !strings.Contains(got, "user stays on") || strings.Contains(got, "gone") {
			t.Errorf("ACL LIST on %s after the leader change: exp %s with stays and without gone, got %s", n.ID, want, got)
		}
		mustDo(t, conn, "AUTH", "stays", "pw")
		if r := mustDo(t, conn, "RPUSH", "k", "v"); !strings.HasPrefix(r.String(), "-NOPERM") {
			t.Errorf("RPUSH as the read-only user on %s after the leader change (leader %s): got %s", n.ID, next.ID, r)
		}
		conn.Close()
	}
}

// TestACLChangesReachAFollowerThroughASnapshot: while a follower is paused,
// a user logged in on it is deleted, another's rules change and a third is
// made; the follower catches up only from a snapshot. It must close the
// deleted user's connection, enforce the new rules and digest equal.
func TestACLChangesReachAFollowerThroughASnapshot(t *testing.T) {
	c := mustStartSecretCluster(t, 3, "--trailing-logs", "2", "--snapshot-threshold", "4",
		"--heartbeat-timeout", "5s", "--election-timeout", "5s")
	leader := mustLeader(t, c)
	f := followers(c, leader)[0]
	conn := mustDial(t, leader.ClientAddr)
	mustDo(t, conn, "ACL", "SETUSER", "gone", "on", ">pw", "~*", "+@all")
	mustDo(t, conn, "ACL", "SETUSER", "stays", "on", ">pw", "~*", "+@read")
	mustConverge(t, c)
	goneConn := mustDial(t, f.ClientAddr)
	if r := mustDo(t, goneConn, "AUTH", "gone", "pw"); r.String() != "+OK" {
		t.Fatalf("AUTH gone on %s: %s", f.ID, r)
	}

	f.Pause()
	mustDo(t, conn, "ACL", "DELUSER", "gone")
	mustDo(t, conn, "ACL", "SETUSER", "stays", "-@all", "+llen")
	mustDo(t, conn, "ACL", "SETUSER", "late", "on", ">pw", "~*", "+@read")
	fillSendWindow(t, conn)
	for i := 0; i < 30; i++ {
		mustDo(t, conn, "RPUSH", "acl:filler", "x")
	}
	mustDo(t, conn, "AUTH", "raftlist-cluster", "test-cluster-secret") // RAFT SNAPSHOT needs node rights
	if got := mustDo(t, conn, "RAFT", "SNAPSHOT"); got.kind != '*' {
		t.Fatalf("RAFT SNAPSHOT on the leader: exp [index size ms], got %s", got)
	}
	f.Resume()
	if !waitLogged(f, "Installed remote snapshot", 15*time.Second) {
		t.Fatalf("%s never logged %q: the test did not exercise a snapshot install", f.ID, "Installed remote snapshot")
	}
	goneConn.timeout = 5 * time.Second
	if raw, err := goneConn.doStr("PING"); err == nil {
		t.Errorf("the deleted user's connection on %s answered %q after the snapshot install; exp it closed", f.ID, raw)
	}
	fc := mustDial(t, f.ClientAddr)
	if r := mustDo(t, fc, "AUTH", "late", "pw"); r.String() != "+OK" {
		t.Errorf("AUTH late (made while %s was paused): exp OK, got %s", f.ID, r)
	}
	mustDo(t, fc, "AUTH", "stays", "pw")
	if r := mustDo(t, fc, "LRANGE", "acl:filler", "0", "0"); r.String() != "-NOPERM this user has no permissions to run the 'lrange' command" {
		t.Errorf("LRANGE as stays (now -@all +llen) on %s: got %s", f.ID, r)
	}
	if r := mustDo(t, fc, "LLEN", "acl:filler"); r.String() != ":30" {
		t.Errorf("LLEN as stays on %s: exp :30, got %s", f.ID, r)
	}
	mustConverge(t, c)
}
