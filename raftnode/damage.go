package raftnode

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"hash/fnv"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/hashicorp/raft"
	"github.com/hashicorp/raft-wal/metadb"

	"github.com/raftlist/raftlist/fsm"
)

// A data dir damaged on disk (bit rot, a cut file, a bad restore). The
// rule (issue 14): a node refuses to start with a message that names the
// data dir, what is damaged and what to do, or recovers safely; it never
// applies damaged data and never dies of a Go panic or fatal error. Each
// check runs before the store or raft reads what it checks:
//
//   - checkBoltFile, before bbolt opens raft.db: bbolt trusts the page ids
//     its meta page records and maps the file, so a file cut inside its
//     pages dies of SIGBUS in loadFreelist.
//   - checkWALSegments, before raft-wal opens its segments: every commit
//     frame's CRC and each segment's size. raft-wal would silently drop a
//     damaged last batch (appends this node acknowledged).
//   - checkLog, before raft starts: the entries' bytes (fsm.VerifyEntry:
//     format 2 carries a CRC-32C), so a damaged entry is never replayed,
//     nor sent to a follower (but for entries below a gap a snapshot
//     install left, which the follower's apply would refuse).
//   - checkSnapshot, before raft starts: the newest snapshot's CRC64 (the
//     file store's own check) and that the log continues from it. raft
//     itself would fall back to an older snapshot whose following entries
//     are compacted away, and panic "failed to get log".
//
// A checksum failure at apply time (an entry damaged after the scan, or
// received damaged) halts the state machine, as an undecodable entry does.

// ErrDataDirDamaged is matched (errors.Is) by the error New returns when
// the data dir's log, log store file or snapshot is damaged.
var ErrDataDirDamaged = errors.New("data dir damaged")

// damaged is that error: what is damaged, where, and what to do.
type damaged struct {
	dir  string
	what string // "raft log entry 8602 (term 3)", "the newest snapshot 3-8602-…"
	err  error
}

func (e *damaged) Error() string {
	return fmt.Sprintf("data dir %s is damaged: %s: %v; this node must not start from it. "+
		"Remove this member from the cluster (RAFT REMOVENODE <id> on the leader) and add a fresh node with an empty data dir, "+
		"or restore this data dir from a backup taken while the node was stopped",
		e.dir, e.what, e.err)
}

func (e *damaged) Unwrap() error        { return e.err }
func (e *damaged) Is(target error) bool { return target == ErrDataDirDamaged }

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// checkLog reads the log store's entries and checks the bytes of each
// raftlist entry. Every entry after the newest snapshot (snapIndex) must be
// there and intact: raft replays them. At and below snapIndex the log may
// have a gap: a follower that installs a snapshot keeps the older entries
// it had when they are fewer than TrailingLogs (raft's compactLogs) and
// appends after the snapshot. Those entries are only sent to followers
// that lag, so they are checked from snapIndex down to the first one
// missing; one damaged below a gap would halt the follower it is sent to
// (the checksum is checked again at apply). The log holds at most about
// SnapshotThreshold + TrailingLogs entries (raft compacts it after each
// snapshot), so the cost is bounded: see BenchmarkCheckLog.
func checkLog(store raft.LogStore, snapIndex uint64, dataDir string) (int, error) {
	first, err := store.FirstIndex()
	if err != nil {
		return 0, &damaged{dir: dataDir, what: "cannot read the raft log's first index", err: err}
	}
	last, err := store.LastIndex()
	if err != nil {
		return 0, &damaged{dir: dataDir, what: "cannot read the raft log's last index", err: err}
	}
	if last == 0 {
		return 0, nil
	}
	n := 0
	var l raft.Log
	check := func(i uint64) error {
		l = raft.Log{}
		if err := store.GetLog(i, &l); err != nil {
			return err
		}
		if l.Index != i {
			return &damaged{dir: dataDir, what: fmt.Sprintf("raft log entry %d", i), err: fmt.Errorf("stored under index %d", l.Index)}
		}
		if l.Type == raft.LogCommand {
			if err := fsm.VerifyEntry(l.Data); err != nil {
				return &damaged{dir: dataDir, what: fmt.Sprintf("raft log entry %d (term %d)", i, l.Term), err: err}
			}
		}
		n++
		return nil
	}
	for i := max(first, snapIndex+1); i <= last; i++ {
		if err := check(i); err != nil {
			var d *damaged
			if errors.As(err, &d) {
				return n, err
			}
			return n, &damaged{dir: dataDir, what: fmt.Sprintf("cannot read raft log entry %d (log holds %d..%d, the newest snapshot ends at %d)", i, first, last, snapIndex), err: err}
		}
	}
	for i := min(snapIndex, last); i >= first && i > 0; i-- {
		err := check(i)
		if errors.Is(err, raft.ErrLogNotFound) {
			break
		}
		var d *damaged
		if errors.As(err, &d) {
			return n, err
		}
		if err != nil {
			return n, &damaged{dir: dataDir, what: fmt.Sprintf("cannot read raft log entry %d", i), err: err}
		}
	}
	return n, nil
}

