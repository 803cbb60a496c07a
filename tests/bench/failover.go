package main

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/raftlist/raftlist/cluster/local"
)

// failoverSeries is one heartbeat/election timeout setting's trials.
type failoverSeries struct {
	timeout string
	trials  []time.Duration
	failed  []string
	// stalls are the same measurement with the leader frozen (SIGSTOP)
	// instead of killed: its port still accepts connections, as a dead
	// host's or a partitioned one's would not refuse them, so the
	// followers must wait out the heartbeat timeout.
	stalls []time.Duration
	// spurious counts elections under load without any failure: the
	// price of short timeouts on a busy machine.
	spurious    uint64
	stabilityOp string
}

func (s *failoverSeries) quantile(q float64) time.Duration { return quantileOf(s.trials, q) }

func quantileOf(trials []time.Duration, q float64) time.Duration {
	if len(trials) == 0 {
		return 0
	}
	t := slices.Clone(trials)
	slices.Sort(t)
	i := int(q*float64(len(t))+0.999999) - 1
	return t[max(0, min(len(t)-1, i))]
}

// runFailover measures, for each timeout setting, the time from SIGKILL of
// the leader to the first write a surviving node acknowledges, and how
// many elections a stretch of heavy load causes with no failure at all.
// A setting is a duration (--heartbeat-timeout and --election-timeout both
// set to it) or "default" (neither flag given); with --compare-binary the
// compared build's defaults run first, as the "before".
func runFailover(p *plan, rep *report, bin, dir string) error {
	type series struct{ name, bin string }
	var all []series
	if p.compareBinary != "" {
		all = append(all, series{"default (compared build)", p.compareBinary})
	}
	for _, to := range p.failoverTimeouts {
		all = append(all, series{to, bin})
	}
	for i, se := range all {
		var flags []string
		if !strings.HasPrefix(se.name, "default") {
			flags = []string{"--heartbeat-timeout", se.name, "--election-timeout", se.name}
		}
		logf("failover: 3-node cluster (%s) %s", se.name, strings.Join(flags, " "))
		c, err := startCluster(se.bin, filepath.Join(dir, fmt.Sprintf("s%d", i)), flags)
		if err != nil {
			return err
		}
		stop := onExit(c.Stop)
		s := failoverSeries{timeout: se.name}
		s.spurious, s.stabilityOp = stability(p, c)
		for i := 0; i < 2*p.failoverTrials; i++ {
			stall := i >= p.failoverTrials
			d, err := failoverTrial(c, stall)
			if err != nil {
				s.failed = append(s.failed, err.Error())
				logf("failover trial %d: %v", i+1, err)
				continue
			}
			if stall {
				s.stalls = append(s.stalls, d)
			} else {
				s.trials = append(s.trials, d)
			}
			logf("failover %s trial %d (stall %v): %v", se.name, i+1, stall, d.Round(time.Millisecond))
		}
		stop()
		rep.failovers = append(rep.failovers, s)
	}
	return nil
}

// stability drives LPUSH at 200 clients, pipeline 16, through the leader
// and returns how much the Raft term grew.
func stability(p *plan, c *local.Cluster) (uint64, string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	leader, err := c.Leader(ctx)
	if err != nil {
		return 0, ""
	}
	d := p.stability
	before := clusterTerm(c)
	cl := cell{addr: leader.ClientAddr, op: newOp(words("LPUSH", "bench:stability", element)), clients: 200, pipeline: 16,
		measure: d}
	res, err := cl.run()
	desc := fmt.Sprintf("LPUSH, 200 clients, pipeline 16, %v", d)
	if err == nil {
		desc += fmt.Sprintf(": %s ops/s", fmtOps(res.throughput()))
	}
	if sc, err := dialSetup(leader.ClientAddr); err == nil {
		sc.del("bench:stability")
		sc.close()
	}
	return clusterTerm(c) - before, desc
}

