package cluster

import (
	"strings"
	"testing"

	"github.com/raftlist/raftlist/fsm"
	"github.com/raftlist/raftlist/fsm/resp"
)

// The route a command gets is read from its row alone, so a row with a
// wrong flag or door is a wrong route. These tests walk both tables and
// check every row against what its declaration promises: a new row that
// lies fails here, before any client sees it.

// routeSamples are arguments that pass validation for commands that the
// generic fillers (routeFillers) cannot satisfy. A new command that
// neither routes needs a sample here.
var routeSamples = map[string][]string{
	"lmove":      {"lmove", "a", "b", "LEFT", "RIGHT"},
	"blmove":     {"blmove", "a", "b", "LEFT", "RIGHT", "0"},
	"lmpop":      {"lmpop", "1", "a", "LEFT"},
	"blmpop":     {"blmpop", "0", "1", "a", "LEFT"},
	"linsert":    {"linsert", "a", "BEFORE", "p", "e"},
	"eval":       {"eval", "return 1", "0"},
	"eval_ro":    {"eval_ro", "return 1", "0"},
	"evalsha":    {"evalsha", "0123456789012345678901234567890123456789", "0"},
	"evalsha_ro": {"evalsha_ro", "0123456789012345678901234567890123456789", "0"},
	"script":     {"script", "flush"},
	"function":   {"function", "flush"},
	"fcall":      {"fcall", "f", "0"},
	"fcall_ro":   {"fcall_ro", "f", "0"},
	"scan":       {"scan", "0"},
	"object":     {"object", "help"},
}

var routeFillers = []string{"0", "x", "1"}

// routeArgs returns arguments of the least arity a command takes, filled
// with filler (or its sample).
func routeArgs(sp *resp.Spec, filler string) [][]byte {
	if s, ok := routeSamples[sp.Name]; ok {
		return toArgs(s)
	}
	n := sp.Arity
	if n < 0 {
		n = -n
	}
	args := []string{sp.Name}
	for len(args) < n {
		args = append(args, filler)
	}
	return toArgs(args)
}

func toArgs(ss []string) [][]byte {
	out := make([][]byte, len(ss))
	for i, s := range ss {
		out[i] = []byte(s)
	}
	return out
}

func clusterClient() *client {
	c := &client{}
	c.auth.Store(int32(authCluster))
	return c
}

// routed routes sp's command on c with the first filler that passes
// validation, or reports that none did.
func routed(s *Server, c *client, sp *resp.Spec, forwarded bool) (routing, bool) {
	var rt routing
	for _, f := range routeFillers {
		rt = s.route(&request{c: c, args: routeArgs(sp, f), forwarded: forwarded})
		if rt.how != refuse {
			return rt, true
		}
	}
	return rt, false
}

func TestEveryCommandIsDeclaredOnce(t *testing.T) {
	for _, c := range fsm.Commands() {
		if lookupConnCommand([]byte(c.Name)) != nil {
			t.Errorf("%s: exp one row, got one in fsm's table and one in connCommands", c.Name)
		}
	}
}

func TestStateMachineRowsRouteByTheirFlags(t *testing.T) {
	s := &Server{}
	for _, c := range fsm.Commands() {
		sp := &c.Spec
		t.Run(sp.Name, func(t *testing.T) {
			if sp.Door == resp.LocalAtOnce {
				t.Fatalf("exp door ByFlags or Local, got LocalAtOnce: only the front door's MULTI-family commands run at once")
			}
			if sp.Flags&resp.Internal != 0 {
				t.Errorf("exp no Internal flag on a state machine command: a user could reach it by EVAL")
			}
			if sp.IsLocal() {
				checkLocalStateMachineRow(t, s, sp)
				return
			}
			write, read := sp.Flags&resp.Write != 0, sp.Flags&resp.ReadOnly != 0
			if write == read {
				t.Fatalf("exp exactly one of write and readonly, got write=%v readonly=%v: the route follows from it", write, read)
			}
			if write && sp.WritesWith != nil && !sp.WritesWith(routeArgs(sp, "0")) {
				// A write row whose sample writes nothing (SORT without
				// STORE) is served as a read: TestWritesWithRoutesAsARead.
				write, read = false, true
			}
			if sp.Flags&resp.Blocking != 0 && !write {
				t.Fatalf("exp a blocking command to be a write: serving a waiter pops through the log")
			}
			for _, tc := range []struct {
				name                string
				forwarded, readonly bool
			}{{"from a client", false, false}, {"forwarded", true, false}, {"on a READONLY connection", false, true}, {"forwarded on a READONLY connection", true, true}} {
				c := clusterClient()
				c.readonly.Store(tc.readonly)
				rt, ok := routed(s, c, sp, tc.forwarded)
				if !ok {
					t.Fatalf("%s: exp some arguments to pass validation (add a routeSample), got %s", tc.name, rt.err)
				}
				want := propose
				switch {
				case sp.Flags&resp.Blocking != 0 && !tc.forwarded:
					want = proposeAlone
				case read && tc.readonly && !tc.forwarded:
					want = readLocal
				case read:
					want = readBarrier
				}
				if rt.how != want {
					t.Errorf("%s: exp route %d, got %d", tc.name, want, rt.how)
				}
				if rt.r.forwarded != tc.forwarded {
					t.Errorf("%s: the forwarded mark was lost", tc.name)
				}
			}
		})
	}
}

