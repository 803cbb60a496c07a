package cluster

import (
	"context"
	"errors"
	"math"
	"time"

	"github.com/raftlist/raftlist/third_party/redcon"

	"github.com/raftlist/raftlist/fsm"
	"github.com/raftlist/raftlist/fsm/resp"
	"github.com/raftlist/raftlist/raftnode"
)

// A client that pipelines sends many commands before reading a reply;
// redcon hands the connection's handler everything it has read at once
// (ReadPipeline). Serving them one by one would cost one Raft round, or one
// read barrier, per command. Instead consecutive commands of one kind form a
// run:
//
//   - plain writes (a write that cannot block, or any forwarded write) become
//     ONE proposal, their commands contiguous in one entry in pipeline order;
//   - linearizable reads share ONE read barrier, taken after all of them
//     arrived, then read the local state in order.
//
// Everything else (connection commands, blocking commands, commands inside
// MULTI, READONLY reads, bad input) runs alone, as before, and ends the run
// in front of it. Replies are written in pipeline order, and only once known:
// a run's replies come after its entry is applied on this node, exactly as
// if each command had been proposed alone. A follower forwards a run to the
// leader as one pipelined write on one upstream connection; the leader sees
// a pipeline of RAFT FORWARD commands and makes them one run again.

// Bounds on one run, well within what the batcher packs into one entry
// (raftnode: 2048 commands, 4 MiB); a longer pipeline becomes several runs.
const (
	maxRunCmds  = 512
	maxRunBytes = 1 << 20
)

type runKind uint8

const (
	runAlone runKind = iota
	runWrite
	runRead
)

// servePipeline serves cmd and the rest of the pipeline read with it.
func (s *Server) servePipeline(conn redcon.Conn, cmd redcon.Command) {
	c := conn.Context().(*client)
	rest := conn.ReadPipeline()
	queued := len(cmd.Raw)
	for _, r := range rest {
		queued += len(r.Raw)
	}
	c.queued.Store(int64(queued))
	defer c.queued.Store(0)
	if len(rest) == 0 {
		// No pipeline; a plain command is still a run of one, so that a
		// follower forwards it on a shared connection.
		c.one[0] = cmd
		s.serveRest(conn, c, c.one[:])
		c.one[0] = redcon.Command{}
		return
	}
	s.serveRest(conn, c, append([]redcon.Command{cmd}, rest...))
}

// serveRest serves cmds in order, grouping runs.
func (s *Server) serveRest(conn redcon.Conn, c *client, cmds []redcon.Command) {
	for len(cmds) > 0 && !c.closing && !c.killed.Load() {
		kind, r := s.classify(c, cmds[0].Args)
		if kind == runAlone {
			s.serveAlone(conn, c, cmds[0].Args)
			c.queued.Add(-int64(len(cmds[0].Raw)))
			cmds = cmds[1:]
			continue
		}
		run := append(c.run[:0], r)
		size := s.entrySize(&r)
		n := 1
		for n < len(cmds) && n < maxRunCmds {
			k, next := s.classify(c, cmds[n].Args)
			if k != kind {
				break
			}
			if size += s.entrySize(&next); size > s.maxRunBytes() {
				break
			}
			run = append(run, next)
			n++
		}
		c.run = run
		s.serveRun(conn, c, kind, run, cmds[n-1].Args)
		for _, cmd := range cmds[:n] {
			c.queued.Add(-int64(len(cmd.Raw)))
		}
		cmds = cmds[n:]
	}
}

// serveAlone runs one command by itself.
func (s *Server) serveAlone(conn redcon.Conn, c *client, args [][]byte) {
	s.count(c, 1, args)
	req := &request{c: c, db: int(c.db.Load()), args: args, received: time.Now(), arrived: arrivalOf(conn.NetConn())}
	reply := s.execute(req)
	s.stats.observe(commandName(args), reply, req.rejected, time.Since(req.received))
	s.reply(conn, c, reply)
	s.feedMonitors(req)
	if cc := lookupConnCommand(args[0]); (cc != nil && cc.closeAfter) || c.closeAfterReply.Load() {
		c.closing = true
		if c.mon != nil {
			c.mon.flush(time.Second)
		}
		conn.Close()
	}
}

