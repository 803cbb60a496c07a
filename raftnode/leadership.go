package raftnode

import (
	"context"
	"errors"
	"time"

	"github.com/hashicorp/raft"

	"github.com/raftlist/raftlist/fsm"
)

// watchLeadership opens the leader gate each time this node wins a term.
// raft's own start-of-term no-op never reaches the state machine, so the
// new leader proposes a term-start entry of its own; once it has applied
// it, every entry committed before is applied too. Observations can be
// dropped when the channel is full, so a slow ticker backs them up.
func (n *Node) watchLeadership() {
	ch := make(chan raft.Observation, 16)
	n.observer = raft.NewObserver(ch, false, func(o *raft.Observation) bool {
		switch o.Data.(type) {
		case raft.RaftState, raft.LeaderObservation,
			raft.FailedHeartbeatObservation, raft.ResumedHeartbeatObservation:
			return true
		}
		return false
	})
	n.raft.RegisterObserver(n.observer)
	go func() {
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		haltLogged := false
		lost := make(map[raft.ServerID]bool) // peers whose waiters were purged
		for {
			select {
			case <-n.stop:
				return
			case o := <-ch:
				n.watchPeer(o, lost)
			case <-tick.C:
			}
			n.logScripts()
			if err := n.machine.Halted(); err != nil && !haltLogged {
				n.logHalt(err)
				haltLogged = true
			}
			n.maybeStartTerm()
		}
	}()
}

// maybeStartTerm proposes the term-start entry once per term won.
func (n *Node) maybeStartTerm() {
	if n.raft.State() != raft.Leader {
		return
	}
	term := n.raft.CurrentTerm()
	n.gateMu.Lock()
	if n.gateTried == term {
		n.gateMu.Unlock()
		return
	}
	n.gateTried = term
	n.gateMu.Unlock()
	go func() {
		e := fsm.Entry{Kind: fsm.KindTermStart, TimeMs: n.nowMs(),
			Node: fsm.NodeMeta{ID: n.cfg.ID, RespAddr: n.cfg.RespAddr}}
		_, err := n.apply(context.Background(), &e)
		if err == nil && n.raft.CurrentTerm() == term && n.raft.State() == raft.Leader {
			n.gateTerm.Store(term)
			n.log.Info("leader gate open", "term", term)
			return
		}
		n.log.Warn("term-start entry did not open the gate", "term", term, "error", err)
		n.gateMu.Lock()
		if n.gateTried == term {
			n.gateTried = 0 // let the next tick try again if still leader
		}
		n.gateMu.Unlock()
	}()
}

// logScripts writes what scripts passed to redis.log into the node log;
// the state machine only collects the lines, it never writes.
func (n *Node) logScripts() {
	lines, dropped := n.machine.TakeScriptLogs()
	for _, l := range lines {
		switch {
		case l.Level >= fsm.ScriptLogWarning:
			n.log.Warn("script: " + l.Line)
		case l.Level >= fsm.ScriptLogVerbose:
			n.log.Info("script: " + l.Line)
		default:
			n.log.Debug("script: " + l.Line)
		}
	}
	if dropped > 0 {
		n.log.Warn("script log lines dropped", "count", dropped)
	}
}

// OwnerLostAfter is how long a node may be out of touch before its blocked
// clients are given up on: the leader purges the waiters of a follower it
// has not heard from for this long, and a node that has seen no leader for
// this long answers its blocked clients with an unknown outcome. Either
// way no element is popped for a client nobody can answer.
const OwnerLostAfter = 10 * time.Second

// watchPeer counts leader changes and purges, as leader, the waiters of a
// follower unreachable for longer than OwnerLostAfter, once per outage.
func (n *Node) watchPeer(o raft.Observation, lost map[raft.ServerID]bool) {
	switch ob := o.Data.(type) {
	case raft.LeaderObservation:
		n.noteLeader(ob)
	case raft.ResumedHeartbeatObservation:
		delete(lost, ob.PeerID)
	case raft.FailedHeartbeatObservation:
		if lost[ob.PeerID] || time.Since(ob.LastContact) < OwnerLostAfter || n.checkGate() != nil {
			return
		}
		lost[ob.PeerID] = true
		go func() {
			err := n.ProposePurgeOwner(context.Background(), fsm.PurgeOwner{NodeID: string(ob.PeerID)})
			n.log.Warn("purged the blocked clients of an unreachable node", "node", ob.PeerID,
				"last_contact", ob.LastContact, "error", err)
		}()
	}
}

// ProposePurgeOwner ends the waiters of a node's processes (all but
// p.KeepOwner) through the log.
func (n *Node) ProposePurgeOwner(ctx context.Context, p fsm.PurgeOwner) error {
	_, err := n.proposeEntry(ctx, fsm.Entry{Kind: fsm.KindPurgeOwner, Purge: p})
	return err
}

// ProposeAck tells the log that a.Owner has answered the clients of its
// ended waiters a.Seqs, so the state forgets their outcomes. Unknown seqs
// are no-ops.
func (n *Node) ProposeAck(ctx context.Context, a fsm.Ack) error {
	_, err := n.proposeEntry(ctx, fsm.Entry{Kind: fsm.KindAck, Ack: a})
	return err
}

// logHalt says why the state machine stopped applying and what to do.
func (n *Node) logHalt(err error) {
	if errors.Is(err, fsm.ErrEntryChecksum) {
		n.log.Error("state machine halted on a log entry damaged on disk or on the way: this node applies and serves nothing more. "+
			"Remove it from the cluster (RAFT REMOVENODE on the leader) and add a fresh node with an empty data dir, or restore its data dir",
			"data_dir", n.cfg.DataDir, "error", err)
		return
	}
	n.log.Error("state machine halted: this node applies and serves nothing until the binary is fixed", "error", err)
}
