package main

import (
	"compress/gzip"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// writeReport writes the report directory: summary.txt, latency.svg,
// history.jsonl.gz (and, from the linearizability checker, lin-*.html for
// every key that failed).
func writeReport(res *runResult) error {
	if err := os.WriteFile(filepath.Join(res.o.Out, "summary.txt"), []byte(summary(res, true)), 0o644); err != nil {
		return err
	}
	if err := writeLatencySVG(filepath.Join(res.o.Out, "latency.svg"), res); err != nil {
		return err
	}
	return writeHistory(filepath.Join(res.o.Out, "history.jsonl.gz"), res.ops)
}

func writeHistory(path string, ops []*op) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	zw := gzip.NewWriter(f)
	if err := encodeOps(zw, ops); err != nil {
		f.Close()
		return err
	}
	if err := zw.Close(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// verdict is the one word for a run.
func verdict(res *runResult) string {
	switch {
	case res.interrupted:
		return "INTERRUPTED"
	case res.pass():
		return "PASS"
	default:
		return "FAIL"
	}
}

// summary renders the report's text. full adds every fault and note (the
// file); without it the text fits one screen (stdout).
func summary(res *runResult, full bool) string {
	var b strings.Builder
	o := res.o
	fmt.Fprintf(&b, "raftlist fault test: %s\n", verdict(res))
	fmt.Fprintf(&b, "seed %d, %d nodes, %s of workloads %s (%d workers each), took %s\n",
		o.Seed, o.Nodes, o.Duration, strings.Join(o.Workloads, ","), o.Concurrency, res.took.Round(time.Second))
	fmt.Fprintf(&b, "binary %s\n", o.Binary)
	if res.evalNote != "" {
		fmt.Fprintf(&b, "%s\n", res.evalNote)
	}
	fmt.Fprintf(&b, "\n%-13s %-6s %8s %8s %8s\n", "checker", "result", "ok", "failed", "unknown")
	for _, c := range res.checks {
		word := "PASS"
		if !c.Pass {
			word = "FAIL"
		}
		if c.Counts.total() > 0 {
			fmt.Fprintf(&b, "%-13s %-6s %8d %8d %8d\n", c.Name, word, c.Counts.OK, c.Counts.Failed, c.Counts.Unknown)
		} else {
			fmt.Fprintf(&b, "%-13s %-6s %8s %8s %8s\n", c.Name, word, "-", "-", "-")
		}
	}
	var all counts
	for _, op := range res.ops {
		all.add(op.Outcome)
	}
	fmt.Fprintf(&b, "%-13s %-6s %8d %8d %8d\n", "all ops", "", all.OK, all.Failed, all.Unknown)
	for _, c := range res.checks {
		lines := c.Detail
		if !full {
			lines = shortDetail(lines)
		}
		if len(lines) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n%s:\n", c.Name)
		for _, l := range lines {
			fmt.Fprintf(&b, "  %s\n", l)
		}
	}
	fmt.Fprintf(&b, "\nfaults (%d; iptables rules of this run left after healing: %d):\n", len(res.faults), res.rulesLeft)
	byKind := map[string]int{}
	for _, f := range res.faults {
		byKind[f.Kind]++
	}
	for _, k := range faultKinds {
		if why, skipped := res.skipped[k]; skipped {
			fmt.Fprintf(&b, "  %-17s skipped: %s\n", k, why)
		} else if containsKind(o.Faults, k) {
			fmt.Fprintf(&b, "  %-17s ×%d\n", k, byKind[k])
		}
	}
	if full {
		fmt.Fprintf(&b, "\ntimeline (seconds from the start of the workload):\n")
		for _, f := range res.faults {
			end := "   (open)"
			if f.End > 0 {
				end = fmt.Sprintf("%7.1fs", f.End.Seconds())
			}
			mixed := ""
			if f.Mixed {
				mixed = " [mixed]"
			}
			fmt.Fprintf(&b, "  %7.1fs → %s  %-17s %s%s", f.Start.Seconds(), end, f.Kind, f.Detail, mixed)
			if f.Err != "" {
				fmt.Fprintf(&b, "  ERROR: %s", f.Err)
			}
			b.WriteString("\n")
		}
		if ch := res.leaders.changes(); len(ch) > 0 {
			fmt.Fprintf(&b, "\nleader as sampled every 250 ms (changes only):\n")
			for _, s := range ch {
				id := s.ID
				if id == "" {
					id = "(none)"
				}
				fmt.Fprintf(&b, "  %7.1fs  %s term %d\n", s.At.Seconds(), id, s.Term)
			}
		}
		fmt.Fprintf(&b, "\noperations by node:\n")
		byNode := map[string]*counts{}
		for _, op := range res.ops {
			if byNode[op.Node] == nil {
				byNode[op.Node] = &counts{}
			}
			byNode[op.Node].add(op.Outcome)
		}
		var nodes []string
		for n := range byNode {
			nodes = append(nodes, n)
		}
		sort.Strings(nodes)
		for _, n := range nodes {
			c := byNode[n]
			fmt.Fprintf(&b, "  %-8s ok %d / failed %d / unknown %d\n", n, c.OK, c.Failed, c.Unknown)
		}
	} else {
		errs := 0
		for _, f := range res.faults {
			if f.Err != "" {
				errs++
			}
		}
		if errs > 0 {
			fmt.Fprintf(&b, "  %d faults reported an error (see summary.txt)\n", errs)
		}
	}
	if len(res.notes) > 0 && full {
		fmt.Fprintf(&b, "\nnotes:\n")
		for _, n := range res.notes {
			fmt.Fprintf(&b, "  %s\n", n)
		}
	}
	fmt.Fprintf(&b, "\nreport: %s (summary.txt, latency.svg, history.jsonl.gz, logs/", res.o.Out)
	if !res.pass() && !res.interrupted {
		b.WriteString(", lin-*.html for keys that failed")
	}
	b.WriteString(")\n")
	return b.String()
}

func containsKind(kinds []string, k string) bool {
	for _, x := range kinds {
		if x == k {
			return true
		}
	}
	return false
}

// shortDetail keeps a checker's first two lines and its failures, at most
// six lines, for the screen.
func shortDetail(lines []string) []string {
	var out []string
	for i, l := range lines {
		if i < 2 || strings.HasPrefix(l, "FAIL") {
			out = append(out, l)
		}
		if len(out) == 6 {
			break
		}
	}
	for i, l := range out {
		if len(l) > 150 {
			out[i] = l[:147] + "..."
		}
	}
	return out
}
