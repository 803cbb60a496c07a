package cluster

import (
	"bytes"
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/raftlist/raftlist/fsm/resp"
)

// One client's reply must never fail another client's command riding the
// same shared connection to the leader.

// deepAnswer answers "deep-N" after a pause, with an array reply N deep
// (what a Lua script returning a nested table gets), and anything else
// with its first argument.
func deepAnswer(args []string) string {
	if n, ok := strings.CutPrefix(args[0], "deep-"); ok {
		depth, _ := strconv.Atoi(n)
		time.Sleep(200 * time.Millisecond) // the other run is written meanwhile
		return strings.Repeat("*1\r\n", depth) + ":1\r\n"
	}
	return "$" + strconv.Itoa(len(args[0])) + "\r\n" + args[0] + "\r\n"
}

// waitMux polls until cond holds on m's queues.
func waitMux(t *testing.T, m *mux, cond func(queued, sent int) bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		m.mu.Lock()
		ok := cond(len(m.queued), len(m.sent))
		m.mu.Unlock()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the mux never reached the expected state")
		}
		time.Sleep(time.Millisecond)
	}
}

type callResult struct {
	raws [][]byte
	sent bool
	err  error
}

func TestMuxDeeplyNestedReplyDoesNotFailAnotherRunInFlight(t *testing.T) {
	for _, depth := range []int{100, 7990} {
		t.Run(strconv.Itoa(depth)+" deep", func(t *testing.T) {
			leader := startFakeLeader(t)
			leader.mu.Lock()
			leader.answer = deepAnswer
			leader.mu.Unlock()
			f := newForwarder(1<<20, 5*time.Second)
			defer f.close()
			m, err := f.muxFor(context.Background(), leader.ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			deep := make(chan callResult, 1)
			go func() {
				raws, sent, err := m.call(context.Background(), [][][]byte{{[]byte("deep-" + strconv.Itoa(depth))}}, nil)
				deep <- callResult{raws, sent, err}
			}()
			waitMux(t, m, func(_, sent int) bool { return sent == 1 })
			other := make(chan callResult, 1)
			go func() {
				raws, sent, err := m.call(context.Background(), run("other", 1), nil)
				other <- callResult{raws, sent, err}
			}()
			waitMux(t, m, func(queued, sent int) bool { return queued == 0 && sent == 2 })

			o := <-other
			if o.err != nil || len(o.raws) != 1 || string(o.raws[0]) != "$7\r\nother-0\r\n" {
				t.Errorf("other run: exp %q, got %q, %v", "$7\r\nother-0\r\n", o.raws, o.err)
			}
			d := <-deep
			want := strings.Repeat("*1\r\n", depth) + ":1\r\n"
			if d.err != nil || len(d.raws) != 1 || !bytes.Equal(d.raws[0], []byte(want)) {
				t.Errorf("deep run: exp its %d-deep reply byte for byte, got %d replies, %v", depth, len(d.raws), d.err)
			}
			if m.broken() {
				t.Error("exp the shared connection to stay open: the stream is in sync")
			}
		})
	}
}

// A run still queued (not a byte of it written) when its shared
// connection breaks has not reached the leader: it goes on a new
// connection instead of failing.
func TestMuxRunNotYetWrittenWhenTheConnectionBreaksIsSentOnANewOne(t *testing.T) {
	leader := startFakeLeader(t)
	stall := make(chan struct{})
	t.Cleanup(func() { close(stall) })
	leader.mu.Lock()
	leader.stall = stall // the first connection is never read
	leader.mu.Unlock()
	f := newForwarder(64<<20, 5*time.Second)
	defer f.close()
	addr := leader.ln.Addr().String()
	m, err := f.muxFor(context.Background(), addr)
	if err != nil {
		t.Fatal(err)
	}
	// Every slot holds m, so the next run must queue on it.
	f.mu.Lock()
	for len(f.muxes[addr]) < maxMuxPerLeader {
		f.muxes[addr] = append(f.muxes[addr], m)
	}
	f.mu.Unlock()

	// A run too large for the socket buffers keeps the writer busy.
	payload := bytes.Repeat([]byte("x"), 32<<20)
	big := make(chan callResult, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		raws, sent, err := m.call(ctx, [][][]byte{{[]byte("big"), payload}}, nil)
		big <- callResult{raws, sent, err}
	}()
	waitMux(t, m, func(_, sent int) bool { return sent == 1 })
	queued := make(chan callResult, 1)
	go func() {
		raws, sent, err := f.doMany(context.Background(), addr, run("queued", 2), nil)
		queued <- callResult{raws, sent, err}
	}()
	waitMux(t, m, func(queued, _ int) bool { return queued == 1 })

	if b := <-big; b.err == nil || !b.sent {
		t.Errorf("the stuck run: exp an error with sent=true, got sent=%v, %v", b.sent, b.err)
	}
	q := <-queued
	if q.err != nil || len(q.raws) != 2 {
		t.Fatalf("the queued run: exp its 2 replies from a new connection, got %q, sent=%v, %v", q.raws, q.sent, q.err)
	}
	for i, raw := range q.raws {
		if v, _ := resp.ParseReply(raw); string(v.Str) != "queued-"+strconv.Itoa(i) {
			t.Errorf("reply %d: exp %q, got %q", i, "queued-"+strconv.Itoa(i), raw)
		}
	}
}

// hugeAnswer answers "huge" with a bulk string over the test's limits.
func hugeAnswer(args []string) string {
	if args[0] == "huge" {
		return "$100\r\n" + strings.Repeat("h", 100) + "\r\n"
	}
	return deepAnswer(args)
}

// A reply over the relay limits is dropped: its own request gets an error
// saying the command was executed, every other reply on the connection is
// relayed, and the connection stays.
func TestMuxReplyOverTheLimitsFailsOnlyItsOwnRequest(t *testing.T) {
	leader := startFakeLeader(t)
	leader.mu.Lock()
	leader.answer = hugeAnswer
	leader.mu.Unlock()
	f := newForwarder(1<<20, 5*time.Second)
	f.limits = resp.Limits{MaxBulk: 16, MaxLine: 64}
	defer f.close()
	addr := leader.ln.Addr().String()
	m, err := f.muxFor(context.Background(), addr)
	if err != nil {
		t.Fatal(err)
	}
	mixed := make(chan callResult, 1)
	go func() {
		raws, sent, err := m.call(context.Background(), [][][]byte{{[]byte("deep-2")}, {[]byte("huge")}, {[]byte("after")}}, nil)
		mixed <- callResult{raws, sent, err}
	}()
	waitMux(t, m, func(_, sent int) bool { return sent == 1 })
	raws, _, err := m.call(context.Background(), run("other", 2), nil)
	if err != nil || len(raws) != 2 || string(raws[1]) != "$7\r\nother-1\r\n" {
		t.Errorf("other run: exp its 2 replies, got %q, %v", raws, err)
	}
	r := <-mixed
	if r.err != nil || len(r.raws) != 3 {
		t.Fatalf("exp 3 replies, got %q, %v", r.raws, r.err)
	}
	if exp := "*1\r\n*1\r\n:1\r\n"; string(r.raws[0]) != exp {
		t.Errorf("reply 0: exp %q, got %q", exp, r.raws[0])
	}
	if !strings.HasPrefix(string(r.raws[1]), "-ERR the leader's reply is too large to relay (") ||
		!strings.HasSuffix(string(r.raws[1]), "the command was executed\r\n") {
		t.Errorf("reply 1: exp the too-large error, got %q", r.raws[1])
	}
	if exp := "$5\r\nafter\r\n"; string(r.raws[2]) != exp {
		t.Errorf("reply 2: exp %q, got %q", exp, r.raws[2])
	}
	if m.broken() {
		t.Error("exp the shared connection to stay open")
	}
	// A dedicated connection (blocking commands, EXEC) does the same and
	// goes back to the pool.
	raw, sent, err := f.do(context.Background(), addr, [][]byte{[]byte("huge")}, nil)
	if err != nil || !sent || !strings.HasPrefix(string(raw), "-ERR the leader's reply is too large") {
		t.Errorf("do: exp the too-large error, got %q, sent=%v, %v", raw, sent, err)
	}
	if raw, _, err := f.do(context.Background(), addr, [][]byte{[]byte("again")}, nil); err != nil || string(raw) != "$5\r\nagain\r\n" {
		t.Errorf("do after it: exp %q, got %q, %v", "$5\r\nagain\r\n", raw, err)
	}
	f.mu.Lock()
	idle := len(f.idle[addr])
	f.mu.Unlock()
	if idle != 1 {
		t.Errorf("exp the one dedicated connection back in the pool, got %d idle", idle)
	}
}

// A caller giving up on a run not written yet leaves the connection, and
// the runs written on it, alone.
func TestMuxCallerGivingUpBeforeItsRunIsWrittenLeavesTheConnection(t *testing.T) {
	leader := startFakeLeader(t)
	stall := make(chan struct{})
	t.Cleanup(func() { close(stall) })
	leader.mu.Lock()
	leader.stall = stall
	leader.mu.Unlock()
	f := newForwarder(1<<20, 5*time.Second)
	defer f.close()
	m, err := f.muxFor(context.Background(), leader.ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	payload := bytes.Repeat([]byte("x"), 32<<20)
	go m.call(context.Background(), [][][]byte{{[]byte("big"), payload}}, nil)
	waitMux(t, m, func(_, sent int) bool { return sent == 1 })
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, sent, err := m.call(ctx, run("impatient", 1), nil)
	if err == nil || sent {
		t.Fatalf("exp a not-sent error, got sent=%v, %v", sent, err)
	}
	if m.broken() || m.load() != 1 {
		t.Fatalf("exp the connection open with the written run still on it, got broken=%v load=%d", m.broken(), m.load())
	}
}
