package raftnode

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"

	"github.com/raftlist/raftlist/fsm"
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

// A follower that installs a snapshot keeps the old entries it had when
// they are fewer than TrailingLogs (raft's compactLogs), and appends after
// the snapshot: its bolt log has a gap. That is not damage, and the node
// must restart.
func TestRestartAcceptsTheGapASnapshotInstallLeaves(t *testing.T) {
	addrs := map[string]string{}
	start := func(id, dir string, bootstrap bool, trailing uint64) *Node {
		t.Helper()
		if addrs[id] == "" {
			addrs[id] = freeAddr(t)
		}
		cfg := damageConfig(dir, LogStoreBolt, trailing)
		cfg.ID, cfg.RespAddr, cfg.Bootstrap, cfg.RaftAddr = id, "resp-"+id, bootstrap, addrs[id]
		// Three nodes in one process on two busy cores: 200 ms lost the
		// lease in CI (as startNode found, node_test.go).
		cfg.HeartbeatTimeout, cfg.ElectionTimeout = time.Second, time.Second
		n, err := New(cfg)
		if err != nil {
			t.Fatalf("start %s: %v", id, err)
		}
		t.Cleanup(func() { n.Shutdown() })
		return n
	}
	n1 := start("n1", t.TempDir(), true, 1)
	waitFor(t, "n1 leader", n1.IsLeader)
	d3 := t.TempDir()
	n2 := start("n2", t.TempDir(), false, 1)
	n3 := start("n3", d3, false, 10240)
	ctx := context.Background()
	for _, n := range []*Node{n2, n3} {
		if err := n1.AddNode(ctx, n.ID(), string(n.transport.LocalAddr()), "resp-"+n.ID()); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 10; i++ {
		if _, err := push(n1, "k", fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "n3 caught up", func() bool { return n3.Machine().AppliedIndex() >= n1.Machine().AppliedIndex() })
	n3.Shutdown()
	for i := 0; i < 50; i++ {
		if _, err := push(n1, "k", fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
	}
	snap, err := n1.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	n3 = start("n3", d3, false, 10240)
	waitFor(t, "n3 installed the snapshot", func() bool { return n3.Machine().AppliedIndex() >= snap.Index })
	for i := 0; i < 5; i++ {
		if _, err := push(n1, "k", fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "n3 caught up again", func() bool { return n3.Machine().AppliedIndex() >= n1.Machine().AppliedIndex() })
	first, _ := n3.store.FirstIndex()
	var l raft.Log
	gap := first < snap.Index && errors.Is(n3.store.GetLog(snap.Index, &l), raft.ErrLogNotFound)
	n3.Shutdown()
	if !gap {
		t.Fatalf("exp a gap in n3's log (first %d, snapshot %d): the test no longer builds the case", first, snap.Index)
	}
	n3 = start("n3", d3, false, 10240)
	waitFor(t, "n3 caught up after its restart", func() bool { return n3.Machine().AppliedIndex() >= n1.Machine().AppliedIndex() })
}

func TestCheckLog(t *testing.T) {
	entry := func(i uint64) *raft.Log {
		e := fsm.Entry{Kind: fsm.KindCommands, Cmds: []fsm.Cmd{{Owner: "o", Seq: i, Args: [][]byte{[]byte("rpush"), []byte("k"), []byte("0123456789")}}}}
		return &raft.Log{Index: i, Term: 1, Type: raft.LogCommand, Data: e.Encode()}
	}
	// build holds entries lo..hi of each range, the one at damaged (if
	// any) with a flipped digit.
	build := func(damaged uint64, ranges ...[2]uint64) raft.LogStore {
		s := raft.NewInmemStore()
		for _, r := range ranges {
			for i := r[0]; i <= r[1]; i++ {
				l := entry(i)
				if i == damaged {
					l.Data[len(l.Data)-5] ^= 1
				}
				if err := s.StoreLog(l); err != nil {
					t.Fatal(err)
				}
			}
		}
		return s
	}
	for _, tc := range []struct {
		name      string
		store     raft.LogStore
		snapIndex uint64
		checked   int
		refused   string
	}{
		{"a whole log, no snapshot", build(0, [2]uint64{1, 30}), 0, 30, ""},
		{"a gap at and below the snapshot (a snapshot install)", build(0, [2]uint64{1, 3}, [2]uint64{101, 130}), 110, 30, ""},
		{"an entry missing after the snapshot", build(0, [2]uint64{1, 3}, [2]uint64{101, 120}, [2]uint64{122, 130}), 110, 0, "cannot read raft log entry 121"},
		{"an entry damaged after the snapshot", build(125, [2]uint64{101, 130}), 110, 0, "raft log entry 125 (term 1): corrupt log entry: checksum mismatch"},
		{"an entry damaged before the snapshot", build(105, [2]uint64{101, 130}), 110, 0, "raft log entry 105 (term 1): corrupt log entry: checksum mismatch"},
		{"below the gap is left to the apply path", build(2, [2]uint64{1, 3}, [2]uint64{101, 130}), 110, 30, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, err := checkLog(tc.store, tc.snapIndex, "/data")
			if tc.refused == "" {
				if err != nil || n != tc.checked {
					t.Fatalf("exp %d entries checked and no error, got %d, %v", tc.checked, n, err)
				}
				return
			}
			if !errors.Is(err, ErrDataDirDamaged) || !strings.Contains(err.Error(), tc.refused) {
				t.Fatalf("exp ErrDataDirDamaged saying %q, got %v", tc.refused, err)
			}
		})
	}
}
