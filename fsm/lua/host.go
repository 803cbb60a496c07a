package lua

import "github.com/raftlist/raftlist/fsm/resp"

// Host is everything outside its machine that a run can reach: the state
// machine, through the callbacks of the redis library. A run is a pure
// function of its script, KEYS, ARGV, budget and what Host answers; the
// host decides what a command may do (read-only runs, the database
// SELECT chose, which commands scripts may call).
type Host interface {
	// Call runs one command for redis.call or redis.pcall, with the
	// arguments already converted to strings, and returns its reply; an
	// error is a resp.Error, which Call raises and pcall returns.
	Call(args [][]byte) resp.Reply
	// Known reports whether redis.acl_check_cmd may answer true: the
	// command exists for scripts.
	Known(name []byte) bool
	// Log takes a line written with redis.log at a level from LogDebug to
	// LogWarning. It cannot change what the run observes.
	Log(level int, line string)
	// RandomSeed is where the run's math.random starts (math.randomseed
	// restarts it): equal for the same run on every node. 0 is Redis's
	// own start, the state of an lrand48 never seeded.
	RandomSeed() uint64
}
