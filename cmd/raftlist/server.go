package main

import (
	"context"
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
	pprof, logStore                            string
	bootstrap, redirect                        bool
	heartbeat, election, snapInterval          time.Duration
	snapThreshold, trailingLogs                uint64
	maxBulkLen                                 int64
}

func parseServerFlags(args []string) (*serverFlags, error) {
	f := &serverFlags{}
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	fs.StringVar(&f.id, "id", "", "unique node id (default: node-<listen port>)")
	fs.StringVar(&f.listen, "listen", "127.0.0.1:6379", "RESP address clients connect to")
	fs.StringVar(&f.raftAddr, "raft", "", "Raft transport address (default: listen port + 10000 on the listen host)")
	fs.StringVar(&f.data, "data", "", "data directory (default: ./data/<id>)")
	fs.BoolVar(&f.bootstrap, "bootstrap", false, "start a new cluster with this node as its first member (harmless on restart)")
	fs.StringVar(&f.join, "join", "", "join an existing cluster through any member's RESP address")
	fs.BoolVar(&f.redirect, "redirect", false, "followers answer -MOVED 0 leader instead of forwarding")
	fs.DurationVar(&f.heartbeat, "heartbeat-timeout", time.Second, "Raft heartbeat timeout")
	fs.DurationVar(&f.election, "election-timeout", time.Second, "Raft election timeout")
	fs.DurationVar(&f.snapInterval, "snapshot-interval", 30*time.Second, "how often to check whether to snapshot")
	fs.Uint64Var(&f.snapThreshold, "snapshot-threshold", 8192, "log entries between snapshots")
	fs.Uint64Var(&f.trailingLogs, "trailing-logs", 10240, "log entries kept after a snapshot for slow followers")
	fs.Int64Var(&f.maxBulkLen, "max-bulk-len", 64<<20, "largest accepted argument in bytes")
	fs.StringVar(&f.logStore, "log-store", raftnode.LogStoreBolt, "Raft log store: bolt (raft-boltdb) or wal (hashicorp/raft-wal, one fsync per append); a data dir keeps the store it was created with")
	fs.StringVar(&f.logLevel, "log-level", "info", "log level: trace, debug, info, warn, error")
	fs.StringVar(&f.pprof, "pprof", "", "serve net/http/pprof on HOST:PORT (port 0: any free port, logged); off by default")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if !slices.Contains(raftnode.LogStores, f.logStore) {
		return nil, fmt.Errorf("--log-store %q: want one of %s", f.logStore, strings.Join(raftnode.LogStores, ", "))
	}
	if f.bootstrap && f.join != "" {
		return nil, errors.New("--bootstrap and --join exclude each other")
	}
	host, port, err := net.SplitHostPort(f.listen)
	if err != nil {
		return nil, fmt.Errorf("--listen %q: %w", f.listen, err)
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
	return f, nil
}

// runServer runs one node until SIGINT or SIGTERM.
func runServer(args []string) error {
	f, err := parseServerFlags(args)
	if err != nil {
		return err
	}
	logger := hclog.New(&hclog.LoggerOptions{
		Name: f.id, Level: hclog.LevelFromString(f.logLevel), Output: os.Stderr,
	})
	if f.pprof != "" {
		if err := servePprof(f.pprof, logger); err != nil {
			return err
		}
	}
	node, err := raftnode.New(raftnode.Config{
		ID: f.id, RaftAddr: f.raftAddr, RespAddr: f.listen, DataDir: f.data, Bootstrap: f.bootstrap,
		LogStore:         f.logStore,
		HeartbeatTimeout: f.heartbeat, ElectionTimeout: f.election,
		SnapshotThreshold: f.snapThreshold, SnapshotInterval: f.snapInterval, TrailingLogs: f.trailingLogs,
		Logger: logger,
	})
	if err != nil {
		return err
	}
	srv := cluster.New(cluster.Config{
		ListenAddr: f.listen, Redirect: f.redirect, MaxBulkLen: f.maxBulkLen, Logger: logger,
	}, node)
	ready := make(chan error, 1)
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ready) }()
	if err := <-ready; err != nil {
		node.Shutdown()
		return fmt.Errorf("listen on %s: %w", f.listen, err)
	}
	logger.Info("serving", "listen", f.listen, "raft", f.raftAddr, "data", f.data)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if f.join != "" {
		go func() {
			if err := cluster.Join(ctx, f.join, f.id, f.raftAddr, f.listen); err != nil {
				logger.Error("join failed", "through", f.join, "error", err)
				return
			}
			logger.Info("joined", "through", f.join)
		}()
	}
	select {
	case <-ctx.Done():
		logger.Info("shutting down")
	case err := <-serveErr:
		logger.Error("front door stopped", "error", err)
	}
	srv.Close()
	return node.Shutdown()
}
