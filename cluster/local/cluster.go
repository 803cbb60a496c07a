package local

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// pollInterval is how often waits ask the nodes again.
const pollInterval = 50 * time.Millisecond

// Cluster is a set of node processes started by Start.
type Cluster struct {
	// Nodes are the cluster's nodes in the order they were added: node1,
	// node2, ... AddNode appends, RemoveNode removes. Killed or stopped nodes
	// stay listed (they can be restarted).
	Nodes []*Node

	cfg  Config
	last int       // highest node number handed out
	tls  *TLSFiles // with Config.TLS
}

// Start runs the cluster described by cfg and returns once it is usable:
// one leader that every node names, RAFT NODES on it lists every node, and
// a read through every node succeeds.
//
// On an empty Dir it bootstraps node1, waits for it to lead, then starts the
// others with --join node1. If Dir already holds a node's data it starts
// every node at once with the same flags, bringing the old cluster back.
// If a node exits while Start waits, Start stops the rest and fails with the
// tail of that node's log.
func Start(ctx context.Context, cfg Config) (*Cluster, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	for _, dir := range []string{cfg.Dir, cfg.LogDir} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("local: %w", err)
		}
	}
	c := &Cluster{cfg: cfg, last: cfg.Nodes}
	if cfg.TLS {
		files, err := WriteTLSFiles(filepath.Join(cfg.Dir, "tls"))
		if err != nil {
			return nil, err
		}
		c.tls = &files
	}
	if err := c.ensureClusterSecret(); err != nil {
		return nil, err
	}
	if err := c.writeSecrets(); err != nil {
		return nil, err
	}
	existing := false
	for i := 1; i <= cfg.Nodes; i++ {
		n, err := c.newNode(i)
		if err != nil {
			return nil, err
		}
		if i == 1 {
			n.args = c.serverArgs(n, "--bootstrap")
		} else {
			n.args = c.serverArgs(n, "--join", c.Nodes[0].ClientAddr)
		}
		existing = existing || hasData(n.DataDir)
		c.Nodes = append(c.Nodes, n)
	}
	if err := addrsFree(c.Nodes); err != nil {
		return nil, err
	}
	if err := c.startAll(ctx, existing); err != nil {
		c.Stop()
		return nil, err
	}
	return c, nil
}

func (c *Cluster) startAll(ctx context.Context, existing bool) error {
	if !existing {
		if err := c.Nodes[0].start(); err != nil {
			return err
		}
		if err := c.waitSettled(ctx, c.Nodes[:1]); err != nil {
			return err
		}
	}
	for _, n := range c.Nodes {
		if n.Running() {
			continue
		}
		if err := n.start(); err != nil {
			return err
		}
	}
	return c.waitSettled(ctx, c.Nodes)
}

// newNode describes node i, with its certificate when the cluster runs TLS.
func (c *Cluster) newNode(i int) (*Node, error) {
	n := c.cfg.node(i)
	if c.tls == nil {
		return n, nil
	}
	host, _, _ := net.SplitHostPort(n.ClientAddr)
	if err := c.tls.IssueNodeCert(n.ID, host); err != nil {
		return nil, err
	}
	conf, err := c.tls.ClientConfig(host)
	if err != nil {
		return nil, err
	}
	n.tlsConf = conf
	return n, nil
}

// TLSFiles returns the cluster's CA and certificates, or nil when it does
// not run TLS.
func (c *Cluster) TLSFiles() *TLSFiles { return c.tls }

// serverArgs are the `raftlist server` arguments of n.
func (c *Cluster) serverArgs(n *Node, extra ...string) []string {
	args := []string{"server", "--id", n.ID, "--listen", n.ClientAddr, "--raft", n.RaftAddr, "--data", n.DataDir}
	if c.tls != nil {
		args = []string{"server", "--id", n.ID, "--listen", "", "--tls-listen", n.ClientAddr,
			"--tls-cert-file", c.tls.NodeCert(n.ID), "--tls-key-file", c.tls.NodeKey(n.ID),
			"--tls-ca-cert-file", c.tls.CACert, "--raft", n.RaftAddr, "--data", n.DataDir}
	}
	args = append(args, extra...)
	args = append(args, c.secretArgs()...)
	return append(args, c.cfg.ExtraArgs...)
}

// addrsFree fails if another process already listens on one of the nodes'
// addresses: most often a cluster still running on the same Dir, whose
// data a second node process could not open anyway.
func addrsFree(nodes []*Node) error {
	for _, n := range nodes {
		for _, addr := range []string{n.ClientAddr, n.RaftAddr} {
			l, err := net.Listen("tcp", addr)
			if err != nil {
				return fmt.Errorf("local: %s cannot use %s: %w (is a cluster already running there?)", n.ID, addr, err)
			}
			l.Close()
		}
	}
	return nil
}

// hasData reports whether dir exists and is not empty.
func hasData(dir string) bool {
	entries, err := os.ReadDir(dir)
	return err == nil && len(entries) > 0
}

