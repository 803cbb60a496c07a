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
	emptyAfter           []string // per process: time from the last deadline to no key with a TTL
	memory               []string // per process: used_memory baseline -> loaded -> after expiry
	rss                  []string // per process: RSS baseline -> peak (loaded or expiring) -> after expiry
	anon                 []string // per process: anonymous RSS baseline -> after expiry (rssAnon)
	expireEntries        int64    // log entries committed while the keys expired (all are expiry entries)
	expiredKeys          int64    // keys the leader's expiry entries deleted
	expireLogBytesApprox int64
}

// runExpiry is the expiry phase: Redis first, then raftlist, each alone
// on the machine, so that one's load does not delay the other's expiry.
func runExpiry(p *plan, rep *report, bin, dir string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	res := &expiryResult{keys: p.expiryKeys}
	rs, err := startRedis(filepath.Join(dir, "redis"), "--appendonly", "no")
	defer onExit(rs.stop)()
	if err != nil {
		return err
	}
	if res.redisLoad, err = expireSide(ctx, res, []memProc{{name: "redis", addr: rs.addr, pid: rs.pid}}, rs.addr, nil); err != nil {
		return fmt.Errorf("redis: %w", err)
	}
	rs.stop()
	c, err := startCluster(bin, filepath.Join(dir, "raftlist"), p.raftlistArgs)
	if err != nil {
		return err
	}
	defer onExit(c.Stop)()
	leader, err := c.Leader(ctx)
	if err != nil {
		return err
	}
	var procs []memProc
	for _, nd := range c.Nodes {
		procs = append(procs, memProc{name: nd.ID, addr: nd.ClientAddr, pid: nd.Pid})
	}
	var before, expBefore map[string]string
	loaded := func() {
		before, _ = infoFields(leader.ClientAddr, "raft")
		expBefore, _ = infoFields(leader.ClientAddr, "stats")
	}
	if res.rlLoad, err = expireSide(ctx, res, procs, leader.ClientAddr, loaded); err != nil {
		return fmt.Errorf("raftlist: %w", err)
	}
	after, _ := infoFields(leader.ClientAddr, "raft")
	expAfter, _ := infoFields(leader.ClientAddr, "stats")
	// Nothing but expiry entries is written after the load.
	res.expireEntries = atoi(after["raft_commit_index"]) - atoi(before["raft_commit_index"])
	res.expiredKeys = atoi(expAfter["expired_keys"]) - atoi(expBefore["expired_keys"])
	// An expiry entry is a header, a kind, a timestamp, a limit and a
	// checksum: about 16 bytes before Raft's own framing.
	res.expireLogBytesApprox = res.expireEntries * 16
	logf("expiry of %d keys: load raftlist %v, redis %v; empty after the last deadline: %s; used_memory: %s; rss: %s; anon rss: %s; %d entries, %d keys expired by entries; snapshot %s in %v",
		res.keys, res.rlLoad, res.redisLoad, strings.Join(res.emptyAfter, ", "), strings.Join(res.memory, "; "), strings.Join(res.rss, "; "), strings.Join(res.anon, "; "),
		res.expireEntries, res.expiredKeys, fmtBytes(res.snapBytes), res.snapTook)
	rep.expiry = res
	return nil
}