// serveRun runs a run of writes or reads and writes its replies in order.
func (s *Server) serveRun(conn redcon.Conn, c *client, kind runKind, run []request, last [][]byte) {
	s.count(c, len(run), last)
	now, arrived := time.Now(), arrivalOf(conn.NetConn())
	for i := range run {
		run[i].received, run[i].arrived = now, arrived
	}
	var replies []resp.Reply
	if kind == runWrite {
		replies = s.writeRun(run)
	} else {
		s.notProposing(c)
		replies = s.readRun(run)
	}
	took := time.Since(now)
	for i, r := range replies {
		s.stats.observe(run[i].args[0], r, false, took)
		s.reply(conn, c, hopReply(&run[i], r))
		s.feedMonitors(&run[i])
	}
}

// count notes the command a client ran last, for CLIENT LIST's cmd=
// (client|list for a subcommand, as Redis 7 shows it).
func (s *Server) count(c *client, n int, args [][]byte) {
	c.lastCmd.Store(time.Now().UnixNano())
	if isNodeCommand(c, args) {
		c.nodeLink.Store(true)
	}
	old, _ := c.lastCmdName.Load().(string)
	if full := subcommandFullName(args); full != "" {
		if old != full {
			c.lastCmdName.Store(full)
		}
	} else if old != string(args[0]) { // compared without allocating
		c.lastCmdName.Store(string(args[0]))
	}
}

// reply encodes r into the connection's scratch buffer and queues it;
// redcon flushes after the pipeline.
// It is called once per command, in order: CLIENT REPLY's suppression
// is decided here, for this connection only, whatever node made the reply.
func (s *Server) reply(conn redcon.Conn, c *client, r resp.Reply) {
	if c.closing || c.suppressReply() {
		return
	}
	c.out = resp.AppendReply(c.out[:0], r, c.protocol())
	if c.node.Load() {
		c.out = s.limitNodeReply(c.out)
	}
	if c.mon != nil {
		// A monitor's one writer sends its replies too (monitor.go).
		c.mon.push(c.out, false)
		return
	}
	conn.WriteRaw(c.out)
	if cap(c.out) > 64<<10 {
		c.out = nil // do not keep a large reply's buffer per connection
	}
	s.limitOutput(conn, c)
}

// classify says whether args, arriving on c now, may join a run, and
// returns the request it makes (for RAFT FORWARD, the forwarded command).
// route decides; classify only groups what route would propose or read
// behind the barrier.
func (s *Server) classify(c *client, args [][]byte) (runKind, request) {
	r := &request{c: c, db: int(c.db.Load()), args: args}
	rt := s.route(r)
	switch rt.how {
	case propose:
		return runWrite, *rt.r
	case readBarrier:
		return runRead, *rt.r
	}
	// Refused commands (NOAUTH, NOPERM, bad input) run alone too: execute
	// answers them and they never join a proposal.
	return runAlone, *r
}

// commandName is the name a command is counted under: the forwarded
// command's for a forwarding hop, and EXEC for a forwarded transaction, so
// that the leader counts what clients asked for.
func commandName(args [][]byte) []byte {
	switch {
	case isForwardHop(args):
		return args[5]
	case len(args) > 2 && isName(args[0], "raft") && (isName(args[1], "exec") || isName(args[1], "exec3")):
		return execName
	}
	return args[0]
}

var execName = []byte("exec")

// isForwardHop reports RAFT FORWARD (or FORWARD3) db owner seq command
// [arg ...].
func isForwardHop(args [][]byte) bool {
	return len(args) >= 6 && isName(args[0], "raft") && isHopForward(args[1])
}

func isHopForward(sub []byte) bool { return isName(sub, "forward") || isName(sub, "forward3") }

// entrySize bounds from above what r adds to a log entry: fsm.CmdSize
// with the sequence number at its longest (it is assigned later), so that
// a run of writes fits in one entry under max-entry-size.
func (s *Server) entrySize(r *request) int {
	owner := r.owner
	if owner == "" {
		owner = s.node.Owner()
	}
	return fsm.CmdSize(&fsm.Cmd{DB: r.db, Owner: owner, Seq: math.MaxUint64, Args: r.args})
}

// maxRunBytes is the most a run may add to one entry.
func (s *Server) maxRunBytes() int {
	return min(maxRunBytes, s.node.MaxEntrySize()-fsm.EntryHeaderMax)
}