// Config returns the cluster's configuration with defaults filled in.
func (c *Cluster) Config() Config { return c.cfg }

// live returns the nodes whose process runs and is not paused: the ones that
// can answer.
func (c *Cluster) live() []*Node {
	var out []*Node
	for _, n := range c.Nodes {
		if n.Running() && !n.Paused() {
			out = append(out, n)
		}
	}
	return out
}

// waitSettled polls until settled(want) holds, failing fast if one of want
// exits. Config.Progress hears what it waits for whenever that changes.
func (c *Cluster) waitSettled(ctx context.Context, want []*Node) error {
	last := ""
	return poll(ctx, "cluster did not settle", func() error {
		for _, n := range want {
			if err := n.exitedEarly(); err != nil {
				return permanent{err}
			}
		}
		err := c.settled(ctx, want)
		var w waiting
		if errors.As(err, &w) && w.what != last && c.cfg.Progress != nil {
			c.cfg.Progress(w.what)
		}
		if errors.As(err, &w) {
			last = w.what
		}
		return err
	})
}

// waiting is an error of settled that says, in a few words, what the
// cluster is waiting for.
type waiting struct {
	what string
	err  error
}

func (w waiting) Error() string { return w.err.Error() }
func (w waiting) Unwrap() error { return w.err }

// settled checks that want have one leader they all name, with its client
// address, that the leader lists them all as members, and that a read
// through each of them is served.
func (c *Cluster) settled(ctx context.Context, want []*Node) error {
	views := make(map[string]map[string]string, len(want))
	for _, n := range want {
		v, err := n.Info(ctx)
		if err != nil {
			return waiting{fmt.Sprintf("waiting for %s to listen on %s", n.ID, n.ClientAddr), err}
		}
		views[n.ID] = v
	}
	leader, err := agreedLeader(want, views)
	if err != nil {
		return waiting{"waiting for a leader", err}
	}
	for _, n := range want {
		if got := views[n.ID]["raft_leader_addr"]; got != leader.ClientAddr {
			return waiting{"waiting for a leader",
				fmt.Errorf("%s gives the leader's address as %q, want %q", n.ID, got, leader.ClientAddr)}
		}
	}
	members, err := leader.Members(ctx)
	if err != nil {
		return waiting{"waiting for a leader", err}
	}
	for _, n := range want {
		if !slices.ContainsFunc(members, func(m Member) bool { return m.ID == n.ID }) {
			return waiting{fmt.Sprintf("waiting for %s to join %s", n.ID, leader.ID),
				fmt.Errorf("%s is not yet a member (RAFT NODES on %s: %v)", n.ID, leader.ID, members)}
		}
	}
	for _, n := range want {
		// In --redirect mode a follower's answer to a read is a MOVED to
		// the leader: that, too, is serving.
		if err := n.adminClient().Do(ctx, "DBSIZE").Err(); err != nil && !strings.HasPrefix(err.Error(), "MOVED ") {
			return waiting{fmt.Sprintf("waiting for %s to catch up and serve reads", n.ID),
				fmt.Errorf("%s cannot serve a read yet: %w", n.ID, err)}
		}
	}
	return nil
}

// infos asks every node in nodes for INFO raft; any failure is an error.
func infos(ctx context.Context, nodes []*Node) (map[string]map[string]string, error) {
	views := make(map[string]map[string]string, len(nodes))
	for _, n := range nodes {
		v, err := n.Info(ctx)
		if err != nil {
			return nil, err
		}
		views[n.ID] = v
	}
	return views, nil
}

// agreedLeader returns the node among nodes that says it leads, provided
// every node in views names it as leader. With several self-declared
// leaders (a deposed one that has not noticed yet) the highest term wins.
func agreedLeader(nodes []*Node, views map[string]map[string]string) (*Node, error) {
	var leader *Node
	var leaderTerm uint64
	for _, n := range nodes {
		v, ok := views[n.ID]
		if !ok || v["raft_role"] != "leader" || v["raft_leader_id"] != n.ID {
			continue
		}
		term, _ := strconv.ParseUint(v["raft_term"], 10, 64)
		if leader == nil || term > leaderTerm {
			leader, leaderTerm = n, term
		}
	}
	if leader == nil {
		return nil, fmt.Errorf("no leader yet (%s)", describe(views, "raft_role", "raft_term"))
	}
	for id, v := range views {
		if v["raft_leader_id"] != leader.ID {
			return nil, fmt.Errorf("%s leads in term %d but %s names %q as leader (%s)",
				leader.ID, leaderTerm, id, v["raft_leader_id"], describe(views, "raft_role", "raft_leader_id", "raft_term"))
		}
	}
	return leader, nil
}

