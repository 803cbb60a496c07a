package cluster

import (
	"bytes"
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/raftlist/raftlist/third_party/redcon"

	"github.com/raftlist/raftlist/fsm"
	"github.com/raftlist/raftlist/fsm/resp"
	"github.com/raftlist/raftlist/raftnode"
)

// request is one command on its way through the node.
type request struct {
	c    *client
	db   int
	args [][]byte
	// owner and seq name the request in the log: they route the answers of
	// a blocked client to the node holding its connection.
	owner string
	seq   uint64
	// forwarded is set when a follower sent this request to us as leader;
	// a forwarded request is never forwarded again (one hop). hopProto is
	// then the protocol of the follower's client (RAFT FORWARD3, EXEC3),
	// which the reply is encoded in here, on the leader (hopReply).
	forwarded bool
	hopProto  int
	// received is when serving the command began; blocking timeouts count
	// from it.
	received time.Time
	// arrived is when its bytes reached this node, which orders its
	// proposal against other connections' (arrival.go).
	arrived time.Time
	// rejected is set when the command was refused before it ran (stats).
	rejected bool
	// resent is set once toLeader has sent the request a second time.
	resent bool
	// ranInTx are the commands an EXEC ran, for MONITOR (monitor.go);
	// queued marks a command queued in MULTI, shown only once EXEC ran it.
	ranInTx []shownCmd
	queued  bool
	// inExec marks a queued front-door command EXEC runs (Redis's
	// CLIENT_DENY_BLOCKING while EXEC runs).
	inExec bool
	// failedArgs marks a command refused for its arguments before the
	// log, which Redis would have run and failed (MONITOR shows it).
	failedArgs bool
}

// shownCmd is a command as MONITOR shows it: its database and arguments.
type shownCmd struct {
	db   int
	args [][]byte
}

// handle is redcon's callback, run in the connection's goroutine. It serves
// the command and the rest of the pipeline read with it (pipeline.go),
// blocking until each reply is known, which keeps replies in order.
func (s *Server) handle(conn redcon.Conn, cmd redcon.Command) {
	c := conn.Context().(*client)
	if c.closing || (!c.admitted && !s.admit(conn, c, cmd.Args)) {
		return
	}
	if !c.beginServing() { // CLIENT KILL came between two reads
		c.closing = true
		conn.Close()
		return
	}
	c.busy.Store(true)
	s.servePipeline(conn, cmd)
	s.arrivals.proposed(conn.NetConn())
	c.lastCmd.Store(time.Now().UnixNano()) // idle counts from the reply, as Redis's lastinteraction
	c.busy.Store(false)
	// Flushed before the client counts as idle: a kill of an idle client
	// closes its socket at once and must not lose the replies of commands
	// that ran (redcon would flush them only after this returns).
	conn.FlushWithin(0)
	if c.endServing() {
		// Killed while serving: the command it had started is answered,
		// as in Redis, where a kill runs between two commands.
		c.closing = true
		conn.Close()
	}
}

// execute serves one command the way route decides: refused, run here,
// queued in MULTI, written through the log or read linearizably.
func (s *Server) execute(r *request) resp.Reply {
	rt := s.route(r)
	if rt.how != propose && rt.how != proposeAlone {
		s.notProposing(r.c)
	}
	return hopReply(rt.r, s.executeRouted(rt))
}

// hopReply is the reply to r in the protocol it is owed in: a forwarded
// request's is encoded here in its client's protocol (the follower relays
// the bytes as they are); every other reply is encoded by the front door
// in its connection's (Server.reply).
func hopReply(r *request, reply resp.Reply) resp.Reply {
	if !r.forwarded || r.hopProto != resp.RESP3 {
		return reply
	}
	return resp.Raw(resp.AppendReply(nil, reply, resp.RESP3))
}

func (s *Server) executeRouted(rt routing) resp.Reply {
	switch rt.how {
	case refuse:
		rt.r.failedArgs = rt.ranInRedis
		return rejected(rt.r, rt.err)
	case runHere:
		return rt.run(s, rt.r)
	case queue:
		return s.queueInMulti(rt)
	case proposeAlone:
		return s.blockingWrite(rt.r)
	case propose:
		return s.write(rt.r)
	}
	return s.read(rt.r)
}

// write proposes the command and answers with its result once this node
// has applied the entry.
func (s *Server) write(r *request) resp.Reply {
	ctx, cancel := s.requestContext()
	defer cancel()
	if r.owner == "" {
		r.owner, r.seq = s.node.Owner(), s.node.NextSeq()
	}
	cmd := fsm.Cmd{DB: r.db, Owner: r.owner, Seq: r.seq, Args: r.args}
	res, err := s.node.Propose(s.withArrival(ctx, r), []fsm.Cmd{cmd})
	if errors.Is(err, raftnode.ErrNotLeader) {
		return s.toLeader(ctx, r, true)
	}
	if err != nil {
		return errorReply(err)
	}
	return res.Replies[0]
}

// read answers from local state: at once for READONLY connections,
// otherwise after a read barrier (follower_read.go).
func (s *Server) read(r *request) resp.Reply {
	if !r.c.readonly.Load() || r.forwarded {
		ctx, cancel := s.requestContext()
		defer cancel()
		err := s.readBarrier(ctx, r.forwarded)
		if errors.Is(err, raftnode.ErrNotLeader) {
			return s.toLeader(ctx, r, false)
		}
		if err != nil {
			return errorReply(err)
		}
	}
	return s.readLocal(r.db, r.args)
}