// writeRun proposes the run as one proposal (forwarding it to the leader
// from a follower) and returns one reply per command.
func (s *Server) writeRun(run []request) []resp.Reply {
	ctx, cancel := s.requestContext()
	defer cancel()
	cmds := make([]fsm.Cmd, len(run))
	for i := range run {
		r := &run[i]
		if r.owner == "" {
			r.owner, r.seq = s.node.Owner(), s.node.NextSeq()
		}
		cmds[i] = fsm.Cmd{DB: r.db, Owner: r.owner, Seq: r.seq, Args: r.args}
	}
	res, err := s.node.Propose(s.withArrival(ctx, &run[0]), cmds)
	if errors.Is(err, raftnode.ErrNotLeader) {
		return s.toLeaderRun(ctx, run, true)
	}
	if err != nil {
		return fill(len(run), errorReply(err))
	}
	return res.Replies
}

// readRun passes one read barrier for the whole run, then reads in order.
func (s *Server) readRun(run []request) []resp.Reply {
	ctx, cancel := s.requestContext()
	defer cancel()
	err := s.readBarrier(ctx, run[0].forwarded)
	if errors.Is(err, raftnode.ErrNotLeader) {
		return s.toLeaderRun(ctx, run, false)
	}
	if err != nil {
		return fill(len(run), errorReply(err))
	}
	replies := make([]resp.Reply, len(run))
	err = s.node.Machine().View(func(st *fsm.State) {
		for i := range run {
			replies[i] = st.Read(run[i].db, run[i].args)
		}
	})
	if err != nil {
		return fill(len(run), errorReply(err))
	}
	return replies
}

// toLeaderRun is toLeader for a run: the trailing commands the leader
// refused unapplied are sent again, in order, once leadership has moved.
// Only a refused tail is resent, never a refused command before an applied
// one, so the run still applies in the order the client sent it.
func (s *Server) toLeaderRun(ctx context.Context, run []request, write bool) []resp.Reply {
	tried := s.node.LeaderAddr()
	replies := s.forwardRun(ctx, run, write)
	if run[0].forwarded || run[0].resent {
		return replies
	}
	for i := range run {
		run[i].resent = true
	}
	deadline := time.Now().Add(forwardRetryWait)
	for from := resendableTail(run, replies); from < len(run) && s.awaitLeader(ctx, tried, deadline); {
		tried = s.node.LeaderAddr()
		var again []resp.Reply
		if write {
			again = s.writeRun(run[from:])
		} else {
			again = s.readRun(run[from:])
		}
		copy(replies[from:], again)
		from += resendableTail(run[from:], again)
	}
	return replies
}

// resendableTail returns where the requests at the end of run that were
// all refused unapplied (TRYAGAIN, not from a script) begin: len(run) if
// the last was not.
func resendableTail(run []request, replies []resp.Reply) int {
	i := len(replies)
	for i > 0 && refusedUnapplied(replies[i-1]) && resendable(&run[i-1]) {
		i--
	}
	return i
}

// forwardRun is toLeader for a run: one pipelined hop to the leader on one
// connection. Replies that came back are relayed; the others get the error
// forwardToLeader would give.
func (s *Server) forwardRun(ctx context.Context, run []request, write bool) []resp.Reply {
	addr := s.node.LeaderAddr()
	switch {
	case addr == "" || run[0].forwarded || addr == s.cfg.ListenAddr:
		return fill(len(run), resp.ErrNoLeader)
	case s.cfg.Redirect:
		return fill(len(run), resp.Error("MOVED 0 "+addr))
	}
	reqs := make([][][]byte, len(run))
	for i := range run {
		reqs[i] = s.forwardArgs(&run[i])
	}
	// A run of writes takes its turn at the arrival gate like a forwarded
	// transaction or blocking command, so that the leader receives every
	// forwarded write in the order this node read it (issue 17: an EXEC
	// read before a plain write must not be applied after it).
	written, err := s.forwardOrder(ctx, &run[0], write)
	if err != nil {
		return fill(len(run), forwardFailure(err, false, write))
	}
	raws, sent, err := s.fwd.doMany(ctx, addr, reqs, written)
	replies := make([]resp.Reply, len(run))
	for i := range replies {
		if i < len(raws) {
			replies[i] = relayed(reqs[i], raws[i])
		} else {
			replies[i] = forwardFailure(err, sent, write)
		}
	}
	s.stats.observeForwarded(replies...)
	return replies
}

func fill(n int, r resp.Reply) []resp.Reply {
	out := make([]resp.Reply, n)
	for i := range out {
		out[i] = r
	}
	return out
}
