package fsm

import (
	"sync"

	"github.com/raftlist/raftlist/fsm/lua"
)

// Log levels of redis.log, as Redis numbers them.
const (
	ScriptLogDebug   = lua.LogDebug
	ScriptLogVerbose = lua.LogVerbose
	ScriptLogNotice  = lua.LogNotice
	ScriptLogWarning = lua.LogWarning
)

// ScriptLog is one line a script wrote with redis.log.
type ScriptLog struct {
	Level int
	Line  string
}

// scriptLogMax is how many lines a state keeps for its node to collect.
const scriptLogMax = 1024

// scriptLogBuffer holds redis.log lines until the node takes them. It is
// not replicated state (no snapshot, no digest): every node that runs a
// script collects the same lines, and each decides what to do with them.
// A mutex, because EVAL_RO runs on the read path, concurrently.
type scriptLogBuffer struct {
	mu      sync.Mutex
	lines   []ScriptLog
	dropped int
}

// TakeScriptLogs returns and forgets the redis.log lines scripts wrote
// since the last call, and how many older lines were dropped because
// nobody took them (only the newest scriptLogMax are kept). The node
// writes them to its log.
func (s *State) TakeScriptLogs() ([]ScriptLog, int) {
	b := s.scriptLog
	b.mu.Lock()
	defer b.mu.Unlock()
	lines, dropped := b.lines, b.dropped
	b.lines, b.dropped = nil, 0
	return lines, dropped
}

func (b *scriptLogBuffer) add(l ScriptLog) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.lines) >= scriptLogMax {
		b.lines = append(b.lines[:0:0], b.lines[1:]...)
		b.dropped++
	}
	b.lines = append(b.lines, l)
}
