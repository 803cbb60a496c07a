package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/hashicorp/go-hclog"
	gometrics "github.com/hashicorp/go-metrics/compat"
	gmprometheus "github.com/hashicorp/go-metrics/compat/prometheus"

	"github.com/raftlist/raftlist/cluster"
)

// serveMetrics serves the node's Prometheus registry at
// http://addr/metrics, and the Kubernetes-style probes /healthz (the
// process is up) and /readyz (the node is ready for clients; see
// cluster.Metrics.ReadyHandler). Port 0 picks a port: the log line names
// it, and it is returned (and recorded in m for INFO). The returned stop
// closes the listener.
func serveMetrics(addr string, m *cluster.Metrics, logger hclog.Logger) (bound string, stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, fmt.Errorf("--metrics %s: %w", addr, err)
	}
	bound = ln.Addr().String()
	m.SetAddr(bound)
	errLog := logger.Named("metrics").StandardLogger(&hclog.StandardLoggerOptions{ForceLevel: hclog.Warn})
	mux := http.NewServeMux()
	mux.Handle("/metrics", m.Handler(errLog))
	mux.Handle("/healthz", m.HealthHandler())
	mux.Handle("/readyz", m.ReadyHandler())
	srv := &http.Server{Handler: mux, ErrorLog: errLog, ReadHeaderTimeout: 10 * time.Second}
	logger.Info("metrics serving", "addr", "http://"+bound+"/metrics")
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Warn("metrics server stopped", "error", err)
		}
	}()
	return bound, func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	}, nil
}

// raftMetricsExpiry is how long a series hashicorp/raft stopped emitting
// stays on /metrics: leader-only series (commit time, per-peer
// replication) leave a deposed leader's scrape after it.
const raftMetricsExpiry = 2 * time.Minute

// exportRaftMetrics sends what hashicorp/raft and raft-boltdb emit through
// go-metrics (commit time, FSM apply, per-peer appendEntries and heartbeat
// RPC times, snapshots, store timings) to the node's registry, under their
// own names (raft_commitTime, raft_replication_appendEntries_rpc{peer_id},
// ...; timers as summaries in milliseconds). go-metrics has one global sink
// per process; a process runs one node. The compat packages follow the
// same build tag as raft, so the sink is always the one raft emits to.
func exportRaftMetrics(m *cluster.Metrics) error {
	sink, err := gmprometheus.NewPrometheusSinkFrom(gmprometheus.PrometheusOpts{
		Registerer: m.Registry(), Expiration: raftMetricsExpiry,
	})
	if err != nil {
		return fmt.Errorf("raft metrics: %w", err)
	}
	conf := gometrics.DefaultConfig("") // no service prefix: raft's own names
	conf.EnableHostname = false         // it would prefix gauge names
	conf.EnableRuntimeMetrics = false   // the registry's go_* collector has them
	if _, err := gometrics.NewGlobal(conf, sink); err != nil {
		return fmt.Errorf("raft metrics: %w", err)
	}
	return nil
}
