package cluster

import (
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/raftlist/raftlist/raftnode"
)

// Metrics is one node's Prometheus registry: its own, not the process-wide
// default, so several nodes can live in one test process. Command counters
// are read from the same counters INFO reads (stats.go) when scraped;
// gauges (Raft state, clients) are read from the node at scrape time, so a
// scrape always reflects the node as it is.
type Metrics struct {
	reg        *prometheus.Registry
	snapshots  *prometheus.HistogramVec
	snapshotBy map[string]prometheus.Observer
	srv        atomic.Pointer[Server]
	addr       metricsAddr // where it is served (health.go)
}

// Snapshot phases, as raftnode reports them: capturing the state (Apply
// waits meanwhile), writing it to the snapshot store, restoring one.
var snapshotPhases = []string{raftnode.SnapshotCapture, raftnode.SnapshotPersist, raftnode.SnapshotRestore}

// NewMetrics returns an empty registry with the Go runtime and process
// collectors. Create it before the node, so that the node's first snapshot
// restore is timed too (ObserveSnapshot), and hand it to New in Config.
func NewMetrics() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry(), snapshotBy: make(map[string]prometheus.Observer)}
	m.snapshots = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "raftlist_snapshot_duration_seconds",
		Help:    "Time to capture, persist or restore a snapshot of the state machine.",
		Buckets: prometheus.ExponentialBuckets(0.001, 4, 9), // 1 ms .. 65 s
	}, []string{"phase"})
	for _, p := range snapshotPhases {
		m.snapshotBy[p] = m.snapshots.WithLabelValues(p)
	}
	m.reg.MustRegister(m.snapshots, (*nodeCollector)(m),
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// ObserveSnapshot records how long a snapshot phase took; it is the
// raftnode.Config.SnapshotObserver hook.
func (m *Metrics) ObserveSnapshot(phase string, took time.Duration) {
	if o := m.snapshotBy[phase]; o != nil {
		o.Observe(took.Seconds())
	}
}

// Handler serves the registry in Prometheus's text (or negotiated) format.
func (m *Metrics) Handler(errorLog promhttp.Logger) http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorLog: errorLog, Registry: m.reg})
}

// Registry is the node's registry, for tests and for adding collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// nodeCollector turns the server's counters and the node's state into
// metrics at scrape time.
type nodeCollector Metrics

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(name, help, labels, nil)
}

var (
	descCommands = desc("raftlist_commands_total",
		"Commands answered by this node, by command name (unknown names as \"unknown\") and outcome.", "command", "outcome")
	descDuration = desc("raftlist_command_duration_seconds",
		"Time from a command's arrival to its reply being queued, by command.", "command")
	descErrors = desc("raftlist_error_replies_total",
		"Error replies by error code (first word), as INFO errorstats; at most 128 codes.", "code")
	descForwarded = desc("raftlist_forwarded_commands_total",
		"Commands this node forwarded to the leader, by outcome.", "outcome")
	descFollowerReads = desc("raftlist_follower_reads_total",
		"Reads this follower served from its own state after the leader's read index.")
	descForwardConns = desc("raftlist_forward_connections",
		"Open connections to the leader for forwarding: shared pipelined ones and dedicated ones (blocking commands, transactions).", "kind")
	descClients       = desc("raftlist_connected_clients", "Client connections open on this node.")
	descConnsTotal    = desc("raftlist_connections_received_total", "Client connections accepted since start.")
	descConnsRejected = desc("raftlist_rejected_connections_total", "Client connections refused at accept.")
	descBlocked       = desc("raftlist_blocked_clients", "Clients of this node waiting in a blocking command.")
	descWaiters       = desc("raftlist_raft_blocked_waiters", "Waiters in the replicated state, cluster-wide, as this node has applied it.")
	descState         = desc("raftlist_raft_state", "1 for this node's Raft role, 0 for the others.", "state")
	descTerm          = desc("raftlist_raft_term", "Current Raft term.")
	descCommit        = desc("raftlist_raft_commit_index", "Highest log index this node knows to be committed.")
	descApplied       = desc("raftlist_raft_applied_index", "Highest log index this node's state machine has applied.")
	descLastIndex     = desc("raftlist_raft_last_log_index", "Highest log index in this node's log.")
	descLag           = desc("raftlist_raft_apply_lag_entries", "Commit index minus applied index, as this node knows them.")
	descContact       = desc("raftlist_raft_last_contact_seconds", "Seconds since this follower last heard from the leader; 0 on the leader.")
	descMembers       = desc("raftlist_raft_members", "Servers in the latest Raft configuration.")
	descHalted        = desc("raftlist_raft_halted", "1 if the state machine stopped applying (an undecodable entry), else 0.")
	descInfo          = desc("raftlist_node_info", "Always 1; labels name the node and its version.", "node_id", "version", "redis_version")
	descLeaderChanges = desc("raftlist_raft_leader_changes_total", "Terms in which this node saw a leader elected (itself included), since it started.")
	descLogBytes      = desc("raftlist_raft_log_bytes", "Bytes the Raft log store (bolt file or WAL segments) takes in the data dir.")
	descSnapshotBytes = desc("raftlist_raft_snapshot_bytes", "Bytes the kept snapshots take in the data dir.")
	descPeerContact   = desc("raftlist_raft_peer_last_contact_seconds",
		"On the leader: seconds since each follower last answered an AppendEntries (heartbeats included).", "peer")
	descPeerMatch = desc("raftlist_raft_peer_match_index",
		"On the leader: the last log index each follower reported.", "peer")

	allDescs = []*prometheus.Desc{descCommands, descDuration, descErrors, descForwarded, descForwardConns,
		descClients, descConnsTotal, descConnsRejected, descBlocked, descWaiters, descState, descTerm,
		descCommit, descApplied, descLastIndex, descLag, descContact, descMembers, descHalted, descInfo,
		descLeaderChanges, descLogBytes, descSnapshotBytes, descPeerContact, descPeerMatch}
)

