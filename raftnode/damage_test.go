package raftnode

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
)

// Each test builds a node's data dir, damages one file the way the fault
// test's corrupt fault does (issue 14) and asserts that the restart is
// refused with ErrDataDirDamaged and a message naming the data dir, what
// is damaged and what to do: never a panic, a SIGBUS, or a node that
// applies the damage.

// canary is a value of digits, the newest entry of the log and in any
// snapshot taken after it: where the damage lands.
var canary = "canary-" + strings.Repeat("0123456789", 100)

func damageConfig(dir, store string, trailing uint64) Config {
	return Config{
		ID: "n1", RaftAddr: "127.0.0.1:0", RespAddr: "resp-n1", DataDir: dir, Bootstrap: true, LogStore: store,
		HeartbeatTimeout: 200 * time.Millisecond, ElectionTimeout: 200 * time.Millisecond,
		SnapshotThreshold: 1 << 20, SnapshotInterval: time.Hour, TrailingLogs: trailing,
		Logger: hclog.New(&hclog.LoggerOptions{Name: "n1", Level: hclog.Error}),
	}
}

// buildDataDir runs a one-node cluster in dir: entries, then snapshots
// (each after some more entries), then the canary.
func buildDataDir(t *testing.T, dir, store string, snapshots int) {
	t.Helper()
	cfg := damageConfig(dir, store, 1)
	cfg.RaftAddr = freeAddr(t)
	n, err := New(cfg)
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	defer n.Shutdown()
	waitFor(t, "leader gate", n.IsLeader)
	for s := 0; s <= snapshots; s++ {
		for i := 0; i < 20; i++ {
			if _, err := push(n, "k", fmt.Sprint(s, "-", i)); err != nil {
				t.Fatalf("push: %v", err)
			}
		}
		if s < snapshots {
			if _, err := n.Snapshot(); err != nil {
				t.Fatalf("snapshot: %v", err)
			}
		}
	}
	if _, err := push(n, "canary", canary); err != nil {
		t.Fatalf("push canary: %v", err)
	}
	if snapshots > 0 {
		if _, err := n.Snapshot(); err != nil {
			t.Fatalf("snapshot: %v", err)
		}
	}
	if err := n.Shutdown(); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
}

// restart starts the node again on dir and returns New's error.
func restart(t *testing.T, dir, store string) error {
	t.Helper()
	cfg := damageConfig(dir, store, 1)
	cfg.RaftAddr = freeAddr(t)
	n, err := New(cfg)
	if err == nil {
		n.Shutdown()
	}
	return err
}

// flipCanary flips one digit of every copy of the canary in path (bolt
// may keep stale copies in free pages).
func flipCanary(t *testing.T, path string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	at := len("canary-") + 555
	copies := 0
	for off := 0; ; {
		i := bytes.Index(data[off:], []byte(canary))
		if i < 0 {
			break
		}
		data[off+i+at] ^= 1
		copies++
		off += i + len(canary)
	}
	if copies == 0 {
		t.Fatalf("no canary in %s", path)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func newestSnapshot(t *testing.T, dir string) string {
	t.Helper()
	dirs, _ := filepath.Glob(filepath.Join(dir, "snapshots", "*-*-*"))
	if len(dirs) == 0 {
		t.Fatalf("no snapshot in %s", dir)
	}
	// Names are term-index-time: with one term, the longest index sorts last.
	sort.Slice(dirs, func(i, j int) bool {
		return len(dirs[i]) < len(dirs[j]) || len(dirs[i]) == len(dirs[j]) && dirs[i] < dirs[j]
	})
	return filepath.Join(dirs[len(dirs)-1], "state.bin")
}

func logFile(t *testing.T, dir, store string) string {
	t.Helper()
	if store == LogStoreWAL {
		segs, _ := filepath.Glob(filepath.Join(dir, walDir, "*.wal"))
		if len(segs) == 0 {
			t.Fatalf("no wal segment in %s", dir)
		}
		return segs[len(segs)-1]
	}
	return filepath.Join(dir, boltFile)
}

func expectRefusal(t *testing.T, err error, dir string, says ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("exp the restart refused, it started")
	}
	if !errors.Is(err, ErrDataDirDamaged) {
		t.Fatalf("exp ErrDataDirDamaged, got %v", err)
	}
	for _, s := range append([]string{dir, "RAFT REMOVENODE", "restore this data dir"}, says...) {
		if !strings.Contains(err.Error(), s) {
			t.Fatalf("exp the message to say %q, got %q", s, err)
		}
	}
	t.Logf("refused: %v", err)
}

func TestRestartRefusesALogEntryWithAFlippedDigit(t *testing.T) {
	// bolt checks nothing of an entry's bytes: the entry's own checksum
	// (format 2) tells. raft-wal would drop the damaged batch as if a
	// crash had torn it, losing an append it acknowledged: its commit
	// frame's CRC is checked before it opens the segment.
	for store, says := range map[string][]string{
		LogStoreBolt: {"raft log entry", "checksum mismatch"},
		LogStoreWAL:  {"raft-wal segment wal/", "fails its CRC"},
	} {
		t.Run(store, func(t *testing.T) {
			dir := t.TempDir()
			buildDataDir(t, dir, store, 0)
			flipCanary(t, logFile(t, dir, store))
			expectRefusal(t, restart(t, dir, store), dir, says...)
		})
	}
}

func TestRestartRefusesACutWALSegment(t *testing.T) {
	dir := t.TempDir()
	buildDataDir(t, dir, LogStoreWAL, 0)
	path := logFile(t, dir, LogStoreWAL)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	at := bytes.Index(data, []byte(canary)) + 300 // inside the newest entry
	if err := os.Truncate(path, int64(at)); err != nil {
		t.Fatal(err)
	}
	expectRefusal(t, restart(t, dir, LogStoreWAL), dir, "raft-wal segment wal/", "cut short")
}

func TestRestartRefusesACutWALMetaFile(t *testing.T) {
	dir := t.TempDir()
	buildDataDir(t, dir, LogStoreWAL, 0)
	path := filepath.Join(dir, walDir, "wal-meta.db")
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, fi.Size()-4096-100); err != nil {
		t.Fatal(err)
	}
	expectRefusal(t, restart(t, dir, LogStoreWAL), dir, "the bolt file wal/wal-meta.db", "cut short")
}

