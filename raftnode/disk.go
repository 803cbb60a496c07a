package raftnode

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
)

// A full or failing disk. hashicorp/raft already refuses to acknowledge
// what it could not store: a leader whose StoreLogs fails answers the
// entries' futures with the error and steps down before replicating them,
// and a follower that cannot append does not count towards the commit. What
// it does not do is stop a node whose disk stays full from campaigning: the
// deposed leader's election timer fires first (it heard from nobody while
// it led), it wins, fails its first append and steps down again, and the
// cluster takes no writes while that repeats. diskStore ends that loop: once
// a write to the data dir has failed, the next attempt to persist a new term
// (which raft makes before it campaigns or follows a new leader) waits until
// the data dir accepts a probe write again. The node is then a silent member
// the other two outvote, and it resumes by itself when space is freed.

// diskProbeSize is how much a probe writes to decide the data dir has room
// again: enough for a few batches of entries, so a node does not resume
// only to fail its next append.
const diskProbeSize = 1 << 20

// diskProbeEvery is how often a node waiting for room probes its data dir.
const diskProbeEvery = 500 * time.Millisecond

// diskStore is the log and stable store (bolt or raft-wal) with an account
// of whether the data dir is failing.
type diskStore struct {
	logStore
	dir  string
	log  hclog.Logger
	stop <-chan struct{}

	mu      sync.Mutex
	failing bool // a write failed and no write or probe has succeeded since
}

// StoreLog goes through StoreLogs so every append is watched.
func (d *diskStore) StoreLog(l *raft.Log) error {
	return d.StoreLogs([]*raft.Log{l})
}

func (d *diskStore) StoreLogs(logs []*raft.Log) error {
	return d.note("append to the raft log", d.logStore.StoreLogs(logs))
}

func (d *diskStore) DeleteRange(min, max uint64) error {
	return d.note("compact the raft log", d.logStore.DeleteRange(min, max))
}

func (d *diskStore) Set(k, v []byte) error {
	d.waitForRoom()
	return d.note("persist raft state", d.logStore.Set(k, v))
}

// SetUint64 persists the current term (and raft's other counters). raft
// panics when this fails, so a node whose disk is failing waits here for
// room instead: it neither campaigns nor votes until it can keep its word.
func (d *diskStore) SetUint64(k []byte, v uint64) error {
	d.waitForRoom()
	return d.note("persist raft state", d.logStore.SetUint64(k, v))
}

// note records the outcome of a write and logs the first failure of a run
// at error level, naming the data dir and the cause.
func (d *diskStore) note(op string, err error) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case err == nil && d.failing:
		d.failing = false
		d.log.Info("data dir is writable again", "data_dir", d.dir)
	case err != nil && !d.failing:
		d.failing = true
		d.log.Error("cannot write to the data dir: this node refuses writes, steps down and does not campaign until it can",
			"data_dir", d.dir, "op", op, "cause", diskCause(err), "error", err)
	}
	return err
}

// waitForRoom blocks while the data dir is failing, until a probe write
// succeeds or the node stops (then the caller's write decides).
func (d *diskStore) waitForRoom() {
	d.mu.Lock()
	failing := d.failing
	d.mu.Unlock()
	if !failing {
		return
	}
	d.log.Error("waiting for the data dir to accept writes before persisting a new term; free space to resume",
		"data_dir", d.dir)
	reminder := time.Now()
	for {
		err := probeDir(d.dir, diskProbeSize)
		if err == nil {
			d.note("probe", nil)
			return
		}
		if time.Since(reminder) > 30*time.Second {
			d.log.Error("still waiting for the data dir to accept writes", "data_dir", d.dir, "cause", diskCause(err), "error", err)
			reminder = time.Now()
		}
		select {
		case <-d.stop:
			return
		case <-time.After(diskProbeEvery):
		}
	}
}

// diskCause names the usual causes in words an operator searches for.
func diskCause(err error) string {
	switch {
	case errors.Is(err, syscall.ENOSPC):
		return "ENOSPC: no space left on device"
	case errors.Is(err, syscall.EDQUOT):
		return "EDQUOT: disk quota exceeded"
	case errors.Is(err, syscall.EROFS):
		return "EROFS: read-only file system"
	case errors.Is(err, syscall.EACCES), errors.Is(err, syscall.EPERM):
		return "permission denied"
	case errors.Is(err, syscall.EIO):
		return "EIO: I/O error"
	}
	// raft's log cache flattens the error chain into text.
	return "see error"
}

// probeDir writes size bytes to a scratch file in dir, syncs and removes
// it: the cheapest honest answer to "can this node persist anything here".
func probeDir(dir string, size int) (err error) {
	path := filepath.Join(dir, ".write-probe")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if rerr := os.Remove(path); err == nil && rerr != nil && !os.IsNotExist(rerr) {
			err = rerr
		}
	}()
	if _, err := f.Write(make([]byte, size)); err != nil {
		return err
	}
	return f.Sync()
}

// checkDataDir fails startup with the path and the cause when the data dir
// cannot be created or written.
func checkDataDir(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create data dir %s: %w", dir, err)
	}
	if err := probeDir(dir, 64<<10); err != nil {
		return fmt.Errorf("data dir %s is not writable (%s): %w", dir, diskCause(err), err)
	}
	return nil
}
