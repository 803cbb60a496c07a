package raftnode

import (
	"github.com/hashicorp/raft"

	"github.com/raftlist/raftlist/fsm"
)

// Switches for the fault test's deliberately broken builds (tests/jepsen).
// Every shipped build leaves them unset. Each is set only by a file behind a
// build tag that never ships (break_*.go, `//go:build jepsen_break_*`), and
// each is consulted at exactly one place, named below, so that a green fault
// test is known to be able to go red.
var (
	// breakReplyBeforeCommit, replaced by jepsen_break_reply_before_commit,
	// answers a proposal before its entry is committed. Consulted once, at
	// the top of (*Node).apply; ok=false (always, here) takes the real path.
	breakReplyBeforeCommit = func(*Node, *fsm.Entry) (res *fsm.Result, ok bool) { return nil, false }

	// breakFollowerLocalReads (jepsen_break_follower_local_reads) lets a
	// follower pass the read barrier and answer a linearizable read from its
	// own, possibly stale, state. Consulted once, at the top of
	// (*Node).ReadBarrier.
	breakFollowerLocalReads = false

	// breakRemoveBeforeCommit (jepsen_break_membership_before_commit)
	// answers RAFT REMOVENODE as soon as the leader has taken the
	// configuration change, before it commits; it returns true when it
	// has answered. Consulted once, in (*Node).RemoveNode.
	breakRemoveBeforeCommit = func(*Node, raft.IndexFuture, string) bool { return false }

	// breakSnapshotCRC (jepsen_break_snapshot_crc_skipped) wraps the
	// snapshot store so that opening a snapshot skips its CRC check.
	// Consulted once, in New, where the store is opened.
	breakSnapshotCRC = func(s *raft.FileSnapshotStore, dataDir string) raft.SnapshotStore { return s }
)
