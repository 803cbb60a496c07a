package raftnode

import (
	"io"
	"time"

	"github.com/hashicorp/raft"

	"github.com/raftlist/raftlist/fsm"
)

// Snapshot phases reported to Config.SnapshotObserver.
const (
	// SnapshotCapture is the state machine cloning its state; Apply waits
	// meanwhile, so this is the pause a snapshot costs writes.
	SnapshotCapture = "capture"
	// SnapshotPersist is writing the clone to the snapshot store.
	SnapshotPersist = "persist"
	// SnapshotRestore is replacing the state with a snapshot's, at start
	// or when the leader sends one.
	SnapshotRestore = "restore"
)

// LastContact is when this node last heard from the leader (zero if never).
func (n *Node) LastContact() time.Time { return n.raft.LastContact() }

// timedMachine times the state machine's snapshot work for
// Config.SnapshotObserver. Embedding keeps every other interface raft
// looks for on the machine (BatchingFSM, ConfigurationStore).
type timedMachine struct {
	*fsm.Machine
	observe func(phase string, took time.Duration)
}

func (m timedMachine) Snapshot() (raft.FSMSnapshot, error) {
	began := time.Now()
	s, err := m.Machine.Snapshot()
	if err != nil {
		return nil, err
	}
	m.observe(SnapshotCapture, time.Since(began))
	return timedSnapshot{FSMSnapshot: s, observe: m.observe}, nil
}

func (m timedMachine) Restore(rc io.ReadCloser) error {
	began := time.Now()
	if err := m.Machine.Restore(rc); err != nil {
		return err
	}
	m.observe(SnapshotRestore, time.Since(began))
	return nil
}

type timedSnapshot struct {
	raft.FSMSnapshot
	observe func(phase string, took time.Duration)
}

func (s timedSnapshot) Persist(sink raft.SnapshotSink) error {
	began := time.Now()
	if err := s.FSMSnapshot.Persist(sink); err != nil {
		return err
	}
	s.observe(SnapshotPersist, time.Since(began))
	return nil
}

// raftFSM is what the node hands raft: the machine, timed if asked.
func (n *Node) raftFSM() raft.FSM {
	if n.cfg.SnapshotObserver == nil {
		return n.machine
	}
	return timedMachine{Machine: n.machine, observe: n.cfg.SnapshotObserver}
}
