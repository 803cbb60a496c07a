package raftnode

import (
	"context"
	"fmt"
	"sort"

	"github.com/hashicorp/raft"

	"github.com/raftlist/raftlist/fsm"
)

// Member is one server of the cluster as the Raft configuration and the
// replicated node table know it.
type Member struct {
	ID       string
	RaftAddr string
	RespAddr string // empty until the member's address is recorded
	Voter    bool
	Leader   bool
}

// Status is what INFO raft reports.
type Status struct {
	ID           string
	Role         string // leader, follower, candidate, shutdown
	LeaderID     string
	LeaderAddr   string // the leader's client (RESP) address
	Term         uint64
	CommitIndex  uint64
	AppliedIndex uint64
	LastIndex    uint64
	Halted       error
	ClusterID    string // "" unknown (clusterid.go)
}

// AddNode makes id a voting member reachable at raftAddr and records its
// client address. Only the leader can; others answer ErrNotLeader.
func (n *Node) AddNode(ctx context.Context, id, raftAddr, respAddr string) error {
	if err := n.checkGate(); err != nil {
		return err
	}
	f := n.raft.AddVoter(raft.ServerID(id), raft.ServerAddress(raftAddr), 0, n.cfg.ProposeTimeout)
	if err := f.Error(); err != nil {
		return fmt.Errorf("add voter %s at %s: %w", id, raftAddr, classify(err))
	}
	return n.proposeMeta(ctx, fsm.NodeMeta{ID: id, RespAddr: respAddr})
}

// RemoveNode removes id from the cluster and forgets its client address.
func (n *Node) RemoveNode(ctx context.Context, id string) error {
	if err := n.checkGate(); err != nil {
		return err
	}
	if !n.isMember(id) {
		return fmt.Errorf("no member with id %q", id)
	}
	f := n.raft.RemoveServer(raft.ServerID(id), 0, n.cfg.ProposeTimeout)
	if breakRemoveBeforeCommit(n, f, id) { // jepsen_break_* builds only (break.go)
		return nil
	}
	if err := f.Error(); err != nil {
		return fmt.Errorf("remove server %s: %w", id, classify(err))
	}
	if id == n.cfg.ID {
		// The leader removed itself: it is no longer leader and cannot
		// propose; the next leader's term start keeps its own address.
		return nil
	}
	return n.proposeMeta(ctx, fsm.NodeMeta{ID: id, Remove: true})
}

func (n *Node) proposeMeta(ctx context.Context, m fsm.NodeMeta) error {
	e := fsm.Entry{Kind: fsm.KindNodeMeta, TimeMs: n.nowMs(), Node: m}
	if _, err := n.apply(ctx, &e); err != nil {
		return fmt.Errorf("record node %s: %w", m.ID, err)
	}
	return nil
}

func (n *Node) isMember(id string) bool {
	members, err := n.Members()
	if err != nil {
		return false
	}
	for _, m := range members {
		if m.ID == id {
			return true
		}
	}
	return false
}

// Members lists the servers in the latest Raft configuration, in id order.
func (n *Node) Members() ([]Member, error) {
	f := n.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return nil, fmt.Errorf("get raft configuration: %w", err)
	}
	_, leaderID := n.raft.LeaderWithID()
	addrs := n.respAddrs()
	var out []Member
	for _, s := range f.Configuration().Servers {
		out = append(out, Member{
			ID:       string(s.ID),
			RaftAddr: string(s.Address),
			RespAddr: addrs[string(s.ID)],
			Voter:    s.Suffrage == raft.Voter,
			Leader:   s.ID == leaderID,
		})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

func (n *Node) respAddrs() map[string]string {
	addrs := make(map[string]string)
	n.machine.View(func(s *fsm.State) {
		for _, m := range s.Nodes() {
			addrs[m.ID] = m.RespAddr
		}
	})
	return addrs
}

// Status reports the node's view of the cluster.
func (n *Node) Status() Status {
	_, leaderID := n.raft.LeaderWithID()
	st := Status{
		ID:           n.cfg.ID,
		Role:         roleName(n.raft.State()),
		LeaderID:     string(leaderID),
		Term:         n.raft.CurrentTerm(),
		CommitIndex:  n.raft.CommitIndex(),
		AppliedIndex: n.machine.AppliedIndex(),
		LastIndex:    n.raft.LastIndex(),
		Halted:       n.machine.Halted(),
		ClusterID:    n.ClusterID(),
	}
	if leaderID != "" {
		st.LeaderAddr = n.respAddrs()[string(leaderID)]
	}
	return st
}

// LeaderAddr returns the current leader's client address, or "" when no
// leader is known or its address is not yet recorded.
func (n *Node) LeaderAddr() string { return n.Status().LeaderAddr }

func roleName(s raft.RaftState) string {
	switch s {
	case raft.Leader:
		return "leader"
	case raft.Candidate:
		return "candidate"
	case raft.Follower:
		return "follower"
	default:
		return "shutdown"
	}
}
