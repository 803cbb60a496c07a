package tests

import (
	"bytes"
	"strings"
	"testing"
)

// Every command raftlist has, sent inside MULTI and called from a script
// with as many arguments as its arity asks, is refused (or not) with
// redis-server 7.0.15's words, through the leader and through a follower
// (issue 17: "Errors for commands refused in MULTI and in scripts as
// Redis words them"). Only refusals are compared: what a command answers
// when it runs depends on the data and is the differential test's.
func TestMultiAndScriptRefusalsMatchRedis(t *testing.T) {
	ref := mustStartRedis(t)
	c := mustStartCluster(t, 3)
	leader := mustLeader(t, c)
	fol := followers(c, leader)[0]
	rc := mustDial(t, ref.Addr)
	defer rc.Close()

	// Known differences, in the README's table.
	differs := map[string]string{
		"debug":     "MULTI: raftlist has DEBUG DIGEST on (Redis's enable-debug-command is off by default)",
		"command":   "script: front-door commands cannot run inside the state machine",
		"info":      "script: front-door commands cannot run inside the state machine",
		"readonly":  "script: front-door commands cannot run inside the state machine",
		"readwrite": "script: front-door commands cannot run inside the state machine",
		"memory":    "MEMORY's subcommands are not declared as rows",
	}
	// RAFT is raftlist's own; QUIT, RESET and the transaction commands
	// change the connection the test runs on.
	skip := map[string]bool{"raft": true, "quit": true, "reset": true, "multi": true, "exec": true, "discard": true, "shutdown": true}

	lc := mustDial(t, leader.ClientAddr)
	defer lc.Close()
	cmds := mustDo(t, lc, "COMMAND")
	n := 0
	for _, node := range []struct{ role, addr string }{{"leader", leader.ClientAddr}, {"follower", fol.ClientAddr}} {
		cn := mustDial(t, node.addr)
		defer cn.Close()
		for _, e := range cmds.elems {
			name := string(e.elems[0].str)
			if skip[name] || differs[name] != "" {
				continue
			}
			args := []string{name}
			for i := 1; i < int(max(e.elems[1].n, -e.elems[1].n)); i++ {
				args = append(args, "refusal:x")
			}
			for _, form := range []string{"multi", "script"} {
				want, got := refusalOf(t, rc, form, args), refusalOf(t, cn, form, args)
				if (want[0] == '-' || got[0] == '-') && !bytes.Equal(want, got) {
					t.Errorf("%s, %s %q: exp %q (redis-server), got %q", node.role, form, args, want, got)
				}
				n++
			}
		}
	}
	t.Logf("%d refusals compared; not compared: %v", n, differs)
}

// refusalOf is what args answer when queued in MULTI (then discarded) or
// called from a script with redis.pcall.
func refusalOf(t *testing.T, c *rawConn, form string, args []string) []byte {
	t.Helper()
	if form == "multi" {
		mustDo(t, c, "MULTI")
		raw, err := c.doStr(args...)
		if err != nil {
			t.Fatalf("%q in MULTI: %v", args, err)
		}
		mustDo(t, c, "DISCARD")
		return raw
	}
	quoted := make([]string, len(args))
	for i, a := range args {
		quoted[i] = "'" + a + "'"
	}
	raw, err := c.doStr("EVAL", "return redis.pcall("+strings.Join(quoted, ",")+")", "0")
	if err != nil {
		t.Fatalf("%q from a script: %v", args, err)
	}
	return raw
}
