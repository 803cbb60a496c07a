//go:build jepsen_break_membership_before_commit

package raftnode

import (
	"context"

	"github.com/hashicorp/raft"

	"github.com/raftlist/raftlist/fsm"
)

// A deliberately broken build for tests/jepsen; it never ships. RAFT
// REMOVENODE answers OK once the leader has taken the configuration
// change (hashicorp/raft's leader uses a new configuration from the moment
// it appends it), without waiting for it to commit; the node table is
// updated when it does. With a quorum the change commits a moment later
// and nobody can tell. A leader cut off from the others acknowledges a
// removal that never happens.

func init() { breakRemoveBeforeCommit = answerBeforeCommit }

func answerBeforeCommit(n *Node, f raft.IndexFuture, id string) bool {
	go func() {
		if f.Error() == nil && id != n.cfg.ID {
			n.proposeMeta(context.Background(), fsm.NodeMeta{ID: id, Remove: true})
		}
	}()
	return true
}
