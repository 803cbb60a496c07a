package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/raftlist/raftlist/cluster/local"
)

// Membership changes under partitions: the island (a leader cut off from
// everyone is asked to remove everyone: nothing may commit, nothing may be
// acknowledged) and membership-partition (a node cut off from the others
// is removed by the majority while cut off, and a fresh node added before
// the partition heals). The membership checker (members.go) judges what
// the cluster's configuration is at the end against what was
// acknowledged.

// memberAck is a membership change a node acknowledged (answered OK).
type memberAck struct {
	At      time.Duration
	Via     string // the node that answered
	Removed string // the member it said it removed
}

// acked records an acknowledged removal for the membership checker.
func (n *nemesis) acked(a memberAck) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.acks = append(n.acks, a)
}

// cutOff cuts every Raft link between x and each of others.
func (n *nemesis) cutOff(x *local.Node, others []*local.Node) (func(context.Context) error, error) {
	var rules [][]string
	heal := func(context.Context) error { return n.net.heal(rules) }
	for _, y := range others {
		added, err := n.net.cut(link{x.ID, x.RaftAddr}, link{y.ID, y.RaftAddr})
		rules = append(rules, added...)
		if err != nil {
			return heal, err
		}
	}
	return heal, nil
}

// island isolates the leader and asks it, at once, to remove every other
// member. None of those removals can commit: each must fail (the leader
// steps down when its lease runs out) and none may be acknowledged. At
// heal the majority's leader must hold and the old one rejoin.
func (n *nemesis) island(ctx context.Context) (func(context.Context) error, string, error) {
	l := n.leader(ctx)
	if l == nil {
		return nil, "", errors.New("no leader")
	}
	var others []*local.Node
	for _, node := range n.members() {
		if node != l {
			others = append(others, node)
		}
	}
	if len(others) == 0 {
		return nil, "", errors.New("no other running member")
	}
	ictx, cancel := context.WithTimeout(ctx, time.Second)
	info, _ := l.Info(ictx)
	cancel()
	term, _ := strconv.ParseUint(info["raft_term"], 10, 64)
	detail := fmt.Sprintf("isolate %s (leader, term %d) from %s", l.ID, term, ids(others))

	// Connect first: the requests must reach the leader before its lease
	// (half an election timeout) runs out.
	conns := make([]*rconn, len(others))
	for i := range others {
		c, err := dialRESP(l.ID, l.ClientAddr, time.Second)
		if err != nil {
			for _, c := range conns[:i] {
				c.close()
			}
			return nil, detail, err
		}
		conns[i] = c
	}
	heal, err := n.cutOff(l, others)
	if err != nil {
		for _, c := range conns {
			c.close()
		}
		return heal, detail, err
	}
	answers := make([]string, len(others))
	var wg sync.WaitGroup
	for i, o := range others {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer conns[i].close()
			at := n.h.hist.now()
			_, err := conns[i].do(15*time.Second, "RAFT", "REMOVENODE", o.ID)
			if err == nil {
				answers[i] = o.ID + " → OK"
				n.acked(memberAck{At: at, Via: l.ID, Removed: o.ID})
				return
			}
			answers[i] = o.ID + " → " + err.Error()
		}()
	}
	wg.Wait()
	detail += "; on it RAFT REMOVENODE " + strings.Join(answers, ", ")
	// The majority elects its own leader before the island heals: from
	// then on the island's uncommitted entries can only be overwritten.
	// (Healed sooner, the old leader may win again and commit them: an
	// unknown outcome, but not the fault this one is.)
	began := time.Now()
	wctx, cancel := context.WithTimeout(ctx, n.h.timing.settle)
	nl, nterm := waitSideLeader(wctx, others, term)
	cancel()
	if nl == nil {
		return heal, detail, fmt.Errorf("%s did not elect a leader in a term above %d within %s", ids(others), term, n.h.timing.settle)
	}
	detail += fmt.Sprintf("; %s leads the majority in term %d after %.1fs", nl.ID, nterm, time.Since(began).Seconds())
	cur := n.current()
	return func(ctx context.Context) error {
		if err := heal(ctx); err != nil {
			return err
		}
		// Every node, the old leader too, must agree on a leader.
		wctx, cancel := context.WithTimeout(ctx, n.h.timing.settle)
		defer cancel()
		nl, err := n.h.c.Leader(wctx)
		if err != nil {
			return fmt.Errorf("after healing the island: %w", err)
		}
		v, err := nl.Info(wctx)
		if err != nil {
			return err
		}
		n.mu.Lock()
		cur.Detail += fmt.Sprintf("; healed: %s leads in term %s", nl.ID, v["raft_term"])
		n.mu.Unlock()
		if t, _ := strconv.ParseUint(v["raft_term"], 10, 64); t <= term {
			return fmt.Errorf("after healing the island %s still leads in term %d: the majority never elected a leader", nl.ID, t)
		}
		return nil
	}, detail, nil
}

