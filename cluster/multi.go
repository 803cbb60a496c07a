package cluster

// MULTI/EXEC/DISCARD/WATCH/UNWATCH at the front door, as redis-server 7.0
// behaves. A connection in MULTI queues what it sends and answers QUEUED;
// commands Redis refuses at queue time (unknown, wrong arity, unknown
// subcommand, not allowed in MULTI) answer their error and make EXEC
// answer EXECABORT. Everything else, bad arguments included, fails inside
// EXEC, as in Redis.
//
// EXEC proposes ONE KindExec entry holding the queued data commands (with
// SELECT, PING and ECHO, which the state machine runs in order) and the
// connection's WATCHes. A follower forwards it in one hop:
//
//	RAFT EXEC db owner seq nwatches [wdb key since]... ncmds [argc arg...]...
//
// Queued connection commands the state machine cannot run (CLIENT, INFO,
// COMMAND, DEBUG, HELLO, READONLY, READWRITE, UNWATCH) run here once the
// entry is applied, in their places in EXEC's reply, and only if it ran.
//
// WATCH takes a linearizable read index (the leader's, through RAFT
// READINDEX on a follower); EXEC carries it per key and the state machine
// aborts if any watched key was modified at a later log index.

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/raftlist/raftlist/fsm"
	"github.com/raftlist/raftlist/fsm/resp"
	"github.com/raftlist/raftlist/raftnode"
)

// Limits that keep a transaction one log entry and its forwarding hop one
// RESP request under the node's input limits (redcon's 1M arguments).
const (
	maxTxArgs    = 1 << 19  // arguments of all queued commands together
	maxTxBytes   = 64 << 20 // their bytes
	maxTxWatches = 1 << 16  // WATCHed keys per connection
)

var (
	errTxTooLarge     = resp.Error("ERR the transaction is too large for one log entry (raftlist allows 524288 arguments and 64 MiB)")
	errTooManyWatches = resp.Error("ERR too many watched keys (raftlist allows 65536 per connection)")
)

var queued = resp.Status("QUEUED")

// txState is one connection's MULTI queue.
type txState struct {
	cmds []txCmd
	// dirty is set when a command was refused while queueing.
	dirty       bool
	args, bytes int
}

// txCmd is one queued command. local runs it in the front door at EXEC;
// nil means the state machine runs it.
type txCmd struct {
	args  [][]byte
	local func(*Server, *request) resp.Reply
	// onConn: the state machine runs it and, if it succeeded, the front
	// door runs it again on the connection for its effect there (SELECT's
	// database); it reads no state, so both runs agree.
	onConn bool
}

// txConnCommands are the transaction commands; conncmds.go adds them to the
// front door's table.
var txConnCommands = []*connCommand{
	// MULTI
	{Spec: atOnce(spec("multi", 1, resp.NoScript|resp.Loading|resp.Stale|resp.Fast|resp.AllowBusy, "transactions", "1.2.0", "Mark the start of a transaction block")), run: multiCommand},
	// EXEC
	{Spec: atOnce(spec("exec", 1, resp.NoScript|resp.Loading|resp.Stale|resp.SkipSlowlog, "transactions", "1.2.0", "Execute all commands issued after MULTI")), run: execCommand},
	// DISCARD
	{Spec: atOnce(spec("discard", 1, resp.NoScript|resp.Loading|resp.Stale|resp.Fast|resp.AllowBusy, "transactions", "2.0.0", "Discard all commands issued after MULTI")), run: discardCommand},
	// WATCH key [key ...]
	{Spec: atOnce(keySpec(spec("watch", -2, resp.NoScript|resp.Loading|resp.Stale|resp.Fast|resp.AllowBusy, "transactions", "2.2.0", "Watch the given keys to determine execution of the MULTI/EXEC block"), 1, -1, 1)), run: watchCommand},
	// UNWATCH
	{Spec: spec("unwatch", 1, resp.NoScript|resp.Loading|resp.Stale|resp.Fast|resp.AllowBusy, "transactions", "2.2.0", "Forget about all watched keys"), run: unwatchCommand},
}

