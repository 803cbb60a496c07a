package cluster

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/raftlist/raftlist/fsm/resp"
	"github.com/raftlist/raftlist/raftnode"
)

// Follower reads (the ReadIndex protocol of the Raft thesis, §6.4, as etcd
// serves them): a follower asks the leader for its read index — the
// leader confirms with a quorum that it still leads and answers its commit
// index — waits until it has applied that index itself, and reads its own
// state. Anything committed before the read arrived is then in that
// state, so the read is linearizable, and reads scale with the nodes
// instead of all passing through the leader.

// followerReadWait bounds how long a follower waits to apply the leader's
// read index before it forwards the read instead: a follower far behind
// (catching up from a snapshot) should not make its clients wait.
const followerReadWait = 500 * time.Millisecond

// readBarrier makes this node's state fresh enough for a linearizable
// read: the leader's own barrier or, on a follower, the leader's read
// index applied here. ErrNotLeader means the leader must serve it (a
// forwarded read, redirect mode, or a follower that could not catch up).
func (s *Server) readBarrier(ctx context.Context, forwarded bool) error {
	err := s.node.ReadBarrier(ctx)
	if !errors.Is(err, raftnode.ErrNotLeader) || forwarded || s.cfg.Redirect {
		return err
	}
	index, ierr := s.readIndexes.Get(ctx)
	if ierr != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, followerReadWait)
	defer cancel()
	if s.node.Machine().WaitApplied(wctx, index) != nil {
		return err
	}
	s.stats.followerReads.Add(1)
	return nil
}

// leaderReadIndex asks the leader for a read index (RAFT READINDEX).
func (s *Server) leaderReadIndex(ctx context.Context) (uint64, error) {
	addr := s.node.LeaderAddr()
	if addr == "" || addr == s.cfg.ListenAddr {
		return 0, errors.New("no other node is known to lead")
	}
	raw, _, err := s.fwd.do(ctx, addr, [][]byte{[]byte("raft"), []byte("readindex")}, nil)
	if err != nil {
		return 0, fmt.Errorf("read index from %s: %w", addr, err)
	}
	v, err := resp.ParseReply(raw)
	switch {
	case err != nil:
		return 0, fmt.Errorf("read index from %s: %w", addr, err)
	case v.Kind != resp.KindInt || v.Int < 0:
		return 0, fmt.Errorf("read index from %s: %q", addr, raw)
	}
	return uint64(v.Int), nil
}
