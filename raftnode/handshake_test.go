package raftnode

import (
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
)

// handshakeListener is a secretListener on a free loopback port with a
// short handshake timeout.
func handshakeListener(t *testing.T, secret string, timeout time.Duration) *secretListener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := newSecretListener(ln, []byte(secret), timeout, hclog.NewNullLogger())
	t.Cleanup(func() { l.Close() })
	return l
}

// acceptOne waits up to d for a connection that passed the handshake.
func acceptOne(l *secretListener, d time.Duration) (net.Conn, error) {
	type result struct {
		conn net.Conn
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		c, err := l.Accept()
		ch <- result{c, err}
	}()
	select {
	case r := <-ch:
		return r.conn, r.err
	case <-time.After(d):
		return nil, errors.New("no connection accepted")
	}
}

func TestHandshakeWithTheRightSecretPassesAndTheConnectionCarriesData(t *testing.T) {
	l := handshakeListener(t, "s3cret", 2*time.Second)
	conn, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := handshakeDial(conn, []byte("s3cret"), 2*time.Second); err != nil {
		t.Fatalf("dial handshake: exp nil, got %v", err)
	}
	server, err := acceptOne(l, 2*time.Second)
	if err != nil {
		t.Fatalf("accept: %v", err)
	}
	defer server.Close()
	if _, err := conn.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4)
	server.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := io.ReadFull(server, buf); err != nil || string(buf) != "ping" {
		t.Fatalf("after the handshake: exp %q, got %q (%v)", "ping", buf, err)
	}
}

func TestHandshakeWithAWrongSecretIsRejectedByBothSides(t *testing.T) {
	l := handshakeListener(t, "s3cret", 2*time.Second)
	conn, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := handshakeDial(conn, []byte("wrong"), 2*time.Second); err == nil {
		t.Fatal("dial handshake with a wrong secret: exp an error, got nil")
	}
	if c, err := acceptOne(l, 500*time.Millisecond); err == nil {
		c.Close()
		t.Fatal("the acceptor handed over a connection with a wrong secret")
	}
}

func TestHandshakeRejectsAnAcceptorThatDoesNotKnowTheSecret(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		handshakeAccept(c, []byte("impostor"), 2*time.Second)
	}()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := handshakeDial(conn, []byte("s3cret"), 2*time.Second); err == nil {
		t.Fatal("dialer accepted an acceptor with another secret")
	}
}

func TestHandshakeRejectsAPeerThatSpeaksRaftAtOnce(t *testing.T) {
	l := handshakeListener(t, "s3cret", 2*time.Second)
	conn, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// A node without the secret writes its RPC type byte and a msgpack
	// request right away; 64 bytes of it are read as the proof.
	garbage := make([]byte, 200)
	garbage[0] = 0 // rpcAppendEntries
	conn.Write(garbage)
	if c, err := acceptOne(l, 500*time.Millisecond); err == nil {
		c.Close()
		t.Fatal("the acceptor handed over a connection that sent no proof")
	}
	if err := closedWithin(conn, 2*time.Second); err != nil {
		t.Fatal(err)
	}
}

func TestHandshakeClosesASilentPeerAfterTheTimeout(t *testing.T) {
	l := handshakeListener(t, "s3cret", 300*time.Millisecond)
	conn, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	if err := closedWithin(conn, 3*time.Second); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < 250*time.Millisecond {
		t.Fatalf("silent peer closed after %v, before the 300ms timeout", took)
	}
	// A silent stranger must not stop others from connecting meanwhile.
	good, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer good.Close()
	if err := handshakeDial(good, []byte("s3cret"), 2*time.Second); err != nil {
		t.Fatalf("handshake after a silent peer: %v", err)
	}
}

func TestHandshakeWhileAStrangerIsSilentStillAdmitsAMember(t *testing.T) {
	l := handshakeListener(t, "s3cret", 5*time.Second)
	silent, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	good, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer good.Close()
	if err := handshakeDial(good, []byte("s3cret"), 2*time.Second); err != nil {
		t.Fatalf("handshake beside a silent peer: %v", err)
	}
	c, err := acceptOne(l, 2*time.Second)
	if err != nil {
		t.Fatalf("accept beside a silent peer: %v", err)
	}
	c.Close()
}

