package tests

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/raftlist/raftlist/cluster/local"
)

// The clients of the Redis #614 scenario (blocked_scripts_test.go) that block,
// and the sampler that reads every node's memory and waiters meanwhile.

// r614Worker blocks with BRPOPLPUSH or BLMOVE from a source list into its
// own list, whose contents it knows exactly (model), and now and then
// removes from that list with plain LREM and LTRIM.
type r614Worker struct {
	run     *r614Run
	name    string
	addr    string
	forever bool // blocks with timeout 0, so the end must push to it
	r       *rand.Rand
	conn    *rawConn
	gen     int
	dest    string
	model   []string
}

func (w *r614Worker) destKey() string { return "r614:p:" + w.name + "." + strconv.Itoa(w.gen) }

func (w *r614Worker) loop(wg *sync.WaitGroup) {
	defer wg.Done()
	defer w.close()
	for !w.run.stopped() {
		w.block()
		if len(w.model) > r614DestMax || (len(w.model) > 0 && w.r.IntN(3) == 0) {
			w.tend()
		}
	}
	w.run.keepDest(w.dest, w.model, false)
}

func (r *r614Run) stopped() bool {
	select {
	case <-r.stop:
		return true
	default:
		return false
	}
}

// errR614NotSent is r614Do's error when it could not connect: the command
// was not sent, so it cannot have been applied.
var errR614NotSent = errors.New("not sent: cannot connect")

// r614Do sends one command on *conn, dialling addr if needed; a transport
// error closes the connection.
func r614Do(conn **rawConn, addr string, args ...string) ([]byte, error) {
	if *conn == nil {
		c, err := dialRaw(addr, r614ConnTimeout)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", errR614NotSent, err)
		}
		*conn = c
	}
	raw, err := (*conn).doStr(args...)
	if err != nil {
		(*conn).Close()
		*conn = nil
	}
	return raw, err
}

func (w *r614Worker) close() {
	if w.conn != nil {
		w.conn.Close()
	}
}

// r614Timeouts are the blocking timeouts of workers and relays that do not
// wait forever: most end through the log (an UNBLOCK entry).
var r614Timeouts = []string{"0.05", "0.1", "0.2", "0.5", "1"}

// block runs one blocking move into the worker's list.
func (w *r614Worker) block() {
	src := r614Q
	if w.r.IntN(4) == 0 {
		src = r614Q2
	}
	timeout := "0"
	if !w.forever {
		timeout = r614Timeouts[w.r.IntN(len(r614Timeouts))]
	}
	args := []string{"BRPOPLPUSH", src, w.dest, timeout}
	toHead := true
	if w.r.IntN(2) == 0 {
		from, to := []string{"LEFT", "RIGHT"}[w.r.IntN(2)], []string{"LEFT", "RIGHT"}[w.r.IntN(2)]
		args = []string{"BLMOVE", src, w.dest, from, to, timeout}
		toHead = to == "LEFT"
	}
	by := w.name + " " + args[0]
	raw, err := r614Do(&w.conn, w.addr, args...)
	if errors.Is(err, errR614NotSent) {
		w.run.ledger.count("connections refused (retried)", 1)
		time.Sleep(50 * time.Millisecond)
		return
	}
	e, outcome := r614BlockingOutcome(raw, err)
	switch outcome {
	case "element":
		w.run.ledger.moved(e, src, w.dest, by)
		w.run.ledger.count("elements served to workers from "+src, 1)
		if toHead {
			w.model = append([]string{e}, w.model...)
		} else {
			w.model = append(w.model, e)
		}
	case "timeout":
		w.run.ledger.count("blocking timeouts", 1)
	case "tryagain":
		w.run.ledger.count("blocking TRYAGAIN (retried)", 1)
		time.Sleep(50 * time.Millisecond)
	case "unknown":
		w.run.ledger.maybeMoved(src, w.dest, "", by)
		w.taint()
	default:
		w.run.ledger.problem("%s %s on %s: %s", by, quoteCommand(bargs(args...)), w.addr, outcome)
		w.taint()
	}
}

