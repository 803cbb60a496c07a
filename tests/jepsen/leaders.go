package main

import (
	"context"
	"sort"
	"strconv"
	"sync"
	"time"
)

// leaderSample is who led, as the nodes said, at one moment.
type leaderSample struct {
	At   time.Duration
	ID   string // "" when no node said it leads
	Term uint64
}

// leaderLog is the run's leadership timeline, sampled every 250 ms: the
// report marks leader changes, and the linearizability checker tells reads
// through followers from reads on the leader.
type leaderLog []leaderSample

// at returns the leader sampled last before t.
func (l leaderLog) at(t time.Duration) string {
	i := sort.Search(len(l), func(i int) bool { return l[i].At > t })
	if i == 0 {
		return ""
	}
	return l[i-1].ID
}

// changes returns the samples where the leader changed.
func (l leaderLog) changes() leaderLog {
	var out leaderLog
	for i, s := range l {
		if i == 0 || s.ID != l[i-1].ID {
			out = append(out, s)
		}
	}
	return out
}

// sampleLeaders polls every node's INFO raft until ctx ends.
func sampleLeaders(ctx context.Context, h *harness) leaderLog {
	var out leaderLog
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		at := h.hist.now()
		var mu sync.Mutex
		best := leaderSample{At: at}
		var wg sync.WaitGroup
		for _, t := range h.targets() {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c, err := dialRESP(t.id, t.addr, 200*time.Millisecond)
				if err != nil {
					return
				}
				defer c.close()
				v, err := c.do(500*time.Millisecond, "INFO", "raft")
				text, isStr := v.(string)
				if err != nil || !isStr {
					return
				}
				info := parseInfo(text)
				if info["raft_role"] != "leader" {
					return
				}
				term, _ := strconv.ParseUint(info["raft_term"], 10, 64)
				mu.Lock()
				if term >= best.Term {
					best.ID, best.Term = t.id, term
				}
				mu.Unlock()
			}()
		}
		wg.Wait()
		out = append(out, best)
		select {
		case <-ctx.Done():
			return out
		case <-tick.C:
		}
	}
}
