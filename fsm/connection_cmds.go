package fsm

import (
	"strconv"

	"github.com/raftlist/raftlist/fsm/resp"
)

// The connection commands the state machine runs too, and TIME. Outside
// MULTI and scripts the front door runs them (their Door is Local) through
// RunLocal, without state; inside a transaction or a script the state
// machine runs the same rows in their places, where SELECT switches the
// database for the commands after it and TIME answers the entry's time.
// One implementation, three callers.
var connectionCommands = []Command{
	// PING [message]
	{Spec: resp.Spec{Name: "ping", Arity: -1, Flags: resp.Fast, Door: resp.Local,
		Group: "connection", Since: "1.0.0", Summary: "Ping the server",
		Tips: []string{"request_policy:all_shards", "response_policy:all_succeeded"}}, Prepare: preparePing},
	// ECHO message
	{Spec: resp.Spec{Name: "echo", Arity: 2, Flags: resp.Fast | resp.Loading | resp.Stale, Door: resp.Local,
		Group: "connection", Since: "1.0.0", Summary: "Echo the given string"}, Prepare: prepareEcho},
	// SELECT index
	{Spec: resp.Spec{Name: "select", Arity: 2, Flags: resp.Fast | resp.Loading | resp.Stale, Door: resp.Local,
		Group: "connection", Since: "1.0.0", Summary: "Change the selected database for the current connection"}, Prepare: prepareSelect},
	// TIME
	{Spec: resp.Spec{Name: "time", Arity: 1, Flags: resp.Fast | resp.Loading | resp.Stale, Door: resp.Local,
		Group: "server", Since: "2.6.0", Summary: "Return the current server time",
		Tips: []string{"nondeterministic_output"}}, Prepare: prepareTime},
}

// RunLocal runs a Local state machine command (SELECT, PING, ECHO, TIME)
// for a client outside a transaction: it reads no state. nowUs is the
// node's clock in Unix microseconds, what TIME answers there, as Redis
// answers its own clock. It returns the reply and the client's database
// afterwards.
func RunLocal(db int, nowUs int64, args [][]byte) (resp.Reply, int) {
	if cmd := Lookup(args[0]); cmd == nil || cmd.Door != resp.Local {
		// Only Local rows are safe without state.
		return resp.ErrUnknownCommand(args), db
	}
	c := &Ctx{DBNum: db, TimeMs: nowUs / 1000, nowUs: nowUs}
	return run(c, args), c.DBNum
}

// PING [message]
func preparePing(args [][]byte) (Exec, error) {
	switch len(args) {
	case 1:
		return func(*Ctx) resp.Reply { return resp.Status("PONG") }, nil
	case 2:
		return func(*Ctx) resp.Reply { return resp.Bulk(args[1]) }, nil
	}
	return nil, resp.ErrWrongArity("ping")
}

// ECHO message
func prepareEcho(args [][]byte) (Exec, error) {
	return func(*Ctx) resp.Reply { return resp.Bulk(args[1]) }, nil
}

// SELECT index
//
// Redis reads the index as a C int before it checks the range, hence two
// different errors for 2147483648 and 99.
func prepareSelect(args [][]byte) (Exec, error) {
	n, ok := resp.ParseInt(args[1])
	switch {
	case !ok:
		return nil, resp.ErrNotInteger
	case n != int64(int32(n)):
		return nil, resp.ErrNotInt32
	case n < 0 || n >= NumDBs:
		return nil, resp.ErrInvalidDB
	}
	return func(c *Ctx) resp.Reply {
		c.DBNum = int(n)
		return resp.OK
	}, nil
}

// TIME
//
// Inside a script or a transaction it answers the entry's time, at which
// the whole entry runs on every node (Redis 7 freezes time the same way
// for a script's keys), so a script that writes what TIME said writes the
// same on every node.
func prepareTime([][]byte) (Exec, error) {
	return func(c *Ctx) resp.Reply {
		us := c.TimeMs * 1000
		if c.nowUs != 0 {
			us = c.nowUs
		}
		return resp.Array{resp.Bulk(strconv.AppendInt(nil, us/1e6, 10)), resp.Bulk(strconv.AppendInt(nil, us%1e6, 10))}
	}, nil
}
