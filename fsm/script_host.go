package fsm

// The adapter between the Lua runtime (package lua) and the state
// machine: a script's redis.call runs a command here, with Redis's checks
// in Redis's order, against the EVAL command's state and log position.

import (
	"github.com/raftlist/raftlist/fsm/lua"
	"github.com/raftlist/raftlist/fsm/resp"
	"strings"
)

// Script limits, the lua package's: every node runs every script with
// the same budget.
const (
	ScriptMaxInstructions = lua.MaxInstructions
	ScriptMaxBytes        = lua.MaxBytes
)

// scriptHost is one run's lua.Host: the commands the script calls run
// against the EVAL command's state.
type scriptHost struct {
	ctx *Ctx // the EVAL command: state, database, log position
	// db is the database the script's commands use; SELECT changes it for
	// the rest of the script only.
	db int
	// readOnly refuses write commands: EVAL_RO, EVALSHA_RO, or a script
	// declared "#!lua flags=no-writes".
	readOnly bool
	// seed is where math.random starts (scriptSeed).
	seed uint64
}

// runScript runs s for the command in c with its keys and arguments, on
// one of the state's Lua machines, and returns the script's reply. A
// script is one command: the writes it made before an error stay, and
// blocked clients are served only after it returns (Apply serves ready
// keys after each whole command).
func runScript(c *Ctx, s *lua.Script, keys, argv [][]byte, readOnly bool) resp.Reply {
	h := &scriptHost{ctx: c, db: c.DBNum, readOnly: readOnly || s.NoWrites(), seed: scriptSeed(c)}
	vms := c.State.vms
	if c.before(formatV4) {
		vms = c.State.vmsBeforeLibs
	}
	return vms.Run(s, keys, argv, h, lua.DefaultBudget)
}

// scriptSeed is where a script's math.random starts: a function of the
// entry's log index and of the script's place among the entry's scripts,
// so that two runs of one script draw different numbers, as in Redis 7,
// while every node applying the entry draws the same. A read served
// outside the log (EVAL_RO on any node) has no entry: it is seeded by
// the index the node reads at, so reads at one index draw the same
// numbers and two nodes reading at different indexes may differ — as
// their data may.
//
// An entry older than format 4 was applied by binaries whose math.random
// always started unseeded: so it does here (0).
func scriptSeed(c *Ctx) uint64 {
	if c.before(formatV4) {
		return 0
	}
	pos := uint64(1 << 63) // a read: no place in an entry
	if !c.readOnly {
		c.State.entryScripts++
		pos = c.State.entryScripts
	}
	return mix64(c.Index*0x9E3779B97F4A7C15^pos) | 1 // never 0, Redis's unseeded start
}

// mix64 is splitmix64's finalizer: nearby inputs give unrelated outputs.
func mix64(x uint64) uint64 {
	x = (x ^ x>>30) * 0xBF58476D1CE4E5B9
	x = (x ^ x>>27) * 0x94D049BB133111EB
	return x ^ x>>31
}

// Call runs one command for the script with Redis's checks, in Redis's
// order: known, arity, allowed in scripts, allowed in a read-only script.
// Blocking commands answer as if they timed out at once (NoBlock).
func (h *scriptHost) Call(args [][]byte) resp.Reply {
	cmd := Lookup(args[0])
	if cmd != nil && h.ctx.oldFormat != 0 {
		// An entry of an older format: the binary that applied it first
		// had none of the commands added since, nor (before expiry) SET's
		// expiry options.
		switch r := oldFormatReply(cmd, args, h.ctx.oldFormat); {
		case r == nil:
		case isUnknownCommand(r):
			return resp.ErrScriptUnknownCmd
		default:
			return r
		}
	}
	switch {
	case cmd == nil && h.ctx.oldFormat != 0:
		// An entry of an older format answers as its binary did.
		return resp.ErrScriptUnknownCmd
	case cmd == nil:
		return frontDoorInScript(args)
	case h.ctx.oldFormat == 0 && cmd.CheckSubcommand != nil && len(args) > 1 && cmd.CheckSubcommand(args) != nil:
		// Redis looks a container's subcommand up as a command of its own.
		if strings.HasPrefix(cmd.CheckSubcommand(args).Error(), "ERR unknown subcommand") {
			return resp.ErrScriptUnknownCmd
		}
		return resp.ErrScriptArity
	case cmd.CheckArity(args) != nil:
		return resp.ErrScriptArity
	case cmd.Flags&resp.NoScript != 0:
		return resp.ErrScriptNoScript
	case h.readOnly && cmd.Flags&resp.Write != 0:
		return resp.ErrScriptWrite
	}
	exec, err := cmd.Prepare(args)
	if err != nil {
		return asError(err)
	}
	c := *h.ctx
	c.DBNum, c.Args, c.NoBlock = h.db, args, true
	reply := exec(&c)
	h.db = c.DBNum // SELECT switches the script's database
	return reply
}

// FrontDoorCommand, set once by the front door at init, says whether
// args name one of its commands (a container's known subcommand included)
// and whether their number is right. The state machine cannot run those
// (they concern a connection or the node), so a script that calls one
// gets Redis's answer for a command not allowed from scripts, not for an
// unknown one. It is a property of the binary, the same on every node.
var FrontDoorCommand func(args [][]byte) (known, arityOK bool)

// frontDoorInScript answers a script's call of a command the state
// machine's table lacks, with Redis's checks in Redis's order.
func frontDoorInScript(args [][]byte) resp.Reply {
	if FrontDoorCommand == nil {
		return resp.ErrScriptUnknownCmd
	}
	switch known, arityOK := FrontDoorCommand(args); {
	case !known:
		return resp.ErrScriptUnknownCmd
	case !arityOK:
		return resp.ErrScriptArity
	}
	return resp.ErrScriptNoScript
}

// Known is redis.acl_check_cmd's question: raftlist has no ACLs, so every
// command a script could call is allowed.
func (h *scriptHost) Known(name []byte) bool {
	return Lookup(name) != nil
}

// RandomSeed is where the run's math.random starts.
func (h *scriptHost) RandomSeed() uint64 { return h.seed }

// Log keeps a redis.log line for the node to take.
func (h *scriptHost) Log(level int, line string) {
	h.ctx.State.scriptLog.add(ScriptLog{Level: level, Line: line})
}
