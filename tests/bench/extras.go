package main

import (
	"fmt"
	"strings"
)

// extrasText renders BLPOP, failover, snapshot and memory for the console.
func (r *report) extrasText() string {
	var b strings.Builder
	if h := r.blpop; h != nil {
		fmt.Fprintf(&b, "\nBLPOP hand-off (%s)\n", h.command)
		for _, t := range h.targets {
			fmt.Fprintf(&b, "  %-9s n=%d p50=%s p90=%s p99=%s max=%s\n", t.name, t.n, t.p50, t.p90, t.p99, t.pmax)
		}
	}
	if len(r.failovers) > 0 {
		b.WriteString("\nfailover: leader SIGKILL -> first acknowledged write\n")
		for _, s := range r.failovers {
			fmt.Fprintf(&b, "  timeouts %-6s n=%d p50=%s p90=%s p99=%s max=%s; SIGSTOP n=%d p50=%s p99=%s; failed=%d; elections under load: %d (%s)\n",
				s.timeout, len(s.trials), fmtDur(s.quantile(0.5)), fmtDur(s.quantile(0.9)), fmtDur(s.quantile(0.99)),
				fmtDur(s.quantile(1)), len(s.stalls), fmtDur(quantileOf(s.stalls, 0.5)), fmtDur(quantileOf(s.stalls, 0.99)),
				len(s.failed), s.spurious, s.stabilityOp)
		}
	}
	if len(r.snapshots) > 0 || len(r.fsmSnapshots) > 0 {
		b.WriteString("\nsnapshot and restore\n")
	}
	if len(r.snapshots) > 0 {
		for _, s := range r.snapshots {
			fmt.Fprintf(&b, "  %d elements: raftlist %s, snapshot %s (leader) %s (follower), restart->serving %s, caught up %s | redis %s, SAVE %s, restart %s\n",
				s.elements, fmtBytes(s.rlBytes), fmtDur(s.rlLeader), fmtDur(s.rlFollower), fmtDur(s.rlServing), fmtDur(s.rlCaughtUp),
				fmtBytes(s.redisBytes), fmtDur(s.redisSave), fmtDur(s.redisRestart))
		}
	}
	for _, s := range r.fsmSnapshots {
		fmt.Fprintf(&b, "  state machine only, %d elements: %s, clone %.0f ms, write %.0f ms, restore %.0f ms\n",
			s.elements, fmtBytes(s.bytes), s.cloneMs, s.writeMs, s.readMs)
	}
	if len(r.memory) > 0 {
		b.WriteString("\nmemory per element (after MEMORY PURGE)\n")
		for _, m := range r.memory {
			fmt.Fprintf(&b, "  %-30s used_memory %6.1f B  RSS %6.1f B  (%d elements)\n", m.name, m.perElemUsed, m.perElemRS, m.elements)
		}
	}
	return b.String()
}

