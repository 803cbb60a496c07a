package tests

import "testing"

// SELECT, PING and ECHO are answered by the front door outside MULTI and
// by the state machine inside EXEC; both must give redis-server's bytes,
// on the leader and on a follower (whose EXEC is forwarded), including
// the errors Redis refuses at queue time (arity) and those it gives only
// at EXEC (a bad database).
var connCommandScripts = [][]string{
	{"SELECT 2147483648", "SELECT 99", "SELECT -1", "SELECT abc", "SELECT 1", "SELECT 0"},
	{"PING a b", "PING", "PING x", "ECHO", "ECHO a b", "ECHO x"},
	// Inside MULTI: queued, then answered in EXEC's array.
	{"MULTI", "SELECT 2147483648", "SELECT 99", "SELECT -1", "SELECT abc", "PING", "PING x", "ECHO x", "EXEC"},
	// Arity errors are refused at queue time and abort the transaction.
	{"MULTI", "PING a b", "PING", "EXEC"},
	{"MULTI", "ECHO", "EXEC"},
	{"MULTI", "ECHO a b", "ECHO x", "EXEC"},
	{"MULTI", "SELECT", "EXEC"},
	// The same, pipelined.
	{"MULTI|SELECT 2147483648|SELECT 99|PING a b|PING|ECHO|EXEC"},
	{"MULTI|SELECT abc|SELECT -1|PING x|ECHO a|EXEC"},
	// A good SELECT inside EXEC switches the database for the commands
	// after it and for the connection afterwards; a bad one does not.
	{"DEL connsk", "SELECT 1", "DEL connsk", "SELECT 0",
		"MULTI", "SELECT 1", "RPUSH connsk a", "SELECT 99", "RPUSH connsk b", "EXEC",
		"LLEN connsk", "SELECT 0", "LLEN connsk", "SELECT 1", "DEL connsk"},
}

// runAuthScript (auth_test.go) runs each script step as a pipeline on a
// fresh connection; it changes no reply but HELLO's.
func TestSelectPingEchoMatchRedisInAndOutOfMulti(t *testing.T) {
	rds := mustStartRedis(t)
	c := mustStartCluster(t, 3)
	leader := mustLeader(t, c)
	for si, script := range connCommandScripts {
		cmds, want := runAuthScript(t, rds.Addr, script)
		for _, n := range c.Nodes {
			role := "follower"
			if n == leader {
				role = "leader"
			}
			_, got := runAuthScript(t, n.ClientAddr, script)
			for i := range want {
				if got[i] != want[i] {
					t.Errorf("script %d, %s on %s (%s): exp %q (redis-server), got %q", si, cmds[i], n.ID, role, want[i], got[i])
				}
			}
		}
	}
	mustConverge(t, c)
}
