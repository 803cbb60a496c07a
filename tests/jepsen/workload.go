package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
)

// workload is one kind of client traffic and the checker of its history.
type workload interface {
	name() string
	// setup prepares the keys before any fault; eval says whether scripts
	// may be used.
	setup(ctx context.Context, eval bool) error
	// start launches the workers; they stop when ctx ends.
	start(ctx context.Context, wg *sync.WaitGroup)
	// drain reads the final state once the cluster is healed.
	drain(ctx context.Context) error
	// check judges the history and the final state.
	check(res *runResult) checkResult
}

// workloadNames are the workloads --workloads accepts; convergence is a
// checker that always runs.
var workloadNames = []string{"queue", "lin", "transfer", "ttl"}

func parseWorkloads(list string) ([]string, error) {
	var out []string
	for _, w := range strings.Split(list, ",") {
		w = strings.TrimSpace(w)
		switch {
		case w == "" || w == "convergence":
		case w == "all":
			out = append(out, workloadNames...)
		case slices.Contains(workloadNames, w):
			out = append(out, w)
		default:
			return nil, fmt.Errorf("unknown workload %q (know: all, %s; convergence always runs)", w, strings.Join(workloadNames, ", "))
		}
	}
	var uniq []string
	for _, w := range workloadNames {
		if slices.Contains(out, w) {
			uniq = append(uniq, w)
		}
	}
	return uniq, nil
}

func newWorkloads(h *harness, names []string) ([]workload, error) {
	var out []workload
	for _, n := range names {
		switch n {
		case "queue":
			out = append(out, newQueue(h))
		case "lin":
			out = append(out, newLin(h))
		case "transfer":
			out = append(out, newTransfer(h))
		case "ttl":
			out = append(out, newTTL(h))
		default:
			return nil, fmt.Errorf("unknown workload %q", n)
		}
	}
	return out, nil
}

// opCounts counts a workload's operations by outcome.
func opCounts(ops []*op, workload string) counts {
	var c counts
	for _, o := range ops {
		if o.Workload == workload {
			c.add(o.Outcome)
		}
	}
	return c
}

// readList reads a whole list for the harness (LRANGE, linearizable).
func readList(ctx context.Context, h *harness, key string) ([]string, error) {
	v, err := h.adminDo(ctx, "LRANGE", key, "0", "-1")
	if err != nil {
		return nil, err
	}
	l, isList := replyStrings(v)
	if !isList {
		return nil, fmt.Errorf("LRANGE %s answered %v", key, v)
	}
	return l, nil
}

// sample returns at most n items of s, for the report.
func sample(s []string, n int) string {
	if len(s) <= n {
		return strings.Join(s, " ")
	}
	return strings.Join(s[:n], " ") + fmt.Sprintf(" ... (%d more)", len(s)-n)
}