func TestRestartRefusesADamagedNewestSnapshot(t *testing.T) {
	for _, tc := range []struct {
		name      string
		snapshots int
		damage    func(t *testing.T, path string)
	}{
		{"a digit flipped, an older snapshot the log no longer continues", 2, flipCanary},
		{"a digit flipped, the only snapshot", 1, flipCanary},
		{"cut short", 2, func(t *testing.T, path string) {
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Truncate(path, fi.Size()/2); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			buildDataDir(t, dir, LogStoreBolt, tc.snapshots)
			tc.damage(t, newestSnapshot(t, dir))
			expectRefusal(t, restart(t, dir, LogStoreBolt), dir, "the newest snapshot", "CRC mismatch")
		})
	}
}

func TestRestartRefusesADamagedBoltFile(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(t *testing.T, path string, data []byte) []byte
		says   string
	}{
		{"cut inside a page", func(t *testing.T, path string, data []byte) []byte {
			return data[:len(data)-4096-1234]
		}, "cut short"},
		{"cut at a page boundary below the high-water mark", func(t *testing.T, path string, data []byte) []byte {
			end, _ := boltEndForTest(data)
			return data[:end-4096]
		}, "cut short"},
		{"cut to one page", func(t *testing.T, path string, data []byte) []byte {
			return data[:4096]
		}, "cut short"},
		{"cut inside the first meta page", func(t *testing.T, path string, data []byte) []byte {
			return data[:40]
		}, "meta page 0"},
		{"a byte of meta page 1 flipped", func(t *testing.T, path string, data []byte) []byte {
			data[4096+boltPageHeader+40] ^= 1 // its high-water mark
			return data
		}, "meta page 1: meta page checksum mismatch"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			buildDataDir(t, dir, LogStoreBolt, 0)
			path := filepath.Join(dir, boltFile)
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, tc.damage(t, path, data), 0o644); err != nil {
				t.Fatal(err)
			}
			expectRefusal(t, restart(t, dir, LogStoreBolt), dir, boltFile, tc.says)
		})
	}
}

// boltEndForTest is where a bolt file's used pages end: the newest meta
// page's high-water mark times the page size (4096 here).
func boltEndForTest(data []byte) (int, error) {
	best, end := uint64(0), 0
	for i := 0; i < 2; i++ {
		m, err := readBoltMeta(data[i*4096:])
		if err != nil {
			return 0, err
		}
		if m.txid >= best {
			best, end = m.txid, int(m.highWater)*int(m.pageSize)
		}
	}
	return end, nil
}

func TestUndamagedDataDirRestarts(t *testing.T) {
	for _, store := range LogStores {
		t.Run(store, func(t *testing.T) {
			dir := t.TempDir()
			buildDataDir(t, dir, store, 2)
			if err := restart(t, dir, store); err != nil {
				t.Fatalf("exp the restart to succeed, got %v", err)
			}
		})
	}
}
