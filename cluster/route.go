package cluster

import (
	"strconv"
	"strings"

	"github.com/raftlist/raftlist/fsm"
	"github.com/raftlist/raftlist/fsm/resp"
)

// How the front door serves a command is declared once, in the command's
// row: its Flags and Door (fsm/resp/spec.go), in fsm's table for data
// commands and in connCommands for the rest, plus the subcommand rows of
// containers. route reads the rows and nothing else; execute and the
// pipeline's grouping both ask it, so they cannot disagree, and no list of
// names says what a command is.

// how is route's decision for one request.
type how uint8

const (
	refuse       how = iota // answered with route's error; never reaches the log
	runHere                 // a Local command: the front door runs it
	queue                   // inside MULTI: queued for EXEC
	propose                 // a write; consecutive writes share one entry
	proposeAlone            // a blocking command: proposed by itself, it may park the client
	readBarrier             // a read behind the read barrier; consecutive reads share one
	readLocal               // a READONLY connection's read: local state at once
)

// routing is route's answer.
type routing struct {
	how how
	// r is the request to serve: for a forwarding hop, the command it
	// carries.
	r *request
	// run runs a runHere command. For a queued command it is what runs it
	// at EXEC in the front door; nil means the state machine runs it.
	run func(*Server, *request) resp.Reply
	// spec is the command's row (nil only for an unknown command).
	spec *resp.Spec
	err  resp.Error // why, for refuse
	// ranInRedis marks a refusal Redis makes only once the command runs
	// (bad arguments), not before (processCommand): MONITOR shows it.
	ranInRedis bool
}

// route decides how r is served. It has no effects, so the pipeline can
// ask before it decides what to group.
func (s *Server) route(r *request) routing {
	if err := s.gate(r.c, r.args); err != nil {
		return routing{how: refuse, r: r, err: err.(resp.Error)}
	}
	if r.c.mon != nil && !r.forwarded && r.c.monitoring.Load() {
		if sp, _ := findCommand(r.args[0]); sp != nil && sp.CheckArity(r.args) == nil && sp.Flags&(resp.Write|resp.ReadOnly) != 0 {
			return refused(r, errMonitorKeyspace)
		}
	}
	if r.c.tx != nil && !r.forwarded {
		return routeInMulti(r)
	}
	if isForwardHop(r.args) && !r.forwarded {
		inner, err := forwardedRequest(r)
		if err != "" {
			return routing{how: refuse, r: r, err: err}
		}
		return s.route(inner)
	}
	sp, cc := findCommand(r.args[0])
	switch {
	case sp == nil:
		return refused(r, resp.ErrUnknownCommand(r.args))
	case r.forwarded && (isName(r.args[0], "raft") && len(r.args) > 1 && isHopForward(r.args[1])):
		return refused(r, resp.ErrNotForwardable) // one hop
	case r.forwarded && sp.IsLocal() && (cc == nil || !cc.forwardable):
		// It would act on the forwarding connection, not the client's.
		return refused(r, resp.ErrNotForwardable)
	case sp.IsLocal():
		if err := sp.CheckArity(r.args); err != nil {
			return refused(r, err.(resp.Error))
		}
		return routing{how: runHere, r: r, run: runnerOf(cc), spec: sp}
	}
	if _, err := fsm.Validate(r.args); err != nil {
		rt := refused(r, errorReply(err))
		// Redis runs the command and it fails: MONITOR shows it (an
		// arity error Redis refuses before, and hides).
		rt.ranInRedis = sp.CheckArity(r.args) == nil
		return rt
	}
	return routing{how: byFlags(sp, r.args, r.forwarded, r.c.readonly.Load()), r: r, spec: sp}
}

// byFlags is the route of a valid state machine command, from its flags:
// a blocking command is proposed alone (it may park the client) unless a
// follower already forwarded it; any other write is proposed, unless its
// row says these arguments write nothing (WritesWith: SORT without
// STORE); a read waits for the read barrier unless the client asked for
// local reads (READONLY).
func byFlags(sp *resp.Spec, args [][]byte, forwarded, readonly bool) how {
	switch {
	case sp.Flags&resp.Blocking != 0 && !forwarded:
		return proposeAlone
	case sp.Flags&resp.Write != 0 && (sp.WritesWith == nil || sp.WritesWith(args)):
		return propose
	case readonly && !forwarded:
		return readLocal
	}
	return readBarrier
}