// expireSide loads the keys through addr with deadlines spread over
// expirySpread after the load's expected end, then watches every process
// until it holds no key with a TTL. loaded, if set, runs once the load and
// the snapshot are done.
func expireSide(ctx context.Context, res *expiryResult, procs []memProc, addr string, loaded func()) (time.Duration, error) {
	base, baseRSS, baseAnon := make([]int64, len(procs)), make([]int64, len(procs)), make([]int64, len(procs))
	var err error
	for i, pr := range procs {
		if base[i], baseRSS[i], err = memoryOf(pr); err != nil {
			return 0, err
		}
		baseAnon[i] = rssAnon(pr.pid())
	}
	// The deadlines must fall after the load, whose length the machine's
	// load decides: measure the rate on a probe (a tenth of the keys, as
	// many clients as the load), and allow three times that (twice was
	// too little: the load slows as the dataset and the heaps grow).
	probe := min(res.keys/10, 100_000)
	began := time.Now()
	if _, err := loadTTLKeys(addr, probe, 0, time.Now().Add(time.Hour).UnixMilli()); err != nil {
		return 0, err
	}
	perKey := time.Since(began) / time.Duration(max(probe, 1))
	anchor := time.Now().Add(3*perKey*time.Duration(res.keys) + 5*time.Second)
	took, err := loadTTLKeys(addr, res.keys, 0, anchor.UnixMilli())
	if err != nil {
		return 0, err
	}
	lastDeadline := anchor.Add(expirySpread)
	if time.Now().After(anchor) {
		logf("the load outlasted the first deadline by %v: keys expired while loading", time.Since(anchor))
	}
	full, peakRSS := make([]int64, len(procs)), make([]int64, len(procs))
	for i, pr := range procs {
		if full[i], peakRSS[i], err = memoryOf(pr); err != nil {
			return 0, err
		}
	}
	if v, took, err := timed(addr, "RAFT", "SNAPSHOT"); err == nil && v.Kind == resp.KindArray && len(v.Array) == 3 {
		res.snapBytes, res.snapTook = v.Array[1].Int, took
	}
	if loaded != nil {
		loaded()
	}
	emptied := make([]time.Time, len(procs))
	for left := len(procs); left > 0; {
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		for i, pr := range procs {
			peakRSS[i] = max(peakRSS[i], vmRSS(pr.pid()))
			if emptied[i].IsZero() && ttlKeysHeld(pr.addr) == 0 {
				emptied[i] = time.Now()
				left--
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	for i, pr := range procs {
		used, rss, err := memoryOf(pr)
		if err != nil {
			return 0, err
		}
		res.emptyAfter = append(res.emptyAfter, fmt.Sprintf("%s %+.2fs", pr.name, emptied[i].Sub(lastDeadline).Seconds()))
		res.memory = append(res.memory, fmt.Sprintf("%s %s -> %s -> %s", pr.name, fmtBytes(base[i]), fmtBytes(full[i]), fmtBytes(used)))
		res.rss = append(res.rss, fmt.Sprintf("%s %s -> %s -> %s", pr.name, fmtBytes(baseRSS[i]), fmtBytes(peakRSS[i]), fmtBytes(rss)))
		anon := rssAnon(pr.pid())
		res.anon = append(res.anon, fmt.Sprintf("%s %s -> %s (%+.0f%%)", pr.name, fmtBytes(baseAnon[i]), fmtBytes(anon), 100*float64(anon-baseAnon[i])/float64(max(baseAnon[i], 1))))
	}
	return took, nil
}

func atoi(s string) int64 { n, _ := strconv.ParseInt(s, 10, 64); return n }

// The load: loadClients connections, each with pipelines of loadBatch
// commands on keys of its own (key i goes to client i/loadBatch mod
// loadClients). raftlist's throughput comes from many proposals in flight
// (a node carries many commands in one entry); one connection with one
// pipeline at a time loaded ~1,200 keys/s on the loaded machine.
const (
	loadClients = 16
	loadBatch   = 256
)

// loadTTLKeys writes n keys with SET k v PXAT, key i's deadline at i/n of
// expirySpread after anchorMs (keys from first on).
func loadTTLKeys(addr string, n, first, anchorMs int64) (time.Duration, error) {
	start := time.Now()
	errs := make(chan error, loadClients)
	for c := int64(0); c < loadClients; c++ {
		go func() {
			cn, err := dial(addr)
			if err != nil {
				errs <- err
				return
			}
			defer cn.close()
			for i := c * loadBatch; i < n; i += loadClients * loadBatch {
				if err := loadTTLBatch(cn, i, min(loadBatch, n-i), n, first, anchorMs); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	var firstErr error
	for range loadClients {
		if err := <-errs; err != nil && firstErr == nil {
			firstErr = err
		}
	}
	return time.Since(start), firstErr
}

// loadTTLBatch sends keys i..i+m-1 in one pipeline, again while a leader
// change refuses them.
func loadTTLBatch(cn *rconn, i, m, n, first, anchorMs int64) error {
	var wire []byte
	for j := i; j < i+m; j++ {
		at := anchorMs + expirySpread.Milliseconds()*j/n
		wire = resp.AppendCommand(wire, []byte("SET"), []byte("bench:ttl:"+strconv.FormatInt(first+j, 10)), []byte(element),
			[]byte("PXAT"), []byte(strconv.FormatInt(at, 10)))
	}
	for try := 0; ; try++ {
		retry, err := sendBatch(cn, wire, m)
		if err != nil || !retry {
			return err
		}
		if try == 20 {
			return fmt.Errorf("SET refused 20 times (no leader)")
		}
		time.Sleep(500 * time.Millisecond) // an election on a loaded machine: send the batch again
	}
}

// sendBatch writes m commands and reads their replies; retry says one was
// refused unapplied or with an unknown outcome (TRYAGAIN, UNCERTAIN),
// which a SET may be sent again for.
func sendBatch(cn *rconn, wire []byte, m int64) (retry bool, err error) {
	if _, err := cn.c.Write(wire); err != nil {
		return false, err
	}
	for j := int64(0); j < m; j++ {
		v, err := cn.readValue()
		if err != nil {
			return false, err
		}
		if v.Kind == resp.KindError {
			if !strings.HasPrefix(string(v.Str), "TRYAGAIN") && !strings.HasPrefix(string(v.Str), "UNCERTAIN") {
				return false, fmt.Errorf("SET answered %s", v.Str)
			}
			retry = true
		}
	}
	return retry, nil
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
	fmt.Fprintf(&b, "%d keys, `SET k v PXAT` with deadlines spread over %v after the load's expected end (loading: raftlist %v through the leader, Redis %v; %d clients, pipelines of %d); Redis, then raftlist, each alone.\n\n",
		r.keys, expirySpread, r.rlLoad.Round(time.Millisecond), r.redisLoad.Round(time.Millisecond), loadClients, loadBatch)
	fmt.Fprintf(&b, "- no key with a TTL left (INFO keyspace `expires=`), relative to the last deadline: %s\n", strings.Join(r.emptyAfter, ", "))
	fmt.Fprintf(&b, "- `used_memory` (raftlist: Go heap in use) before the load -> loaded -> after expiry: %s\n", strings.Join(r.memory, "; "))
	fmt.Fprintf(&b, "- RSS before the load -> peak -> after expiry (after `MEMORY PURGE`): %s\n", strings.Join(r.rss, "; "))
	fmt.Fprintf(&b, "- anonymous RSS (heap and stacks, without mapped files such as the binary and the Raft log's bolt file) before the load -> after expiry: %s\n", strings.Join(r.anon, "; "))
	fmt.Fprintf(&b, "- active expiry: %d log entries (about %s of entry bodies), %d keys deleted by them (the rest by commands that found them expired: none here)\n",
		r.expireEntries, fmtBytes(r.expireLogBytesApprox), r.expiredKeys)
	fmt.Fprintf(&b, "- `RAFT SNAPSHOT` of the loaded keys on the leader: %s in %v\n", fmtBytes(r.snapBytes), r.snapTook.Round(time.Millisecond))
	return b.String()
}
