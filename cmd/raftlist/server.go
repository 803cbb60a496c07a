package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/raftlist/raftlist/cluster"
	"github.com/raftlist/raftlist/raftnode"
)

// serverFlags are the flags of `raftlist server`; tests, scripts and people
// rely on these names.
type serverFlags struct {
	id, listen, raftAddr, data, join, logLevel string
	pprof, metrics, logFormat, logStore        string
	bootstrap, redirect                        bool
	bootstrapExpect                            int
	joinTimeout                                time.Duration
	joinAddrs                                  []string
	heartbeat, election, snapInterval          time.Duration
	snapThreshold, trailingLogs                uint64
	maxBulkLen, maxEntrySize                   cluster.ByteSize
	maxClients                                 int
	idleTimeout                                seconds
	outputLimit                                cluster.OutputBufferLimit
	// clockSkew is --test-clock-skew: ID=DURATION pairs, of which this
	// node takes its own.
	clockSkew string
	// fs holds every flag by its config key, with the effective values,
	// for CONFIG GET (config.go).
	fs                               *flag.FlagSet
	requirePass, requirePassFile     string
	clusterSecret, clusterSecretFile string
	tls                              tlsFlags
	// secretMadeUp: the node needed a cluster secret, had none, and runs
	// alone on a random one (secrets.go).
	secretMadeUp bool
}