// checkSnapshot opens the newest snapshot, which checks its CRC (raft's
// FileSnapshotStore.Open reads state.bin whole and compares it with the
// CRC64 in meta.json), and checks that the log continues from it: raft
// restores the newest snapshot it can open and replays the log from the
// snapshot's index on, and panics if those entries are gone.
func checkSnapshot(snaps raft.SnapshotStore, logs raft.LogStore, dataDir string) (uint64, error) {
	list, err := snaps.List()
	if err != nil {
		return 0, &damaged{dir: dataDir, what: "cannot list the snapshots", err: err}
	}
	first, err := logs.FirstIndex()
	if err != nil {
		return 0, &damaged{dir: dataDir, what: "cannot read the raft log's first index", err: err}
	}
	if len(list) == 0 {
		if first > 1 {
			return 0, &damaged{dir: dataDir, what: "no snapshot",
				err: fmt.Errorf("the raft log starts at entry %d, so entries 1..%d are in no snapshot", first, first-1)}
		}
		return 0, nil
	}
	newest := list[0]
	what := fmt.Sprintf("the newest snapshot %s (index %d, snapshots/%s)", newest.ID, newest.Index, newest.ID)
	_, rc, err := snaps.Open(newest.ID)
	if err != nil {
		return 0, &damaged{dir: dataDir, what: what, err: fmt.Errorf("%w (raft would fall back to an older snapshot the log may no longer continue)", err)}
	}
	rc.Close()
	if first > newest.Index+1 {
		return 0, &damaged{dir: dataDir, what: what,
			err: fmt.Errorf("the raft log starts at entry %d, so entries %d..%d are in neither the snapshot nor the log", first, newest.Index+1, first-1)}
	}
	return newest.Index, nil
}

// bbolt's file layout (go.etcd.io/bbolt internal/common): page 0 and page
// 1 are meta pages, each a 16-byte page header followed by the meta:
// magic, version, page size, flags (uint32 each), the root bucket (root
// page id, sequence), the freelist page id, the high-water page id (pages
// in use), the txid and an FNV-64a checksum of everything before it
// (uint64 each), in the machine's byte order (little-endian on every
// platform raftlist builds for).
const (
	boltMagic         = 0xED0CDAED
	boltVersion       = 2
	boltPageHeader    = 16
	boltMetaSumOffset = boltPageHeader + 56 // the checksum field
	boltMetaLen       = boltMetaSumOffset + 8
	boltNoFreelist    = ^uint64(0)
)

type boltMeta struct {
	pageSize                        uint32
	root, freelist, highWater, txid uint64
}

