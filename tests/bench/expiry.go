package main

import (
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/raftlist/raftlist/fsm/resp"
)

// The expiry phase: n keys written with SET k v PX ttl, TTLs spread over
// expirySpread after the load, on a fresh three-node cluster and a fresh
// plain Redis side by side; then how long after the last deadline each
// process holds no key with a time to live (INFO keyspace), what memory
// came back, and what active expiry cost raftlist in log entries. A
// snapshot of the loaded keys is taken and timed on the leader.

// expirySpread is how long the deadlines are spread over.
const expirySpread = 10 * time.Second

// expiryResult is one expiry run.
type expiryResult struct {
	keys                 int64
	rlLoad, redisLoad    time.Duration
	snapBytes            int64
	snapTook             time.Duration
	lastDeadline         []time.Time // per process
	emptyAfter           []string    // per process: time from the last deadline to no key with a TTL
	memory               []string    // per process: used_memory baseline -> loaded -> after expiry
	expireEntries        int64       // log entries committed while the keys expired (all are expiry entries)
	expiredKeys          int64       // keys the leader's expiry entries deleted
	expireLogBytesApprox int64
}

// runExpiry is the expiry phase.
func runExpiry(p *plan, rep *report, bin, dir string) error {
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
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	leader, err := c.Leader(ctx)
	if err != nil {
		return err
	}
	procs := []memProc{{name: "redis", addr: rs.addr, pid: rs.pid}}
	for _, nd := range c.Nodes {
		procs = append(procs, memProc{name: nd.ID, addr: nd.ClientAddr, pid: nd.Pid})
	}
	base := make([]int64, len(procs))
	for i, pr := range procs {
		if base[i], _, err = memoryOf(pr); err != nil {
			return err
		}
	}
	res := &expiryResult{keys: p.expiryKeys}
	if res.redisLoad, err = loadTTLKeys(rs.addr, p.expiryKeys); err != nil {
		return fmt.Errorf("redis: %w", err)
	}
	res.lastDeadline = append(res.lastDeadline, time.Now().Add(expiryDelay+expirySpread))
	if res.rlLoad, err = loadTTLKeys(leader.ClientAddr, p.expiryKeys); err != nil {
		return fmt.Errorf("raftlist: %w", err)
	}
	for range c.Nodes {
		res.lastDeadline = append(res.lastDeadline, time.Now().Add(expiryDelay+expirySpread))
	}
	loaded := make([]int64, len(procs))
	for i, pr := range procs {
		if loaded[i], _, err = memoryOf(pr); err != nil {
			return err
		}
	}
	v, took, err := timed(leader.ClientAddr, "RAFT", "SNAPSHOT")
	if err == nil && v.Kind == resp.KindArray && len(v.Array) == 3 {
		res.snapBytes, res.snapTook = v.Array[1].Int, took
	}
	before, _ := infoFields(leader.ClientAddr, "raft")
	expBefore, _ := infoFields(leader.ClientAddr, "stats")
	emptied := make([]time.Time, len(procs))
	for left := len(procs); left > 0; {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		for i, pr := range procs {
			if emptied[i].IsZero() && ttlKeysHeld(pr.addr) == 0 {
				emptied[i] = time.Now()
				left--
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	after, _ := infoFields(leader.ClientAddr, "raft")
	expAfter, _ := infoFields(leader.ClientAddr, "stats")
	res.expireEntries = atoi(after["raft_commit_index"]) - atoi(before["raft_commit_index"])
	res.expiredKeys = atoi(expAfter["expired_keys"]) - atoi(expBefore["expired_keys"])
	// An expiry entry is a header, a kind, a timestamp, a limit and a
	// checksum: about 16 bytes before Raft's own framing.
	res.expireLogBytesApprox = res.expireEntries * 16
	for i, pr := range procs {
		used, _, err := memoryOf(pr)
		if err != nil {
			return err
		}
		res.emptyAfter = append(res.emptyAfter, fmt.Sprintf("%s %+.2fs", pr.name, emptied[i].Sub(res.lastDeadline[i]).Seconds()))
		res.memory = append(res.memory, fmt.Sprintf("%s %s -> %s -> %s", pr.name, fmtBytes(base[i]), fmtBytes(loaded[i]), fmtBytes(used)))
	}
	logf("expiry of %d keys: load raftlist %v, redis %v; empty after the last deadline: %s; used_memory: %s; %d entries, %d keys expired by entries; snapshot %s in %v",
		res.keys, res.rlLoad, res.redisLoad, strings.Join(res.emptyAfter, ", "), strings.Join(res.memory, "; "),
		res.expireEntries, res.expiredKeys, fmtBytes(res.snapBytes), res.snapTook)
	rep.expiry = res
	return nil
}

func atoi(s string) int64 { n, _ := strconv.ParseInt(s, 10, 64); return n }

// expiryDelay is the shortest TTL: the first keys live through the load.
const expiryDelay = time.Second

// loadTTLKeys writes n keys with SET k v PX ttl, 1000 per pipeline, key
// i's TTL expiryDelay plus i/n of expirySpread: the last deadline is at
// most that long after the load ends.
func loadTTLKeys(addr string, n int64) (time.Duration, error) {
	cn, err := dial(addr)
	if err != nil {
		return 0, err
	}
	defer cn.close()
	start := time.Now()
	const batch = 1000
	for i := int64(0); i < n; i += batch {
		var wire []byte
		m := min(batch, n-i)
		for j := i; j < i+m; j++ {
			ttl := expiryDelay.Milliseconds() + expirySpread.Milliseconds()*j/n
			wire = resp.AppendCommand(wire, []byte("SET"), []byte("bench:ttl:"+strconv.FormatInt(j, 10)), []byte(element),
				[]byte("PX"), []byte(strconv.FormatInt(ttl, 10)))
		}
		if _, err := cn.c.Write(wire); err != nil {
			return 0, err
		}
		for j := int64(0); j < m; j++ {
			v, err := cn.readValue()
			if err != nil {
				return 0, err
			}
			if v.Kind == resp.KindError {
				return 0, fmt.Errorf("SET answered %s", v.Str)
			}
		}
	}
	return time.Since(start), nil
}

var expiresIn = regexp.MustCompile(`(?m)^db0:keys=\d+,expires=(\d+)`)

// ttlKeysHeld is how many keys with a time to live addr holds (expired
// ones not yet deleted included), -1 if it does not answer.
func ttlKeysHeld(addr string) int64 {
	cn, err := dial(addr)
	if err != nil {
		return -1
	}
	defer cn.close()
	v, err := cn.do(5*time.Second, []byte("INFO"), []byte("keyspace"))
	if err != nil {
		return -1
	}
	m := expiresIn.FindSubmatch(v.Str)
	if m == nil {
		return 0
	}
	return atoi(string(m[1]))
}

// expiryMarkdown is the phase's section of the report.
func (r *expiryResult) markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d keys, `SET k v PX ttl` with TTLs from %v to %v (loading: raftlist %v through the leader, Redis %v; 1000 per pipeline).\n\n",
		r.keys, expiryDelay, expiryDelay+expirySpread, r.rlLoad.Round(time.Millisecond), r.redisLoad.Round(time.Millisecond))
	fmt.Fprintf(&b, "- no key with a TTL left (INFO keyspace `expires=`), relative to the last deadline: %s\n", strings.Join(r.emptyAfter, ", "))
	fmt.Fprintf(&b, "- `used_memory` before the load -> loaded -> after expiry: %s\n", strings.Join(r.memory, "; "))
	fmt.Fprintf(&b, "- active expiry: %d log entries (about %s of entry bodies), %d keys deleted by them (the rest by commands that found them expired: none here)\n",
		r.expireEntries, fmtBytes(r.expireLogBytesApprox), r.expiredKeys)
	fmt.Fprintf(&b, "- `RAFT SNAPSHOT` of the loaded keys on the leader: %s in %v\n", fmtBytes(r.snapBytes), r.snapTook.Round(time.Millisecond))
	return b.String()
}