// routeInMulti is Redis's processCommand inside MULTI: first the checks
// that refuse a command at queue time (and flag the transaction), then
// the LocalAtOnce commands run at once, and everything else is queued.
func routeInMulti(r *request) routing {
	sp, cc := findCommand(r.args[0])
	if sp == nil {
		return refused(r, absentInMulti(r.args))
	}
	if err := checkDeclared(sp, cc, r.args); err != "" {
		return refused(r, err)
	}
	switch {
	case sp.Flags&resp.NoMulti != 0:
		return refused(r, resp.ErrNotInMulti)
	case sp.Door == resp.LocalAtOnce:
		return routing{how: runHere, r: r, run: runnerOf(cc), spec: sp}
	}
	rt := routing{how: queue, r: r, spec: sp}
	if cc != nil {
		rt.run = cc.run
	}
	return rt
}

// noMultiAbsent are Redis's no-multi commands raftlist does not have, by
// arity: inside MULTI Redis refuses them as not allowed in a transaction
// (after its arity check), which clients and Redis's own tests expect.
var noMultiAbsent = map[string]int{"save": 1, "shutdown": -1, "sync": 1, "psync": -3}

// absentInMulti is the refusal of a command raftlist does not have, inside
// MULTI.
func absentInMulti(args [][]byte) resp.Error {
	name := strings.ToLower(string(args[0]))
	arity, ok := noMultiAbsent[name]
	switch {
	case !ok:
		return resp.ErrUnknownCommand(args)
	case arity > 0 && len(args) != arity, arity < 0 && len(args) < -arity:
		return resp.ErrWrongArity(name)
	}
	return resp.ErrNotInMulti
}

// checkDeclared checks what Redis checks from a command's table entry
// before anything else (arity, and a known subcommand of the right arity
// for a container whose subcommands are declared), or "".
func checkDeclared(sp *resp.Spec, cc *connCommand, args [][]byte) resp.Error {
	if err := sp.CheckArity(args); err != nil {
		return err.(resp.Error)
	}
	if cc != nil && cc.subs != nil && len(args) > 1 {
		if _, err := findSubcommand(cc.Name, cc.subs, args); err != nil {
			return err.(resp.Error)
		}
	}
	if c := fsm.Lookup(args[0]); cc == nil && c != nil && c.CheckSubcommand != nil {
		if err := c.CheckSubcommand(args); err != nil {
			return err.(resp.Error)
		}
	}
	return ""
}

func refused(r *request, err resp.Error) routing {
	return routing{how: refuse, r: r, err: err}
}

// findCommand finds a command's row: the front door's table first, then
// the state machine's. cc is nil for a state machine command.
func findCommand(name []byte) (sp *resp.Spec, cc *connCommand) {
	if cc := lookupConnCommand(name); cc != nil {
		return &cc.Spec, cc
	}
	if c := fsm.Lookup(name); c != nil {
		return &c.Spec, nil
	}
	return nil, nil
}

// runnerOf is what runs a Local command: its front-door function, or for
// one of the state machine's (SELECT, PING, ECHO) the state machine's own
// row, on the client's database.
func runnerOf(cc *connCommand) func(*Server, *request) resp.Reply {
	if cc != nil {
		return cc.run
	}
	return runInMachine
}

// runInMachine runs a Local command of the state machine's table for the
// connection: the same function EXEC and scripts run, without state.
func runInMachine(s *Server, r *request) resp.Reply {
	reply, db := fsm.RunLocal(int(r.c.db.Load()), s.node.NowMicro(), r.args)
	r.c.db.Store(int64(db))
	return reply
}

// forwardedRequest is the command a forwarding hop carries:
// RAFT FORWARD[3] db owner seq command [arg ...]. The follower names the
// request, so a waiter it creates belongs to the follower, which holds the
// client and answers it when it applies the entry that serves it.
func forwardedRequest(r *request) (*request, resp.Error) {
	db, err := strconv.Atoi(string(r.args[2]))
	if err != nil || db < 0 || db >= fsm.NumDBs {
		return nil, resp.ErrInvalidDB
	}
	seq, err := strconv.ParseUint(string(r.args[4]), 10, 64)
	if err != nil {
		return nil, resp.ErrNotInteger
	}
	return &request{c: r.c, db: db, args: r.args[5:], owner: string(r.args[3]), seq: seq,
		forwarded: true, hopProto: hopProtocol(r.args[1]), received: r.received, arrived: r.arrived}, ""
}
