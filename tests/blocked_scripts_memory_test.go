package tests

import "fmt"

// Follower memory in the Redis #614 scenario: Redis 2.6's replica leaked
// while the master looked fine. A raftlist node keeps nothing per client
// or per element beyond the lists, the waiters and WATCH's key versions
// (bounded by the keys and the remembered deletions), so a follower's
// live heap must level off: it may grow while the run warms up
// (connections, Raft buffers, the log cache), not on and on with the
// iterations. (The first soak runs found exactly that: WATCH's queue of
// deletions kept one entry per deletion, not per deleted key, for 131072
// log entries; fsm/watch.go compactTombs.)

// checkMemory compares each follower's heap early in the run, at half way
// and at the end: the growth of the second half must stay under
// r614MemSlack, and so must the heap once the data is gone, measured
// against the early level. From r614SteadyMinIters programs on, a second
// half that grows by more than r614SteadyGrowth and by at least half as
// much as the first is growth that goes on with the iterations: refused
// too. A node that led at any sample is reported, not checked (leading
// costs more, and the issue is about replicas).
func (r *r614Run) checkMemory() {
	r.mu.Lock()
	defer r.mu.Unlock()
	byNode := map[string][]r614Sample{}
	for _, s := range r.samples {
		byNode[s.node] = append(byNode[s.node], s)
	}
	drained := map[string]r614Sample{}
	for _, s := range r.drained {
		drained[s.node] = s
	}
	kind := "heap in use after MEMORY PURGE"
	if !r.purge {
		kind = "lowest used_memory in the window"
	}
	for _, n := range r.c.Nodes {
		ss := byNode[n.ID]
		if len(ss) == 0 {
			r.t.Errorf("no memory sample of %s", n.ID)
			continue
		}
		follower := true
		for _, s := range ss {
			follower = follower && s.role == "follower"
		}
		early := r.window(ss, 0.05, 0.15)
		half := r.window(ss, 0.45, 0.55)
		late := r.window(ss, 0.85, 1.00)
		d, ok := drained[n.ID]
		after := "-"
		if ok {
			after = r614MiB(d.usedMemory)
		}
		role := "follower"
		if !follower {
			role = "leader at some sample, not checked"
		}
		r.t.Logf("%s (%s), %s over %d samples: %s at 10%%, %s at 50%%, %s at the end (first half %+.2f MiB, second half %+.2f MiB), %s once emptied at log index %d",
			n.ID, role, kind, len(ss), r614MiB(early), r614MiB(half), r614MiB(late),
			float64(half-early)/(1<<20), float64(late-half)/(1<<20), after, d.applied)
		if !follower {
			continue
		}
		if late-half > r614MemSlack {
			r.t.Errorf("%s's heap grew by %s in the second half of the run (%d programs), more than %s: %s at half way, %s at the end",
				n.ID, r614MiB(late-half), r.iters/2, r614MiB(r614MemSlack), r614MiB(half), r614MiB(late))
		}
		if g1, g2 := half-early, late-half; r.iters >= r614SteadyMinIters && g2 > r614SteadyGrowth && 2*g2 >= g1 {
			r.t.Errorf("%s's heap grows steadily with the iterations: %+.2f MiB in the first half, %+.2f MiB in the second (%d programs each)",
				n.ID, float64(g1)/(1<<20), float64(g2)/(1<<20), r.iters/2)
		}
		if ok && d.usedMemory-early > r614MemSlack {
			r.t.Errorf("%s's heap once every list is empty is %s, %s above its level early in the run (%s)",
				n.ID, r614MiB(d.usedMemory), r614MiB(d.usedMemory-early), r614MiB(early))
		}
	}
}

// window returns the lowest heap among samples taken while programs ran,
// between the fractions lo and hi of the run's iterations, or, with none
// there, the running sample nearest to the window's middle. (Samples after
// the last program are left out: a node at rest holds less, which would
// hide growth.)
func (r *r614Run) window(ss []r614Sample, lo, hi float64) int64 {
	from, to := int64(lo*float64(r.iters)), int64(hi*float64(r.iters))
	best := int64(-1)
	var running []r614Sample
	for _, s := range ss {
		if s.running {
			running = append(running, s)
		}
	}
	if len(running) > 0 {
		ss = running
	}
	for _, s := range ss {
		if s.iter >= from && s.iter <= to && (best < 0 || s.usedMemory < best) {
			best = s.usedMemory
		}
	}
	if best >= 0 {
		return best
	}
	mid := (from + to) / 2
	nearest := ss[0]
	for _, s := range ss {
		if r614Abs(s.iter-mid) < r614Abs(nearest.iter-mid) {
			nearest = s
		}
	}
	return nearest.usedMemory
}

func r614Abs(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

func r614MiB(n int64) string { return fmt.Sprintf("%.2f MiB", float64(n)/(1<<20)) }