// failoverTrial kills (stall: freezes) the leader and returns the time
// until a write is acknowledged through either survivor, then restarts
// (resumes) the node and waits until all three agree again.
func failoverTrial(c *local.Cluster, stall bool) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	leader, err := c.Leader(ctx)
	if err != nil {
		return 0, err
	}
	var survivors []string
	for _, n := range c.Nodes {
		if n != leader {
			survivors = append(survivors, n.ClientAddr)
		}
	}
	// Connections to the survivors are open before the kill.
	conns := make([]*rconn, len(survivors))
	for i, addr := range survivors {
		if conns[i], err = dial(addr); err != nil {
			return 0, err
		}
	}
	first := make(chan time.Time, len(survivors))
	stop := make(chan struct{})
	var wg sync.WaitGroup
	// A steady write load on every node, the leader included, while it
	// dies: the survivors are busy when they must notice.
	for i := 0; i < failoverLoadClients; i++ {
		addr := c.Nodes[i%len(c.Nodes)].ClientAddr
		wg.Add(1)
		go func() {
			defer wg.Done()
			writeSteadily(addr, stop)
		}()
	}
	time.Sleep(200 * time.Millisecond)
	began := time.Now()
	if stall {
		leader.Pause()
	} else {
		leader.Kill()
	}
	for i, addr := range survivors {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if t, ok := writeUntilAcked(addr, conns[i], stop); ok {
				first <- t
			}
		}()
	}
	var took time.Duration
	select {
	case t := <-first:
		took = t.Sub(began)
	case <-time.After(30 * time.Second):
		err = fmt.Errorf("no write acknowledged within 30s of killing %s", leader.ID)
	}
	close(stop)
	wg.Wait()
	if stall {
		leader.Resume()
	} else if rerr := leader.Restart(ctx); rerr != nil {
		return 0, rerr
	}
	if werr := c.WaitConverged(ctx); werr != nil {
		return 0, werr
	}
	return took, err
}

// failoverLoadClients is how many clients write through the cluster during
// each failover trial.
const failoverLoadClients = 12

// writeSteadily sends LPUSH to addr, one at a time, until stop, redialling
// after errors.
func writeSteadily(addr string, stop <-chan struct{}) {
	lpushLoop(addr, "bench:failover-load", nil, time.Second, 10*time.Millisecond, false, stop)
}

// writeUntilAcked sends LPUSH to addr until one is acknowledged, redialling
// after any error; every attempt has a short deadline so a request lost
// with the old leader does not hide the new one.
func writeUntilAcked(addr string, cn *rconn, stop <-chan struct{}) (time.Time, bool) {
	return lpushLoop(addr, "bench:failover", cn, 250*time.Millisecond, 2*time.Millisecond, true, stop)
}

// lpushLoop sends LPUSH key to addr over cn (dialled when nil, and again
// after any error, pausing pause), each attempt with its own deadline,
// until stop or, untilAcked, until one is acknowledged: it returns when.
func lpushLoop(addr, key string, cn *rconn, deadline, pause time.Duration, untilAcked bool, stop <-chan struct{}) (time.Time, bool) {
	o := newOp(words("LPUSH", key, element))
	defer func() {
		if cn != nil {
			cn.close()
		}
	}()
	for {
		select {
		case <-stop:
			return time.Time{}, false
		default:
		}
		if cn == nil {
			var err error
			if cn, err = dial(addr); err != nil {
				cn = nil
				time.Sleep(pause)
				continue
			}
		}
		cn.c.SetDeadline(time.Now().Add(deadline))
		_, err := cn.c.Write(o.wire)
		var kind byte
		if err == nil {
			kind, err = cn.skipReply()
		}
		if err == nil && kind == ':' && untilAcked {
			return time.Now(), true
		}
		if err != nil {
			cn.close()
			cn = nil
		}
		if err != nil || untilAcked {
			time.Sleep(pause)
		}
	}
}
