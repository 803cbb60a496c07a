package cluster

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/raftlist/raftlist/fsm"
	"github.com/raftlist/raftlist/fsm/resp"
	"github.com/raftlist/raftlist/raftnode"
)

// redisVersion is the redis-server version whose behaviour raftlist follows;
// clients read it from INFO and HELLO to pick features. It is exactly the
// version raftlist is measured against (every reply and error text is
// compared with redis-server 7.0.15), so a client that branches on it
// (go-redis, redis-py, Lettuce, BullMQ's version checks) takes the 7.0
// paths raftlist speaks: LMPOP/BLMPOP, EVAL_RO, LPOS, COMMAND's key specs.
// Not 7.2: clients would then send 7.2-only forms (CLIENT SETINFO on
// connect, LPOS/BLMPOP changes) and read 7.2 INFO fields raftlist does
// not print. Not raftlist's own version either: clients would take it for
// an ancient Redis and refuse or downgrade; that one is raftlist_version.
const redisVersion = "7.0.15"

// Version is raftlist's own version; cmd/raftlist sets it from the build.
var Version = "0.1.0"

type infoSection struct {
	name string
	dflt bool // part of plain INFO and INFO default
	fill func(s *Server, b *strings.Builder)
}

// infoSections are in redis-server 7.0's order, with raft after
// replication. Redis sections raftlist has nothing true to say in
// (persistence, modules, latencystats) are left out rather than filled
// with made-up values.
var infoSections = []infoSection{
	{name: "server", dflt: true, fill: infoServer},
	{name: "clients", dflt: true, fill: infoClients},
	{name: "memory", dflt: true, fill: infoMemory},
	{name: "stats", dflt: true, fill: infoStats},
	{name: "replication", dflt: true, fill: infoReplication},
	{name: "raft", dflt: true, fill: infoRaft},
	{name: "cpu", dflt: true, fill: infoCPU},
	{name: "commandstats", fill: infoCommandStats},
	{name: "errorstats", dflt: true, fill: infoErrorStats},
	{name: "cluster", dflt: true, fill: infoCluster},
	{name: "keyspace", dflt: true, fill: infoKeyspace},
}

// INFO [section [section ...]]
func info(s *Server, r *request) resp.Reply {
	want := map[string]bool{}
	for _, a := range r.args[1:] {
		want[strings.ToLower(string(a))] = true
	}
	dflt := len(want) == 0 || want["default"]
	all := want["all"] || want["everything"]
	var b strings.Builder
	for _, sec := range infoSections {
		if !all && !(dflt && sec.dflt) && !want[sec.name] {
			continue
		}
		if b.Len() > 0 {
			b.WriteString("\r\n")
		}
		title := strings.ToUpper(sec.name[:1]) + sec.name[1:]
		if sec.name == "cpu" {
			title = "CPU"
		}
		fmt.Fprintf(&b, "# %s\r\n", title)
		sec.fill(s, &b)
	}
	return resp.Text(b.String())
}

func field(b *strings.Builder, name string, v any) {
	fmt.Fprintf(b, "%s:%v\r\n", name, v)
}

func infoServer(s *Server, b *strings.Builder) {
	field(b, "redis_version", redisVersion)
	field(b, "raftlist_version", Version)
	field(b, "redis_mode", "standalone")
	field(b, "os", osName())
	field(b, "arch_bits", strconv.IntSize)
	field(b, "go_version", runtime.Version())
	field(b, "process_id", os.Getpid())
	field(b, "run_id", s.runID)
	tcpPort := portOf(s.cfg.ListenAddr)
	if s.cfg.ListenAddr == "" {
		tcpPort = "0" // TLS only: Redis's port 0 with a tls-port
	}
	field(b, "tcp_port", tcpPort)
	field(b, "server_time_usec", time.Now().UnixMicro())
	up := time.Since(s.started)
	field(b, "uptime_in_seconds", int64(up.Seconds()))
	field(b, "uptime_in_days", int64(up.Hours()/24))
	exe, err := os.Executable()
	if err != nil {
		exe = os.Args[0]
	}
	field(b, "executable", exe)
	if addr := s.cfg.Metrics.Addr(); addr != "" {
		field(b, "metrics_addr", addr) // raftlist's own: --metrics, port 0 resolved
	}
}

func infoClients(s *Server, b *strings.Builder) {
	field(b, "connected_clients", s.clientCount())
	if limit := s.live.maxClients.Load(); limit > 0 {
		// Redis has no "no limit" value to print: left out when unset.
		field(b, "maxclients", limit)
	}
	field(b, "blocked_clients", s.blocked.count())
	field(b, "tracking_clients", 0) // CLIENT TRACKING is not supported
}