// readBoltMeta parses and checks one meta page.
func readBoltMeta(p []byte) (boltMeta, error) {
	if len(p) < boltMetaLen {
		return boltMeta{}, errors.New("meta page cut short")
	}
	le := binary.LittleEndian
	if le.Uint32(p[boltPageHeader:]) != boltMagic {
		return boltMeta{}, errors.New("no bolt magic in meta page")
	}
	if v := le.Uint32(p[boltPageHeader+4:]); v != boltVersion {
		return boltMeta{}, fmt.Errorf("bolt version %d, want %d", v, boltVersion)
	}
	h := fnv.New64a()
	h.Write(p[boltPageHeader:boltMetaSumOffset])
	if stored, got := le.Uint64(p[boltMetaSumOffset:]), h.Sum64(); stored != got {
		return boltMeta{}, fmt.Errorf("meta page checksum mismatch (stored %016x, computed %016x)", stored, got)
	}
	return boltMeta{
		pageSize:  le.Uint32(p[boltPageHeader+8:]),
		root:      le.Uint64(p[boltPageHeader+16:]),
		freelist:  le.Uint64(p[boltPageHeader+32:]),
		highWater: le.Uint64(p[boltPageHeader+40:]),
		txid:      le.Uint64(p[boltPageHeader+48:]),
	}, nil
}

// checkBoltFile checks, cheaply, what bbolt trusts when it opens a file:
// both meta pages (magic, version, checksum), a file size that is a whole
// number of pages, and every page id the meta pages record (root,
// freelist, high-water mark) inside the file. Both meta pages must be
// intact: bbolt would silently fall back to the older one, which rolls
// back the last transaction — an append this node acknowledged, or the
// term and vote it promised. A missing or empty file is new.
func checkBoltFile(path, dataDir string) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("stat %s: %w", path, err)
	}
	size := fi.Size()
	if size == 0 {
		return nil
	}
	rel, _ := filepath.Rel(dataDir, path)
	bad := func(err error) error { return &damaged{dir: dataDir, what: "the bolt file " + rel, err: err} }
	head := make([]byte, boltMetaLen)
	if _, err := f.ReadAt(head, 0); err != nil {
		return bad(fmt.Errorf("read meta page 0 of a %d-byte file: %w", size, err))
	}
	m0, err := readBoltMeta(head)
	if err != nil {
		return bad(fmt.Errorf("meta page 0: %w", err))
	}
	ps := int64(m0.pageSize)
	if ps < 512 || ps&(ps-1) != 0 {
		return bad(fmt.Errorf("meta page 0 records page size %d", ps))
	}
	if size%ps != 0 || size < 2*ps {
		return bad(fmt.Errorf("file size %d is not a whole number of %d-byte pages, at least 2: the file was cut short", size, ps))
	}
	if _, err := f.ReadAt(head, ps); err != nil {
		return bad(fmt.Errorf("read meta page 1: %w", err))
	}
	m1, err := readBoltMeta(head)
	if err != nil {
		return bad(fmt.Errorf("meta page 1: %w", err))
	}
	pages := uint64(size / ps)
	for i, m := range []boltMeta{m0, m1} {
		switch {
		case m.pageSize != m0.pageSize:
			return bad(fmt.Errorf("meta pages disagree on the page size (%d, %d)", m0.pageSize, m.pageSize))
		case m.highWater > pages:
			return bad(fmt.Errorf("meta page %d (txid %d) uses %d pages, the file holds %d: the file was cut short", i, m.txid, m.highWater, pages))
		case m.root >= m.highWater:
			return bad(fmt.Errorf("meta page %d (txid %d): root page %d past the high-water mark %d", i, m.txid, m.root, m.highWater))
		case m.freelist >= m.highWater && m.freelist != boltNoFreelist:
			return bad(fmt.Errorf("meta page %d (txid %d): freelist page %d past the high-water mark %d", i, m.txid, m.freelist, m.highWater))
		}
	}
	return nil
}

// checkDataDirIntact runs the checks that need the opened stores, before
// raft reads anything from them, and logs what they cost.
func (n *Node) checkDataDirIntact(snaps raft.SnapshotStore) error {
	began := time.Now()
	snapIndex, err := checkSnapshot(snaps, n.store, n.cfg.DataDir)
	if err != nil {
		return err
	}
	snapTook := time.Since(began)
	entries, err := checkLog(n.store, snapIndex, n.cfg.DataDir)
	if err != nil {
		return err
	}
	n.log.Info("data dir checked", "data_dir", n.cfg.DataDir, "log_entries", entries,
		"log_took", time.Since(began)-snapTook, "snapshot_took", snapTook)
	return nil
}