func parseServerFlags(args []string) (*serverFlags, error) {
	f := &serverFlags{maxBulkLen: 64 << 20, maxEntrySize: raftnode.DefaultMaxEntrySize, outputLimit: cluster.DefaultOutputBufferLimit}
	fs := newFlagSet("server")
	f.fs = fs
	fs.StringVar(&f.id, "id", "", "unique node id (default: node-<listen port>)")
	fs.StringVar(&f.listen, "listen", "127.0.0.1:6379", "RESP address clients connect to")
	fs.StringVar(&f.raftAddr, "raft", "", "Raft transport address (default: listen port + 10000 on the listen host)")
	fs.StringVar(&f.data, "data", "", "data directory (default: ./data/<id>)")
	fs.BoolVar(&f.bootstrap, "bootstrap", false, "start a new cluster with this node as its first member (harmless on restart)")
	fs.StringVar(&f.join, "join", "", "join an existing cluster through any member's RESP address; several, comma-separated, are tried in turn")
	fs.DurationVar(&f.joinTimeout, "join-timeout", defaultJoinTimeout, "give up joining (exit status 1) when no --join address admits this node within this time")
	fs.IntVar(&f.bootstrapExpect, "bootstrap-expect", 0, "with --join: on an empty data dir, found a cluster only once this many nodes (this one included) answer and none of the --join peers belongs to a cluster yet; the lowest id bootstraps, the others join it. A peer already in a cluster is joined instead, and a node with Raft state never bootstraps")
	fs.BoolVar(&f.redirect, "redirect", false, "followers answer -MOVED 0 leader instead of forwarding")
	fs.DurationVar(&f.heartbeat, "heartbeat-timeout", raftnode.DefaultHeartbeatTimeout, "Raft heartbeat timeout")
	fs.DurationVar(&f.election, "election-timeout", raftnode.DefaultElectionTimeout, "Raft election timeout")
	fs.DurationVar(&f.snapInterval, "snapshot-interval", 30*time.Second, "how often to check whether to snapshot")
	fs.Uint64Var(&f.snapThreshold, "snapshot-threshold", 8192, "log entries between snapshots")
	fs.Uint64Var(&f.trailingLogs, "trailing-logs", 10240, "log entries kept after a snapshot for slow followers")
	fs.Var(&f.maxBulkLen, "proto-max-bulk-len", "largest accepted argument in bytes, as Redis's proto-max-bulk-len")
	fs.Var(&f.maxBulkLen, "max-bulk-len", "alias of --proto-max-bulk-len")
	fs.Var(&f.maxEntrySize, "max-entry-size", "largest Raft log entry in bytes: a command, transaction or script call whose entry would be larger is refused")
	fs.IntVar(&f.maxClients, "maxclients", 10000, "most client connections at once (node-to-node connections do not count); 0: no limit")
	fs.Var(&f.idleTimeout, "timeout", "close a client idle this long (never a blocked one): a duration in whole seconds (90s, 5m) or, as Redis's timeout, plain seconds; 0: never")
	fs.Var(&f.outputLimit, "client-output-buffer-limit", "normal <hard> <soft> <soft-seconds>: close a client whose unread replies exceed hard bytes, or stay over soft bytes for soft-seconds")
	fs.StringVar(&f.logLevel, "log-level", "info", "log level: trace, debug, info, warn, error, off")
	fs.StringVar(&f.logFormat, "log-format", "text", "log format: text, or json (one JSON object per line)")
	fs.StringVar(&f.metrics, "metrics", "", "serve Prometheus metrics at http://HOST:PORT/metrics (port 0: any free port, logged); off by default")
	fs.StringVar(&f.tls.listen, "tls-listen", "", "serve RESP over TLS on HOST:PORT (Redis's tls-port); --listen \"\" then serves TLS only")
	fs.StringVar(&f.tls.certFile, "tls-cert-file", "", "PEM certificate of this node, for clients and (with --tls-cluster) other nodes")
	fs.StringVar(&f.tls.keyFile, "tls-key-file", "", "PEM private key of --tls-cert-file")
	fs.StringVar(&f.tls.caFile, "tls-ca-cert-file", "", "PEM CA certificate(s) that client and node certificates must chain to")
	fs.StringVar(&f.tls.authClients, "tls-auth-clients", "yes", "client certificates on the TLS port: yes (required), optional (verified if sent), no")
	fs.StringVar(&f.tls.cluster, "tls-cluster", "yes", "with TLS configured, node-to-node traffic (Raft, forwarding, --join) is mutual TLS and nodes advertise their --tls-listen address: yes or no")
	fs.StringVar(&f.logStore, "log-store", raftnode.LogStoreBolt, "Raft log store: bolt (raft-boltdb) or wal (hashicorp/raft-wal, one fsync per append); a data dir keeps the store it was created with")
	fs.StringVar(&f.pprof, "pprof", "", "serve net/http/pprof on HOST:PORT (port 0: any free port, logged); off by default")
	fs.StringVar(&f.requirePass, "requirepass", "", "password clients must give with AUTH (or HELLO AUTH) before any other command; off by default")
	fs.StringVar(&f.requirePassFile, "requirepass-file", "", "read --requirepass from this file (content trimmed), keeping it off the command line")
	fs.StringVar(&f.clusterSecret, "cluster-secret", "", "secret nodes prove to each other on Raft connections and with AUTH "+cluster.ClusterUser+"; needed to join a cluster with --requirepass or TLS (never derived from --requirepass)")
	fs.StringVar(&f.clusterSecretFile, "cluster-secret-file", "", "read --cluster-secret from this file (content trimmed)")
	fs.StringVar(&f.clockSkew, "test-clock-skew", "", "for fault tests only: ID=DURATION[,ID=DURATION...]; the node whose id is listed reads its clock that much ahead (or behind, negative) for entry times, reads and TIME")
	if err := parseWithConfig(fs, args); err != nil {
		return nil, err
	}
	if err := f.resolveSecrets(); err != nil {
		return nil, err
	}
	if err := checkLogFlags(f.logLevel, f.logFormat); err != nil {
		return nil, err
	}
	if !slices.Contains(raftnode.LogStores, f.logStore) {
		return nil, fmt.Errorf("--log-store %q: want one of %s", f.logStore, strings.Join(raftnode.LogStores, ", "))
	}
	if _, err := clockSkewOf(f.clockSkew, ""); err != nil {
		return nil, usageError{"server", err}
	}
	if f.bootstrap && f.join != "" {
		return nil, usageError{"server", errors.New("--bootstrap and --join exclude each other")}
	}
	joinAddrs, err := splitJoin(f.join)
	if err != nil {
		return nil, usageError{"server", err}
	}
	f.joinAddrs = joinAddrs
	if f.bootstrapExpect != 0 {
		switch {
		case f.bootstrap:
			return nil, usageError{"server", errors.New("--bootstrap and --bootstrap-expect exclude each other")}
		case f.bootstrapExpect < 2:
			return nil, usageError{"server", fmt.Errorf("--bootstrap-expect %d: want 2 or more (a one-node cluster is --bootstrap)", f.bootstrapExpect)}
		case len(f.joinAddrs) == 0:
			return nil, usageError{"server", errors.New("--bootstrap-expect needs --join with the other expected nodes' addresses")}
		}
	}
	if f.joinTimeout <= 0 {
		return nil, usageError{"server", fmt.Errorf("--join-timeout %v: want a positive duration", f.joinTimeout)}
	}
	if err := f.tls.check(f.listen); err != nil {
		return nil, err
	}
	if err := f.checkClusterSecret(); err != nil {
		return nil, err
	}
	// Defaults derive from the plain port, or from the TLS port of a
	// TLS-only node.
	first, flagName := f.listen, "--listen"
	if first == "" {
		first, flagName = f.tls.listen, "--tls-listen"
	}
	host, port, err := net.SplitHostPort(first)
	if err != nil {
		return nil, fmt.Errorf("%s %q: %w", flagName, first, err)
	}
	if f.id == "" {
		f.id = "node-" + port
	}
	if f.raftAddr == "" {
		p, _ := strconv.Atoi(port)
		f.raftAddr = net.JoinHostPort(host, strconv.Itoa(p+10000))
	}
	if f.data == "" {
		f.data = filepath.Join("data", f.id)
	}
	if err := checkLimits(f); err != nil {
		return nil, usageError{"server", err}
	}
	// CONFIG GET shows what the node runs with, defaults worked out.
	fs.Set("id", f.id)
	fs.Set("raft", f.raftAddr)
	fs.Set("data", f.data)
	return f, nil
}

