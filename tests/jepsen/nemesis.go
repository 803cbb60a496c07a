package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/raftlist/raftlist/cluster/local"
)

// The fault kinds, in the order the report lists them.
var faultKinds = []string{
	"partition-leader",     // cut the leader off from every other node
	"partition-half",       // a majority and a minority that cannot talk
	"partition-bridge",     // two sides that only a bridge node sees both of
	"kill",                 // SIGKILL a node (the leader preferred), restart it from its data dir
	"restart",              // SIGTERM a node (the leader preferred): a planned stop that hands leadership off; restart it
	"pause",                // SIGSTOP a node (the leader preferred) longer than the election timeout, then SIGCONT
	"membership",           // remove a node under load, add a fresh one (new id, empty data dir)
	"clientdrop",           // clients drop connections mid-command
	"island",               // isolate the leader, then ask it to remove every other member: nothing may commit or be acknowledged
	"membership-partition", // block clients on a follower, cut it off, remove it through the majority, add a fresh node before healing
	"corrupt",              // SIGKILL a follower, flip a bit in or cut short its newest snapshot or log tail, restart it
	"snapshot-install",     // clients block on a follower, which is paused until it can only catch up by a snapshot (not in "all")
}

// optInFaults are fault kinds "all" leaves out: a new fault that fails on
// the current build for a reason found and reported waits here, run only
// by name, until it is fixed. None does now. (corrupt was here until
// issue 14's fixes: a flipped digit in a committed log entry was applied
// on restart, a damaged newest snapshot panicked in raft.NewRaft and a cut
// raft.db died of SIGBUS; a damaged data dir is now refused at startup
// with a message, and the fault replaces the node.)
var optInFaults = []string{}

// soloFaults never run together with another fault: each changes
// membership or stops nodes in a way a second fault would confuse.
func solo(kind string) bool {
	switch kind {
	case "membership", "island", "membership-partition", "corrupt", "snapshot-install":
		return true
	}
	return false
}

func isPartition(kind string) bool { return strings.HasPrefix(kind, "partition-") }

// needsNet reports whether kind cuts links with iptables.
func needsNet(kind string) bool {
	return isPartition(kind) || kind == "island" || kind == "membership-partition"
}

// parseFaults expands the --faults list: "all", "none", "partition" (the
// three partition kinds) or kind names.
func parseFaults(list string) ([]string, error) {
	var out []string
	for _, f := range strings.Split(list, ",") {
		f = strings.TrimSpace(f)
		switch {
		case f == "" || f == "none":
		case f == "all":
			for _, k := range faultKinds {
				if !slices.Contains(optInFaults, k) {
					out = append(out, k)
				}
			}
		case f == "partition":
			out = append(out, faultKinds[:3]...)
		case slices.Contains(faultKinds, f):
			out = append(out, f)
		default:
			return nil, fmt.Errorf("unknown fault %q (know: all, none, partition, %s)", f, strings.Join(faultKinds, ", "))
		}
	}
	var uniq []string
	for _, k := range faultKinds {
		if slices.Contains(out, k) {
			uniq = append(uniq, k)
		}
	}
	return uniq, nil
}

// fault is one fault window as the report shows it.
type fault struct {
	Kind   string
	Start  time.Duration
	End    time.Duration // zero while active
	Detail string
	Err    string
	Mixed  bool // started while another fault was active
}

// active is a fault in force and how to undo it.
type active struct {
	f    *fault
	heal func(ctx context.Context) error
}

// nemesis injects faults on a schedule drawn from the seed.
type nemesis struct {
	h     *harness
	rng   *rand.Rand
	kinds []string // enabled and possible
	net   *netFaults

	mu     sync.Mutex
	log    []*fault
	active []active
	acks   []memberAck // membership changes nodes answered OK to (members.go)
	// corrupted counts corrupt faults: each does the next of corruptions.
	corrupted int
}