func keySpec(sp resp.Spec, first, last, step int) resp.Spec {
	sp.FirstKey, sp.LastKey, sp.KeyStep = first, last, step
	return sp
}

// queueInMulti queues a command route accepted inside MULTI.
func (s *Server) queueInMulti(rt routing) resp.Reply {
	r, tx := rt.r, rt.r.c.tx
	size := 0
	for _, a := range r.args {
		size += len(a)
	}
	if tx.args+len(r.args) > maxTxArgs || tx.bytes+size > maxTxBytes {
		return rejected(r, errTxTooLarge)
	}
	tx.args += len(r.args)
	tx.bytes += size
	r.queued = true
	q := txCmd{args: cloneArgs(r.args), local: rt.run}
	// A Local command of the state machine (SELECT) also acts on the
	// connection once EXEC ran it.
	q.onConn = rt.run == nil && rt.spec.IsLocal()
	tx.cmds = append(tx.cmds, q)
	r.c.multiLen.Store(int64(len(tx.cmds)) + 1)
	return queued
}

// rejected answers a command refused before it runs (Redis's
// rejectCommand): inside MULTI the transaction is flagged, and a refused
// EXEC discards it and says why, in or out of MULTI.
func rejected(r *request, e resp.Error) resp.Reply {
	r.rejected = true
	if r.c.tx != nil {
		r.c.tx.dirty = true
	}
	if isName(r.args[0], "exec") {
		r.c.endTx()
		return resp.Error("EXECABORT Transaction discarded because of: " + strings.TrimPrefix(string(e), "ERR "))
	}
	return e
}

// cloneArgs copies arguments out of the connection's read buffer, which
// redcon reuses once the handler returns.
func cloneArgs(args [][]byte) [][]byte {
	n := 0
	for _, a := range args {
		n += len(a)
	}
	buf := make([]byte, 0, n)
	out := make([][]byte, len(args))
	for i, a := range args {
		buf = append(buf, a...)
		out[i] = buf[len(buf)-len(a) : len(buf) : len(buf)]
	}
	return out
}

// endTx leaves MULTI and forgets the WATCHed keys, as EXEC and DISCARD do.
func (c *client) endTx() {
	c.tx, c.watches = nil, nil
	c.multiLen.Store(0)
}

// MULTI
func multiCommand(_ *Server, r *request) resp.Reply {
	if r.c.tx != nil {
		return resp.ErrMultiNested
	}
	r.c.tx = &txState{}
	r.c.multiLen.Store(1)
	return resp.OK
}

// DISCARD
func discardCommand(_ *Server, r *request) resp.Reply {
	if r.c.tx == nil {
		return resp.ErrDiscardNoMulti
	}
	r.c.endTx()
	return resp.OK
}

// UNWATCH
func unwatchCommand(_ *Server, r *request) resp.Reply {
	r.c.watches = nil
	return resp.OK
}

// WATCH key [key ...]
//
// A key watched again keeps its first WATCH, as in Redis: a change since
// then still aborts.
func watchCommand(s *Server, r *request) resp.Reply {
	if r.c.tx != nil {
		return resp.ErrWatchInMulti
	}
	since, errReply := s.watchIndex(r)
	if errReply != nil {
		return errReply
	}
	for _, k := range r.args[1:] {
		if r.c.watching(r.db, k) {
			continue
		}
		if len(r.c.watches) >= maxTxWatches {
			return errTooManyWatches
		}
		r.c.watches = append(r.c.watches, fsm.Watch{DB: r.db, Key: bytes.Clone(k), Since: since})
	}
	return resp.OK
}

func (c *client) watching(db int, key []byte) bool {
	for _, w := range c.watches {
		if w.DB == db && bytes.Equal(w.Key, key) {
			return true
		}
	}
	return false
}