// runServer runs one node until SIGINT or SIGTERM.
func runServer(args []string) error {
	f, err := parseServerFlags(args)
	if err != nil {
		return err
	}
	logger := newLogger(f.id, f.logLevel, f.logFormat)
	if err := serveNode(f, logger); err != nil {
		// Logged, so that even a failure keeps the log format and names
		// the node; main only sets the exit status.
		logger.Error("server failed", "error", err)
		return errLogged{err}
	}
	return nil
}

// serveNode runs the node until SIGINT or SIGTERM.
func serveNode(f *serverFlags, logger hclog.Logger) error {
	if f.pprof != "" {
		if err := servePprof(f.pprof, logger); err != nil {
			return err
		}
	}
	sec, err := f.tls.load()
	if err != nil {
		return err
	}
	var clientTLS, peerTLS, raftTLS *tls.Config
	if sec != nil {
		clientTLS, peerTLS, raftTLS = sec.clients, sec.peers, sec.raft
	}
	advertised := f.tls.advertised(f.listen)
	metrics := cluster.NewMetrics()
	if f.metrics != "" {
		if err := exportRaftMetrics(metrics); err != nil {
			return err
		}
		bound, stop, err := serveMetrics(f.metrics, metrics, logger)
		if err != nil {
			return err
		}
		defer stop()
		f.fs.Set("metrics", bound) // CONFIG GET metrics names the port 0 chose
	}
	skew, _ := clockSkewOf(f.clockSkew, f.id) // checked when parsed
	node, err := raftnode.New(raftnode.Config{
		ID: f.id, RaftAddr: f.raftAddr, RespAddr: advertised, DataDir: f.data, Bootstrap: f.bootstrap, TLS: raftTLS,
		LogStore:         f.logStore,
		HeartbeatTimeout: f.heartbeat, ElectionTimeout: f.election,
		SnapshotThreshold: f.snapThreshold, SnapshotInterval: f.snapInterval, TrailingLogs: f.trailingLogs,
		MaxEntrySize: int(f.maxEntrySize), ClusterSecret: f.clusterSecret, Logger: logger, SnapshotObserver: metrics.ObserveSnapshot,
		ClockOffset: skew,
	})
	if err != nil {
		return err
	}
	if !f.bootstrap && f.join == "" && !node.Restarted() {
		node.Shutdown()
		return errNoCluster{f.data}
	}
	if err := f.checkAlone(node); err != nil {
		node.Shutdown()
		return err
	}
	if f.secretMadeUp {
		logger.Warn("no cluster secret: running as a one-node cluster that no other node can join; to add nodes, restart with --cluster-secret-file", "needed-by", f.needsClusterSecret())
	}
	srv := cluster.New(cluster.Config{
		ListenAddr: f.listen, Redirect: f.redirect, MaxBulkLen: int64(f.maxBulkLen), Logger: logger,
		Metrics:    metrics,
		MaxClients: f.maxClients, IdleTimeout: time.Duration(f.idleTimeout), OutputLimit: f.outputLimit,
		ConfigValues: func() map[string]string { return configValues(f.fs) },
		Rewrite:      configRewriter(f.fs),
		RequirePass:  f.requirePass, ClusterSecret: f.clusterSecret,
		TLSListenAddr: f.tls.listen, TLS: clientTLS, PeerTLS: peerTLS,
	}, node)
	ready := make(chan error, 1)
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ready) }()
	if err := <-ready; err != nil {
		node.Shutdown()
		return err
	}
	logger.Info("serving", "listen", f.listen, "tls-listen", f.tls.listen, "raft", f.raftAddr, "raft-tls", raftTLS != nil, "data", f.data)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	joinFailed := make(chan error, 1)
	if len(f.joinAddrs) > 0 {
		j := &joiner{id: f.id, raftAddr: f.raftAddr, respAddr: advertised, addrs: f.joinAddrs,
			expect: f.bootstrapExpect, timeout: f.joinTimeout, secret: f.clusterSecret, peerTLS: peerTLS,
			node: node, logger: logger}
		go func() {
			err := j.run(ctx)
			var ae *cluster.AuthError
			switch {
			case err == nil, errors.Is(err, context.Canceled):
			case errors.As(err, &ae) || errors.Is(err, raftnode.ErrOtherCluster) || !node.Restarted():
				// A node the cluster will never admit, or an empty one no
				// member admitted in time, would only sit idle: exit, so
				// systemd's restart policy and the operator see it.
				joinFailed <- err
			default:
				// A restarted node already belongs to its cluster; the
				// join only refreshes its addresses.
				logger.Error("join failed; carrying on with the cluster in the data dir", "through", f.join, "error", err)
			}
		}()
	}
	var exitErr error
	select {
	case <-ctx.Done():
		logger.Info("shutting down")
		handOff(node, logger)
	case err := <-serveErr:
		logger.Error("front door stopped", "error", err)
	case exitErr = <-joinFailed:
		logger.Error("join failed; stopping", "through", f.join, "error", exitErr)
	}
	srv.Close()
	if err := node.Shutdown(); err != nil {
		return err
	}
	return exitErr
}

