package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"math/bits"
	"net"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/raftlist/raftlist/fsm/resp"
)

// The load generator speaks raw RESP over plain sockets: every operation is
// encoded once, a connection writes `pipeline` of them in one write and reads
// their replies, and nothing is parsed beyond finding where a reply ends. It
// shares the machine with the servers it measures, so it must cost little.

// op is one timed operation: one or more commands sent together whose last
// reply completes it (LPUSH; LPUSH + WAIT 2 0; MULTI, 10 x LPUSH, EXEC).
type op struct {
	wire    []byte // the commands, RESP-encoded
	replies int    // how many replies they produce
	// waitLast: the last command is a WAIT for 2 replicas; a reply below 2
	// (its timeout passed first) is counted in result.waitShort.
	waitLast bool
}

func newOp(cmds ...[][]byte) op {
	var o op
	for _, c := range cmds {
		o.wire = resp.AppendCommand(o.wire, c...)
	}
	o.replies = len(cmds)
	return o
}

// words turns "LPUSH k v" into command arguments.
func words(s ...string) [][]byte {
	out := make([][]byte, len(s))
	for i, w := range s {
		out[i] = []byte(w)
	}
	return out
}

// cell is one measured run: one op, at one address, with a number of
// connections each keeping `pipeline` ops in flight.
type cell struct {
	addr     string
	op       op
	clients  int
	pipeline int
	warmup   time.Duration
	measure  time.Duration
	pids     []int         // server processes whose CPU time is measured
	logIndex func() uint64 // raftlist's commit index, to count entries (nil: not raftlist)
}

// result is what a cell measured.
type result struct {
	ops     int64 // ops completed inside the measuring window
	elapsed time.Duration
	errors  int64 // ops whose replies held an error
	nils    int64 // ops whose last reply was nil (a pop from an empty list)
	// waitShort is how many ops' WAIT answered fewer than 2 replicas.
	waitShort int64
	firstErr  string // the first error reply or I/O error seen
	hist      histogram
	// cpu is the servers' CPU time in the window, gen the load generator's.
	cpu, gen time.Duration
	// entries is how many log entries raftlist committed in the window.
	entries uint64
}

// cpuPerOp is the servers' CPU time per op, 0 if unknown.
func (r *result) cpuPerOp() time.Duration {
	if r.ops == 0 {
		return 0
	}
	return r.cpu / time.Duration(r.ops)
}

func (r *result) throughput() float64 {
	if r.elapsed <= 0 {
		return 0
	}
	return float64(r.ops) / r.elapsed.Seconds()
}

// run drives the cell: dial every connection, start them together, count
// only replies that arrive inside [start+warmup, start+warmup+measure).
func (c cell) run() (*result, error) {
	conns := make([]*rconn, c.clients)
	defer func() {
		for _, cn := range conns {
			if cn != nil {
				cn.close()
			}
		}
	}()
	for i := range conns {
		cn, err := dial(c.addr)
		if err != nil {
			return nil, err
		}
		conns[i] = cn
	}
	batch := bytes.Repeat(c.op.wire, c.pipeline)
	begin := time.Now().Add(20 * time.Millisecond)
	from := begin.Add(c.warmup)
	to := from.Add(c.measure)
	parts := make([]result, c.clients)
	var wg sync.WaitGroup
	for i, cn := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cn.drive(&parts[i], batch, c.op, c.pipeline, begin, from, to)
		}()
	}
	var cpu, gen [2]int64
	var index [2]uint64
	wg.Add(1)
	go func() {
		defer wg.Done()
		self := []int{os.Getpid()}
		time.Sleep(time.Until(from))
		cpu[0], gen[0] = cpuTicks(c.pids), cpuTicks(self)
		if c.logIndex != nil {
			index[0] = c.logIndex()
		}
		time.Sleep(time.Until(to))
		cpu[1], gen[1] = cpuTicks(c.pids), cpuTicks(self)
		if c.logIndex != nil {
			index[1] = c.logIndex()
		}
	}()
	wg.Wait()
	total := &result{elapsed: c.measure, cpu: time.Duration(cpu[1]-cpu[0]) * 10 * time.Millisecond,
		gen: time.Duration(gen[1]-gen[0]) * 10 * time.Millisecond}
	if index[1] > index[0] {
		total.entries = index[1] - index[0]
	}
	for i := range parts {
		p := &parts[i]
		total.ops += p.ops
		total.errors += p.errors
		total.nils += p.nils
		total.waitShort += p.waitShort
		if total.firstErr == "" {
			total.firstErr = p.firstErr
		}
		total.hist.merge(&p.hist)
	}
	return total, nil
}