// checkLocalStateMachineRow: a Local row of the state machine's table
// runs at the front door without state (RunLocal), is never forwarded, is
// queued in MULTI for the state machine, and reads no state.
func checkLocalStateMachineRow(t *testing.T, s *Server, sp *resp.Spec) {
	t.Helper()
	if sp.Flags&(resp.Write|resp.Blocking|resp.ReadOnly) != 0 {
		t.Fatalf("exp a Local row to be neither write, readonly nor blocking: it never reaches the log or the barrier")
	}
	rt, ok := routed(s, clusterClient(), sp, false)
	if !ok || rt.how != runHere {
		t.Fatalf("exp runHere, got %d (%s)", rt.how, rt.err)
	}
	for _, f := range routeFillers {
		// Runs with no state at all: a Local row that read state would
		// panic here rather than on a node.
		fsm.RunLocal(0, 0, routeArgs(sp, f))
	}
	if rt, _ := routed(s, clusterClient(), sp, true); rt.how != refuse || rt.err != resp.ErrNotForwardable {
		t.Errorf("forwarded: exp %q, got route %d (%s)", resp.ErrNotForwardable, rt.how, rt.err)
	}
	c := clusterClient()
	c.tx = &txState{}
	if rt := s.route(&request{c: c, args: routeArgs(sp, "0")}); rt.how != queue || rt.run != nil {
		t.Errorf("in MULTI: exp queued for the state machine, got route %d (front door: %v)", rt.how, rt.run != nil)
	}
}

// A write row that says its arguments write nothing (SORT without STORE)
// is served as a read; with STORE it is proposed.
func TestWritesWithRoutesAsARead(t *testing.T) {
	sp, _ := findCommand([]byte("sort"))
	for _, tc := range []struct {
		args []string
		want how
	}{
		{[]string{"sort", "k"}, readBarrier},
		{[]string{"sort", "k", "BY", "store", "GET", "store", "LIMIT", "0", "1", "DESC", "ALPHA"}, readBarrier},
		{[]string{"sort", "k", "STORE", "d"}, propose},
		{[]string{"sort", "k", "by", "x", "store", "d"}, propose},
	} {
		if got := byFlags(sp, toArgs(tc.args), false, false); got != tc.want {
			t.Errorf("%q: exp route %d, got %d", tc.args, tc.want, got)
		}
	}
}

func TestConnectionRowsRunAtTheFrontDoor(t *testing.T) {
	s := &Server{}
	// Redis's processCommand runs these at once inside MULTI; every other
	// command is queued or refused.
	atOnce := map[string]bool{"multi": true, "exec": true, "discard": true, "watch": true, "quit": true, "reset": true}
	for name, cc := range connCommands {
		t.Run(name, func(t *testing.T) {
			if !cc.IsLocal() {
				t.Fatalf("exp door Local or LocalAtOnce, got %d", cc.Door)
			}
			if cc.Flags&(resp.Write|resp.Blocking|resp.ReadOnly) != 0 {
				t.Errorf("exp no write, readonly or blocking flag: the front door never proposes it")
			}
			if (cc.Door == resp.LocalAtOnce) != atOnce[name] {
				t.Errorf("exp LocalAtOnce=%v (Redis's processCommand), got door %d", atOnce[name], cc.Door)
			}
			args := routeArgs(&cc.Spec, "0")
			if len(cc.subs) > 0 {
				// A container with declared subcommands: its first one,
				// with as many arguments as it takes.
				sub := cc.subs[0]
				args = routeArgs(&resp.Spec{Name: name, Arity: sub.arity}, "0")
				args[1] = []byte(sub.name)
			}
			if rt := s.route(&request{c: clusterClient(), args: args}); rt.how != runHere || rt.run == nil {
				t.Errorf("%q: exp runHere, got route %d (%s)", args, rt.how, rt.err)
			}
			rt := s.route(&request{c: clusterClient(), args: args, forwarded: true})
			if cc.forwardable != (rt.how == runHere) {
				t.Errorf("forwarded %q: exp runHere=%v, got route %d (%s)", args, cc.forwardable, rt.how, rt.err)
			}
			c := clusterClient()
			c.tx = &txState{}
			rt = s.route(&request{c: c, args: args})
			switch {
			case cc.Flags&resp.NoMulti != 0:
				if rt.how != refuse {
					t.Errorf("in MULTI: exp refused (no_multi), got route %d", rt.how)
				}
			case atOnce[name]:
				if rt.how != runHere {
					t.Errorf("in MULTI: exp run at once, got route %d", rt.how)
				}
			default:
				if rt.how != queue || rt.run == nil {
					t.Errorf("in MULTI: exp queued for the front door, got route %d", rt.how)
				}
			}
		})
	}
}