func newNemesis(h *harness, res *runResult) (*nemesis, error) {
	n := &nemesis{h: h, rng: rand.New(rand.NewPCG(h.o.Seed, 0x6e656d65736973))}
	wantNet := false
	for _, k := range h.o.Faults {
		wantNet = wantNet || needsNet(k)
	}
	if wantNet {
		tag := fmt.Sprintf("raftlist-jepsen-%d-%d-%d", h.o.Seed, time.Now().UnixNano()%1e9, rand.Uint32())
		f, err := openNetFaults(tag)
		if err != nil {
			for _, k := range h.o.Faults {
				if needsNet(k) {
					res.skipped[k] = err.Error()
				}
			}
		}
		n.net = f
	}
	if slices.Contains(h.o.Faults, "snapshot-install") && !slices.Contains(h.o.Workloads, "queue") {
		res.skipped["snapshot-install"] = "needs the queue workload (its checker judges the blocked clients)"
	}
	for _, k := range h.o.Faults {
		if _, skip := res.skipped[k]; !skip {
			n.kinds = append(n.kinds, k)
		}
	}
	return n, nil
}

func (n *nemesis) faults() []*fault {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make([]*fault, len(n.log))
	for i, f := range n.log {
		c := *f
		out[i] = &c
	}
	return out
}

// ran reports whether every enabled kind has run at least once.
func (n *nemesis) ranAll() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, k := range n.kinds {
		if !slices.ContainsFunc(n.log, func(f *fault) bool { return f.Kind == k }) {
			return false
		}
	}
	return true
}

