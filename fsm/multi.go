package fsm

import (
	"encoding/binary"

	"github.com/raftlist/raftlist/fsm/resp"
)

// MULTI/EXEC in the state machine. The front door queues a client's
// commands and proposes them at EXEC as one KindExec entry carrying the
// client's WATCHed keys; applying it checks the watches, runs the commands
// in order and serves blocked clients once, after the whole transaction.

// Transaction is the payload of a KindExec entry: one client's queued
// commands between MULTI and EXEC.
type Transaction struct {
	// DB is the client's selected database when it sent EXEC.
	DB int
	// Owner and Seq name the EXEC request, as Cmd's do.
	Owner string
	Seq   uint64
	// Watches are the client's WATCHed keys: if any changed after its
	// WATCH, nothing runs and EXEC answers a nil array.
	Watches []Watch
	// Cmds are the queued commands in order: the state machine's, SELECT
	// (switching the database for the commands after it), PING and ECHO
	// included.
	Cmds [][][]byte
}

// applyExec runs a transaction (Redis's execCommand): nil array when a
// watched key changed, else one reply per command. A command's error does
// not stop the ones after it. Blocking commands do not block.
func (s *State) applyExec(index, term uint64, timeMs int64, oldFormat byte, tx *Transaction) resp.Reply {
	// A watched key whose deadline has passed changed (Redis's
	// isWatchedKeyExpired): deleting it now records the change. Unlike
	// Redis, a key already expired at WATCH time aborts too, since the
	// entry does not say when WATCH ran: a spurious abort, never a
	// missed change.
	for _, w := range tx.Watches {
		if w.DB >= 0 && w.DB < NumDBs {
			s.dbs[w.DB].lookup(string(w.Key))
		}
	}
	if !s.watchesHold(tx.Watches) {
		return resp.NullArray
	}
	db := tx.DB
	out := make(resp.Array, 0, len(tx.Cmds))
	for _, args := range tx.Cmds {
		ctx := &Ctx{State: s, DBNum: db, Index: index, Term: term, TimeMs: timeMs,
			Owner: tx.Owner, Seq: tx.Seq, NoBlock: true, oldFormat: oldFormat}
		out = append(out, run(ctx, args))
		db = ctx.DBNum // a SELECT switches the database of the commands after it
	}
	// Redis serves blocked clients after the whole EXEC: an element pushed
	// and popped inside it was never there for them.
	s.serveReady(index, term, timeMs)
	return out
}

// appendTransaction encodes a KindExec payload.
func appendTransaction(b []byte, tx *Transaction) []byte {
	b = binary.AppendUvarint(b, uint64(tx.DB))
	b = appendBytes(b, []byte(tx.Owner))
	b = binary.AppendUvarint(b, tx.Seq)
	b = binary.AppendUvarint(b, uint64(len(tx.Watches)))
	for _, w := range tx.Watches {
		b = binary.AppendUvarint(b, uint64(w.DB))
		b = appendBytes(b, w.Key)
		b = binary.AppendUvarint(b, w.Since)
	}
	b = binary.AppendUvarint(b, uint64(len(tx.Cmds)))
	for _, args := range tx.Cmds {
		b = binary.AppendUvarint(b, uint64(len(args)))
		for _, a := range args {
			b = appendBytes(b, a)
		}
	}
	return b
}

// transaction decodes a KindExec payload. Counts are checked against
// the bytes left before anything is allocated, as everywhere in the entry
// format: a watch takes at least three bytes, a command at least two.
func (d *decoder) transaction() Transaction {
	tx := Transaction{DB: d.db(), Owner: string(d.bytes()), Seq: d.uvarint()}
	nw := d.count()
	tx.Watches = make([]Watch, 0, nw)
	for i := 0; i < nw && d.err == nil; i++ {
		tx.Watches = append(tx.Watches, Watch{DB: d.db(), Key: d.bytes(), Since: d.uvarint()})
	}
	nc := d.count()
	tx.Cmds = make([][][]byte, 0, nc)
	for i := 0; i < nc && d.err == nil; i++ {
		n := d.count()
		args := make([][]byte, 0, n)
		for j := 0; j < n && d.err == nil; j++ {
			args = append(args, d.bytes())
		}
		if n == 0 {
			d.fail("empty command in transaction")
		}
		tx.Cmds = append(tx.Cmds, args)
	}
	return tx
}

// db reads a database number, refusing one that does not exist before it
// becomes an int (a huge one would turn negative).
func (d *decoder) db() int {
	v := d.uvarint()
	if v >= NumDBs {
		d.fail("bad database")
		return 0
	}
	return int(v)
}