// describe renders some INFO fields of every node on one line.
func describe(views map[string]map[string]string, fields ...string) string {
	ids := make([]string, 0, len(views))
	for id := range views {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var parts []string
	for _, id := range ids {
		var kv []string
		for _, f := range fields {
			kv = append(kv, strings.TrimPrefix(f, "raft_")+"="+views[id][f])
		}
		parts = append(parts, id+": "+strings.Join(kv, " "))
	}
	return strings.Join(parts, "; ")
}

// Leader returns the node that says it is leader and that every other
// running, unpaused node that answers names as leader, waiting until there
// is one or ctx ends.
func (c *Cluster) Leader(ctx context.Context) (*Node, error) {
	var leader *Node
	err := poll(ctx, "no agreed leader", func() error {
		nodes := c.live()
		views := make(map[string]map[string]string, len(nodes))
		for _, n := range nodes {
			if v, err := n.Info(ctx); err == nil {
				views[n.ID] = v
			}
		}
		var err error
		leader, err = agreedLeader(nodes, views)
		return err
	})
	return leader, err
}

// WaitConverged waits until every running, unpaused node has applied exactly
// the leader's commit index and answers the same DEBUG DIGEST. The error,
// when ctx ends first, lists each node's values.
func (c *Cluster) WaitConverged(ctx context.Context) error {
	return poll(ctx, "nodes did not converge", func() error { return c.converged(ctx) })
}

func (c *Cluster) converged(ctx context.Context) error {
	nodes := c.live()
	if len(nodes) == 0 {
		return errors.New("no node is running")
	}
	views, err := infos(ctx, nodes)
	if err != nil {
		return err
	}
	leader, err := agreedLeader(nodes, views)
	if err != nil {
		return err
	}
	commit := views[leader.ID]["raft_commit_index"]
	digests := make(map[string]string, len(nodes))
	ok := true
	for _, n := range nodes {
		d, err := n.Digest(ctx)
		if err != nil {
			return err
		}
		again, err := n.Info(ctx)
		if err != nil {
			return err
		}
		// A digest taken while the applied index moved names no index.
		if again["raft_applied_index"] != views[n.ID]["raft_applied_index"] {
			ok = false
		}
		digests[n.ID] = d
		views[n.ID]["digest"] = d
		if views[n.ID]["raft_applied_index"] != commit || d != digests[nodes[0].ID] {
			ok = false
		}
	}
	if !ok {
		return fmt.Errorf("leader %s commit index %s; %s", leader.ID, commit,
			describe(views, "raft_applied_index", "raft_commit_index", "digest"))
	}
	return nil
}

// Stop stops every node (SIGTERM, SIGKILL after 5 s), all at once, and
// closes the clients handed out by Node.Client.
func (c *Cluster) Stop() {
	var wg sync.WaitGroup
	for _, n := range c.Nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n.Stop()
			n.closeClients()
		}()
	}
	wg.Wait()
}

// AddNode starts node<N+1> with a fresh data dir, joining through the
// current leader, and waits until the cluster has settled with it.
func (c *Cluster) AddNode(ctx context.Context) (*Node, error) {
	leader, err := c.Leader(ctx)
	if err != nil {
		return nil, err
	}
	n, err := c.newNode(c.last + 1)
	if err != nil {
		return nil, err
	}
	if hasData(n.DataDir) {
		return nil, fmt.Errorf("local: %s already holds data; AddNode wants a fresh data dir", n.DataDir)
	}
	n.args = c.serverArgs(n, "--join", leader.ClientAddr)
	if err := addrsFree([]*Node{n}); err != nil {
		return nil, err
	}
	if err := n.start(); err != nil {
		return nil, err
	}
	c.last++
	if err := c.waitSettled(ctx, append(c.live(), n)); err != nil {
		n.Stop()
		n.closeClients()
		return nil, err
	}
	c.Nodes = append(c.Nodes, n)
	return n, nil
}

// RemoveNode removes n from the Raft configuration through the leader
// (RAFT REMOVENODE), then stops its process and drops it from Nodes.
func (c *Cluster) RemoveNode(ctx context.Context, n *Node) error {
	err := poll(ctx, "remove "+n.ID, func() error {
		leader, err := c.Leader(ctx)
		if err != nil {
			return err
		}
		members, err := leader.Members(ctx)
		if err != nil {
			return err
		}
		if !slices.ContainsFunc(members, func(m Member) bool { return m.ID == n.ID }) {
			return nil // gone, perhaps by an earlier attempt whose reply was lost
		}
		if err := leader.adminClient().Do(ctx, "RAFT", "REMOVENODE", n.ID).Err(); err != nil {
			return fmt.Errorf("RAFT REMOVENODE %s on %s: %w", n.ID, leader.ID, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	n.Stop()
	n.closeClients()
	c.Nodes = slices.DeleteFunc(c.Nodes, func(m *Node) bool { return m == n })
	return nil
}

// permanent marks an error that poll must not retry.
type permanent struct{ err error }

func (p permanent) Error() string { return p.err.Error() }

// poll runs try every pollInterval until it returns nil, returns a
// permanent error, or ctx ends; the error then carries try's last error.
func poll(ctx context.Context, what string, try func() error) error {
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		err := try()
		if err == nil {
			return nil
		}
		var p permanent
		if errors.As(err, &p) {
			return p.err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %w; last: %v", what, ctx.Err(), err)
		case <-tick.C:
		}
	}
}
