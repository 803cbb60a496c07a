package raftnode

import (
	"fmt"
	"time"
)

// SnapshotInfo describes a snapshot this node took.
type SnapshotInfo struct {
	Index uint64        // last log index the snapshot covers
	Size  int64         // bytes on disk
	Took  time.Duration // from the request to the snapshot being durable and the log compacted
}

// Snapshot takes a snapshot of this node's state machine now, on any
// member (Redis's SAVE, on a replica too), and compacts the log behind it.
// It fails when nothing was applied since the last snapshot.
func (n *Node) Snapshot() (SnapshotInfo, error) {
	began := time.Now()
	f := n.raft.Snapshot()
	if err := f.Error(); err != nil {
		return SnapshotInfo{}, fmt.Errorf("take snapshot: %w", err)
	}
	took := time.Since(began)
	meta, rc, err := f.Open()
	if err != nil {
		return SnapshotInfo{}, fmt.Errorf("open the snapshot just taken: %w", err)
	}
	rc.Close()
	return SnapshotInfo{Index: meta.Index, Size: meta.Size, Took: took}, nil
}
