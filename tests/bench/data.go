package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/raftlist/raftlist/cluster/local"
	"github.com/raftlist/raftlist/fsm/resp"
)

// snapshotResult compares one list of n elements snapshotted and restored by
// raftlist (RAFT SNAPSHOT; a follower restarted from it) and by Redis (SAVE;
// redis-server restarted from dump.rdb).
type snapshotResult struct {
	elements             int64
	rlLoad, redisLoad    time.Duration // loading the elements (1000 per RPUSH)
	rlIndex              int64
	rlBytes, redisBytes  int64
	rlLeader, rlFollower time.Duration // RAFT SNAPSHOT round trip
	redisSave            time.Duration // SAVE round trip
	rlServing            time.Duration // restart -> answering (snapshot restored)
	rlCaughtUp           time.Duration // restart -> applied the snapshot's index
	redisRestart         time.Duration // restart -> PING answered (RDB loaded)
}

// memoryResult is one process's memory before and after loading elements.
type memoryResult struct {
	name                   string
	elements               int64
	usedBefore, usedAfter  int64 // INFO memory used_memory, after MEMORY PURGE
	rssBefore, rssAfter    int64 // VmRSS
	perElemUsed, perElemRS float64
}

// runData measures memory per element and snapshot/restore on a fresh
// cluster and a fresh plain Redis.
func runData(p *plan, rep *report, bin, dir string) error {
	rs, err := startRedis(filepath.Join(dir, "redis"), "--appendonly", "no")
	defer onExit(rs.stop)()
	if err != nil {
		return err
	}
	c, err := startCluster(bin, filepath.Join(dir, "raftlist"), p.raftlistArgs)
	if err != nil {
		return err
	}
	defer onExit(c.Stop)()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	leader, err := c.Leader(ctx)
	if err != nil {
		return err
	}
	termBefore := clusterTerm(c)
	defer func() {
		if grew := clusterTerm(c) - termBefore; grew > 0 {
			rep.notes = append(rep.notes, fmt.Sprintf("the data phase (loading up to %d elements) saw %d Raft election(s); loads resumed through the new leader", p.snapshotSizes[len(p.snapshotSizes)-1], grew))
		}
	}()
	if p.phases["memory"] {
		if err := runMemory(ctx, p, rep, c, leader, rs); err != nil {
			return fmt.Errorf("memory: %w", err)
		}
	}
	if p.phases["snapshot"] {
		for _, n := range p.snapshotSizes {
			res, err := snapshotOnce(ctx, c, rs, n)
			if err != nil {
				return fmt.Errorf("snapshot of %d elements: %w", n, err)
			}
			rep.snapshots = append(rep.snapshots, *res)
		}
	}
	return nil
}

type memProc struct {
	name, addr string
	pid        func() int
}

func runMemory(ctx context.Context, p *plan, rep *report, c *local.Cluster, leader *local.Node, rs *redisProc) error {
	procs := []memProc{{name: "redis", addr: rs.addr, pid: rs.pid}}
	for _, n := range c.Nodes {
		role := "follower"
		if n == leader {
			role = "leader"
		}
		procs = append(procs, memProc{name: "raftlist " + n.ID + " (" + role + ")", addr: n.ClientAddr, pid: n.Pid})
	}
	results := make([]memoryResult, len(procs))
	var err error
	for i, pr := range procs {
		results[i] = memoryResult{name: pr.name, elements: p.memoryElements}
		if results[i].usedBefore, results[i].rssBefore, err = memoryOf(pr); err != nil {
			return err
		}
	}
	if err := loadRedis(rs.addr, "bench:mem", p.memoryElements); err != nil {
		return err
	}
	if _, err := loadList(ctx, c, "bench:mem", p.memoryElements); err != nil {
		return err
	}
	// raft keeps the last 1024 entries in memory (its log cache); the load
	// was a few large entries. Push them out with small ones, so the
	// difference is the elements, not the log's transient copy of them.
	if leader, err = c.Leader(ctx); err != nil {
		return err
	}
	if err := flushLogCache(leader.ClientAddr, 1100); err != nil {
		return err
	}
	if err := c.WaitConverged(ctx); err != nil {
		return err
	}
	for i, pr := range procs {
		r := &results[i]
		if r.usedAfter, r.rssAfter, err = memoryOf(pr); err != nil {
			return err
		}
		r.perElemUsed = float64(r.usedAfter-r.usedBefore) / float64(r.elements)
		r.perElemRS = float64(r.rssAfter-r.rssBefore) / float64(r.elements)
		logf("memory %-28s %d elements: used_memory %+.1f B/element, RSS %+.1f B/element", r.name, r.elements, r.perElemUsed, r.perElemRS)
	}
	rep.memory = results
	for _, addr := range []string{rs.addr, leader.ClientAddr} {
		if sc, err := dialSetup(addr); err == nil {
			sc.del("bench:mem")
			sc.close()
		}
	}
	return nil
}

// loadList grows key to n elements through the cluster's leader. A load of
// millions of elements can outlast a leader on a busy machine: after
// TRYAGAIN, UNCERTAIN or a broken connection it starts over through the new
// leader from the list's actual length.
func loadList(ctx context.Context, c *local.Cluster, key string, n int64) (time.Duration, error) {
	began := time.Now()
	for attempt := 1; ; attempt++ {
		leader, err := c.Leader(ctx)
		if err != nil {
			return 0, err
		}
		sc, err := dialSetup(leader.ClientAddr)
		if err == nil {
			err = sc.topUp(key, n)
			sc.close()
		}
		if err == nil {
			return time.Since(began), nil
		}
		if attempt == 5 {
			return 0, err
		}
		logf("loading %s: %v; going on through the current leader", key, err)
	}
}

