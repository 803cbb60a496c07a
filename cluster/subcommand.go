package cluster

import (
	"github.com/raftlist/raftlist/fsm/resp"
)

// subcommand is one entry of a container command (CLIENT, COMMAND, RAFT).
// Arity counts the container's name too, as Redis's subcommand table does.
// Flags route it as a command's do; only Internal is read (NOPERM for a
// user, auth.go).
type subcommand struct {
	name  string
	arity int
	run   func(s *Server, r *request) resp.Reply
	flags resp.Flags
}

// runSubcommand dispatches args[1] among subs with Redis's errors for an
// unknown subcommand and for a known one with the wrong arity.
func runSubcommand(container string, subs []subcommand, s *Server, r *request) resp.Reply {
	sc, err := findSubcommand(container, subs, r.args)
	if err != nil {
		return err
	}
	return sc.run(s, r)
}

// findSubcommand looks args[1] up among subs and checks its arity; the
// error is the reply Redis gives, also when it refuses to queue the command
// inside MULTI.
func findSubcommand(container string, subs []subcommand, args [][]byte) (*subcommand, resp.Reply) {
	sc := subcommandNamed(subs, args[1])
	if sc == nil {
		return nil, resp.ErrUnknownSubcommand(args[0], args[1])
	}
	spec := resp.Spec{Name: container + "|" + sc.name, Arity: sc.arity}
	if err := spec.CheckArity(args); err != nil {
		return nil, err.(resp.Error)
	}
	return sc, nil
}

// subcommandNamed finds name among subs in any case, or nil.
func subcommandNamed(subs []subcommand, name []byte) *subcommand {
	for i := range subs {
		if isName(name, subs[i].name) {
			return &subs[i]
		}
	}
	return nil
}