// closedWithin waits until the peer closes conn (read gives EOF or reset),
// skipping the handshake challenge it may have sent first.
func closedWithin(conn net.Conn, d time.Duration) error {
	conn.SetReadDeadline(time.Now().Add(d))
	buf := make([]byte, 256)
	for {
		_, err := conn.Read(buf)
		if err == nil {
			continue
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return errors.New("the acceptor did not close the connection")
		}
		return nil
	}
}

// holdSilent keeps n connections from local to addr open and silent until
// stop closes, opening a new one (after a pause) whenever the node closes
// one, as an attacker holding the handshake slots would.
func holdSilent(addr string, local net.IP, n int, stop <-chan struct{}) {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: local}, Timeout: time.Second}
	for i := 0; i < n; i++ {
		go func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				start := time.Now()
				if conn, err := d.Dial("tcp", addr); err == nil {
					go func() { <-stop; conn.Close() }()
					io.Copy(io.Discard, conn) // until the node closes it
					conn.Close()
				}
				// A slot held until it timed out is taken again at once;
				// a refused connection waits a little.
				pause := 100 * time.Millisecond
				if time.Since(start) > time.Second {
					pause = 0
				}
				select {
				case <-stop:
					return
				case <-time.After(pause):
				}
			}
		}()
	}
}

// TestSilentStrangersCannotExhaustTheHandshakeSlots: 100 silent
// connections from one address, kept up, do not stop a member from getting
// in, whether it dials from another address or from the same one.
func TestSilentStrangersCannotExhaustTheHandshakeSlots(t *testing.T) {
	l := handshakeListener(t, "s3cret", 5*time.Second)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	stop := make(chan struct{})
	defer close(stop)
	holdSilent(l.Addr().String(), net.ParseIP("127.0.0.1"), 100, stop)
	time.Sleep(time.Second) // every slot taken, on the old code

	// From another address a member gets in at the first try. From the
	// strangers' own address it competes with them for that address's
	// slots: a stranger reconnecting perIP times within the member's round
	// trip pushes it out (pendingHandshakes), which under load happens, so
	// there it must get in within a few tries, as raft's transport retries
	// a dial — slowed, never locked out.
	for _, c := range []struct {
		from  string
		tries int
	}{{"127.0.0.2", 1}, {"127.0.0.1", 20}} {
		t.Run("a member dialling from "+c.from+" gets in", func(t *testing.T) {
			for i := 0; i < 5; i++ {
				var err error
				for try := 0; try < c.tries; try++ {
					if err = memberHandshake(l.Addr().String(), c.from); err == nil {
						break
					}
				}
				if err != nil {
					t.Fatalf("handshake %d beside 100 silent strangers, %d tries: exp nil, got %v", i+1, c.tries, err)
				}
			}
		})
	}
}

// memberHandshake dials addr from the address from and proves the secret.
func memberHandshake(addr, from string) error {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 2 * time.Second}
	conn, err := d.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	return handshakeDial(conn, []byte("s3cret"), 2*time.Second)
}

// fakeConn is a connection from addr, for pendingHandshakes.
type fakeConn struct {
	net.Conn
	addr string
}

func (c fakeConn) RemoteAddr() net.Addr { return fakeAddr(c.addr) }

type fakeAddr string

func (a fakeAddr) Network() string { return "tcp" }
func (a fakeAddr) String() string  { return string(a) }

func TestPendingHandshakesPushOutTheOldest(t *testing.T) {
	p := newPendingHandshakes(4, 2)
	add := func(addr string) (*pendingConn, string) {
		pc, out := p.add(fakeConn{addr: addr})
		if out == nil {
			return pc, ""
		}
		return pc, out.conn.RemoteAddr().String()
	}
	a1, _ := add("10.0.0.1:1")
	add("10.0.0.1:2")
	if _, out := add("10.0.0.1:3"); out != "10.0.0.1:1" {
		t.Fatalf("a third connection from one address: exp it to push out 10.0.0.1:1, got %q", out)
	}
	if !p.remove(a1) {
		t.Fatal("remove of a pushed-out handshake: exp true")
	}
	b1, _ := add("10.0.0.2:1")
	add("10.0.0.3:1")
	if _, out := add("10.0.0.4:1"); out != "10.0.0.1:2" {
		t.Fatalf("a fifth handshake with four slots: exp the oldest (10.0.0.1:2) pushed out, got %q", out)
	}
	if p.remove(b1) {
		t.Fatal("remove of a handshake still pending: exp false")
	}
	if p.total != 3 {
		t.Fatalf("pending after the removes: exp 3, got %d", p.total)
	}
}
