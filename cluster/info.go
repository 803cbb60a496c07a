package cluster

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	"github.com/raftlist/raftlist/fsm"
)

// redisVersion is the redis-server version whose behaviour raftlist follows;
// clients read it from INFO and HELLO to pick features.
const redisVersion = "7.0.15"

// Version is raftlist's own version.
const Version = "0.1.0"

type infoSection struct {
	name string
	dflt bool // part of plain INFO
	fill func(s *Server, b *strings.Builder)
}

var infoSections = []infoSection{
	{name: "server", dflt: true, fill: infoServer},
	{name: "clients", dflt: true, fill: infoClients},
	{name: "memory", dflt: true, fill: infoMemory},
	{name: "stats", dflt: true, fill: infoStats},
	{name: "replication", dflt: true, fill: infoReplication},
	{name: "raft", dflt: true, fill: infoRaft},
	{name: "keyspace", dflt: true, fill: infoKeyspace},
}

// INFO [section [section ...]]
func info(s *Server, r *request) fsm.Reply {
	want := map[string]bool{}
	for _, a := range r.args[1:] {
		want[strings.ToLower(string(a))] = true
	}
	all := len(want) == 0 || want["default"] || want["all"] || want["everything"]
	var b strings.Builder
	for _, sec := range infoSections {
		if !(all && sec.dflt) && !want[sec.name] {
			continue
		}
		if b.Len() > 0 {
			b.WriteString("\r\n")
		}
		fmt.Fprintf(&b, "# %s\r\n", strings.ToUpper(sec.name[:1])+sec.name[1:])
		sec.fill(s, &b)
	}
	return fsm.Bulk(b.String())
}

func field(b *strings.Builder, name string, v any) {
	fmt.Fprintf(b, "%s:%v\r\n", name, v)
}

func infoServer(s *Server, b *strings.Builder) {
	field(b, "redis_version", redisVersion)
	field(b, "raftlist_version", Version)
	field(b, "redis_mode", "standalone")
	field(b, "os", runtime.GOOS+" "+runtime.GOARCH)
	field(b, "arch_bits", 64)
	field(b, "process_id", os.Getpid())
	field(b, "tcp_port", portOf(s.cfg.ListenAddr))
	up := time.Since(s.started)
	field(b, "uptime_in_seconds", int64(up.Seconds()))
	field(b, "uptime_in_days", int64(up.Hours()/24))
	field(b, "executable", os.Args[0])
}

func infoClients(s *Server, b *strings.Builder) {
	field(b, "connected_clients", len(s.clientList()))
	field(b, "blocked_clients", s.blocked.count())
}

func infoMemory(_ *Server, b *strings.Builder) {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	field(b, "used_memory", m.HeapAlloc)
	field(b, "used_memory_human", humanBytes(m.HeapAlloc))
	field(b, "used_memory_rss", m.Sys)
	field(b, "maxmemory", 0)
}

func infoStats(s *Server, b *strings.Builder) {
	field(b, "total_connections_received", s.connections.Load())
	field(b, "total_commands_processed", s.commands.Load())
	field(b, "forwarded_commands", s.forwarded.Load())
	field(b, "rejected_connections", s.rejected.Load())
	field(b, "client_output_buffer_limit_disconnections", s.outputLimited.Load())
}

// infoReplication speaks in Redis's terms so tools that read "role" see the
// leader as the master.
func infoReplication(s *Server, b *strings.Builder) {
	st := s.node.Status()
	if st.Role == "leader" {
		field(b, "role", "master")
		return
	}
	field(b, "role", "slave")
	host, port := splitHostPort(st.LeaderAddr)
	field(b, "master_host", host)
	field(b, "master_port", port)
}

func infoRaft(s *Server, b *strings.Builder) {
	st := s.node.Status()
	field(b, "raft_node_id", st.ID)
	field(b, "raft_role", st.Role)
	field(b, "raft_leader_id", st.LeaderID)
	field(b, "raft_leader_addr", st.LeaderAddr)
	field(b, "raft_term", st.Term)
	field(b, "raft_commit_index", st.CommitIndex)
	field(b, "raft_applied_index", st.AppliedIndex)
	field(b, "raft_last_log_index", st.LastIndex)
	field(b, "raft_blocked_waiters", s.node.Machine().BlockedWaiters())
	if st.Halted != nil {
		field(b, "raft_halted", oneLine(st.Halted))
	}
	if ms, err := s.node.Members(); err == nil {
		field(b, "raft_members", len(ms))
	}
}

func infoKeyspace(s *Server, b *strings.Builder) {
	s.node.Machine().View(func(st *fsm.State) {
		for i := 0; i < fsm.NumDBs; i++ {
			if n := st.DB(i).Len(); n > 0 {
				fmt.Fprintf(b, "db%d:keys=%d,expires=0,avg_ttl=0\r\n", i, n)
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
	{"purge", 2, memoryPurge},
}

// MEMORY PURGE
func memoryCommand(s *Server, r *request) fsm.Reply {
	return runSubcommand("memory", memorySubcommands, s, r)
}

// memoryPurge is Go's counterpart of Redis's allocator purge: a full
// garbage collection that also returns freed memory to the OS, so the
// used_memory INFO reports next counts live data, not garbage awaiting
// collection.
func memoryPurge(_ *Server, _ *request) fsm.Reply {
	debug.FreeOSMemory()
	return fsm.OK
}
