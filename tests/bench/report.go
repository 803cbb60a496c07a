package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// report collects everything a run measured.
type report struct {
	cmdline string
	facts   facts
	plan    *plan
	took    time.Duration

	rows      []row
	notes     []string
	elections uint64 // raft term growth during the throughput phase

	blpop     *handoff
	failovers []failoverSeries
	snapshots []snapshotResult
	// fsmSnapshots are fsm's BenchmarkSnapshot, run as fsmSnapshotCmd.
	fsmSnapshots   []fsmSnapshot
	fsmSnapshotCmd string
	memory         []memoryResult
	expiry         *expiryResult
	profiles       []string // CPU profile files written
}

type facts struct {
	date, cpu, goVersion, redisVersion, kernel string
	nproc                                      int
	loadBefore, loadAfter                      string
}

func machineFacts() facts {
	f := facts{date: time.Now().UTC().Format("2006-01-02 15:04 MST"), nproc: runtime.NumCPU()}
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				f.cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	if out, err := exec.Command("go", "version").Output(); err == nil {
		f.goVersion = strings.TrimSpace(string(out))
	}
	if out, err := exec.Command("redis-server", "--version").Output(); err == nil {
		f.redisVersion = strings.TrimSpace(string(out))
	}
	if out, err := exec.Command("uname", "-sr").Output(); err == nil {
		f.kernel = strings.TrimSpace(string(out))
	}
	return f
}

// loadAvg is /proc/loadavg's three load averages.
func loadAvg() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func (r *report) add(rw row) {
	r.rows = append(r.rows, rw)
	res := rw.res
	extra := ""
	if res.errors > 0 {
		extra += fmt.Sprintf(" errors=%d (%s)", res.errors, res.firstErr)
	}
	if res.nils > 0 {
		extra += fmt.Sprintf(" nil=%d", res.nils)
	}
	if res.waitShort > 0 {
		extra += fmt.Sprintf(" WAIT<2=%d", res.waitShort)
	}
	if res.entries > 0 {
		extra += fmt.Sprintf(" entries %.0f/s (%.1f ops/entry)", float64(res.entries)/res.elapsed.Seconds(), float64(res.ops)/float64(res.entries))
	}
	logf("%-22s c=%-3d P=%-2d %-17s %9.0f ops/s  p50 %-8s p99 %-8s p999 %-8s cpu %4.0f%% (%5.1fµs/op) gen %3.0f%%%s",
		rw.workload, rw.clients, rw.pipeline, rw.target, res.throughput(), fmtDur(res.hist.quantile(0.5)),
		fmtDur(res.hist.quantile(0.99)), fmtDur(res.hist.quantile(0.999)), 100*res.cpu.Seconds()/res.elapsed.Seconds(),
		float64(res.cpuPerOp().Nanoseconds())/1e3, 100*res.gen.Seconds()/res.elapsed.Seconds(), extra)
}

// group is the rows of one (workload, clients, pipeline), by target.
type group struct {
	workload          string
	clients, pipeline int
	by                map[string]*result
}

func (r *report) groups() []*group {
	var out []*group
	idx := map[string]*group{}
	for _, rw := range r.rows {
		g := idx[rw.key()]
		if g == nil {
			g = &group{workload: rw.workload, clients: rw.clients, pipeline: rw.pipeline, by: map[string]*result{}}
			idx[rw.key()] = g
			out = append(out, g)
		}
		g.by[rw.target] = rw.res
	}
	// Matrix order: workload, then pipeline, then clients.
	order := map[string]int{}
	for i, w := range matrixWorkloads {
		order[w.name] = i
	}
	order[wlEval], order[wlMulti], order[wlLock] = len(matrixWorkloads), len(matrixWorkloads)+1, len(matrixWorkloads)+2
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if order[a.workload] != order[b.workload] {
			return order[a.workload] < order[b.workload]
		}
		if a.pipeline != b.pipeline {
			return a.pipeline < b.pipeline
		}
		return a.clients < b.clients
	})
	return out
}

// ratio is a's throughput over b's, or "" when either is missing.
func (g *group) ratio(a, b string) string {
	x, y := g.by[a], g.by[b]
	if x == nil || y == nil || y.throughput() == 0 {
		return ""
	}
	return fmt.Sprintf("%.2f×", x.throughput()/y.throughput())
}

func fmtOps(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case v >= 1e4:
		return fmt.Sprintf("%.1fk", v/1e3)
	case v >= 1e3:
		return fmt.Sprintf("%.2fk", v/1e3)
	}
	return fmt.Sprintf("%.0f", v)
}

func fmtDur(d time.Duration) string {
	switch {
	case d == 0:
		return "-"
	case d < time.Millisecond:
		return fmt.Sprintf("%dµs", d.Microseconds())
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.2fms", float64(d)/1e6)
	case d < time.Second:
		return fmt.Sprintf("%.1fms", float64(d)/1e6)
	}
	return fmt.Sprintf("%.2fs", d.Seconds())
}

