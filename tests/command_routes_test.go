package tests

import (
	"sort"
	"strings"
	"testing"
)

// The front door routes every command by its row's flags (fsm/resp
// Spec): write → through the log, readonly → behind the read barrier,
// blocking → alone, no_multi → refused in MULTI, no_auth → before AUTH.
// A row with a wrong flag is a wrong route, so every row's routing flags
// are compared with redis-server's own for the same command, and every
// command is sent inside MULTI to both: what Redis queues we queue, what
// it refuses we refuse, with the same bytes.

// routeFlags are the flags that decide a route.
var routeFlags = []string{"write", "readonly", "blocking", "no_multi", "no_auth", "noscript"}

// routeFlagExceptions are raftlist's deliberate departures, with why.
var routeFlagExceptions = map[string]string{
	// Redis 7 flags scripts by their shebang, not the command; raftlist
	// writes every EVAL/EVALSHA and SCRIPT through the log (DESIGN.md:
	// the script cache is replicated state).
	"eval":    "scripts always go through the log",
	"evalsha": "scripts always go through the log",
	"script":  "the script cache is replicated state",
	// Function libraries are replicated state like the script cache:
	// FCALL and every FUNCTION subcommand go through the log.
	"fcall":    "functions always go through the log, like EVAL",
	"function": "the libraries are replicated state: one write row (its read subcommands routed as reads)",
	"fcall_ro": "Redis flags functions by their flags, not the command",
	// EVAL_RO/EVALSHA_RO are reads in both, but Redis 7.0 does not flag
	// them readonly either.
	"eval_ro":    "Redis flags scripts by their shebang",
	"evalsha_ro": "Redis flags scripts by their shebang",
	// One row answers OBJECT's subcommands; readonly as Redis flags the
	// ones that take a key (the container has no flags in Redis).
	"object": "one readonly row for OBJECT's subcommands",
}

// multiArgs are arguments that make a command valid at queue time in both
// servers (containers need a subcommand both know).
var multiArgs = map[string][]string{
	"client":   {"CLIENT", "ID"},
	"command":  {"COMMAND", "COUNT"},
	"config":   {"CONFIG", "HELP"},
	"memory":   {"MEMORY", "PURGE"},
	"script":   {"SCRIPT", "FLUSH"},
	"function": {"FUNCTION", "FLUSH"},
}

// multiSkip are commands not sent inside MULTI, with why.
var multiSkip = map[string]string{
	"quit":  "closes the connection",
	"debug": "redis-server refuses DEBUG unless started with enable-debug-command",
	"raft":  "not a Redis command",
}

func TestEveryCommandRoutesAsRedisDeclaresIt(t *testing.T) {
	rds := mustStartRedis(t)
	c := mustStartCluster(t, 3)
	leader := mustLeader(t, c)
	node := mustDial(t, leader.ClientAddr)
	redis := mustDial(t, rds.Addr)
	var conns []*rawConn
	for _, n := range c.Nodes {
		conns = append(conns, mustDial(t, n.ClientAddr))
	}
	list := mustDo(t, node, "COMMAND", "LIST")
	if len(list.elems) < 40 {
		t.Fatalf("COMMAND LIST: exp every command, got %d", len(list.elems))
	}
	var names []string
	for _, e := range list.elems {
		names = append(names, string(e.str))
	}
	sort.Strings(names)
	for _, name := range names {
		ours := mustDo(t, node, "COMMAND", "INFO", name).elems[0]
		theirs := mustDo(t, redis, "COMMAND", "INFO", name).elems[0]
		if theirs.null {
			continue // raftlist's own (RAFT)
		}
		if why, ok := routeFlagExceptions[name]; !ok {
			if o, r := routingFlagsOf(ours), routingFlagsOf(theirs); o != r {
				t.Errorf("%s: exp routing flags %s (redis-server), got %s", name, r, o)
			}
		} else {
			t.Logf("%s: flags not compared: %s", name, why)
		}
		if why, ok := multiSkip[name]; ok {
			t.Logf("%s: not sent inside MULTI: %s", name, why)
			continue
		}
		args := multiArgs[name]
		if args == nil {
			args = []string{strings.ToUpper(name)}
			for n := int(absInt(ours.elems[1].n)); len(args) < n; {
				args = append(args, "0")
			}
		}
		want := inMulti(t, redis, args)
		for i, conn := range conns {
			if got := inMulti(t, conn, args); got != want {
				t.Errorf("%q inside MULTI on %s: exp %q (redis-server), got %q", args, c.Nodes[i].ID, want, got)
			}
		}
	}
	mustConverge(t, c)
}

// routingFlagsOf lists a COMMAND INFO entry's routing flags in order.
func routingFlagsOf(info reply) string {
	have := map[string]bool{}
	for _, f := range info.elems[2].elems {
		have[string(f.str)] = true
	}
	var out []string
	for _, f := range routeFlags {
		if have[f] {
			out = append(out, f)
		}
	}
	return "[" + strings.Join(out, " ") + "]"
}

// inMulti sends args between MULTI and DISCARD and returns its reply and
// DISCARD's (EXEC and DISCARD end the transaction themselves).
func inMulti(t *testing.T, c *rawConn, args []string) string {
	t.Helper()
	raws, err := c.pipeline([][][]byte{bargs("MULTI"), bargs(args...), bargs("DISCARD")})
	if err != nil {
		t.Fatalf("MULTI %q on %s: %v", args, c.addr, err)
	}
	return string(raws[1]) + " then " + string(raws[2])
}

func absInt(n int64) int64 {
	if n < 0 {
		return -n
	}
	return n
}