func loadRedis(addr, key string, n int64) error {
	sc, err := dialSetup(addr)
	if err != nil {
		return err
	}
	defer sc.close()
	return sc.topUp(key, n)
}

// flushLogCache makes n small log entries, one write at a time.
func flushLogCache(addr string, n int) error {
	sc, err := dialSetup(addr)
	if err != nil {
		return err
	}
	defer sc.close()
	for i := 0; i < n; i++ {
		if _, err := sc.must("SET", "bench:flush", strconv.Itoa(i)); err != nil {
			return err
		}
	}
	_, err = sc.must("DEL", "bench:flush")
	return err
}

// memoryOf purges (a full GC for raftlist, an allocator purge for Redis) and
// returns INFO memory's used_memory and the process's resident set.
func memoryOf(pr memProc) (used, rss int64, err error) {
	sc, err := dialSetup(pr.addr)
	if err != nil {
		return 0, 0, err
	}
	defer sc.close()
	if _, err := sc.must("MEMORY", "PURGE"); err != nil {
		return 0, 0, fmt.Errorf("%s: %w", pr.name, err)
	}
	info, err := infoFields(pr.addr, "memory")
	if err != nil {
		return 0, 0, err
	}
	used, _ = strconv.ParseInt(info["used_memory"], 10, 64)
	return used, vmRSS(pr.pid()), nil
}

// vmRSS is a process's resident set size in bytes, from /proc.
func vmRSS(pid int) int64 { return procStatusBytes(pid, "VmRSS:") }

// rssAnon is the anonymous part of a process's resident set: its heap and
// stacks, without the file pages it maps (the binary's text, and for
// raftlist the Raft log's bolt file, which bolt maps and the kernel may
// drop at any time).
func rssAnon(pid int) int64 { return procStatusBytes(pid, "RssAnon:") }

// procStatusBytes reads one "kB" field of /proc/<pid>/status in bytes.
func procStatusBytes(pid int, field string) int64 {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, field); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// snapshotOnce grows bench:snap to n elements on both, snapshots, and
// restarts a follower and Redis from their snapshots.
func snapshotOnce(ctx context.Context, c *local.Cluster, rs *redisProc, n int64) (*snapshotResult, error) {
	res := &snapshotResult{elements: n}
	began := time.Now()
	if err := loadRedis(rs.addr, "bench:snap", n); err != nil {
		return nil, err
	}
	res.redisLoad = time.Since(began)
	var err error
	if res.rlLoad, err = loadList(ctx, c, "bench:snap", n); err != nil {
		return nil, err
	}
	if err := c.WaitConverged(ctx); err != nil {
		return nil, err
	}
	leader, err := c.Leader(ctx)
	if err != nil {
		return nil, err
	}
	var follower *local.Node
	for _, nd := range c.Nodes {
		if nd != leader {
			follower = nd
			break
		}
	}
	for _, t := range []struct {
		node *local.Node
		took *time.Duration
	}{{leader, &res.rlLeader}, {follower, &res.rlFollower}} {
		v, took, err := timed(t.node.ClientAddr, "RAFT", "SNAPSHOT")
		if err != nil {
			return nil, err
		}
		*t.took = took
		if v.Kind != resp.KindArray || len(v.Array) != 3 {
			return nil, fmt.Errorf("RAFT SNAPSHOT answered %s", v)
		}
		res.rlIndex, res.rlBytes = v.Array[0].Int, v.Array[1].Int
	}
	_, took, err := timed(rs.addr, "SAVE")
	if err != nil {
		return nil, err
	}
	res.redisSave = took
	if st, err := os.Stat(filepath.Join(rs.dir, "dump.rdb")); err == nil {
		res.redisBytes = st.Size()
	}
	// Restore: a clean stop, then time the restart, polling every 2 ms.
	follower.Stop()
	began = time.Now()
	restarted := make(chan error, 1)
	go func() { restarted <- follower.Restart(ctx) }()
	serving := false
	for {
		f, err := infoFields(follower.ClientAddr, "raft")
		if err == nil && !serving {
			serving, res.rlServing = true, time.Since(began)
		}
		if err == nil {
			if applied, _ := strconv.ParseInt(f["raft_applied_index"], 10, 64); applied >= res.rlIndex {
				break
			}
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		time.Sleep(2 * time.Millisecond)
	}
	res.rlCaughtUp = time.Since(began)
	if err := <-restarted; err != nil {
		return nil, err
	}
	rs.stop()
	began = time.Now()
	if err := rs.start(); err != nil {
		return nil, err
	}
	res.redisRestart = time.Since(began)
	if err := c.WaitConverged(ctx); err != nil {
		return nil, err
	}
	logf("snapshot %d elements: raftlist %d bytes, leader %v, follower %v, restart %v (caught up %v); redis %d bytes, SAVE %v, restart %v",
		n, res.rlBytes, res.rlLeader.Round(time.Millisecond), res.rlFollower.Round(time.Millisecond),
		res.rlServing.Round(time.Millisecond), res.rlCaughtUp.Round(time.Millisecond),
		res.redisBytes, res.redisSave.Round(time.Millisecond), res.redisRestart.Round(time.Millisecond))
	return res, nil
}

// timed runs one command on a fresh connection and returns its reply and
// round-trip time.
func timed(addr string, args ...string) (resp.Value, time.Duration, error) {
	sc, err := dialSetup(addr)
	if err != nil {
		return resp.Value{}, 0, err
	}
	defer sc.close()
	began := time.Now()
	v, err := sc.must(args...)
	return v, time.Since(began), err
}
