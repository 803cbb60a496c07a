package raftnode

import (
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"
)

// hashicorp/raft v1.7.3 keeps what a leader knows of each follower (when it
// last answered, its match index) private. The node learns the same facts
// from the transport instead: every AppendEntries the leader sends goes
// through it, heartbeats included (one per peer every HeartbeatTimeout/10
// or so, whatever the traffic), and the answer carries the follower's last
// log index.

// peerTransport is the node's transport, noting each peer's answers.
// Embedding the concrete transport keeps every optional interface raft
// looks for (WithPreVote, WithClose).
type peerTransport struct {
	*raft.NetworkTransport
	peers *peerTable
}

func (t peerTransport) AppendEntries(id raft.ServerID, target raft.ServerAddress,
	args *raft.AppendEntriesRequest, resp *raft.AppendEntriesResponse) error {
	err := t.NetworkTransport.AppendEntries(id, target, args, resp)
	if err == nil {
		t.peers.answered(id, resp.LastLog)
	}
	return err
}

// peerTable is, per peer, when it last answered an AppendEntries of this
// node and the last log index it reported then.
type peerTable struct {
	mu    sync.Mutex
	peers map[raft.ServerID]peerSeen
}

type peerSeen struct {
	at      time.Time
	lastLog uint64
}

func (p *peerTable) answered(id raft.ServerID, lastLog uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.peers == nil {
		p.peers = make(map[raft.ServerID]peerSeen)
	}
	p.peers[id] = peerSeen{at: time.Now(), lastLog: lastLog}
}

func (p *peerTable) get(id string) (peerSeen, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	s, ok := p.peers[raft.ServerID(id)]
	return s, ok
}

// PeerState is what this node knows of a member's link.
type PeerState struct {
	Member
	// Link is LinkSelf, LinkOnline, LinkUnreachable or LinkUnknown.
	Link string
	// LastContact is when the two last talked: for a follower seen from
	// the leader, its last answer to an AppendEntries; for the leader
	// seen from a follower, the follower's last contact with it. Zero
	// when never or unknown.
	LastContact time.Time
	// MatchIndex is, seen from the leader, the last log index the
	// follower reported (its log, not necessarily applied yet); for this
	// node itself, its last log index. Zero when unknown.
	MatchIndex uint64
}

// Link states of PeerState.
const (
	LinkSelf        = "self"
	LinkOnline      = "online"
	LinkUnreachable = "unreachable"
	// LinkUnknown: a follower does not talk to the other followers.
	LinkUnknown = "unknown"
)

// ContactBound is how long a member may go without contact before it counts
// as unreachable: three heartbeat timeouts, that is about thirty missed
// heartbeats, and at least 3 s (what three of the old 1 s default made), so
// a loaded machine does not flap in status, INFO and /readyz.
func (n *Node) ContactBound() time.Duration { return max(3*n.cfg.HeartbeatTimeout, 3*time.Second) }

// Peers reports every member with this node's view of its link. On the
// leader each follower is online when it answered within ContactBound; on
// a follower only the leader's link is known (from the follower's own last
// contact), the others are LinkUnknown.
func (n *Node) Peers() ([]PeerState, error) {
	members, err := n.Members()
	if err != nil {
		return nil, err
	}
	leader := n.raft.State() == raft.Leader
	bound := n.ContactBound()
	out := make([]PeerState, 0, len(members))
	for _, m := range members {
		p := PeerState{Member: m, Link: LinkUnknown}
		switch {
		case m.ID == n.cfg.ID:
			p.Link, p.LastContact, p.MatchIndex = LinkSelf, time.Now(), n.raft.LastIndex()
		case leader:
			p.Link = LinkUnreachable
			if seen, ok := n.view.table.get(m.ID); ok {
				p.LastContact, p.MatchIndex = seen.at, seen.lastLog
				if time.Since(seen.at) <= bound {
					p.Link = LinkOnline
				}
			}
		case m.Leader:
			p.Link = LinkUnreachable
			if last := n.raft.LastContact(); !last.IsZero() {
				p.LastContact = last
				if time.Since(last) <= bound {
					p.Link = LinkOnline
				}
			}
		}
		out = append(out, p)
	}
	return out, nil
}

// LeaderChanges counts the terms in which this node saw a leader (itself
// included) since it started: every election that produced a leader, even
// one that re-elected the same node.
func (n *Node) LeaderChanges() uint64 { return n.view.leaderChanges.Load() }

// peerView is what the node gathers about the other members: the peer
// table the transport fills, and the leader changes it observed.
type peerView struct {
	table         peerTable
	leaderChanges atomic.Uint64
	leaderTerm    uint64 // read and written by the observer loop only
}

// noteLeader counts a LeaderObservation naming a leader in a new term.
func (n *Node) noteLeader(o raft.LeaderObservation) {
	term := n.raft.CurrentTerm()
	if o.LeaderID == "" || term == n.view.leaderTerm {
		return
	}
	n.view.leaderTerm = term
	n.view.leaderChanges.Add(1)
}

// LogStoreName is the kind of Raft log store this node runs on.
func (n *Node) LogStoreName() string {
	if n.cfg.LogStore == "" {
		return LogStoreBolt
	}
	return n.cfg.LogStore
}

// DiskUsage is the bytes the node's Raft log store (bolt file or WAL
// segments) and its kept snapshots take in the data dir.
func (n *Node) DiskUsage() (logBytes, snapshotBytes int64) {
	if n.LogStoreName() == LogStoreWAL {
		logBytes = dirBytes(filepath.Join(n.cfg.DataDir, walDir))
	} else if fi, err := os.Stat(filepath.Join(n.cfg.DataDir, boltFile)); err == nil {
		logBytes = fi.Size()
	}
	return logBytes, dirBytes(filepath.Join(n.cfg.DataDir, "snapshots"))
}

// dirBytes sums the sizes of the regular files under dir.
func dirBytes(dir string) int64 {
	var total int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return nil
		}
		if fi, err := d.Info(); err == nil {
			total += fi.Size()
		}
		return nil
	})
	return total
}
