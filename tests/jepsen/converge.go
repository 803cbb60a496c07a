package main

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// The convergence checker: after healing, every running node reaches the
// same applied index and DEBUG DIGEST, and raft_blocked_waiters drains to
// 0 (the workers are gone, so every waiter must end: by timeout or because
// its client went away). Waiters get half the convergence budget, the
// digests the whole of it.

func checkConvergence(ctx context.Context, h *harness) checkResult {
	r := checkResult{Name: "convergence", Pass: true}
	began := time.Now()
	wctx, cancel := context.WithTimeout(ctx, h.timing.converge/2)
	waiters, werr := waitNoWaiters(wctx, h)
	cancel()
	if werr != nil {
		r.Pass = false
		r.Detail = append(r.Detail, "FAIL: raft_blocked_waiters did not drain to 0: "+werr.Error())
	} else {
		r.Detail = append(r.Detail, fmt.Sprintf("raft_blocked_waiters 0 on every node after %.1fs", time.Since(began).Seconds()))
	}
	cctx, cancel := context.WithTimeout(ctx, h.timing.converge)
	defer cancel()
	if err := h.c.WaitConverged(cctx); err != nil {
		r.Pass = false
		r.Detail = append(r.Detail, "FAIL: "+err.Error())
	}
	// Each node's final view, whatever the verdict.
	applied, digests, running := map[string]bool{}, map[string]bool{}, 0
	var nodeLines []string
	for _, n := range h.c.Nodes {
		if !n.Running() {
			r.Detail = append(r.Detail, n.ID+": not running")
			continue
		}
		ictx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		info, err := n.Info(ictx)
		d, derr := n.Digest(ictx)
		cancel()
		if err != nil || derr != nil {
			r.Detail = append(r.Detail, fmt.Sprintf("%s: %v %v", n.ID, err, derr))
			continue
		}
		running++
		applied[info["raft_applied_index"]], digests[d] = true, true
		nodeLines = append(nodeLines, fmt.Sprintf("%s %-9s term %s applied %s digest %s waiters %s",
			n.ID, info["raft_role"], info["raft_term"], info["raft_applied_index"], d, info["raft_blocked_waiters"]))
	}
	if len(applied) == 1 && len(digests) == 1 {
		for a := range applied {
			for d := range digests {
				r.Detail = append([]string{fmt.Sprintf("%d nodes at applied index %s with digest %s", running, a, d)}, r.Detail...)
			}
		}
	} else {
		r.Pass = false
		r.Detail = append([]string{fmt.Sprintf("FAIL: %d nodes at %d different applied indexes with %d different digests", running, len(applied), len(digests))}, r.Detail...)
	}
	r.Detail = append(r.Detail, nodeLines...)
	if werr != nil && len(waiters) > 0 {
		r.Detail = append(r.Detail, "waiters at the deadline: "+strings.Join(waiters, ", "))
	}
	return r
}

// waitNoWaiters polls until every running node reports no blocked waiter.
func waitNoWaiters(ctx context.Context, h *harness) ([]string, error) {
	var last []string
	for {
		last = last[:0]
		busy := false
		for _, n := range h.c.Nodes {
			if !n.Running() {
				continue
			}
			info, err := n.Info(ctx)
			if err != nil {
				busy = true
				last = append(last, n.ID+": "+err.Error())
				continue
			}
			if w := info["raft_blocked_waiters"]; w != "0" {
				busy = true
				last = append(last, n.ID+"="+w)
			}
		}
		if !busy {
			return nil, nil
		}
		select {
		case <-ctx.Done():
			return last, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// parseInfo reads INFO's "field:value" lines.
func parseInfo(text string) map[string]string {
	out := map[string]string{}
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimRight(line, "\r")
		if line == "" || line[0] == '#' {
			continue
		}
		if k, v, found := strings.Cut(line, ":"); found {
			out[k] = v
		}
	}
	return out
}