// r614BlockingOutcome classifies a blocking move's reply: "element" (e),
// "timeout", "tryagain", "unknown" (-UNCERTAIN or a transport error), or
// a description of a reply that should not happen.
func r614BlockingOutcome(raw []byte, err error) (string, string) {
	switch {
	case err != nil:
		return "", "unknown"
	case string(raw) == "*-1\r\n" || string(raw) == "$-1\r\n":
		return "", "timeout"
	case isErrorPrefix(raw, "TRYAGAIN"):
		return "", "tryagain"
	case isErrorPrefix(raw, "UNCERTAIN"):
		return "", "unknown"
	}
	r, perr := parseRaw(raw)
	if perr != nil || r.kind != '$' || r.null {
		return "", "unexpected reply " + quoteRaw(raw)
	}
	return string(r.str), "element"
}

// tend removes from the worker's own list with a plain LREM of a named
// element or a plain LTRIM whose effect the model predicts, or checks the
// list against the model.
func (w *r614Worker) tend() {
	switch x := w.r.IntN(10); {
	case x < 4 && len(w.model) <= r614DestMax:
		i := w.r.IntN(len(w.model))
		e := w.model[i]
		count := strconv.Itoa([]int{1, -1, 0}[w.r.IntN(3)])
		raw, ok := w.plain("LREM", w.dest, count, e)
		if !ok {
			w.run.ledger.maybeMoved(w.dest, "", e, w.name+" LREM")
			w.taint()
			return
		}
		if string(raw) != ":1\r\n" {
			w.run.ledger.problem("%s LREM %s %s %s: exp :1 (the worker's reply put it there), got %s", w.name, w.dest, count, e, quoteRaw(raw))
			w.taint()
			return
		}
		w.run.ledger.moved(e, w.dest, "", w.name+" LREM")
		w.run.ledger.count("elements removed by workers (LREM)", 1)
		w.model = slices.Delete(w.model, i, i+1)
	case x < 9 || len(w.model) > r614DestMax:
		k := 1 + w.r.IntN(len(w.model))
		args := []string{"LTRIM", w.dest, "0", strconv.Itoa(-k - 1)} // drops k from the tail
		gone := w.model[len(w.model)-k:]
		keep := w.model[:len(w.model)-k]
		if w.r.IntN(2) == 0 {
			args = []string{"LTRIM", w.dest, strconv.Itoa(k), "-1"} // drops k from the head
			gone, keep = w.model[:k], w.model[k:]
		}
		raw, ok := w.plain(args...)
		if !ok {
			w.run.ledger.maybeMoved(w.dest, "", "", w.name+" LTRIM")
			w.taint()
			return
		}
		if string(raw) != "+OK\r\n" {
			w.run.ledger.problem("%s %s: exp +OK, got %s", w.name, quoteCommand(bargs(args...)), quoteRaw(raw))
			w.taint()
			return
		}
		for _, e := range gone {
			w.run.ledger.moved(e, w.dest, "", w.name+" LTRIM")
		}
		w.run.ledger.count("elements removed by workers (LTRIM)", len(gone))
		w.model = slices.Clone(keep)
	default:
		raw, ok := w.plain("LRANGE", w.dest, "0", "-1")
		if !ok {
			return
		}
		r, err := parseRaw(raw)
		if err != nil || r.kind != '*' || !slices.Equal(r.strings(), w.model) {
			w.run.ledger.problem("%s LRANGE %s 0 -1: exp %q (what its replies put there), got %s", w.name, w.dest, w.model, quoteRaw(raw))
			w.taint()
		}
	}
}

// plain runs a command on the worker's own list, retrying -TRYAGAIN; ok is
// false if its outcome is unknown.
func (w *r614Worker) plain(args ...string) ([]byte, bool) {
	for attempt := 0; attempt < 200; attempt++ {
		raw, err := r614Do(&w.conn, w.addr, args...)
		switch {
		case errors.Is(err, errR614NotSent):
			time.Sleep(50 * time.Millisecond)
		case err != nil || isErrorPrefix(raw, "UNCERTAIN"):
			return nil, false
		case isErrorPrefix(raw, "TRYAGAIN"):
			w.run.ledger.count("TRYAGAIN (retried)", 1)
			time.Sleep(50 * time.Millisecond)
		default:
			return raw, true
		}
	}
	w.run.ledger.problem("%s %s: still -TRYAGAIN (or no connection) after 200 tries: 10 s in a run without faults", w.name, quoteCommand(bargs(args...)))
	return nil, false
}