// infoMemory reports the Go heap as used_memory: the live objects and those
// not yet swept, the nearest Go has to the bytes Redis's allocator holds.
// There is no mem_fragmentation_ratio: RSS over heap measures the Go
// runtime's overhead, not fragmentation, and would trip Redis alerts. Nor
// used_memory_peak, used_memory_lua or used_memory_scripts: the Go
// runtime keeps no peak, and the Lua VMs' and the script cache's bytes are
// not measured apart from the heap.
func infoMemory(s *Server, b *strings.Builder) {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	used := m.HeapAlloc
	field(b, "used_memory", used)
	field(b, "used_memory_human", humanBytes(used))
	if rss, ok := residentBytes(); ok {
		field(b, "used_memory_rss", rss)
		field(b, "used_memory_rss_human", humanBytes(rss))
	}
	if total, ok := systemMemory(); ok {
		field(b, "total_system_memory", total)
		field(b, "total_system_memory_human", humanBytes(total))
	}
	// The script cache is replicated state: every node counts the same.
	// raftlist has no functions (FUNCTION is unknown), so none are loaded.
	s.node.Machine().View(func(st *fsm.State) {
		field(b, "number_of_cached_scripts", st.ScriptCount())
	})
	field(b, "number_of_functions", 0)
	field(b, "number_of_libraries", 0)
	// raftlist has no memory limit and never evicts.
	field(b, "maxmemory", 0)
	field(b, "maxmemory_human", "0B")
	field(b, "maxmemory_policy", "noeviction")
	field(b, "mem_allocator", runtime.Version())
}

// residentBytes is the process's resident set size, from /proc.
func residentBytes() (uint64, bool) {
	data, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0, false
	}
	f := strings.Fields(string(data))
	if len(f) < 2 {
		return 0, false
	}
	pages, err := strconv.ParseUint(f[1], 10, 64)
	if err != nil {
		return 0, false
	}
	return pages * uint64(os.Getpagesize()), true
}

func infoStats(s *Server, b *strings.Builder) {
	st := s.stats
	field(b, "total_connections_received", s.connections.Load())
	field(b, "total_commands_processed", st.commandsProcessed())
	field(b, "instantaneous_ops_per_sec", st.ops.perSecond())
	field(b, "rejected_connections", st.rejectedConns.Load())
	field(b, "client_output_buffer_limit_disconnections", s.outputLimited.Load())
	// Keys this node's active expiry deleted while it led (a key deleted
	// because a command found it expired is not counted); nothing is
	// evicted, and there is no pub/sub.
	expired, _ := s.node.ExpireStats()
	field(b, "expired_keys", expired)
	field(b, "evicted_keys", 0)
	field(b, "pubsub_channels", 0)
	field(b, "pubsub_patterns", 0)
	field(b, "total_error_replies", st.errReplies.Load())
	var fwd uint64
	for i := range st.forwarded {
		fwd += st.forwarded[i].Load()
	}
	field(b, "forwarded_commands", fwd)
	field(b, "forwarded_commands_failed", fwd-st.forwarded[outcomeOK].Load()-st.forwarded[outcomeError].Load())
	field(b, "follower_reads", st.followerReads.Load())
}

// infoReplication speaks in Redis 7.0's terms so tools that read "role"
// see the leader as the master and the other members as its replicas, and
// redis_exporter's replication panels work unchanged. The leader lists the
// followers it is in contact with (raftnode.ContactBound), as Redis lists
// its connected replicas; offsets are Raft log indexes: a slave line's
// offset is the last log index that follower reported, master_repl_offset
// the leader's last log index (on a follower its own: what it has
// received, as a Redis replica's is what it has read from its master).
//
// Left out because raftlist cannot say them truthfully: master_replid and
// second_repl_offset (a Raft log has no replication id a PSYNC could
// resume), the repl_backlog_* fields (the log's compaction is not a
// backlog of a size), master_sync_in_progress (a follower installing a
// snapshot is not visible from here), slave_read_only (a follower neither
// refuses writes nor applies them alone: it forwards them), slave_priority
// and master_failover_state (leadership is elected, not configured).
func infoReplication(s *Server, b *strings.Builder) {
	st := s.node.Status()
	if st.Role == "leader" {
		field(b, "role", "master")
		var slaves []string
		if peers, err := s.node.Peers(); err == nil {
			for _, p := range peers {
				if p.Link != raftnode.LinkOnline {
					continue
				}
				host, port := splitHostPort(p.RespAddr)
				slaves = append(slaves, fmt.Sprintf("ip=%s,port=%s,state=online,offset=%d,lag=%d",
					host, port, p.MatchIndex, int64(time.Since(p.LastContact).Seconds())))
			}
		}
		field(b, "connected_slaves", len(slaves))
		for i, line := range slaves {
			field(b, "slave"+strconv.Itoa(i), line)
		}
		field(b, "master_repl_offset", st.LastIndex)
		return
	}
	field(b, "role", "slave")
	host, port := splitHostPort(st.LeaderAddr)
	field(b, "master_host", host)
	field(b, "master_port", port)
	link, lastIO := "down", int64(-1)
	last := s.node.LastContact()
	if !last.IsZero() {
		lastIO = int64(time.Since(last).Seconds())
	}
	if st.LeaderID != "" && !last.IsZero() && time.Since(last) <= s.node.ContactBound() {
		link = "up"
	}
	field(b, "master_link_status", link)
	field(b, "master_last_io_seconds_ago", lastIO)
	field(b, "slave_read_repl_offset", st.LastIndex)
	field(b, "slave_repl_offset", st.AppliedIndex)
	if link == "down" {
		field(b, "master_link_down_since_seconds", lastIO)
	}
	field(b, "connected_slaves", 0)
	field(b, "master_repl_offset", st.LastIndex)
}

