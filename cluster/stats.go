package cluster

import (
	"crypto/rand"
	"encoding/hex"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/raftlist/raftlist/fsm/resp"
)

// What a node counts about the commands it answers. These counters are the
// one source both INFO (commandstats, errorstats, stats) and the Prometheus
// endpoint (metrics.go) read, so the two can never disagree.
//
// Every command's counters are allocated once, at startup, for every name in
// the command tables; a name a client makes up is counted under "unknown",
// so no input can grow this memory or a metric's label set. Counting a
// command is a few atomic adds and no allocation.

// outcome is what became of one command, read off its reply.
type outcome uint8

const (
	outcomeOK        outcome = iota
	outcomeError             // ran and failed (WRONGTYPE, a script error, ...)
	outcomeRejected          // refused before running: unknown, arity, bad arguments
	outcomeTryAgain          // not applied, safe to retry (TRYAGAIN)
	outcomeUncertain         // may or may not have been applied (UNCERTAIN)
	outcomeMoved             // redirected to the leader (MOVED, --redirect)
	outcomeQueued            // queued inside MULTI; runs at EXEC
	numOutcomes
)

var outcomeNames = [numOutcomes]string{"ok", "error", "rejected", "tryagain", "uncertain", "moved", "queued"}

// durationBuckets are the upper bounds, in seconds, of the latency
// histogram: from a local read (tens of µs) to a blocking command's wait.
var durationBuckets = [...]float64{
	0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
	0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
}

// cmdStats counts one command name.
type cmdStats struct {
	name     string
	outcomes [numOutcomes]atomic.Uint64
	nanos    atomic.Uint64 // total time from arrival to reply
	// buckets[i] counts durations <= durationBuckets[i]; the last one
	// counts the rest (+Inf).
	buckets [len(durationBuckets) + 1]atomic.Uint64
}

// observe counts one command. Only commands that ran are timed: a refused
// or queued command's time says nothing about the command, so the
// histogram's count is exactly commandstats' calls.
func (c *cmdStats) observe(o outcome, d time.Duration) {
	c.outcomes[o].Add(1)
	if o == outcomeRejected || o == outcomeQueued {
		return
	}
	c.nanos.Add(uint64(d))
	c.buckets[sort.SearchFloat64s(durationBuckets[:], d.Seconds())].Add(1)
}

// calls are the commands that ran, as Redis's commandstats counts them;
// failed are those of them that answered an error.
func (c *cmdStats) calls() (calls, failed uint64) {
	for o := range c.outcomes {
		n := c.outcomes[o].Load()
		switch outcome(o) {
		case outcomeRejected, outcomeQueued:
		case outcomeOK:
			calls += n
		default:
			calls += n
			failed += n
		}
	}
	return calls, failed
}

// total is every command counted, whatever its outcome.
func (c *cmdStats) total() uint64 {
	var n uint64
	for i := range c.outcomes {
		n += c.outcomes[i].Load()
	}
	return n
}

// maxErrorCodes bounds errorstats as Redis does (128 distinct codes):
// scripts can return errors with any code. Codes beyond it are counted in
// total_error_replies only.
const maxErrorCodes = 128

// stats is a node's command counters.
type stats struct {
	cmds    map[string]*cmdStats // by lower-case name, fixed after newStats
	sorted  []*cmdStats          // the same, in name order
	unknown *cmdStats

	// forwarded counts commands this node sent to the leader, by outcome.
	forwarded [numOutcomes]atomic.Uint64
	// followerReads counts reads this follower served from its own state
	// after the leader's read index (follower_read.go).
	followerReads atomic.Uint64

	errMu      sync.RWMutex
	errCodes   map[string]*atomic.Uint64
	errReplies atomic.Uint64 // every error reply, tracked code or not

	// rejectedConns counts connections refused at accept (a max-clients
	// limit increments it).
	rejectedConns atomic.Uint64

	ops opsSampler
}

// reset zeroes every counter (CONFIG RESETSTAT). Commands counted while
// it runs may land on either side of it.
func (st *stats) reset() {
	for _, c := range append(st.sorted, st.unknown) {
		for i := range c.outcomes {
			c.outcomes[i].Store(0)
		}
		c.nanos.Store(0)
		for i := range c.buckets {
			c.buckets[i].Store(0)
		}
	}
	for i := range st.forwarded {
		st.forwarded[i].Store(0)
	}
	st.followerReads.Store(0)
	st.errMu.Lock()
	st.errCodes = make(map[string]*atomic.Uint64)
	st.errMu.Unlock()
	st.errReplies.Store(0)
	st.rejectedConns.Store(0)
}

func newStats(names []string) *stats {
	st := &stats{cmds: make(map[string]*cmdStats, len(names)), errCodes: make(map[string]*atomic.Uint64)}
	for _, n := range names {
		if st.cmds[n] == nil {
			c := &cmdStats{name: n}
			st.cmds[n] = c
			st.sorted = append(st.sorted, c)
		}
	}
	sort.Slice(st.sorted, func(i, j int) bool { return st.sorted[i].name < st.sorted[j].name })
	st.unknown = &cmdStats{name: "unknown"}
	return st
}