func lat(res *result) string {
	if res == nil {
		return ""
	}
	return fmtDur(res.hist.quantile(0.5)) + " / " + fmtDur(res.hist.quantile(0.99)) + " / " + fmtDur(res.hist.quantile(0.999))
}

func ops(res *result) string {
	if res == nil {
		return ""
	}
	s := fmtOps(res.throughput())
	if res.errors > 0 {
		s += " (" + fmt.Sprint(res.errors) + " err)"
	}
	if res.nils > 0 {
		s += " (" + fmt.Sprint(res.nils) + " nil)"
	}
	if res.waitShort > 0 {
		s += " (" + fmt.Sprint(res.waitShort) + " WAIT<2)"
	}
	return s
}

// cpuUS is the servers' CPU time per op in µs (all processes of the
// target: three nodes, or a Redis primary and its replicas).
func cpuUS(res *result) string {
	if res == nil || res.ops == 0 {
		return ""
	}
	return fmt.Sprintf("%.1f", float64(res.cpu.Nanoseconds())/float64(res.ops)/1e3)
}

// cpuTargets are the targets with a CPU-per-command column: every target
// that measured a row, in table order, the compared cluster last.
func (r *report) cpuTargets() []string {
	seen := map[string]bool{}
	for _, rw := range r.rows {
		seen[rw.target] = true
	}
	var out []string
	for _, t := range append(append([]string(nil), targetOrder...), tBaseLeader, tBaseFollower) {
		if seen[t] {
			out = append(out, t)
		}
	}
	return out
}

// text is the console summary.
func (r *report) text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n%d CPUs (%s), %s, %s; load before %s, after %s\n\n", r.cmdline, r.facts.nproc, r.facts.cpu,
		r.facts.goVersion, r.facts.redisVersion, r.facts.loadBefore, r.facts.loadAfter)
	if len(r.rows) > 0 {
		r.tablesText(&b)
	}
	b.WriteString(r.compareRows(false))
	b.WriteString(r.extrasText())
	for _, n := range r.notes {
		fmt.Fprintf(&b, "note: %s\n", n)
	}
	fmt.Fprintf(&b, "took %v\n", r.took.Round(time.Second))
	return b.String()
}

// tablesText is the matrix as two console tables: ops/s with ratios, and
// latency.
func (r *report) tablesText(b *strings.Builder) {
	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "workload\tclients\tpipe\tredis\tredis-aof\tredis-wait2\twait2-aof\trl-leader\trl-follower\trl/redis\trl/aof\trl/wait2\trl/wait2-aof\trl-fol/aof\t")
	for _, g := range r.groups() {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", g.workload, g.clients, g.pipeline,
			ops(g.by[tRedis]), ops(g.by[tRedisAOF]), ops(g.by[tRedisWait]), ops(g.by[tRedisWaitAOF]), ops(g.by[tRLLeader]), ops(g.by[tRLFollower]),
			g.ratio(tRLLeader, tRedis), g.ratio(tRLLeader, tRedisAOF), g.ratio(tRLLeader, tRedisWait), g.ratio(tRLLeader, tRedisWaitAOF), g.ratio(tRLFollower, tRedisAOF))
	}
	tw.Flush()
	b.WriteString("\nlatency p50 / p99 / p999\n")
	tw = tabwriter.NewWriter(b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "workload\tclients\tpipe\tredis\tredis-aof\tredis-wait2\twait2-aof\trl-leader\trl-follower\t")
	for _, g := range r.groups() {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t\n", g.workload, g.clients, g.pipeline,
			lat(g.by[tRedis]), lat(g.by[tRedisAOF]), lat(g.by[tRedisWait]), lat(g.by[tRedisWaitAOF]), lat(g.by[tRLLeader]), lat(g.by[tRLFollower]))
	}
	tw.Flush()
	cts := r.cpuTargets()
	b.WriteString("\nCPU µs per command, all nodes of the target\n")
	tw = tabwriter.NewWriter(b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "workload\tclients\tpipe\t"+strings.Join(cts, "\t")+"\t")
	for _, g := range r.groups() {
		fmt.Fprintf(tw, "%s\t%d\t%d\t", g.workload, g.clients, g.pipeline)
		for _, t := range cts {
			fmt.Fprintf(tw, "%s\t", cpuUS(g.by[t]))
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
}

// write renders the markdown report to path and the plot beside it.
func (r *report) write(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	svgName := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path)) + "-throughput.svg"
	if err := os.WriteFile(filepath.Join(filepath.Dir(path), svgName), []byte(r.svg()), 0o644); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(r.markdown(svgName)), 0o644)
}
