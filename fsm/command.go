package fsm

import (
	"sort"
	"strings"

	"github.com/raftlist/raftlist/fsm/resp"
)

// Exec runs a prepared command against the state.
type Exec func(c *Ctx) resp.Reply

// Command is a state machine command. Prepare checks the arguments without
// looking at state: everything it rejects is rejected before proposal and
// never reaches the log. The Exec it returns does the rest.
type Command struct {
	resp.Spec
	Prepare func(args [][]byte) (Exec, error)
	// CheckSubcommand, for a container row whose subcommands have no rows
	// (OBJECT), is what Redis checks from its subcommand table before
	// anything else, inside MULTI too: a known subcommand of the right
	// arity.
	CheckSubcommand func(args [][]byte) error
}

// Ctx is what a running command sees: the state, the selected database and
// the entry's log index and leader timestamp.
type Ctx struct {
	State  *State
	DBNum  int
	Index  uint64
	Term   uint64
	TimeMs int64
	// nowUs is the node's own clock in Unix microseconds for a Local
	// command at the front door (RunLocal), else 0.
	nowUs int64
	// Owner and Seq name the client's request; a blocking command that
	// blocks becomes the waiter with this id.
	Owner string
	Seq   uint64
	// Args is the running command as sent.
	Args [][]byte
	// NoBlock makes blocking commands answer as if they timed out at once,
	// as inside MULTI and scripts.
	NoBlock bool
	// oldFormat is the format of an entry older than this binary's (0 for
	// the current one): a node that applied it with an older binary had
	// none of the commands added since, so one replaying it now must
	// answer as that binary did (oldFormatReply), and before expiry give
	// its waiters no deadline (their owner's UNBLOCK ends them, as then),
	// or the two would differ.
	oldFormat byte
	// readOnly marks a read outside the log (State.ReadAt): the database
	// is a view deciding expiry at TimeMs that deletes nothing.
	readOnly bool
}

// before reports whether the entry's format is older than f.
func (c *Ctx) before(f byte) bool { return c.oldFormat != 0 && c.oldFormat < f }

// DB returns the selected database.
func (c *Ctx) DB() *DB {
	if c.readOnly {
		return c.State.readView(c.DBNum, c.TimeMs)
	}
	return c.State.dbs[c.DBNum]
}

// commandTable is the one table of state machine commands, grouped by family
// (one file each) the way Redis groups commands.def.
var commandTable = buildTable(connectionCommands, listCommands, blockingCommands, keyspaceCommands, stringCommands,
	stringCounterCommands, stringRangeCommands, stringMultiCommands, expiryCommands, scriptCommands, functionCommands, dumpCommands,
	sortCommands, keyspaceCopyCommands, objectCommands)

func buildTable(groups ...[]Command) map[string]*Command {
	t := make(map[string]*Command)
	for _, g := range groups {
		for i := range g {
			c := &g[i]
			if _, dup := t[c.Name]; dup {
				panic("fsm: command registered twice: " + c.Name)
			}
			if len(c.Name) > maxCommandName {
				panic("fsm: command name too long: " + c.Name)
			}
			t[c.Name] = c
		}
	}
	return t
}

// maxCommandName bounds a command's name, so Lookup can lower-case into a
// buffer on the stack.
const maxCommandName = 32

// Lookup finds a command by name, case-insensitively, without allocating:
// it runs for every command, on every node.
func Lookup(name []byte) *Command {
	if c, ok := commandTable[string(name)]; ok {
		return c
	}
	var buf [maxCommandName]byte
	if len(name) > len(buf) {
		return nil
	}
	for i, c := range name {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	return commandTable[string(buf[:len(name)])]
}

// Commands returns every state machine command in name order.
func Commands() []*Command {
	out := make([]*Command, 0, len(commandTable))
	for _, c := range commandTable {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Validate checks a command completely without state: known, right arity,
// arguments well formed. A command that passes can be proposed.
func Validate(args [][]byte) (*Command, error) {
	c := Lookup(args[0])
	if c == nil {
		return nil, resp.ErrUnknownCommand(args)
	}
	if err := c.CheckArity(args); err != nil {
		return nil, err
	}
	if _, err := c.Prepare(args); err != nil {
		return nil, err
	}
	return c, nil
}

// run executes one command against the state and returns its reply. Errors
// from Prepare become error replies: a committed entry is always applied the
// same way on every node, even if it should never have been proposed.
func run(c *Ctx, args [][]byte) resp.Reply {
	cmd := Lookup(args[0])
	if cmd == nil {
		return resp.ErrUnknownCommand(args)
	}
	if c.oldFormat != 0 {
		if r := oldFormatReply(cmd, args, c.oldFormat); r != nil {
			return r
		}
	}
	if err := cmd.CheckArity(args); err != nil {
		return err.(resp.Error)
	}
	exec, err := cmd.Prepare(args)
	if err != nil {
		return asError(err)
	}
	c.Args = args
	return exec(c)
}

func asError(err error) resp.Error {
	if e, ok := err.(resp.Error); ok {
		return e
	}
	return resp.Error("ERR " + strings.TrimPrefix(err.Error(), "ERR "))
}