// membershipPartition cuts a follower off from the others, blocks
// clients on it first, has the majority remove it while it is cut off
// (its waiters must be purged: nobody will answer them), stops it, and at
// heal adds a fresh node while the rules are still in place.
func (n *nemesis) membershipPartition(ctx context.Context) (func(context.Context) error, string, error) {
	l := n.leader(ctx)
	if l == nil {
		return nil, "", errors.New("no leader")
	}
	var rest, followers []*local.Node
	for _, node := range n.members() {
		if node != l {
			followers = append(followers, node)
		}
	}
	if len(followers) == 0 {
		return nil, "", errors.New("no running follower")
	}
	v := followers[n.rng.IntN(len(followers))]
	for _, node := range n.h.c.Nodes {
		if node != v {
			rest = append(rest, node)
		}
	}
	q := n.h.newFaultQueue()
	b, err := n.block(v, q, faultBlockers, 20*time.Second, 1000+100*len(n.faults()))
	if err != nil {
		b.wait()
		return nil, "", fmt.Errorf("block clients on %s: %w", v.ID, err)
	}
	waitWaiters(ctx, l, faultBlockers)
	n.h.setTargets(rest)
	detail := fmt.Sprintf("%d clients block on %s, isolate it from %s", faultBlockers, v.ID, ids(rest))
	var connected []*local.Node
	for _, node := range n.members() {
		if node != v {
			connected = append(connected, node)
		}
	}
	healNet, err := n.cutOff(v, connected)
	if err != nil {
		n.h.setTargets(n.h.c.Nodes)
		return healNet, detail, err
	}
	rctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	via, err := n.removeCutOff(rctx, v, rest)
	if err != nil {
		n.h.setTargets(n.h.c.Nodes)
		return func(ctx context.Context) error { err := healNet(ctx); b.wait(); return err }, detail, err
	}
	detail += ", RAFT REMOVENODE " + v.ID + " on " + via + " (majority leader) while it is cut off"
	// The removed node goes; the cluster forgets it once it is down.
	v.Stop()
	if err := n.h.c.RemoveNode(rctx, v); err != nil {
		n.h.setTargets(n.h.c.Nodes)
		return func(ctx context.Context) error { err := healNet(ctx); b.wait(); return err }, detail, err
	}
	n.h.setTargets(n.h.c.Nodes)
	cur := n.current()
	return func(ctx context.Context) error {
		defer b.wait()
		actx, cancel := context.WithTimeout(ctx, 60*time.Second)
		defer cancel()
		added, err := n.h.c.AddNode(actx)
		if err == nil {
			n.h.setTargets(n.h.c.Nodes)
			n.mu.Lock()
			cur.Detail += ", then " + added.ID + " joined with an empty data dir on " + added.RaftAddr + " before the rules were lifted"
			n.mu.Unlock()
		}
		return errors.Join(err, healNet(ctx))
	}, detail, nil
}

// removeCutOff removes v through the leader that side (the nodes still
// connected) agrees on, retrying until that leader no longer lists v. It
// returns the id of the node that removed it.
func (n *nemesis) removeCutOff(ctx context.Context, v *local.Node, side []*local.Node) (string, error) {
	var last error
	for {
		if l := sideLeader(ctx, side); l != nil {
			members, err := l.Members(ctx)
			if err == nil && !slices.ContainsFunc(members, func(m local.Member) bool { return m.ID == v.ID }) {
				return l.ID, nil
			}
			if _, err = n.h.adminOn(l, 15*time.Second, "RAFT", "REMOVENODE", v.ID); err == nil {
				n.acked(memberAck{At: n.h.hist.now(), Via: l.ID, Removed: v.ID})
			} else {
				last = fmt.Errorf("RAFT REMOVENODE %s on %s: %w", v.ID, l.ID, err)
			}
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("remove %s while cut off: %w (last: %v)", v.ID, ctx.Err(), last)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// waitSideLeader waits until side agrees on a leader in a term above
// term, and returns it with its term (nil when ctx ends first).
func waitSideLeader(ctx context.Context, side []*local.Node, term uint64) (*local.Node, uint64) {
	for {
		if l := sideLeader(ctx, side); l != nil {
			ictx, cancel := context.WithTimeout(ctx, time.Second)
			v, err := l.Info(ictx)
			cancel()
			if t, _ := strconv.ParseUint(v["raft_term"], 10, 64); err == nil && t > term {
				return l, t
			}
		}
		if !sleepCtx(ctx, 100*time.Millisecond) {
			return nil, 0
		}
	}
}

// sideLeader returns the node of side that says it leads and that every
// other node of side names as leader, or nil.
func sideLeader(ctx context.Context, side []*local.Node) *local.Node {
	var leader *local.Node
	named := map[string]bool{}
	for _, node := range side {
		ictx, cancel := context.WithTimeout(ctx, time.Second)
		v, err := node.Info(ictx)
		cancel()
		if err != nil {
			return nil
		}
		named[v["raft_leader_id"]] = true
		if v["raft_role"] == "leader" {
			leader = node
		}
	}
	if leader == nil || len(named) != 1 || !named[leader.ID] {
		return nil
	}
	return leader
}

// memberAcks returns the acknowledged membership changes.
func (n *nemesis) memberAcks() []memberAck {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.acks)
}