func (c *nodeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range allDescs {
		ch <- d
	}
}

func (c *nodeCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.srv.Load()
	if s == nil {
		return // the node is still starting
	}
	collectCommands(s.stats, ch)
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	for _, o := range []outcome{outcomeOK, outcomeError, outcomeTryAgain, outcomeUncertain} {
		counter(descForwarded, s.stats.forwarded[o].Load(), outcomeNames[o])
	}
	counter(descFollowerReads, s.stats.followerReads.Load())
	shared, dedicated := s.fwd.connCounts()
	gauge(descForwardConns, float64(shared), "shared")
	gauge(descForwardConns, float64(dedicated), "dedicated")
	gauge(descClients, float64(s.clientCount()))
	counter(descConnsTotal, uint64(s.connections.Load()))
	counter(descConnsRejected, s.stats.rejectedConns.Load())
	gauge(descBlocked, float64(s.blocked.count()))
	gauge(descWaiters, float64(s.node.Machine().BlockedWaiters()))

	st := s.node.Status()
	for _, role := range []string{"leader", "follower", "candidate", "shutdown"} {
		v := 0.0
		if st.Role == role {
			v = 1
		}
		gauge(descState, v, role)
	}
	gauge(descTerm, float64(st.Term))
	gauge(descCommit, float64(st.CommitIndex))
	gauge(descApplied, float64(st.AppliedIndex))
	gauge(descLastIndex, float64(st.LastIndex))
	lag := 0.0
	if st.CommitIndex > st.AppliedIndex {
		lag = float64(st.CommitIndex - st.AppliedIndex)
	}
	gauge(descLag, lag)
	gauge(descContact, s.lastContactSeconds(st.Role))
	if ms, err := s.node.Members(); err == nil {
		gauge(descMembers, float64(len(ms)))
	}
	halted := 0.0
	if st.Halted != nil {
		halted = 1
	}
	gauge(descHalted, halted)
	gauge(descInfo, 1, st.ID, Version, redisVersion)
	counter(descLeaderChanges, s.node.LeaderChanges())
	logBytes, snapBytes := s.node.DiskUsage()
	gauge(descLogBytes, float64(logBytes))
	gauge(descSnapshotBytes, float64(snapBytes))
	for _, p := range peerLinks(s.node) {
		if !p.LastContact.IsZero() {
			gauge(descPeerContact, time.Since(p.LastContact).Seconds(), p.ID)
			gauge(descPeerMatch, float64(p.MatchIndex), p.ID)
		}
	}
}

// collectCommands emits the command counters and latency histograms of the
// commands seen at least once: a node answers a few dozen of its ~200
// commands, and a series per unused command would only cost the scraper.
func collectCommands(st *stats, ch chan<- prometheus.Metric) {
	emit := func(c *cmdStats) {
		total := c.total()
		if total == 0 {
			return
		}
		for o := range c.outcomes {
			if n := c.outcomes[o].Load(); n > 0 {
				ch <- prometheus.MustNewConstMetric(descCommands, prometheus.CounterValue, float64(n), c.name, outcomeNames[o])
			}
		}
		buckets := make(map[float64]uint64, len(durationBuckets))
		var cum uint64
		for i, le := range durationBuckets {
			cum += c.buckets[i].Load()
			buckets[le] = cum
		}
		// The count includes the +Inf bucket; reading the buckets and the
		// count apart could disagree under load, so the count is derived.
		cum += c.buckets[len(durationBuckets)].Load()
		if cum == 0 {
			return // refused or queued only: nothing ran to time
		}
		ch <- prometheus.MustNewConstHistogram(descDuration, cum, time.Duration(c.nanos.Load()).Seconds(), buckets, c.name)
	}
	for _, c := range st.sorted {
		emit(c)
	}
	emit(st.unknown)
	codes, counts := st.errorCounts()
	for i, code := range codes {
		ch <- prometheus.MustNewConstMetric(descErrors, prometheus.CounterValue, float64(counts[i]), code)
	}
}

// lastContactSeconds is how long ago a follower heard from the leader; a
// leader is its own contact.
func (s *Server) lastContactSeconds(role string) float64 {
	if role == "leader" {
		return 0
	}
	last := s.node.LastContact()
	if last.IsZero() {
		return time.Since(s.started).Seconds()
	}
	return time.Since(last).Seconds()
}

func (s *Server) clientCount() int {
	s.clientsMu.Lock()
	defer s.clientsMu.Unlock()
	return len(s.clients)
}

// connCounts reports the open connections to the leader: shared
// (pipelined runs) and dedicated (pooled idle plus in use).
func (f *forwarder) connCounts() (shared, dedicated int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, ms := range f.muxes {
		shared += len(ms)
	}
	for _, pool := range f.idle {
		dedicated += len(pool)
	}
	return shared, dedicated + int(f.active.Load())
}
