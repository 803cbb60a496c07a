package main

// Joining a cluster at start: --join takes several members' addresses and
// gives up after --join-timeout; --bootstrap-expect N founds a cluster only
// when N empty nodes (this one included) find each other and none of the
// listed peers already belongs to a cluster (Consul's bootstrap_expect,
// rqlite's -bootstrap-expect). A node with Raft state never bootstraps.

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/redis/go-redis/v9"

	"github.com/raftlist/raftlist/cluster"
	"github.com/raftlist/raftlist/raftnode"
)

// defaultJoinTimeout bounds --join: long enough for peers started by the
// same provisioning run to come up, short enough that systemd's restart
// policy and the operator see a node that cannot join.
const defaultJoinTimeout = 2 * time.Minute

// joinAttemptTimeout bounds one attempt through one address, so a dead or
// silent first address does not hold up the others.
const joinAttemptTimeout = 5 * time.Second

// errJoinTimeout: no listed member admitted this node within --join-timeout.
var errJoinTimeout = errors.New("gave up joining")

// splitJoin parses --join: comma-separated HOST:PORT addresses, a bare host
// taking port 6379, duplicates dropped.
func splitJoin(s string) ([]string, error) {
	var out []string
	for _, a := range strings.Split(s, ",") {
		a = strings.TrimSpace(a)
		if a == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(a); err != nil {
			if strings.Contains(a, ":") && !strings.HasPrefix(a, "[") {
				return nil, fmt.Errorf("--join %q: %w", a, err)
			}
			a = net.JoinHostPort(strings.Trim(a, "[]"), "6379")
		}
		if !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	if len(out) == 0 && s != "" {
		return nil, fmt.Errorf("--join %q: no address", s)
	}
	return out, nil
}

// joiner brings a node into a cluster through the --join addresses.
type joiner struct {
	id, raftAddr, respAddr string
	addrs                  []string
	expect                 int // --bootstrap-expect; 0: off
	timeout                time.Duration
	secret                 string
	peerTLS                *tls.Config
	node                   *raftnode.Node
	logger                 hclog.Logger
}

// run tries the addresses in turn, round after round, until a member
// admits this node (or, with expect, until the expected empty nodes are
// found and this one, the lowest id, founds the cluster), a member refuses
// this node's credentials, or the timeout passes.
func (j *joiner) run(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, j.timeout)
	defer cancel()
	last := map[string]string{}
	for round := 0; ; round++ {
		if j.expect > 0 && !j.node.Restarted() {
			done, err := j.bootstrapIfExpected(ctx, last)
			if done || err != nil {
				return err
			}
		} else {
			for _, addr := range j.addrs {
				err := j.joinThrough(ctx, addr)
				if err == nil {
					j.logger.Info("joined", "through", addr)
					return nil
				}
				var ae *cluster.AuthError
				if errors.As(err, &ae) || errors.Is(err, raftnode.ErrOtherCluster) {
					return err
				}
				last[addr] = err.Error()
			}
		}
		select {
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return fmt.Errorf("%w: no member of %s admitted node %s within --join-timeout %v (%s)",
					errJoinTimeout, strings.Join(j.addrs, ","), j.id, j.timeout, lastErrors(j.addrs, last))
			}
			return ctx.Err()
		case <-time.After(time.Second):
		}
		if round%10 == 9 {
			j.logger.Warn("still joining", "through", strings.Join(j.addrs, ","), "last", lastErrors(j.addrs, last))
		}
	}
}

// joinThrough asks the member at addr to admit this node, unless it
// belongs to another cluster than this node's data dir (ErrOtherCluster),
// and records the cluster's id once admitted.
func (j *joiner) joinThrough(ctx context.Context, addr string) error {
	p := j.probe(ctx, addr)
	own := j.node.ClusterID()
	if own != "" && p.clusterID != "" && own != p.clusterID {
		return fmt.Errorf("%s is a member of cluster %s, but node %s's data dir (--data) is cluster %s's: a node never moves between clusters (%w); "+
			"point --join at its own cluster's members, or give it an empty data dir to join this one", addr, p.clusterID, j.id, own, raftnode.ErrOtherCluster)
	}
	actx, cancel := context.WithTimeout(ctx, joinAttemptTimeout)
	defer cancel()
	if err := cluster.JoinOnce(actx, addr, j.id, j.raftAddr, j.respAddr,
		cluster.JoinOptions{Secret: j.secret, PeerTLS: j.peerTLS}); err != nil {
		return err
	}
	if p.clusterID != "" {
		return j.node.SetClusterID(p.clusterID)
	}
	return nil
}

