package raftnode

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	wal "github.com/hashicorp/raft-wal"
	"github.com/hashicorp/raft-wal/metadb"
	"go.etcd.io/bbolt"
)

// Log store names, as --log-store takes them.
const (
	// LogStoreBolt is raft-boltdb/v2: one bolt file, raft.db. The default.
	LogStoreBolt = "bolt"
	// LogStoreWAL is hashicorp/raft-wal: append-only segment files under
	// wal/, one fsync per append where bolt's commit costs two.
	LogStoreWAL = "wal"
)

// LogStores lists the accepted --log-store values.
var LogStores = []string{LogStoreBolt, LogStoreWAL}

// Where each store keeps its files inside the data dir. Their presence is
// what tells which store a data dir was created with.
const (
	boltFile = "raft.db"
	walDir   = "wal"
	walLock  = "LOCK"
)

// logStore is Raft's log and stable store in one, as both stores provide.
type logStore interface {
	raft.LogStore
	raft.StableStore
	io.Closer
}

// openLogStore opens the data dir's log store of the given kind. A data
// dir holds the Raft log and term/vote of exactly one store: opening it
// with the other would start from an empty log and vote again in a term
// it already voted in, so that is refused rather than done silently.
func openLogStore(kind, dataDir string, logger hclog.Logger) (logStore, error) {
	hasBolt := exists(filepath.Join(dataDir, boltFile))
	hasWAL := exists(filepath.Join(dataDir, walDir))
	switch kind {
	case "", LogStoreBolt:
		if hasWAL {
			return nil, fmt.Errorf("data dir %s holds a raft-wal log (%s/); start the node with --log-store %s", dataDir, walDir, LogStoreWAL)
		}
		return openBolt(dataDir)
	case LogStoreWAL:
		if hasBolt {
			return nil, fmt.Errorf("data dir %s holds a bolt log (%s); start the node with --log-store %s", dataDir, boltFile, LogStoreBolt)
		}
		if err := checkWALSegments(filepath.Join(dataDir, walDir), dataDir); err != nil {
			return nil, err
		}
		return openWAL(filepath.Join(dataDir, walDir), logger)
	default:
		return nil, fmt.Errorf("unknown log store %q (want %s or %s)", kind, LogStoreBolt, LogStoreWAL)
	}
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func openBolt(dataDir string) (logStore, error) {
	if err := checkBoltFile(filepath.Join(dataDir, boltFile), dataDir); err != nil {
		return nil, err
	}
	// bolt locks its file; without a timeout a second process on the same
	// data dir would wait forever instead of saying why it cannot start.
	s, err := raftboltdb.New(raftboltdb.Options{
		Path:        filepath.Join(dataDir, boltFile),
		BoltOptions: &bbolt.Options{Timeout: time.Second},
	})
	if errors.Is(err, bbolt.ErrTimeout) {
		return nil, fmt.Errorf("open bolt raft log store in %s (is another node using this data dir?): %w", dataDir, err)
	}
	if err != nil {
		return nil, fmt.Errorf("open bolt raft log store in %s (%s): %w", dataDir, diskCause(err), err)
	}
	return s, nil
}

// walStore is raft-wal plus what its Close leaves open: its meta store (a
// bolt file that WAL.Close does not close, so reopening the dir in the same
// process would wait on bolt's lock forever) and the lock file that keeps
// a second process out (raft-wal opens that bolt file without a timeout, so
// a second process would hang rather than fail).
type walStore struct {
	*wal.WAL
	meta *metadb.BoltMetaDB
	lock *os.File
}

func (s *walStore) Close() error {
	err := s.WAL.Close()
	if cerr := s.meta.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("close raft-wal meta store: %w", cerr)
	}
	s.lock.Close() // closing releases the flock
	return err
}

func openWAL(dir string, logger hclog.Logger) (logStore, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create raft-wal dir: %w", err)
	}
	lock, err := os.OpenFile(filepath.Join(dir, walLock), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open raft-wal lock file: %w", err)
	}
	if err := lockFile(lock); err != nil {
		lock.Close()
		if errors.Is(err, errLocked) {
			return nil, fmt.Errorf("raft-wal log in %s is locked: another node is using this data dir", dir)
		}
		return nil, fmt.Errorf("lock raft-wal dir %s: %w", dir, err)
	}
	// raft-wal writes, then fsyncs, every StoreLogs before returning
	// (segment.Writer.Append → sync), so an append Raft acknowledges is on
	// disk, as with bolt.
	meta := &metadb.BoltMetaDB{}
	w, err := wal.Open(dir, wal.WithLogger(logger), wal.WithMetaStore(meta))
	if err != nil {
		meta.Close()
		lock.Close()
		return nil, fmt.Errorf("open raft-wal log store in %s: %w", dir, err)
	}
	return &walStore{WAL: w, meta: meta, lock: lock}, nil
}