// watchIndex returns a linearizable read index: on the leader from its own
// read barrier, on a follower from the leader (RAFT READINDEX).
func (s *Server) watchIndex(r *request) (uint64, resp.Reply) {
	ctx, cancel := s.requestContext()
	defer cancel()
	index, err := s.node.ReadIndex(ctx)
	if err == nil {
		return index, nil
	}
	if !errors.Is(err, raftnode.ErrNotLeader) {
		return 0, errorReply(err)
	}
	reply := s.forwardToLeader(ctx, r, false, [][]byte{[]byte("raft"), []byte("readindex")})
	raw, ok := reply.(resp.Raw)
	if !ok {
		return 0, reply
	}
	v, err := resp.ParseReply(raw)
	switch {
	case err == nil && v.Kind == resp.KindInt && v.Int >= 0:
		return uint64(v.Int), nil
	case err == nil && v.Kind == resp.KindError:
		return 0, raw
	}
	return 0, resp.Error("ERR unexpected read index from the leader: " + strconv.Quote(string(raw)))
}

// RAFT READINDEX (internal: WATCH on a follower)
func raftReadIndex(s *Server, _ *request) resp.Reply {
	ctx, cancel := s.requestContext()
	defer cancel()
	index, err := s.node.ReadIndex(ctx)
	if errors.Is(err, raftnode.ErrNotLeader) {
		return resp.ErrNoLeader // one hop: never forwarded again
	}
	if err != nil {
		return errorReply(err)
	}
	return resp.Int(index)
}

// EXEC
func execCommand(s *Server, r *request) resp.Reply {
	c := r.c
	tx, watches := c.tx, c.watches
	if tx == nil {
		return resp.ErrExecNoMulti
	}
	// CLIENT LIST shows the transaction until EXEC has answered.
	defer c.multiLen.Store(0)
	c.tx, c.watches = nil, nil
	if tx.dirty {
		return resp.ErrExecAbort
	}
	t := fsm.Transaction{DB: r.db, Watches: watches}
	needsParse := false
	for _, q := range tx.cmds {
		if q.local == nil {
			t.Cmds = append(t.Cmds, q.args)
		}
		needsParse = needsParse || q.local != nil || q.onConn
	}
	var replies []resp.Reply
	if len(t.Cmds) > 0 || len(t.Watches) > 0 {
		reply := s.proposeTx(r, t)
		if !needsParse {
			s.noteRanInTx(r, tx.cmds, reply)
			return reply
		}
		var ok bool
		if replies, ok = execElements(reply, len(t.Cmds)); !ok {
			return reply // nil (a watched key changed) or an error
		}
	}
	out := make(resp.Array, 0, len(tx.cmds))
	modes := c.newReplyModes(tx.cmds)
	for _, q := range tx.cmds {
		here := &request{c: c, db: int(c.db.Load()), args: q.args, received: time.Now(), inExec: true}
		if q.local != nil {
			out = append(out, q.local(s, here))
			modes.note(c)
			continue
		}
		reply := replies[0]
		replies = replies[1:]
		if q.onConn && !isErrorReply(reply) {
			runInMachine(s, here)
		}
		out = append(out, reply)
		modes.note(c)
	}
	s.noteRanInTx(r, tx.cmds, out)
	return modes.wire(c, out)
}

// noteRanInTx keeps, for MONITOR, the commands of a transaction that ran
// (its reply is their array), each with the database it ran in.
func (s *Server) noteRanInTx(r *request, cmds []txCmd, reply resp.Reply) {
	if len(s.monitorList()) == 0 {
		return
	}
	if _, ok := execElements(reply, len(cmds)); !ok {
		return
	}
	db := r.db
	for _, q := range cmds {
		if q.onConn && len(q.args) == 2 && isName(q.args[0], "select") {
			if n, err := strconv.Atoi(string(q.args[1])); err == nil && n >= 0 && n < fsm.NumDBs {
				db = n // shown in the database it selected, as after it ran
			}
		}
		r.ranInTx = append(r.ranInTx, shownCmd{db: db, args: q.args})
	}
}

// execElements splits EXEC's reply (local, or relayed from the leader) into
// one reply per command; ok is false when EXEC did not run them.
func execElements(reply resp.Reply, n int) ([]resp.Reply, bool) {
	switch r := reply.(type) {
	case resp.Array:
		return r, len(r) == n
	case resp.Raw:
		v, err := resp.ParseReply(r)
		if err != nil || v.Kind != resp.KindArray || len(v.Array) != n {
			return nil, false
		}
		out := make([]resp.Reply, n)
		for i, e := range v.Array {
			out[i] = resp.Raw(resp.AppendValue(nil, e))
		}
		return out, true
	}
	return nil, false
}