// raft-wal's segment format (hashicorp/raft-wal v0.4.0, segment/format.go):
// a 32-byte file header, then 8-byte-aligned frames, each an 8-byte header
// (type, 3 reserved bytes, a little-endian uint32 that is the payload
// length, or for a commit frame the CRC-32C of every byte written since
// the previous commit frame, the file header included in the first) and
// the payload padded to 8 bytes. A segment is preallocated to its full
// size (wal.DefaultSegmentSize; raftlist does not change it) when it is
// created, and its unwritten tail reads as zero frames.
const (
	walFileHeader  = 32
	walFrameHeader = 8
	walFrameEntry  = 1
	walFrameIndex  = 2
	walFrameCommit = 3
	walMaxEntry    = 64 << 20 // segment.MaxEntrySize
	walSegmentSize = 64 << 20 // wal.DefaultSegmentSize
)

// checkWALSegments checks every raft-wal segment before raft-wal opens
// them. raft-wal checks only the CRC of the newest segment's last commit,
// and when that fails it drops the batch silently, taking it for a write
// torn by a crash: but raft-wal acknowledges a batch only after its commit
// frame is fsynced, so a committed batch that fails its CRC is damage, and
// dropping it would lose appends this node acknowledged. So here every
// commit frame's CRC must match, and no segment may be shorter than the
// size it was preallocated to (a cut file). Frames after the last commit
// frame (a batch whose write a crash interrupted, never acknowledged) are
// left to raft-wal, which drops them.
func checkWALSegments(walPath, dataDir string) error {
	segs, err := filepath.Glob(filepath.Join(walPath, "*.wal"))
	if err != nil {
		return err
	}
	// raft-wal keeps its segment list in a bolt file: the same check as
	// raft.db's.
	if err := checkBoltFile(filepath.Join(walPath, metadb.FileName), dataDir); err != nil {
		return err
	}
	for _, seg := range segs {
		if err := checkWALSegment(seg); err != nil {
			rel, _ := filepath.Rel(dataDir, seg)
			return &damaged{dir: dataDir, what: "raft-wal segment " + rel, err: err}
		}
	}
	return nil
}

func checkWALSegment(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	size := fi.Size()
	if size < walSegmentSize {
		return fmt.Errorf("%d bytes, shorter than the %d raft-wal preallocates: the file was cut short", size, walSegmentSize)
	}
	r := bufio.NewReaderSize(f, 1<<20)
	head := make([]byte, walFileHeader)
	if _, err := io.ReadFull(r, head); err != nil {
		return fmt.Errorf("read the file header: %w", err)
	}
	crc := crc32.Update(0, castagnoli, head)
	off := int64(walFileHeader)
	var fh [walFrameHeader]byte
	payload := make([]byte, 64<<10)
	for off+walFrameHeader <= size {
		if _, err := io.ReadFull(r, fh[:]); err != nil {
			return fmt.Errorf("read the frame at offset %d: %w", off, err)
		}
		typ, n := fh[0], binary.LittleEndian.Uint32(fh[4:])
		switch typ {
		case walFrameEntry, walFrameIndex:
			if n > walMaxEntry || off+walFrameHeader+int64(n) > size {
				return nil // not a frame raft-wal wrote: where a torn write ends
			}
		case walFrameCommit:
			if n != crc {
				return fmt.Errorf("the batch committed at offset %d fails its CRC (stored %08x, computed %08x)", off, n, crc)
			}
			crc = 0
			off += walFrameHeader
			continue
		default:
			return nil // zeros (the unwritten tail) or a torn write
		}
		crc = crc32.Update(crc, castagnoli, fh[:])
		off += walFrameHeader
		left := int64(n) + int64((walFrameHeader-n%walFrameHeader)%walFrameHeader)
		for left > 0 {
			chunk := payload[:min(int64(len(payload)), left)]
			if _, err := io.ReadFull(r, chunk); err != nil {
				return fmt.Errorf("read the frame at offset %d: %w", off-walFrameHeader, err)
			}
			crc = crc32.Update(crc, castagnoli, chunk)
			left -= int64(len(chunk))
			off += int64(len(chunk))
		}
	}
	return nil
}