// Internal subcommands are the cluster's own: a user gets NOPERM for
// them, whatever the arity, and they never run for a user.
func TestInternalSubcommandsAreRefusedToUsers(t *testing.T) {
	s := &Server{}
	user := &client{}
	user.auth.Store(int32(authUser))
	internal := 0
	for name, cc := range connCommands {
		for _, sc := range cc.subs {
			if sc.run == nil {
				t.Errorf("%s|%s: exp a function, got nil", name, sc.name)
			}
			args := [][]byte{[]byte(strings.ToUpper(name)), []byte(strings.ToUpper(sc.name))}
			rt := s.route(&request{c: user, args: args})
			isNoPerm := rt.how == refuse && strings.HasPrefix(string(rt.err), "NOPERM")
			if isNoPerm != (sc.flags&resp.Internal != 0) {
				t.Errorf("%s|%s for a user: exp NOPERM=%v, got route %d (%s)", name, sc.name, sc.flags&resp.Internal != 0, rt.how, rt.err)
			}
			if sc.flags&resp.Internal != 0 {
				internal++
			}
		}
	}
	if internal == 0 {
		t.Fatalf("exp some Internal subcommands (RAFT FORWARD), got none")
	}
	for _, sub := range []string{"forward", "exec", "addnode", "unblock", "ack"} {
		if sc := subcommandNamed(raftSubcommands, []byte(sub)); sc == nil || sc.flags&resp.Internal == 0 {
			t.Errorf("raft|%s: exp Internal", sub)
		}
	}
}

// A forwarding hop is routed as the command it carries, once: a write
// joins a run of writes on the leader, a hop inside a hop is refused, and
// a Local command never runs for the forwarding connection.
func TestForwardHopIsRoutedAsItsCommand(t *testing.T) {
	s := &Server{}
	hop := func(cmd ...string) [][]byte {
		return toArgs(append([]string{"RAFT", "FORWARD", "3", "node2/x", "7"}, cmd...))
	}
	for _, tc := range []struct {
		args [][]byte
		want how
		err  resp.Error
	}{
		{hop("RPUSH", "k", "v"), propose, ""},
		{hop("BLPOP", "k", "0"), propose, ""},
		{hop("LRANGE", "k", "0", "-1"), readBarrier, ""},
		{hop("SELECT", "1"), refuse, resp.ErrNotForwardable},
		{hop("CLIENT", "ID"), refuse, resp.ErrNotForwardable},
		{hop("MULTI"), refuse, resp.ErrNotForwardable},
		{hop("RAFT", "FORWARD", "0", "o", "1", "RPUSH", "k", "v"), refuse, resp.ErrNotForwardable},
		{toArgs([]string{"RAFT", "FORWARD", "16", "o", "1", "RPUSH", "k", "v"}), refuse, resp.ErrInvalidDB},
		{toArgs([]string{"RAFT", "FORWARD", "0", "o", "x", "RPUSH", "k", "v"}), refuse, resp.ErrNotInteger},
	} {
		rt := s.route(&request{c: clusterClient(), args: tc.args})
		if rt.how != tc.want || rt.err != tc.err {
			t.Errorf("%q: exp route %d %q, got %d %q", tc.args, tc.want, tc.err, rt.how, rt.err)
			continue
		}
		if rt.how != refuse && (!rt.r.forwarded || rt.r.db != 3 || rt.r.owner != "node2/x" || rt.r.seq != 7) {
			t.Errorf("%q: exp the hop's db, owner and seq on the request, got %+v", tc.args, rt.r)
		}
		kind, r := s.classify(clusterClient(), tc.args)
		wantKind := map[how]runKind{propose: runWrite, readBarrier: runRead}[tc.want]
		if kind != wantKind || (kind != runAlone && !r.forwarded) {
			t.Errorf("%q: classify exp kind %d, got %d", tc.args, wantKind, kind)
		}
	}
}

// FUNCTION is one write row, but the subcommands it declares read-only
// (LIST, DUMP, STATS, ...) are routed as reads: served behind the read
// barrier on any node, never through the log.
func TestFunctionReadSubcommandsRouteAsReads(t *testing.T) {
	s := &Server{}
	for _, tc := range []struct {
		args []string
		want how
	}{
		{[]string{"function", "list"}, readBarrier}, {[]string{"FUNCTION", "Dump"}, readBarrier},
		{[]string{"function", "stats"}, readBarrier}, {[]string{"function", "list", "withcode"}, readBarrier},
		{[]string{"function", "flush"}, propose}, {[]string{"function", "delete", "x"}, propose},
		{[]string{"function", "load", "#!lua name=x\nredis.register_function('f', function() end)"}, propose},
	} {
		if rt := s.route(&request{c: clusterClient(), args: toArgs(tc.args)}); rt.how != tc.want {
			t.Errorf("%q: exp route %d, got %d (%s)", tc.args, tc.want, rt.how, rt.err)
		}
	}
}