func infoRaft(s *Server, b *strings.Builder) {
	st := s.node.Status()
	field(b, "raft_node_id", st.ID)
	field(b, "raft_cluster_id", st.ClusterID)
	field(b, "raft_role", st.Role)
	field(b, "raft_leader_id", st.LeaderID)
	field(b, "raft_leader_addr", st.LeaderAddr)
	field(b, "raft_term", st.Term)
	field(b, "raft_commit_index", st.CommitIndex)
	field(b, "raft_applied_index", st.AppliedIndex)
	field(b, "raft_last_log_index", st.LastIndex)
	lag := uint64(0)
	if st.CommitIndex > st.AppliedIndex {
		lag = st.CommitIndex - st.AppliedIndex
	}
	field(b, "raft_apply_lag", lag)
	field(b, "raft_blocked_waiters", s.node.Machine().BlockedWaiters())
	if st.Halted != nil {
		field(b, "raft_halted", oneLine(st.Halted))
	}
	if ms, err := s.node.Members(); err == nil {
		field(b, "raft_members", len(ms))
	}
	field(b, "raft_log_store", s.node.LogStoreName())
}

func infoCPU(_ *Server, b *strings.Builder) {
	if sys, user, ok := cpuTimes(); ok {
		field(b, "used_cpu_sys", fmt.Sprintf("%.6f", sys.Seconds()))
		field(b, "used_cpu_user", fmt.Sprintf("%.6f", user.Seconds()))
	}
}

// infoCommandStats follows Redis 7.0: calls are the commands that ran
// (failed ones included), rejected_calls those refused before running,
// failed_calls those that ran and answered an error. Commands queued in
// MULTI are not counted until they run, and the ones inside an EXEC are
// counted as the EXEC.
func infoCommandStats(s *Server, b *strings.Builder) {
	for _, c := range s.stats.sorted {
		calls, failed := c.calls()
		rejected := c.outcomes[outcomeRejected].Load()
		if calls == 0 && rejected == 0 {
			continue
		}
		usec := c.nanos.Load() / 1000
		perCall := 0.0
		if calls > 0 {
			perCall = float64(usec) / float64(calls)
		}
		fmt.Fprintf(b, "cmdstat_%s:calls=%d,usec=%d,usec_per_call=%.2f,rejected_calls=%d,failed_calls=%d\r\n",
			c.name, calls, usec, perCall, rejected, failed)
	}
}

func infoErrorStats(s *Server, b *strings.Builder) {
	codes, counts := s.stats.errorCounts()
	for i, code := range codes {
		fmt.Fprintf(b, "errorstat_%s:count=%d\r\n", code, counts[i])
	}
}

// infoCluster: raftlist is not a Redis Cluster (no CLUSTER command, one
// hash space), whatever replicates it.
func infoCluster(_ *Server, b *strings.Builder) {
	field(b, "cluster_enabled", 0)
}

func infoKeyspace(s *Server, b *strings.Builder) {
	s.node.Machine().View(func(st *fsm.State) {
		for i := 0; i < fsm.NumDBs; i++ {
			// avg_ttl stays 0: Redis's is an estimate its active expiry
			// cycle samples, which no client can rely on.
			if d := st.DB(i); d.Len() > 0 {
				fmt.Fprintf(b, "db%d:keys=%d,expires=%d,avg_ttl=0\r\n", i, d.Len(), d.Expires())
			}
		}
	})
}

func humanBytes(n uint64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2fG", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.2fM", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.2fK", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%dB", n)
}

func splitHostPort(addr string) (string, string) {
	i := strings.LastIndexByte(addr, ':')
	if i < 0 {
		return addr, ""
	}
	return addr[:i], addr[i+1:]
}

func portOf(addr string) string {
	_, p := splitHostPort(addr)
	return p
}

var memorySubcommands = []subcommand{
	{"purge", 2, memoryPurge, 0},
}

// MEMORY PURGE
func memoryCommand(s *Server, r *request) resp.Reply {
	return runSubcommand("memory", memorySubcommands, s, r)
}

// memoryPurge is Go's counterpart of Redis's allocator purge: a full
// garbage collection that also returns freed memory to the OS, so the
// used_memory INFO reports next counts live data, not garbage awaiting
// collection.
func memoryPurge(_ *Server, _ *request) resp.Reply {
	debug.FreeOSMemory()
	return resp.OK
}