// handOff passes leadership on before a planned stop, while the front door
// still serves, so clients of this node see their writes forwarded to the
// new leader rather than an election's pause. A failed hand-off costs only
// that pause: the stop goes on either way.
func handOff(node *raftnode.Node, logger hclog.Logger) {
	began := time.Now()
	to, handed, err := node.HandOff()
	switch {
	case err != nil:
		logger.Warn("leadership hand-off failed; the others will elect a leader after their timeout", "error", err)
	case handed:
		logger.Info("leadership handed off", "to", to, "took", time.Since(began))
	}
}

// errNoCluster refuses a node that could never serve: its data dir holds
// no Raft state and it was told neither to start a cluster nor to join one,
// so it would answer TRYAGAIN until someone ran RAFT ADDNODE for it. A
// restart (the data dir holds state) needs neither flag.
type errNoCluster struct{ data string }

func (e errNoCluster) Error() string {
	return fmt.Sprintf("%s holds no Raft state and neither --bootstrap nor --join was given, so this node belongs to no cluster; "+
		"start a new cluster with --bootstrap, or join one with --join HOST:PORT (any member's client address)", e.data)
}

// clockSkewOf returns id's offset in a --test-clock-skew list
// (ID=DURATION pairs, comma-separated), zero when id is not listed.
// One list for every node lets a test start them all with the same flags.
func clockSkewOf(list, id string) (time.Duration, error) {
	var skew time.Duration
	for _, pair := range strings.Split(list, ",") {
		if pair == "" {
			continue
		}
		name, d, ok := strings.Cut(pair, "=")
		v, err := time.ParseDuration(d)
		if !ok || err != nil {
			return 0, fmt.Errorf("--test-clock-skew %q: want ID=DURATION[,ID=DURATION...]", list)
		}
		if name == id {
			skew = v
		}
	}
	return skew, nil
}
