package raftnode

import (
	"errors"
	"fmt"

	"github.com/raftlist/raftlist/fsm"
)

// Every entry is bounded by Config.MaxEntrySize: Raft holds whole entries
// in memory, sends them to every follower and fsyncs them before anything
// else can commit, so one client command must not be able to make an
// entry of any size. Proposals over the limit are refused before they reach
// the log; the batcher never packs commands into an entry over it.

// DefaultMaxEntrySize lets one command carry an argument of the default
// proto-max-bulk-len (64 MiB) with room to spare.
const DefaultMaxEntrySize = 128 << 20

// ErrEntryTooLarge is matched (errors.Is) by the error for a proposal whose
// entry would exceed the limit. Nothing was applied; retrying cannot help.
var ErrEntryTooLarge = errors.New("entry exceeds max-entry-size")

// entryTooLarge is that error; its text, behind "ERR ", is the client's
// reply.
type entryTooLarge struct {
	what  string // command, commands, transaction
	limit int
}

func (e *entryTooLarge) Error() string {
	return fmt.Sprintf("%s exceeds max-entry-size (%d bytes)", e.what, e.limit)
}

func (e *entryTooLarge) Is(target error) bool { return target == ErrEntryTooLarge }

// MaxEntrySize returns the largest log entry this node proposes, in bytes.
func (n *Node) MaxEntrySize() int { return n.cfg.MaxEntrySize }

// checkCmdsSize refuses commands that could not fit in one entry even
// alone, so that they fail by themselves instead of with a batch.
func (n *Node) checkCmdsSize(size, ncmds int) error {
	if fsm.EntryHeaderMax+size <= n.cfg.MaxEntrySize {
		return nil
	}
	what := "command"
	if ncmds > 1 {
		what = "commands"
	}
	return &entryTooLarge{what: what, limit: n.cfg.MaxEntrySize}
}

// checkEntrySize is the last check on every entry, on its encoded bytes.
func (n *Node) checkEntrySize(e *fsm.Entry, data []byte) error {
	if len(data) <= n.cfg.MaxEntrySize {
		return nil
	}
	what := "command"
	switch {
	case e.Kind == fsm.KindExec:
		what = "transaction"
	case len(e.Cmds) > 1:
		what = "commands"
	}
	return &entryTooLarge{what: what, limit: n.cfg.MaxEntrySize}
}
