//go:build jepsen_break_snapshot_crc_skipped

package raftnode

import (
	"encoding/json"
	"io"
	"os"
	"path/filepath"

	"github.com/hashicorp/raft"
)

// A deliberately broken build for tests/jepsen; it never ships. Opening a
// snapshot skips the CRC that hashicorp/raft's file store checks (as a
// store that "only" reads faster would): a snapshot damaged on disk is
// restored as it is, and the node silently starts from a state no other
// node has.

func init() {
	breakSnapshotCRC = func(s *raft.FileSnapshotStore, dataDir string) raft.SnapshotStore {
		return noCRCStore{s, filepath.Join(dataDir, "snapshots")}
	}
}

type noCRCStore struct {
	*raft.FileSnapshotStore
	dir string
}

// Open reads meta.json and hands out state.bin unchecked.
func (s noCRCStore) Open(id string) (*raft.SnapshotMeta, io.ReadCloser, error) {
	raw, err := os.ReadFile(filepath.Join(s.dir, id, "meta.json"))
	if err != nil {
		return nil, nil, err
	}
	var meta raft.SnapshotMeta
	if err := json.Unmarshal(raw, &meta); err != nil {
		return nil, nil, err
	}
	f, err := os.Open(filepath.Join(s.dir, id, "state.bin"))
	if err != nil {
		return nil, nil, err
	}
	return &meta, f, nil
}