func (n *nemesis) between(lo, hi time.Duration) time.Duration {
	if hi <= lo {
		return lo
	}
	return lo + time.Duration(n.rng.Int64N(int64(hi-lo)))
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// run injects faults until deadline (in short mode, until every kind has
// run, within the overrun), one at a time, sometimes two at once. Each
// fault is healed before the next starts, and the cluster is given time
// to elect a leader in between.
func (n *nemesis) run(ctx context.Context, deadline time.Time) {
	if len(n.kinds) == 0 {
		return
	}
	hard := deadline.Add(n.h.timing.overrun)
	var bag []string
	for {
		now := time.Now()
		if now.After(hard) || (now.After(deadline) && (!n.h.o.Short || n.ranAll())) {
			return
		}
		if !sleepCtx(ctx, n.between(n.h.timing.quietMin, n.h.timing.quietMax)) {
			return
		}
		if now := time.Now(); now.After(hard) || (now.After(deadline) && (!n.h.o.Short || n.ranAll())) {
			return
		}
		if len(bag) == 0 {
			bag = slices.Clone(n.kinds)
			n.rng.Shuffle(len(bag), func(i, j int) { bag[i], bag[j] = bag[j], bag[i] })
		}
		kind := bag[0]
		bag = bag[1:]
		n.start(ctx, kind, false)
		if !solo(kind) && n.rng.Float64() < 0.25 {
			var others []string
			for _, k := range n.kinds {
				if k != kind && !solo(k) && n.feasible(k) {
					others = append(others, k)
				}
			}
			if len(others) > 0 {
				n.start(ctx, others[n.rng.IntN(len(others))], true)
			}
		}
		hold := n.between(n.h.timing.holdMin, n.h.timing.holdMax)
		sleepCtx(ctx, hold)
		healCtx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		n.healActive(healCtx)
		cancel()
		n.waitLeader(ctx)
	}
}

// feasible reports whether kind can start now: a partition needs two
// running nodes, a bridge three.
func (n *nemesis) feasible(kind string) bool {
	switch kind {
	case "partition-leader", "partition-half":
		return len(n.members()) >= 2
	case "partition-bridge":
		return len(n.members()) >= 3
	case "island", "membership-partition":
		return len(n.members()) >= 2
	}
	return true
}

// waitLeader gives the healed cluster time to agree on a leader.
func (n *nemesis) waitLeader(ctx context.Context) {
	wctx, cancel := context.WithTimeout(ctx, n.h.timing.settle)
	defer cancel()
	n.h.c.Leader(wctx)
}

// start begins one fault and records it.
func (n *nemesis) start(ctx context.Context, kind string, mixed bool) {
	f := &fault{Kind: kind, Start: n.h.hist.now(), Mixed: mixed}
	n.mu.Lock()
	n.log = append(n.log, f)
	n.mu.Unlock()
	heal, detail, err := n.inject(ctx, kind)
	n.mu.Lock()
	defer n.mu.Unlock()
	f.Detail = detail
	if err != nil {
		f.Err = err.Error()
	}
	if heal == nil {
		f.End = n.h.hist.now()
		return
	}
	n.active = append(n.active, active{f: f, heal: heal})
}

// healActive undoes the active faults, the latest first.
func (n *nemesis) healActive(ctx context.Context) {
	n.mu.Lock()
	act := n.active
	n.active = nil
	n.mu.Unlock()
	for i := len(act) - 1; i >= 0; i-- {
		err := act[i].heal(ctx)
		n.mu.Lock()
		act[i].f.End = n.h.hist.now()
		if err != nil {
			act[i].f.Err = strings.TrimPrefix(act[i].f.Err+"; heal: "+err.Error(), "; ")
		}
		n.mu.Unlock()
	}
}

// healAll heals what is active and then makes sure of it: no rule of this
// run left, no node paused, every node of the cluster running.
func (n *nemesis) healAll(ctx context.Context) {
	n.healActive(ctx)
	n.net.cleanup()
	n.h.dropping.Store(false)
	for _, node := range n.h.c.Nodes {
		if node.Paused() {
			node.Resume()
		}
		if !node.Running() {
			node.Restart(ctx)
		}
	}
	n.h.setTargets(n.h.c.Nodes)
}

// members returns the running cluster nodes.
func (n *nemesis) members() []*local.Node {
	var out []*local.Node
	for _, node := range n.h.c.Nodes {
		if node.Running() && !node.Paused() {
			out = append(out, node)
		}
	}
	return out
}

// leader returns the node that says it leads in the highest term, or nil.
func (n *nemesis) leader(ctx context.Context) *local.Node {
	var best *local.Node
	var bestTerm uint64
	for _, node := range n.members() {
		ictx, cancel := context.WithTimeout(ctx, time.Second)
		v, err := node.Info(ictx)
		cancel()
		if err != nil || v["raft_role"] != "leader" {
			continue
		}
		term, _ := strconv.ParseUint(v["raft_term"], 10, 64)
		if best == nil || term > bestTerm {
			best, bestTerm = node, term
		}
	}
	return best
}

// victim picks a node: the leader with probability pLeader, else any.
func (n *nemesis) victim(ctx context.Context, pLeader float64) (*local.Node, string) {
	nodes := n.members()
	if len(nodes) == 0 {
		return nil, ""
	}
	l := n.leader(ctx)
	if l != nil && n.rng.Float64() < pLeader {
		return l, " (leader)"
	}
	v := nodes[n.rng.IntN(len(nodes))]
	if v == l {
		return v, " (leader)"
	}
	return v, ""
}

// inject applies one fault; heal undoes it (nil when already over).
func (n *nemesis) inject(ctx context.Context, kind string) (heal func(context.Context) error, detail string, err error) {
	switch kind {
	case "partition-leader", "partition-half", "partition-bridge":
		return n.partition(ctx, kind)
	case "kill":
		v, role := n.victim(ctx, 0.7)
		if v == nil {
			return nil, "", fmt.Errorf("no running node")
		}
		v.Kill()
		return func(ctx context.Context) error { return v.Restart(ctx) },
			"SIGKILL " + v.ID + role + ", restart from its data dir", nil
	case "restart":
		v, role := n.victim(ctx, 0.8)
		if v == nil {
			return nil, "", fmt.Errorf("no running node")
		}
		v.Stop()
		return func(ctx context.Context) error { return v.Restart(ctx) },
			"SIGTERM " + v.ID + role + " (planned stop), restart from its data dir", nil
	case "pause":
		v, role := n.victim(ctx, 0.6)
		if v == nil {
			return nil, "", fmt.Errorf("no running node")
		}
		v.Pause()
		// At least two and a half election timeouts, whatever the hold.
		min := n.h.timing.election * 5 / 2
		until := time.Now().Add(min)
		return func(ctx context.Context) error {
				sleepCtx(ctx, time.Until(until))
				v.Resume()
				return nil
			},
			fmt.Sprintf("SIGSTOP %s%s, SIGCONT after ≥%s", v.ID, role, min), nil
	case "membership":
		return n.membership(ctx)
	case "snapshot-install":
		return n.snapshotInstall(ctx)
	case "island":
		return n.island(ctx)
	case "membership-partition":
		return n.membershipPartition(ctx)
	case "corrupt":
		return n.corrupt(ctx)
	case "clientdrop":
		n.h.dropping.Store(true)
		return func(context.Context) error { n.h.dropping.Store(false); return nil },
			fmt.Sprintf("clients drop %.0f%% of their connections mid-command", dropChance*100), nil
	}
	return nil, "", fmt.Errorf("unknown fault %q", kind)
}

// membership removes a node under load and, at heal, adds a fresh one with
// a new id and an empty data dir.
func (n *nemesis) membership(ctx context.Context) (func(context.Context) error, string, error) {
	v, role := n.victim(ctx, 0.25)
	if v == nil {
		return nil, "", fmt.Errorf("no running node")
	}
	rctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	// Clients stop picking the node before it goes.
	var rest []*local.Node
	for _, node := range n.h.c.Nodes {
		if node != v {
			rest = append(rest, node)
		}
	}
	n.h.setTargets(rest)
	detail := "RAFT REMOVENODE " + v.ID + role
	if err := n.h.c.RemoveNode(rctx, v); err != nil {
		n.h.setTargets(n.h.c.Nodes)
		return nil, detail, err
	}
	n.h.setTargets(n.h.c.Nodes)
	f := n.current()
	return func(ctx context.Context) error {
		actx, cancel := context.WithTimeout(ctx, 60*time.Second)
		defer cancel()
		added, err := n.h.c.AddNode(actx)
		if err != nil {
			return fmt.Errorf("add a fresh node: %w", err)
		}
		n.h.setTargets(n.h.c.Nodes)
		n.mu.Lock()
		f.Detail += ", then " + added.ID + " joined with an empty data dir on " + added.RaftAddr
		n.mu.Unlock()
		return nil
	}, detail, nil
}

// current is the fault being started (the last logged).
func (n *nemesis) current() *fault {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.log[len(n.log)-1]
}

// partition cuts the Raft links of one partition kind.
func (n *nemesis) partition(ctx context.Context, kind string) (func(context.Context) error, string, error) {
	nodes := n.members()
	if len(nodes) < 2 {
		return nil, "", fmt.Errorf("fewer than two running nodes")
	}
	n.rng.Shuffle(len(nodes), func(i, j int) { nodes[i], nodes[j] = nodes[j], nodes[i] })
	var a, b []*local.Node
	var detail string
	switch kind {
	case "partition-leader":
		l, role := n.leader(ctx), " (leader)"
		if l == nil {
			l, role = nodes[0], " (no leader found: a random node)"
		}
		a = []*local.Node{l}
		for _, node := range nodes {
			if node != l {
				b = append(b, node)
			}
		}
		detail = "isolate " + l.ID + role + " from " + ids(b)
	case "partition-half":
		minority := (len(nodes) - 1) / 2
		if minority == 0 {
			minority = 1
		}
		a, b = nodes[:minority], nodes[minority:]
		detail = n.side(a) + " | " + n.side(b)
	case "partition-bridge":
		if len(nodes) < 3 {
			return nil, "", fmt.Errorf("a bridge needs three running nodes")
		}
		bridge, rest := nodes[0], nodes[1:]
		a, b = rest[:len(rest)/2], rest[len(rest)/2:]
		detail = ids(a) + " | " + bridge.ID + " (bridge, sees both) | " + ids(b)
	}
	var rules [][]string
	heal := func(context.Context) error { return n.net.heal(rules) }
	for _, x := range a {
		for _, y := range b {
			added, err := n.net.cut(link{x.ID, x.RaftAddr}, link{y.ID, y.RaftAddr})
			rules = append(rules, added...)
			if err != nil {
				return heal, detail, err
			}
		}
	}
	return heal, detail + fmt.Sprintf(" (%d iptables rules)", len(rules)), nil
}

// side names a partition's side, marking one that holds a majority of
// the cluster's members.
func (n *nemesis) side(nodes []*local.Node) string {
	if len(nodes) > len(n.h.c.Nodes)/2 {
		return ids(nodes) + " (majority)"
	}
	return ids(nodes)
}

func ids(nodes []*local.Node) string {
	var s []string
	for _, n := range nodes {
		s = append(s, n.ID)
	}
	return strings.Join(s, ",")
}