// drive is one connection's loop.
func (cn *rconn) drive(res *result, batch []byte, o op, pipeline int, begin, from, to time.Time) {
	replies := o.replies
	time.Sleep(time.Until(begin))
	for {
		sent := time.Now()
		if !sent.Before(to) {
			return
		}
		cn.c.SetDeadline(to.Add(20 * time.Second))
		if _, err := cn.c.Write(batch); err != nil {
			res.fail(err)
			return
		}
		for i := 0; i < pipeline; i++ {
			var kind byte
			isErr := false
			for j := 0; j < replies; j++ {
				k, err := cn.skipReply()
				if err != nil {
					res.fail(err)
					return
				}
				if k == '-' {
					isErr = true
					if res.firstErr == "" {
						res.firstErr = cn.lastErr
					}
				}
				kind = k
			}
			now := time.Now()
			if now.Before(from) || !now.Before(to) {
				continue
			}
			if o.waitLast && kind == ':' && cn.lastInt < 2 {
				res.waitShort++
			}
			switch {
			case isErr:
				res.errors++
			case kind == 'n':
				res.nils++
				res.ops++
				res.hist.record(now.Sub(sent))
			default:
				res.ops++
				res.hist.record(now.Sub(sent))
			}
		}
	}
}

func (r *result) fail(err error) {
	r.errors++
	if r.firstErr == "" {
		r.firstErr = err.Error()
	}
}

// rconn is a raw RESP connection. A connection is used either for timed
// work (skipReply) or for setup (do), never both: do's reader buffers ahead.
type rconn struct {
	c       net.Conn
	r       *bufio.Reader
	rd      *resp.Reader
	lastErr string
	lastInt int64 // the last integer reply skipReply saw
}

func dial(addr string) (*rconn, error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", addr, err)
	}
	return &rconn{c: c, r: bufio.NewReaderSize(c, 64<<10)}, nil
}

func (cn *rconn) close() { cn.c.Close() }

// skipReply consumes one reply and returns its type byte, or 'n' for a nil
// bulk or nil array. An error reply's text is kept in lastErr.
func (cn *rconn) skipReply() (byte, error) {
	owed := 1
	first := byte(0)
	for owed > 0 {
		owed--
		line, err := cn.r.ReadSlice('\n')
		if err != nil {
			return 0, err
		}
		if len(line) < 3 {
			return 0, errors.New("short reply line")
		}
		kind := line[0]
		body := line[1 : len(line)-2]
		switch kind {
		case '+':
		case ':':
			cn.lastInt, _ = strconv.ParseInt(string(body), 10, 64)
		case '-':
			cn.lastErr = string(body)
		case '$':
			n, err := strconv.Atoi(string(body))
			if err != nil {
				return 0, fmt.Errorf("bad bulk length %q", body)
			}
			if n < 0 {
				kind = 'n'
			} else if _, err := cn.r.Discard(n + 2); err != nil {
				return 0, err
			}
		case '*':
			n, err := strconv.Atoi(string(body))
			if err != nil {
				return 0, fmt.Errorf("bad array length %q", body)
			}
			if n < 0 {
				kind = 'n'
			} else {
				owed += n
			}
		default:
			return 0, fmt.Errorf("unexpected reply type %q", kind)
		}
		if first == 0 {
			first = kind
		}
	}
	return first, nil
}

// do sends one command and returns its reply parsed (for setup and checks,
// not for timed work).
func (cn *rconn) do(timeout time.Duration, args ...[]byte) (resp.Value, error) {
	cn.c.SetDeadline(time.Now().Add(timeout))
	if _, err := cn.c.Write(resp.AppendCommand(nil, args...)); err != nil {
		return resp.Value{}, err
	}
	return cn.readValue()
}

func (cn *rconn) readValue() (resp.Value, error) {
	if cn.rd == nil {
		cn.rd = resp.NewReader(cn.r, 1<<30)
	}
	raw, err := cn.rd.ReadReply()
	if err != nil {
		return resp.Value{}, err
	}
	return resp.ParseReply(raw)
}

// histogram is a log-linear latency histogram: exact below 128 ns, then 64
// buckets per power of two (under 1.6% error), so percentiles of millions
// of samples cost a fixed 16 KiB per connection.
type histogram struct {
	counts [histBuckets]uint64
	n      uint64
	max    time.Duration
}

const (
	histSub     = 6
	histBuckets = 2 << histSub * 32
)

func bucketOf(v uint64) int {
	if v < 2<<histSub {
		return int(v)
	}
	e := bits.Len64(v) - histSub - 1
	return 2<<histSub + (e-1)<<histSub + int(v>>e) - 1<<histSub
}

// bucketValue is the midpoint of bucket i.
func bucketValue(i int) uint64 {
	if i < 2<<histSub {
		return uint64(i)
	}
	i -= 2 << histSub
	e := i>>histSub + 1
	m := uint64(i&(1<<histSub-1) + 1<<histSub)
	return m<<e + (uint64(1)<<e)/2
}

func (h *histogram) record(d time.Duration) {
	if d < 0 {
		d = 0
	}
	i := bucketOf(uint64(d))
	if i >= histBuckets {
		i = histBuckets - 1
	}
	h.counts[i]++
	h.n++
	if d > h.max {
		h.max = d
	}
}

func (h *histogram) merge(o *histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.max = max(h.max, o.max)
}

// quantile returns the value below which a fraction q of samples fall.
func (h *histogram) quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(q*float64(h.n) + 0.5)
	rank = max(1, min(rank, h.n))
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return time.Duration(bucketValue(i))
		}
	}
	return h.max
}
