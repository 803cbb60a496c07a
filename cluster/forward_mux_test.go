package cluster

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/raftlist/raftlist/fsm/resp"
)

// fakeLeader answers every command with its first argument as a bulk
// string, in order, until told to stop answering.
type fakeLeader struct {
	ln     net.Listener
	mu     sync.Mutex
	silent bool // read but never answer
	hangUp int  // close each connection after this many commands (0: never)
	// answer, when set, gives the raw reply to a command instead.
	answer func(args []string) string
	// stall makes the next connection accepted never be read; closing
	// the channel hangs it up.
	stall chan struct{}
}

func startFakeLeader(t *testing.T) *fakeLeader {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeLeader{ln: ln}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go f.serve(conn)
		}
	}()
	return f
}

func (f *fakeLeader) serve(conn net.Conn) {
	defer conn.Close()
	f.mu.Lock()
	stall := f.stall
	f.stall = nil
	f.mu.Unlock()
	if stall != nil {
		<-stall
		return
	}
	r := bufio.NewReader(conn)
	n := 0
	for {
		// Commands are arrays of bulk strings; read one.
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		count, _ := strconv.Atoi(line[1 : len(line)-2])
		var args []string
		for i := 0; i < count; i++ {
			hdr, err := r.ReadString('\n')
			if err != nil {
				return
			}
			size, _ := strconv.Atoi(hdr[1 : len(hdr)-2])
			buf := make([]byte, size+2)
			if _, err := readFull(r, buf); err != nil {
				return
			}
			args = append(args, string(buf[:size]))
		}
		n++
		f.mu.Lock()
		silent, hangUp, answer := f.silent, f.hangUp, f.answer
		f.mu.Unlock()
		if hangUp > 0 && n > hangUp {
			return
		}
		switch {
		case silent:
		case answer != nil:
			conn.Write([]byte(answer(args)))
		default:
			conn.Write([]byte("$" + strconv.Itoa(len(args[0])) + "\r\n" + args[0] + "\r\n"))
		}
	}
}

func readFull(r *bufio.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := r.Read(buf[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

func run(prefix string, n int) [][][]byte {
	out := make([][][]byte, n)
	for i := range out {
		out[i] = [][]byte{[]byte(prefix + "-" + strconv.Itoa(i)), []byte("x")}
	}
	return out
}

func TestMuxMatchesRepliesToRunsInOrderUnderConcurrency(t *testing.T) {
	leader := startFakeLeader(t)
	f := newForwarder(1<<20, 5*time.Second)
	defer f.close()
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := 0; g < 32; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; k < 20; k++ {
				prefix := fmt.Sprintf("g%d.%d", g, k)
				reqs := run(prefix, 1+(g+k)%7)
				raws, sent, err := f.doMany(context.Background(), leader.ln.Addr().String(), reqs, nil)
				if err != nil || !sent || len(raws) != len(reqs) {
					errs <- fmt.Errorf("%s: %d replies, sent %v, %v", prefix, len(raws), sent, err)
					return
				}
				for i, raw := range raws {
					v, _ := resp.ParseReply(raw)
					if exp := string(reqs[i][0]); string(v.Str) != exp {
						errs <- fmt.Errorf("%s: reply %d: exp %q, got %q", prefix, i, exp, v.Str)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	f.mu.Lock()
	n := len(f.muxes[leader.ln.Addr().String()])
	f.mu.Unlock()
	if n > maxMuxPerLeader {
		t.Errorf("exp at most %d shared connections, got %d", maxMuxPerLeader, n)
	}
}

func TestMuxRunCutOffByTheLeaderReturnsWhatCameBackAndSaysTheRestWasSent(t *testing.T) {
	leader := startFakeLeader(t)
	leader.mu.Lock()
	leader.hangUp = 3
	leader.mu.Unlock()
	f := newForwarder(1<<20, 5*time.Second)
	defer f.close()
	raws, sent, err := f.doMany(context.Background(), leader.ln.Addr().String(), run("a", 5), nil)
	if err == nil || !sent {
		t.Fatalf("exp an error with sent=true, got sent=%v err=%v", sent, err)
	}
	if len(raws) != 3 {
		t.Fatalf("exp the 3 replies read before the hang-up, got %d", len(raws))
	}
	// The broken connection is not reused: the next run gets a new one.
	leader.mu.Lock()
	leader.hangUp = 0
	leader.mu.Unlock()
	raws, _, err = f.doMany(context.Background(), leader.ln.Addr().String(), run("b", 2), nil)
	if err != nil || len(raws) != 2 {
		t.Fatalf("exp a fresh connection to serve the next run, got %d replies, %v", len(raws), err)
	}
}

func TestMuxTimeoutClosesTheSharedConnectionForEveryRunOnIt(t *testing.T) {
	leader := startFakeLeader(t)
	leader.mu.Lock()
	leader.silent = true
	leader.mu.Unlock()
	f := newForwarder(1<<20, 5*time.Second)
	defer f.close()
	addr := leader.ln.Addr().String()
	m, err := f.muxFor(context.Background(), addr)
	if err != nil {
		t.Fatal(err)
	}
	other := make(chan error, 1)
	go func() {
		_, sent, err := m.call(context.Background(), run("waiting", 1), nil)
		if err == nil || !sent {
			err = fmt.Errorf("exp the other run to fail as sent, got sent=%v err=%v", sent, err)
		} else {
			err = nil
		}
		other <- err
	}()
	for m.load() == 0 {
		time.Sleep(time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, _, err := m.call(ctx, run("timed", 1), nil); err == nil {
		t.Fatal("exp a timeout")
	}
	if err := <-other; err != nil {
		t.Fatal(err)
	}
	if !m.broken() {
		t.Fatal("exp the mux to be closed after a timeout")
	}
}

func TestMuxesToAFormerLeaderAreClosedWhenTheLeaderChanges(t *testing.T) {
	old, cur := startFakeLeader(t), startFakeLeader(t)
	f := newForwarder(1<<20, 5*time.Second)
	defer f.close()
	m, err := f.muxFor(context.Background(), old.ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.muxFor(context.Background(), cur.ln.Addr().String()); err != nil {
		t.Fatal(err)
	}
	if !m.broken() {
		t.Fatal("exp the former leader's mux to be closed")
	}
}
