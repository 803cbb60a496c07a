package fsm

import (
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/hashicorp/raft"
)

// Machine adapts State to hashicorp/raft. Raft calls Apply, Snapshot,
// Restore and StoreConfiguration from one goroutine, never concurrently;
// the front door reads concurrently through View, so a RWMutex guards state.
type Machine struct {
	mu      sync.RWMutex
	st      *State
	applied uint64
	// halt is set when a committed entry cannot be decoded; from then on
	// nothing is applied and nothing may be read.
	halt error
	// advanced is closed and replaced each time applied moves, waking
	// WaitApplied callers.
	advanced chan struct{}
	// onServed hear of every waiter an applied entry ended.
	onServed []func(served []Served)
	// onRestore hear, after a snapshot is installed, of every ended waiter
	// whose owner has not acknowledged it.
	onRestore []func(ended []Served)
	// onACL hear of the ACL users after every ACL entry and every
	// snapshot install.
	onACL []func(users []*ACLUser, deleted []string)
	// readClock is handed to every state this machine holds (see
	// SetReadClock).
	readClock func() int64
}

// SetReadClock gives reads outside the log (State.Read) the node's wall
// clock, f returning Unix milliseconds: a key whose deadline the wall clock
// has passed reads as absent even before an entry deletes it, and its TTL
// counts down between entries, as on a single Redis. A read never decides
// at a time earlier than the log clock, so it never shows a key an applied
// entry saw as expired. Apply never calls f: expiry in the replicated state
// is decided by log time alone. Set it before Raft starts.
func (m *Machine) SetReadClock(f func() int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.readClock = f
	m.st.readClock = f
}

// OnServed adds f to the functions that hear, on every node, of every
// waiter an entry ended, as that entry is applied (the front door answers
// its clients; raftnode nudges followers). Set them before Raft starts. f
// runs inside Apply and must not block.
func (m *Machine) OnServed(f func(served []Served)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.onServed = append(m.onServed, f)
}

// OnRestore adds f to the functions that hear, on every node, of every
// waiter outcome a snapshot holds that its owner has not acknowledged, as
// the snapshot is installed (f hears of every install, even with none).
// The entries that ended those waiters are never applied on this node, so
// this is the only way the front door learns of them (DESIGN.md invariant
// 6). A waiter the snapshot still holds is ended by a later entry as usual.
// Set them before Raft starts. f runs inside Restore, after the swap, and
// must not block.
func (m *Machine) OnRestore(f func(ended []Served)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.onRestore = append(m.onRestore, f)
}

// OnACL adds f to the functions that hear, on every node, of the ACL
// users whenever they may have changed: after an ACL entry is applied
// (deleted names the users it removed) and after a snapshot is installed
// (deleted is nil; a user missing from users is gone). The front door
// keeps its view of the rules from it and closes the connections of users
// that no longer exist. Set them before Raft starts. f runs inside Apply or
// Restore and must not block.
func (m *Machine) OnACL(f func(users []*ACLUser, deleted []string)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.onACL = append(m.onACL, f)
	f(m.st.Users(), nil)
}

// NewMachine returns a machine over an empty state.
func NewMachine() *Machine {
	return &Machine{st: NewState(), advanced: make(chan struct{})}
}

// Apply implements raft.FSM. It returns *Result, or an error when the entry
// cannot be applied (which also halts the machine).
func (m *Machine) Apply(l *raft.Log) interface{} {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.halt != nil {
		return m.halt
	}
	e, err := DecodeEntry(l.Data)
	if err != nil {
		m.halt = fmt.Errorf("apply log index %d: %w", l.Index, err)
		m.advance(m.applied) // wake waiters so they see the halt
		return m.halt
	}
	res := m.st.Apply(l.Index, l.Term, e)
	m.advance(l.Index)
	if len(res.Served) > 0 {
		for _, f := range m.onServed {
			f(res.Served)
		}
	}
	if res.ACLChanged {
		users := m.st.Users()
		for _, f := range m.onACL {
			f(users, res.ACLDeleted)
		}
	}
	return res
}

// StoreConfiguration implements raft.ConfigurationStore: configuration
// entries never reach Apply, but they occupy log indexes a read may wait on.
func (m *Machine) StoreConfiguration(index uint64, _ raft.Configuration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.advance(index)
}

func (m *Machine) advance(index uint64) {
	if index > m.applied {
		m.applied = index
	}
	close(m.advanced)
	m.advanced = make(chan struct{})
}

// AppliedIndex returns the last log index this machine has applied.
func (m *Machine) AppliedIndex() uint64 {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.applied
}

// BlockedWaiters returns how many clients are blocked, cluster-wide.
func (m *Machine) BlockedWaiters() int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.st.BlockedWaiters()
}

// TakeScriptLogs returns the redis.log lines scripts wrote since the last
// call (see State.TakeScriptLogs).
func (m *Machine) TakeScriptLogs() ([]ScriptLog, int) {
	m.mu.RLock()
	st := m.st
	m.mu.RUnlock()
	return st.TakeScriptLogs()
}

// Halted returns why the machine stopped applying, or nil.
func (m *Machine) Halted() error {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.halt
}

// WaitApplied blocks until the machine has applied index, the machine halts
// or ctx ends.
func (m *Machine) WaitApplied(ctx context.Context, index uint64) error {
	for {
		m.mu.RLock()
		applied, halt, ch := m.applied, m.halt, m.advanced
		m.mu.RUnlock()
		if halt != nil {
			return halt
		}
		if applied >= index {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("wait for log index %d (applied %d): %w", index, applied, ctx.Err())
		}
	}
}

// View runs f with read access to the state. f must not keep the state.
func (m *Machine) View(f func(s *State)) error {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.halt != nil {
		return m.halt
	}
	f(m.st)
	return nil
}

// Snapshot implements raft.FSM: it clones the state under the lock and lets
// raft write the clone in the background while Apply goes on.
func (m *Machine) Snapshot() (raft.FSMSnapshot, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.halt != nil {
		return nil, m.halt
	}
	return &snapshot{st: m.st.Clone()}, nil
}

// Restore implements raft.FSM: it reads a whole snapshot into fresh state and
// swaps it in only when complete.
func (m *Machine) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	st, err := ReadSnapshot(rc)
	if err != nil {
		return fmt.Errorf("restore snapshot: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	st.readClock = m.readClock
	m.st = st
	m.halt = nil
	m.advance(st.applied)
	// Under the lock, as OnServed runs under Apply's: no entry applied after
	// the snapshot can reach the front door before these outcomes do.
	ended := st.EndedOutcomes()
	if breakRestoreForgetsBlocked {
		return nil
	}
	for _, f := range m.onRestore {
		f(ended)
	}
	users := st.Users()
	for _, f := range m.onACL {
		f(users, nil)
	}
	return nil
}

type snapshot struct{ st *State }

func (s *snapshot) Persist(sink raft.SnapshotSink) error {
	if err := WriteSnapshot(sink, s.st); err != nil {
		sink.Cancel()
		return fmt.Errorf("persist snapshot: %w", err)
	}
	return sink.Close()
}

func (s *snapshot) Release() {}