func (r *report) extrasMarkdown() string {
	var b strings.Builder
	if r.expiry != nil {
		b.WriteString("### Keys with TTLs: active expiry\n\n" + r.expiry.markdown() + "\n")
	}
	if h := r.blpop; h != nil {
		fmt.Fprintf(&b, "### BLPOP hand-off latency\n\nFrom sending LPUSH to the blocked client's BLPOP reply; "+
			"the waiter is confirmed blocked before each push; targets take turns. Measured by "+
			"`BenchmarkBlockingHandoff` (tests/blocking_bench_test.go): `%s`.\n\n", h.command)
		b.WriteString("| waiter on | n | p50 | p90 | p99 | max |\n|---|--:|--:|--:|--:|--:|\n")
		for _, t := range h.targets {
			fmt.Fprintf(&b, "| %s | %d | %s | %s | %s | %s |\n", t.name, t.n, t.p50, t.p90, t.p99, t.pmax)
		}
		b.WriteString("\n")
	}
	if len(r.failovers) > 0 {
		fmt.Fprintf(&b, "### Failover\n\nLeader SIGKILLed while %d clients write (LPUSH, one at a time) through all three nodes; "+
			"time until a write (LPUSH, sent in a loop to both survivors, 250 ms per attempt) is acknowledged. "+
			"Then the same with the leader frozen (SIGSTOP, resumed after): its port still accepts connections, "+
			"as with a dead host or a partition, so followers wait out the heartbeat timeout. "+
			"\"default\" runs without timeout flags (the compared build's defaults too, with --compare-binary). "+
			"Each setting's cluster first ran heavy load with no failure, to count the elections (term changes) "+
			"short timeouts cause on this machine.\n\n", failoverLoadClients)
		b.WriteString("| heartbeat = election timeout | SIGKILL trials | p50 | p90 | p99 | max | SIGSTOP trials | p50 | p99 | failed | elections under load, no failure |\n|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|\n")
		for _, s := range r.failovers {
			fmt.Fprintf(&b, "| %s | %d | %s | %s | %s | %s | %d | %s | %s | %d | %d (%s) |\n", s.timeout, len(s.trials),
				fmtDur(s.quantile(0.5)), fmtDur(s.quantile(0.9)), fmtDur(s.quantile(0.99)), fmtDur(s.quantile(1)),
				len(s.stalls), fmtDur(quantileOf(s.stalls, 0.5)), fmtDur(quantileOf(s.stalls, 0.99)),
				len(s.failed), s.spurious, s.stabilityOp)
		}
		b.WriteString("\n")
	}
	if len(r.snapshots) > 0 || len(r.fsmSnapshots) > 0 {
		b.WriteString("### Snapshot and restore\n\n")
	}
	if len(r.snapshots) > 0 {
		b.WriteString("One list of n distinct 16-byte elements. raftlist: `RAFT SNAPSHOT` round trip on the leader " +
			"and on a follower (clone of the state, written and fsynced by raft's file snapshot store, log compacted), then the " +
			"follower stopped and restarted: time until it answers (snapshot restored) and until it has applied the snapshot's " +
			"index. Redis: `SAVE` round trip, then redis-server restarted from dump.rdb until PING answers.\n\n")
		b.WriteString("| elements | raftlist size | snapshot (leader) | snapshot (follower) | restart → serving | → caught up | redis RDB size | SAVE | restart → serving | load raftlist | load redis |\n|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n")
		for _, s := range r.snapshots {
			fmt.Fprintf(&b, "| %d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", s.elements, fmtBytes(s.rlBytes),
				fmtDur(s.rlLeader), fmtDur(s.rlFollower), fmtDur(s.rlServing), fmtDur(s.rlCaughtUp), fmtBytes(s.redisBytes),
				fmtDur(s.redisSave), fmtDur(s.redisRestart), fmtDur(s.rlLoad), fmtDur(s.redisLoad))
		}
		b.WriteString("\n")
	}
	if len(r.fsmSnapshots) > 0 {
		fmt.Fprintf(&b, "The state machine's own share (no Raft, disk or network): `%s` (tests fsm/snapshot_bench_test.go) — "+
			"clone under the lock (Apply waits for it), write the stream (in the background), read it back (Restore).\n\n", r.fsmSnapshotCmd)
		b.WriteString("| elements | snapshot size | clone | write | restore |\n|--:|--:|--:|--:|--:|\n")
		for _, s := range r.fsmSnapshots {
			fmt.Fprintf(&b, "| %d | %s | %.0f ms | %.0f ms | %.0f ms |\n", s.elements, fmtBytes(s.bytes), s.cloneMs, s.writeMs, s.readMs)
		}
		b.WriteString("\n")
	}
	if len(r.memory) > 0 {
		b.WriteString("### Memory per element\n\n`MEMORY PURGE` (raftlist: a full Go GC returning memory to the OS; Redis: jemalloc purge), " +
			"then INFO memory `used_memory` and the process's VmRSS, before and after loading one list of distinct 16-byte " +
			"elements; the difference over the number of elements. Before the second reading, 1100 small writes push the load's " +
			"large entries out of raft's in-memory log cache (its last 1024 entries), which would otherwise count as elements.\n\n")
		b.WriteString("| process | elements | used_memory / element | RSS / element |\n|---|--:|--:|--:|\n")
		for _, m := range r.memory {
			fmt.Fprintf(&b, "| %s | %d | %.1f B | %.1f B |\n", m.name, m.elements, m.perElemUsed, m.perElemRS)
		}
		b.WriteString("\n")
	}
	if len(r.profiles) > 0 {
		b.WriteString("CPU profiles of the nodes during " + r.plan.profileAt + " (workload/clients/pipeline/target): ")
		for i, f := range r.profiles {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("`" + f + "`")
		}
		b.WriteString(".\n\n")
	}
	return b.String()
}

func fmtBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// compareRows renders, when a compared cluster ran (--compare-binary or
// --compare-args), this cluster against that one, cell by cell: ops/s,
// then p50/p99.
func (r *report) compareRows(md bool) string {
	var b strings.Builder
	for _, g := range r.groups() {
		if g.by[tBaseLeader] == nil && g.by[tBaseFollower] == nil {
			continue
		}
		if b.Len() == 0 {
			if md {
				b.WriteString("| workload | clients | pipeline | leader before → after | × | follower before → after | × | leader p50/p99 before → after | CPU µs/command (all nodes) leader before → after | follower before → after |\n|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n")
			} else {
				b.WriteString("\nthis build vs the compared cluster (ops/s before -> after)\n")
			}
		}
		pair := func(base, cur string) (string, string) {
			x, y := g.by[base], g.by[cur]
			if x == nil || y == nil {
				return "", ""
			}
			return ops(x) + " → " + ops(y), g.ratio(cur, base)
		}
		l, lx := pair(tBaseLeader, tRLLeader)
		f, fx := pair(tBaseFollower, tRLFollower)
		lat := ""
		if x, y := g.by[tBaseLeader], g.by[tRLLeader]; x != nil && y != nil {
			lat = fmtDur(x.hist.quantile(0.5)) + "/" + fmtDur(x.hist.quantile(0.99)) + " → " +
				fmtDur(y.hist.quantile(0.5)) + "/" + fmtDur(y.hist.quantile(0.99))
		}
		cpu := func(base, cur string) string {
			if x, y := cpuUS(g.by[base]), cpuUS(g.by[cur]); x != "" && y != "" {
				return x + " → " + y
			}
			return ""
		}
		lc, fc := cpu(tBaseLeader, tRLLeader), cpu(tBaseFollower, tRLFollower)
		if md {
			fmt.Fprintf(&b, "| %s | %d | %d | %s | %s | %s | %s | %s | %s | %s |\n", g.workload, g.clients, g.pipeline, l, lx, f, fx, lat, lc, fc)
		} else {
			fmt.Fprintf(&b, "  %-22s c=%-3d P=%-2d leader %-22s %-7s follower %-22s %-7s %s cpu µs/cmd leader %s follower %s\n", g.workload, g.clients, g.pipeline, l, lx, f, fx, lat, lc, fc)
		}
	}
	return b.String()
}
