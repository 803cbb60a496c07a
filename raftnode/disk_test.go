package raftnode

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
)

// openBolt opens a fresh bolt store in a temp dir.
func openTestBolt(t *testing.T) *raftboltdb.BoltStore {
	t.Helper()
	s, err := raftboltdb.NewBoltStore(filepath.Join(t.TempDir(), "raft.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// failedDiskStore is a diskStore whose last write failed and whose data
// dir does not exist (so probes fail) until the test creates it.
func failedDiskStore(t *testing.T, stop chan struct{}) (*diskStore, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "missing")
	closed := openTestBolt(t)
	closed.Close()
	d := &diskStore{logStore: closed, dir: dir, log: hclog.NewNullLogger(), stop: stop}
	if err := d.StoreLogs([]*raft.Log{{Index: 1, Term: 1}}); err == nil {
		t.Fatal("exp StoreLogs on a closed store to fail")
	}
	d.logStore = openTestBolt(t) // from now on only the probe stands in the way
	return d, dir
}

func TestDiskStoreWaitsForRoomBeforePersistingATermAfterAFailedWrite(t *testing.T) {
	d, dir := failedDiskStore(t, make(chan struct{}))
	done := make(chan error, 1)
	go func() { done <- d.SetUint64([]byte("CurrentTerm"), 7) }()
	select {
	case err := <-done:
		t.Fatalf("exp SetUint64 to wait while the data dir fails, got %v at once", err)
	case <-time.After(3 * diskProbeEvery):
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exp the term persisted once the data dir takes writes, got %v", err)
		}
	case <-time.After(10 * diskProbeEvery):
		t.Fatal("exp SetUint64 to resume once the data dir takes writes, still waiting")
	}
	if v, err := d.GetUint64([]byte("CurrentTerm")); err != nil || v != 7 {
		t.Fatalf("exp term 7 stored, got %d, %v", v, err)
	}
	// The failure is over: the next term is persisted without waiting.
	start := time.Now()
	if err := d.SetUint64([]byte("CurrentTerm"), 8); err != nil || time.Since(start) > diskProbeEvery {
		t.Fatalf("exp an immediate write after recovery, got %v after %v", err, time.Since(start))
	}
}

func TestDiskStoreStopsWaitingWhenTheNodeStops(t *testing.T) {
	stop := make(chan struct{})
	d, _ := failedDiskStore(t, stop)
	done := make(chan error, 1)
	go func() { done <- d.SetUint64([]byte("CurrentTerm"), 7) }()
	time.Sleep(2 * diskProbeEvery)
	close(stop)
	select {
	case <-done:
	case <-time.After(5 * diskProbeEvery):
		t.Fatal("exp SetUint64 to stop waiting at shutdown, still waiting")
	}
}

func TestNewNamesTheDataDirAndCauseWhenItCannotBeCreated(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(file, "data")
	_, err := New(Config{ID: "n1", RaftAddr: freeAddr(t), DataDir: dir, Logger: hclog.NewNullLogger()})
	if err == nil {
		t.Fatal("exp an error for a data dir under a regular file")
	}
	if exp, got := "create data dir "+dir+": mkdir "+file+": not a directory", err.Error(); exp != got {
		t.Fatalf("exp %q, got %q", exp, got)
	}
}
