package redcon

import (
	"bytes"
	"errors"
	"net"
	"os"
	"testing"
	"time"
)

// TestFlushWithinGivesUpOnAPeerThatDoesNotRead: the handler queues far
// more than the socket buffers hold for a client that never reads; a
// plain Flush would block for ever, FlushWithin returns the deadline.
func TestFlushWithinGivesUpOnAPeerThatDoesNotRead(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	type result struct {
		queued int
		err    error
	}
	results := make(chan result, 1)
	big := bytes.Repeat([]byte("x"), 64<<20)
	s := NewServer("", func(conn Conn, cmd Command) {
		conn.WriteRaw(big)
		queued := conn.OutputLen()
		results <- result{queued, conn.FlushWithin(200 * time.Millisecond)}
	}, nil, nil)
	go s.Serve(ln)

	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("PING\r\n"))
	select {
	case r := <-results:
		if r.queued != len(big) {
			t.Fatalf("OutputLen: exp %d, got %d", len(big), r.queued)
		}
		if !errors.Is(r.err, os.ErrDeadlineExceeded) {
			t.Fatalf("exp the write deadline, got %v", r.err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("FlushWithin did not return: it blocked on a peer that does not read")
	}
}
