package cluster

import (
	"bufio"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
)

// monitorLine quotes as Redis's sdscatrepr and redacts as Redis's
// authCommand and helloCommand (the lines redis-server 7.0.15 printed for
// these commands; tests/monitor_test.go compares whole streams).
func TestMonitorLineQuotesAndRedactsAsRedis(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"rpush", "l", "a\x00b\"c\\\n\r\t\a\b\xff \x7f~"}, `"rpush" "l" "a\x00b\"c\\\n\r\t\a\b\xff \x7f~"`},
		{[]string{"echo", "é"}, `"echo" "\xc3\xa9"`},
		{[]string{"auth", "x"}, `"auth" "(redacted)"`},
		{[]string{"AUTH", "u", "p"}, `"AUTH" "(redacted)" "(redacted)"`},
		{[]string{"auth", "a", "b", "c"}, `"auth" "a" "b" "c"`},
		{[]string{"hello", "3", "auth", "u", "p"}, `"hello" "3" "auth" "(redacted)" "(redacted)"`},
		{[]string{"hello", "4", "auth", "u", "p"}, `"hello" "4" "auth" "u" "p"`},
		{[]string{"hello", "2", "SETNAME", "n", "AUTH", "u", "p"}, `"hello" "2" "SETNAME" "n" "AUTH" "(redacted)" "(redacted)"`},
		{[]string{"hello", "2", "bogus", "AUTH", "u", "p"}, `"hello" "2" "bogus" "AUTH" "u" "p"`},
	} {
		line := string(monitorLine(nil, time.Unix(1700000000, 1500), 3, "127.0.0.1:5", redacted(toArgs(tc.args))))
		want := "+1700000000.000001 [3 127.0.0.1:5] " + tc.want + "\r\n"
		if line != want {
			t.Errorf("%q:\n got %q\nwant %q", tc.args, line, want)
		}
	}
}

// Admin commands and subcommands are hidden, as Redis hides them.
func TestShownToMonitorHidesAdminCommands(t *testing.T) {
	for cmd, want := range map[string]bool{
		"lpush k v": true, "client setname x": true, "client id": true, "ping": true, "eval x 0": true,
		"client list": false, "client kill id 1": false, "config get x": false, "debug digest": false,
		"monitor": false, "nosuch": false,
	} {
		if got := shownToMonitor(toArgs(strings.Fields(cmd))); got != want {
			t.Errorf("%q: exp shown=%v, got %v", cmd, want, got)
		}
	}
}

// Many goroutines feed one monitor while its reader reads and then stops
// reading: the stream is never interleaved mid-line, and once the peer
// stops reading the monitor is closed at the hard limit instead of
// growing (run with -race).
func TestMonitorStreamUnderConcurrentFeedsAndAStalledReader(t *testing.T) {
	s := &Server{log: hclog.NewNullLogger()}
	s.live.init(Config{OutputLimit: OutputBufferLimit{Hard: 8 << 20}})
	here, peer := net.Pipe()
	defer peer.Close()
	m := &monitor{s: s, c: &client{}, conn: here, listening: true, wake: make(chan struct{}, 1)}
	m.drained = sync.NewCond(&m.mu)
	go m.write()
	s.addMonitor(m)
	line := monitorLine(nil, time.Unix(1, 0), 0, "a:1", toArgs([]string{"rpush", "k", strings.Repeat("v", 100)}))
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				for _, mon := range s.monitorList() {
					mon.push(line, true)
				}
			}
		}()
	}
	// Read a while, checking every line is whole, then stop reading.
	rd := bufio.NewReader(peer)
	for i := 0; i < 100; i++ {
		got, err := rd.ReadBytes('\n')
		if err != nil {
			t.Fatalf("line %d: %v", i, err)
		}
		if string(got) != string(line) {
			t.Fatalf("line %d is not a whole line: %q", i, got)
		}
	}
	wg.Wait()
	s.live.outputLimit.Store(&OutputBufferLimit{Hard: 64 << 10}) // CONFIG SET
	for i := 0; i < 2000; i++ {
		m.push(line, true)
	}
	// Closing the socket ends the write in flight, which then lets go of
	// its bytes.
	var closed bool
	var held int
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		m.mu.Lock()
		closed, held = m.closed, len(m.buf)+m.writing
		m.mu.Unlock()
		if closed && held == 0 {
			break
		}
	}
	if !closed || held != 0 {
		t.Fatalf("a monitor that stopped reading: closed=%v, %d bytes held (hard limit 64 KiB)", closed, held)
	}
	if s.outputLimited.Load() != 1 {
		t.Fatalf("exp one output-limit disconnection, got %d", s.outputLimited.Load())
	}
	m.close()
	if len(s.monitorList()) != 0 {
		t.Fatalf("a closed monitor is still fed")
	}
}