func (s *Server) readLocal(db int, args [][]byte) resp.Reply {
	var reply resp.Reply
	if err := s.node.Machine().View(func(st *fsm.State) { reply = st.Read(db, args) }); err != nil {
		return errorReply(err)
	}
	return reply
}

// toLeader sends a request this node cannot serve to the leader: a -MOVED
// redirect in redirect mode, otherwise one forwarding hop whose reply is
// relayed verbatim.
func (s *Server) toLeader(ctx context.Context, r *request, write bool) resp.Reply {
	tried := s.node.LeaderAddr()
	reply := s.forwardToLeader(ctx, r, write, s.forwardArgs(r))
	if r.forwarded || r.resent || !refusedUnapplied(reply) || !resendable(r) {
		return reply
	}
	// Nothing was applied and leadership may be moving (a hand-off, a
	// leader that stepped down): send it again once a leader other than
	// the one just tried is known, or after a pause to the same one (a new
	// leader refuses until its gate opens). Only this outermost call
	// loops; the sends inside it come back here resent.
	r.resent = true
	deadline := time.Now().Add(forwardRetryWait)
	for refusedUnapplied(reply) && s.awaitLeader(ctx, tried, deadline) {
		tried = s.node.LeaderAddr()
		if write {
			reply = s.write(r)
		} else {
			reply = s.read(r)
		}
	}
	return reply
}

// forwardArgs is RAFT FORWARD db owner seq command [arg ...] for r, naming
// it first if it has no name yet; RAFT FORWARD3 for a RESP3 client, so
// that the leader answers in RESP3 (requests of clients of both protocols
// share the upstream connections).
func (s *Server) forwardArgs(r *request) [][]byte {
	if r.owner == "" {
		r.owner, r.seq = s.node.Owner(), s.node.NextSeq()
	}
	return append([][]byte{[]byte("raft"), hopName("forward", r.c.protocol()), []byte(strconv.Itoa(r.db)),
		[]byte(r.owner), []byte(strconv.FormatUint(r.seq, 10))}, r.args...)
}

// forwardToLeader is toLeader's hop with the command to send to the leader
// spelled out: RAFT FORWARD for one command, RAFT EXEC for a transaction,
// RAFT READINDEX for WATCH. The leader never forwards it again.
func (s *Server) forwardToLeader(ctx context.Context, r *request, write bool, fwd [][]byte) resp.Reply {
	addr := s.node.LeaderAddr()
	if addr == "" || r.forwarded || addr == s.cfg.ListenAddr {
		return resp.ErrNoLeader
	}
	if s.cfg.Redirect {
		return resp.Error("MOVED 0 " + addr)
	}
	written, err := s.forwardOrder(ctx, r, write)
	if err != nil {
		return forwardFailure(err, false, write)
	}
	raw, sent, err := s.fwd.do(ctx, addr, fwd, written)
	reply := relayed(fwd, raw)
	if err != nil {
		reply = forwardFailure(err, sent, write)
	}
	s.stats.observeForwarded(reply)
	return reply
}

// hopName is a hop's subcommand for a client speaking proto: FORWARD or
// EXEC for RESP2 (the form every version of raftlist reads), FORWARD3 or
// EXEC3 for RESP3.
func hopName(base string, proto int) []byte {
	if proto == resp.RESP3 {
		return []byte(base + "3")
	}
	return []byte(base)
}

// hopProtocol is the protocol a hop's subcommand names.
func hopProtocol(sub []byte) int {
	if len(sub) > 0 && sub[len(sub)-1] == '3' {
		return resp.RESP3
	}
	return resp.RESP2
}

// relayed is the leader's answer raw to the hop fwd, relayed as it is,
// except that a leader of an older version, which knows no RESP3 hop,
// refuses one as an unknown subcommand: the client is told why (nothing
// was applied).
func relayed(fwd [][]byte, raw []byte) resp.Reply {
	if len(fwd) > 1 && hopProtocol(fwd[1]) == resp.RESP3 &&
		bytes.HasPrefix(raw, []byte("-ERR unknown subcommand '"+string(fwd[1])+"'")) {
		return resp.ErrLeaderNoRESP3
	}
	return resp.Raw(raw)
}

// forwardFailure is the reply to a forwarded command whose answer did not
// come back: safe to retry if nothing was sent or it was a read, else of
// unknown outcome.
func forwardFailure(err error, sent, write bool) resp.Reply {
	if !sent || !write {
		return resp.Error(resp.TryAgainPrefix + "forwarding to the leader failed before it could apply the command (" + oneLine(err) + "), retry")
	}
	return resp.Error(resp.UncertainPrefix + "lost the leader's answer; the command may or may not have been applied (" + oneLine(err) + ")")
}

// RAFT FORWARD db owner seq command [arg ...]: the leader's side of a
// forwarding hop. route serves every hop as the command it carries
// (forwardedRequest), so that a pipeline of hops forms runs again; the row
// is in RAFT's table for its arity and its Internal flag, and should a hop
// ever reach it, it goes through route like any other request.
func raftForward(s *Server, r *request) resp.Reply { return s.execute(r) }