// taint gives up on the worker's list after an operation on it with an
// unknown outcome: the worker goes on with a new list, and the old one is
// left as it is, checked by the ledger alone.
func (w *r614Worker) taint() {
	w.run.keepDest(w.dest, w.model, true)
	w.gen++
	w.dest = w.destKey()
	w.model = nil
	w.close()
	w.conn = nil
}

// keepDest remembers a worker list and what it must hold at the end.
func (r *r614Run) keepDest(key string, model []string, tainted bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.dests[key] = &r614Dest{model: slices.Clone(model), tainted: tainted}
}

// r614Relay blocks with BLMOVE from r614Q to r614Q2, where workers wait
// too: an element pushed by a script can be served to a relay and, in the
// same entry, on to a worker.
type r614Relay struct {
	run  *r614Run
	name string
	addr string
	r    *rand.Rand
	conn *rawConn
}

func (rl *r614Relay) loop(wg *sync.WaitGroup) {
	defer wg.Done()
	defer func() {
		if rl.conn != nil {
			rl.conn.Close()
		}
	}()
	for !rl.run.stopped() {
		from, to := []string{"LEFT", "RIGHT"}[rl.r.IntN(2)], []string{"LEFT", "RIGHT"}[rl.r.IntN(2)]
		args := []string{"BLMOVE", r614Q, r614Q2, from, to, r614Timeouts[rl.r.IntN(len(r614Timeouts))]}
		by := rl.name + " BLMOVE"
		raw, err := r614Do(&rl.conn, rl.addr, args...)
		if errors.Is(err, errR614NotSent) {
			rl.run.ledger.count("connections refused (retried)", 1)
			time.Sleep(50 * time.Millisecond)
			continue
		}
		e, outcome := r614BlockingOutcome(raw, err)
		switch outcome {
		case "element":
			rl.run.ledger.moved(e, r614Q, r614Q2, by)
			rl.run.ledger.count("elements relayed from "+r614Q+" to "+r614Q2, 1)
		case "timeout":
			rl.run.ledger.count("blocking timeouts", 1)
		case "tryagain":
			rl.run.ledger.count("blocking TRYAGAIN (retried)", 1)
			time.Sleep(50 * time.Millisecond)
		case "unknown":
			rl.run.ledger.maybeMoved(r614Q, r614Q2, "", by)
		default:
			rl.run.ledger.problem("%s %s on %s: %s", by, quoteCommand(bargs(args...)), rl.addr, outcome)
		}
	}
}

// ---------------------------------------------------------------------------
// Sampling the nodes.

func (r *r614Run) sampler(stop, done chan struct{}) {
	defer close(done)
	conns := make([]*rawConn, len(r.c.Nodes))
	defer func() {
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
	}()
	for {
		for i, n := range r.c.Nodes {
			if s, ok := r.sample(&conns[i], n); ok {
				r.mu.Lock()
				r.samples = append(r.samples, s)
				r.mu.Unlock()
			}
		}
		select {
		case <-stop:
			return
		case <-time.After(r614SampleEvery):
		}
	}
}

// sample reads one node's memory (after MEMORY PURGE, if it exists),
// waiters and blocked clients.
func (r *r614Run) sample(conn **rawConn, n *local.Node) (r614Sample, bool) {
	s := r614Sample{node: n.ID, iter: r.done.Load()}
	s.running = s.iter < int64(r.iters)
	if r.purge {
		if _, err := r614Do(conn, n.ClientAddr, "memory", "purge"); err != nil {
			return s, false
		}
	}
	raw, err := r614Do(conn, n.ClientAddr, "info", "memory", "raft", "clients")
	if err != nil {
		return s, false
	}
	info, err := parseRaw(raw)
	if err != nil || info.kind != '$' {
		return s, false
	}
	fields := map[string]string{}
	for _, line := range strings.Split(string(info.str), "\r\n") {
		if k, v, ok := strings.Cut(line, ":"); ok {
			fields[k] = v
		}
	}
	s.role = fields["raft_role"]
	s.usedMemory, _ = strconv.ParseInt(fields["used_memory"], 10, 64)
	s.applied, _ = strconv.ParseInt(fields["raft_applied_index"], 10, 64)
	s.waiters, _ = strconv.Atoi(fields["raft_blocked_waiters"])
	s.blocked, _ = strconv.Atoi(fields["blocked_clients"])
	return s, true
}
