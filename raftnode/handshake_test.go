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
