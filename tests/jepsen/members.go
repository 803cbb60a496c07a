package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// The membership checker: at the end every running node lists the same
// members (RAFT NODES), they are the nodes the harness has (its removals
// and additions were acknowledged), and no removal a node acknowledged is
// undone: a member whose removal was answered OK must be gone. A leader
// that acknowledges a configuration change it could not commit (the
// island) fails here.

func checkMembership(ctx context.Context, h *harness, acks []memberAck) checkResult {
	r := checkResult{Name: "membership", Pass: true}
	fail := func(format string, args ...any) {
		r.Pass = false
		r.Detail = append(r.Detail, "FAIL: "+fmt.Sprintf(format, args...))
	}
	var exp []string
	for _, n := range h.c.Nodes {
		exp = append(exp, n.ID)
	}
	slices.Sort(exp)
	// Views may lag a moment behind the last change: ask until they agree.
	var views map[string][]string
	var agreed []string
	deadline := time.Now().Add(h.timing.converge / 2)
	for {
		views, agreed = memberViews(ctx, h)
		if (agreed != nil && slices.Equal(agreed, exp)) || time.Now().After(deadline) {
			break
		}
		if !sleepCtx(ctx, 200*time.Millisecond) {
			break
		}
	}
	var lines []string
	for _, n := range h.c.Nodes {
		if v, ok := views[n.ID]; ok {
			lines = append(lines, fmt.Sprintf("%s lists %s", n.ID, strings.Join(v, ",")))
		}
	}
	switch {
	case len(views) == 0:
		fail("no node answered RAFT NODES")
	case agreed == nil:
		fail("nodes disagree on the members: %s", strings.Join(lines, "; "))
	default:
		for _, f := range judgeMembers(agreed, exp, acks) {
			fail("%s", f)
		}
	}
	if r.Pass {
		r.Detail = append(r.Detail, fmt.Sprintf("%d nodes agree on the members %s; %d acknowledged removals, all in effect", len(views), strings.Join(exp, ","), len(acks)))
	}
	r.Detail = append(r.Detail, lines...)
	return r
}

// judgeMembers compares the members the nodes agree on with the ones the
// harness has (exp, sorted) and with the acknowledged removals.
func judgeMembers(agreed, exp []string, acks []memberAck) []string {
	var fails []string
	if !slices.Equal(agreed, exp) {
		fails = append(fails, fmt.Sprintf("the members are %s; the harness's acknowledged changes leave %s", strings.Join(agreed, ","), strings.Join(exp, ",")))
	}
	for _, a := range acks {
		if slices.Contains(agreed, a.Removed) {
			fails = append(fails, fmt.Sprintf("RAFT REMOVENODE %s was answered OK by %s at +%.1fs, but %s is a member at the end", a.Removed, a.Via, a.At.Seconds(), a.Removed))
		}
	}
	return fails
}

// memberViews asks every running node for RAFT NODES; agreed is the
// common sorted list of ids, or nil when they differ.
func memberViews(ctx context.Context, h *harness) (map[string][]string, []string) {
	views := map[string][]string{}
	var agreed []string
	same := true
	for _, n := range h.c.Nodes {
		if !n.Running() {
			continue
		}
		mctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		members, err := n.Members(mctx)
		cancel()
		if err != nil {
			same = false
			continue
		}
		var v []string
		for _, m := range members {
			v = append(v, m.ID)
		}
		slices.Sort(v)
		views[n.ID] = v
		if agreed == nil {
			agreed = v
		} else if !slices.Equal(agreed, v) {
			same = false
		}
	}
	if !same {
		return views, nil
	}
	return views, agreed
}