// commandNames lists every command the node answers, for newStats.
func commandNames() []string {
	var out []string
	for _, sp := range allSpecs() {
		out = append(out, sp.Name)
	}
	return out
}

// newRunID is a random 40-hex-digit name for this process, Redis's run_id.
func newRunID() string {
	var b [20]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// lookup finds name's counters in any case without allocating.
func (st *stats) lookup(name []byte) *cmdStats {
	var buf [maxConnCommandName]byte
	if len(name) > len(buf) {
		return st.unknown
	}
	for i, c := range name {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	if c := st.cmds[string(buf[:len(name)])]; c != nil {
		return c
	}
	return st.unknown
}

// observe counts one command: its name as the client sent it, the reply it
// got, whether it was refused before running, and how long it took.
func (st *stats) observe(name []byte, r resp.Reply, rejected bool, d time.Duration) {
	o, code := replyOutcome(r)
	if rejected && o == outcomeError {
		o = outcomeRejected
	}
	st.lookup(name).observe(o, d)
	if code != "" {
		st.countError(code)
	}
}

// observeForwarded counts the replies of commands this node forwarded.
func (st *stats) observeForwarded(replies ...resp.Reply) {
	for _, r := range replies {
		o, _ := replyOutcome(r)
		st.forwarded[o].Add(1)
	}
}

// countError counts one error reply. code may point into a connection's
// buffer: it is copied before it is kept.
func (st *stats) countError(code string) {
	st.errReplies.Add(1)
	st.errMu.RLock()
	n := st.errCodes[code]
	st.errMu.RUnlock()
	if n == nil {
		st.errMu.Lock()
		if n = st.errCodes[code]; n == nil && len(st.errCodes) < maxErrorCodes {
			n = new(atomic.Uint64)
			st.errCodes[strings.Clone(code)] = n
		}
		st.errMu.Unlock()
	}
	if n != nil {
		n.Add(1)
	}
}

// errorCounts returns errorstats in code order.
func (st *stats) errorCounts() (codes []string, counts []uint64) {
	st.errMu.RLock()
	for c := range st.errCodes {
		codes = append(codes, c)
	}
	sort.Strings(codes)
	for _, c := range codes {
		counts = append(counts, st.errCodes[c].Load())
	}
	st.errMu.RUnlock()
	return codes, counts
}

// commandsProcessed is Redis's total_commands_processed: every command
// counted, queued ones and refused ones included.
func (st *stats) commandsProcessed() uint64 {
	n := st.unknown.total()
	for _, c := range st.sorted {
		n += c.total()
	}
	return n
}

// replyOutcome reads a reply's outcome and, for an error, its code (the
// first word, as Redis's errorstats): from the value, or from the wire form
// of a reply relayed from the leader. The code of a relayed reply points
// into the reply.
func replyOutcome(r resp.Reply) (outcome, string) {
	var text string
	switch v := r.(type) {
	case resp.Error:
		text = string(v)
	case resp.Raw:
		if len(v) < 2 || v[0] != '-' {
			return outcomeOK, ""
		}
		text = unsafe.String(&v[1], len(v)-1)
	case resp.RESP2Wire:
		return replyOutcome(resp.Raw(v)) // a kept outcome: an error is an error in either protocol
	case resp.Status:
		if v == queued {
			return outcomeQueued, ""
		}
		return outcomeOK, ""
	default:
		return outcomeOK, ""
	}
	code := text
	if i := strings.IndexAny(text, " \r\n"); i >= 0 {
		code = text[:i]
	}
	switch code {
	case "TRYAGAIN":
		return outcomeTryAgain, code
	case "UNCERTAIN":
		return outcomeUncertain, code
	case "MOVED":
		return outcomeMoved, code
	}
	return outcomeError, code
}

// opsSampler is Redis's instantaneous_ops_per_sec: the command count is
// sampled every 100 ms and the rate averaged over the last 16 samples.
type opsSampler struct {
	mu      sync.Mutex
	samples [16]float64
	idx     int
	lastN   uint64
	lastAt  time.Time
}

func (o *opsSampler) sample(n uint64, now time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if n < o.lastN {
		o.lastN = 0 // CONFIG RESETSTAT
	}
	if !o.lastAt.IsZero() {
		if dt := now.Sub(o.lastAt).Seconds(); dt > 0 {
			o.samples[o.idx%len(o.samples)] = float64(n-o.lastN) / dt
			o.idx++
		}
	}
	o.lastN, o.lastAt = n, now
}

func (o *opsSampler) perSecond() int64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	var sum float64
	for _, s := range o.samples {
		sum += s
	}
	return int64(sum/float64(len(o.samples)) + 0.5)
}

// sampleOps runs the sampler until the server closes.
func (s *Server) sampleOps() {
	s.every(100*time.Millisecond, func(now time.Time) {
		s.stats.ops.sample(s.stats.commandsProcessed(), now)
	})
}

// every calls f on a ticker of period d until the server closes.
func (s *Server) every(d time.Duration, f func(now time.Time)) {
	tick := time.NewTicker(d)
	defer tick.Stop()
	for {
		select {
		case <-s.done:
			return
		case now := <-tick.C:
			f(now)
		}
	}
}
