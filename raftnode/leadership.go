package raftnode

import (
	"context"
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
		case raft.RaftState, raft.LeaderObservation:
			return true
		}
		return false
	})
	n.raft.RegisterObserver(n.observer)
	go func() {
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		haltLogged := false
		for {
			select {
			case <-n.stop:
				return
			case <-ch:
			case <-tick.C:
			}
			n.logScripts()
			if err := n.machine.Halted(); err != nil && !haltLogged {
				n.log.Error("state machine halted: this node applies and serves nothing until the binary is fixed", "error", err)
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
		e := fsm.Entry{Kind: fsm.KindTermStart, TimeMs: time.Now().UnixMilli(),
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