// peerState is what a probe learns of a listed peer.
type peerState struct {
	addr, id     string
	inCluster    bool // holds Raft state or knows a leader
	clusterID    string
	probeFailure string
}

// bootstrapIfExpected is one round of --bootstrap-expect on an empty node:
// if any listed peer already belongs to a cluster, join it through those
// peers; if expect nodes (this one included) answer and all are empty, the
// one with the lowest id founds the cluster and the others join it in a
// later round. done reports that this node is now in a cluster.
func (j *joiner) bootstrapIfExpected(ctx context.Context, last map[string]string) (done bool, err error) {
	var members, empty []string
	emptyIDs := []string{j.id}
	for _, addr := range j.addrs {
		p := j.probe(ctx, addr)
		switch {
		case p.probeFailure != "":
			last[addr] = p.probeFailure
		case p.id == j.id:
			// This node's own address in the list.
		case p.inCluster:
			members = append(members, addr)
		default:
			empty = append(empty, addr)
			if !slices.Contains(emptyIDs, p.id) {
				emptyIDs = append(emptyIDs, p.id)
			}
		}
	}
	if len(members) > 0 {
		for _, addr := range members {
			err := j.joinThrough(ctx, addr)
			if err == nil {
				j.logger.Info("joined an existing cluster", "through", addr)
				return true, nil
			}
			var ae *cluster.AuthError
			if errors.As(err, &ae) || errors.Is(err, raftnode.ErrOtherCluster) {
				return false, err
			}
			last[addr] = err.Error()
		}
		return false, nil
	}
	if len(emptyIDs) < j.expect {
		j.logger.Debug("waiting for expected nodes", "found", len(emptyIDs), "expect", j.expect)
		return false, nil
	}
	slices.Sort(emptyIDs)
	if emptyIDs[0] != j.id {
		// The lowest id founds the cluster; join it in a later round.
		return false, nil
	}
	if err := j.node.BootstrapAlone(); err != nil {
		return false, err
	}
	j.logger.Info("bootstrapped a new cluster: the expected nodes were all empty and this node has the lowest id",
		"expect", j.expect, "nodes", strings.Join(emptyIDs, ","))
	return true, nil
}

// probe asks addr for INFO raft as a member would (TLS, the cluster
// secret).
func (j *joiner) probe(ctx context.Context, addr string) peerState {
	o := &redis.Options{Addr: addr, MaxRetries: -1, Protocol: 2, DisableIdentity: true, PoolSize: 1,
		DialTimeout: joinAttemptTimeout, ReadTimeout: joinAttemptTimeout, WriteTimeout: joinAttemptTimeout}
	if j.secret != "" {
		o.Username, o.Password = cluster.ClusterUser, j.secret
	}
	if j.peerTLS != nil {
		o.TLSConfig = j.peerTLS.Clone()
		if host, _, err := net.SplitHostPort(addr); err == nil && o.TLSConfig.ServerName == "" {
			o.TLSConfig.ServerName = host
		}
	}
	rdb := redis.NewClient(o)
	defer rdb.Close()
	pctx, cancel := context.WithTimeout(ctx, joinAttemptTimeout)
	defer cancel()
	text, err := rdb.Info(pctx, "raft").Result()
	if err != nil {
		return peerState{addr: addr, probeFailure: err.Error()}
	}
	info := map[string]string{}
	for _, line := range strings.Split(text, "\n") {
		if k, v, ok := strings.Cut(strings.TrimRight(line, "\r"), ":"); ok {
			info[k] = v
		}
	}
	last, _ := strconv.ParseUint(info["raft_last_log_index"], 10, 64)
	return peerState{addr: addr, id: info["raft_node_id"], inCluster: last > 0 || info["raft_leader_id"] != "",
		clusterID: info["raft_cluster_id"]}
}

func lastErrors(addrs []string, last map[string]string) string {
	var parts []string
	for _, a := range addrs {
		if e, ok := last[a]; ok {
			parts = append(parts, a+": "+e)
		}
	}
	if len(parts) == 0 {
		return "no attempt finished"
	}
	return "last errors: " + strings.Join(parts, "; ")
}