func isErrorReply(r resp.Reply) bool {
	b := resp.AppendRESP(nil, r)
	return len(b) > 0 && b[0] == '-'
}

// proposeTx puts the transaction in the log on the leader, or forwards it
// there.
func (s *Server) proposeTx(r *request, t fsm.Transaction) resp.Reply {
	ctx, cancel := s.requestContext()
	defer cancel()
	if r.owner == "" {
		r.owner, r.seq = s.node.Owner(), s.node.NextSeq()
	}
	t.Owner, t.Seq = r.owner, r.seq
	res, err := s.node.ProposeTx(ctx, t)
	if errors.Is(err, raftnode.ErrNotLeader) {
		return s.forwardToLeader(ctx, r, true, raftExecArgs(&t, r.c.protocol()))
	}
	if err != nil {
		return errorReply(err)
	}
	return res.Replies[0]
}

// raftExecArgs spells a transaction as RAFT EXEC, or RAFT EXEC3 for a
// RESP3 client.
func raftExecArgs(t *fsm.Transaction, proto int) [][]byte {
	n := 7 + 3*len(t.Watches)
	for _, c := range t.Cmds {
		n += 1 + len(c)
	}
	num := func(v uint64) []byte { return strconv.AppendUint(nil, v, 10) }
	out := make([][]byte, 0, n)
	out = append(out, []byte("raft"), hopName("exec", proto), num(uint64(t.DB)), []byte(t.Owner), num(t.Seq), num(uint64(len(t.Watches))))
	for _, w := range t.Watches {
		out = append(out, num(uint64(w.DB)), w.Key, num(w.Since))
	}
	out = append(out, num(uint64(len(t.Cmds))))
	for _, c := range t.Cmds {
		out = append(out, num(uint64(len(c))))
		out = append(out, c...)
	}
	return out
}

// RAFT EXEC[3] db owner seq nwatches [wdb key since]... ncmds [argc
// arg...]... (internal: a follower's EXEC; EXEC3 for a RESP3 client). The
// leader proposes it and answers EXEC's reply; it never forwards it again.
func raftExec(s *Server, r *request) resp.Reply {
	t, ok := parseRaftExec(r.args[2:])
	if !ok {
		return resp.ErrBadTx
	}
	inner := &request{c: r.c, db: t.DB, owner: t.Owner, seq: t.Seq, forwarded: true,
		hopProto: hopProtocol(r.args[1]), received: r.received}
	return hopReply(inner, s.proposeTx(inner, t))
}

// parseRaftExec reads RAFT EXEC's arguments after the subcommand. Every
// count is checked against the arguments left, so a bad one cannot make
// it allocate more than the request holds.
func parseRaftExec(args [][]byte) (fsm.Transaction, bool) {
	var t fsm.Transaction
	bad := false
	next := func() []byte {
		if len(args) == 0 {
			bad = true
			return nil
		}
		a := args[0]
		args = args[1:]
		return a
	}
	number := func(limit uint64) uint64 {
		v, err := strconv.ParseUint(string(next()), 10, 64)
		if err != nil || v > limit {
			bad = true
			return 0
		}
		return v
	}
	left := func(per int) uint64 { return uint64(len(args) / per) }
	t.DB = int(number(fsm.NumDBs - 1))
	t.Owner = string(next())
	t.Seq = number(^uint64(0))
	nw := number(left(3))
	for i := uint64(0); i < nw && !bad; i++ {
		t.Watches = append(t.Watches, fsm.Watch{DB: int(number(fsm.NumDBs - 1)), Key: next(), Since: number(^uint64(0))})
	}
	nc := number(left(2))
	for i := uint64(0); i < nc && !bad; i++ {
		argc := number(left(1))
		if argc == 0 {
			bad = true
		}
		cmd := make([][]byte, 0, argc)
		for j := uint64(0); j < argc && !bad; j++ {
			cmd = append(cmd, next())
		}
		t.Cmds = append(t.Cmds, cmd)
	}
	return t, !bad && len(args) == 0
}
