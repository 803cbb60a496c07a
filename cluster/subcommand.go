package cluster

import "github.com/raftlist/raftlist/fsm"

// subcommand is one entry of a container command (CLIENT, COMMAND, RAFT).
// Arity counts the container's name too, as Redis's subcommand table does.
type subcommand struct {
	name  string
	arity int
	run   func(s *Server, r *request) fsm.Reply
}

// runSubcommand dispatches args[1] among subs with Redis's errors for an
// unknown subcommand and for a known one with the wrong arity.
func runSubcommand(container string, subs []subcommand, s *Server, r *request) fsm.Reply {
	for _, sc := range subs {
		if !isWord(r.args[1], sc.name) {
			continue
		}
		spec := fsm.Spec{Name: container + "|" + sc.name, Arity: sc.arity}
		if err := spec.CheckArity(r.args); err != nil {
			return err.(fsm.Error)
		}
		return sc.run(s, r)
	}
	return fsm.ErrUnknownSubcommand(r.args[0], r.args[1])
}
