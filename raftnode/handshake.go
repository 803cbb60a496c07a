package raftnode

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
)

// hashicorp/raft's network transport believes whoever connects: any process
// that reaches a node's Raft port can send AppendEntries with a higher term
// (the leader steps down at once), vote, or install a snapshot. With a
// cluster secret every Raft connection starts with a handshake in which
// both ends prove they know the secret, before raft sees a byte:
//
//	acceptor -> dialer:   magic || nonceA                      (40 bytes)
//	dialer   -> acceptor: nonceD || HMAC(secret, "dialer"   || nonceA || nonceD)
//	acceptor -> dialer:   HMAC(secret, "acceptor" || nonceA || nonceD)
//
// Fresh nonces on both sides make a recorded handshake useless, and the
// direction labels keep one side's proof from being reflected as the
// other's. The secret never crosses the wire. The handshake only
// authenticates: it neither encrypts nor protects later bytes (TLS,
// beneath it, does that). It wraps whatever net.Conn the stream layer
// produced, so TLS can sit under it.

const (
	handshakeMagic = "RLRAFT1\n"
	nonceLen       = 32
	macLen         = sha256.Size
	// handshakeTimeout bounds a whole handshake, so a peer that connects
	// and stays silent cannot hold a connection.
	handshakeTimeout = 5 * time.Second
	// maxPendingHandshakes bounds the connections being checked at once;
	// beyond it new connections are closed unread.
	maxPendingHandshakes = 64

	labelDialer   = "raftlist raft handshake: dialer"
	labelAcceptor = "raftlist raft handshake: acceptor"
)

// errWrongSecret is a peer whose proof does not match our secret.
var errWrongSecret = errors.New("the peer does not know the cluster secret")

func handshakeMAC(secret []byte, label string, nonceA, nonceD []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(label))
	m.Write(nonceA)
	m.Write(nonceD)
	return m.Sum(nil)
}

// handshakeDial runs the dialer's side on a freshly dialled conn.
func handshakeDial(conn net.Conn, secret []byte, timeout time.Duration) error {
	conn.SetDeadline(time.Now().Add(timeout))
	defer conn.SetDeadline(time.Time{})
	hello := make([]byte, len(handshakeMagic)+nonceLen)
	if _, err := io.ReadFull(conn, hello); err != nil {
		return fmt.Errorf("read the challenge (does the peer have a cluster secret?): %w", err)
	}
	if string(hello[:len(handshakeMagic)]) != handshakeMagic {
		return errors.New("the peer's challenge is not a raftlist handshake")
	}
	nonceA := hello[len(handshakeMagic):]
	msg := make([]byte, nonceLen, nonceLen+macLen)
	if _, err := rand.Read(msg); err != nil {
		return fmt.Errorf("nonce: %w", err)
	}
	nonceD := msg[:nonceLen]
	msg = append(msg, handshakeMAC(secret, labelDialer, nonceA, nonceD)...)
	if _, err := conn.Write(msg); err != nil {
		return fmt.Errorf("send proof: %w", err)
	}
	proof := make([]byte, macLen)
	if _, err := io.ReadFull(conn, proof); err != nil {
		return fmt.Errorf("read the peer's proof (it closes the connection on a wrong cluster secret): %w", err)
	}
	if !hmac.Equal(proof, handshakeMAC(secret, labelAcceptor, nonceA, nonceD)) {
		return errWrongSecret
	}
	return nil
}

// handshakeAccept runs the acceptor's side on a freshly accepted conn.
func handshakeAccept(conn net.Conn, secret []byte, timeout time.Duration) error {
	conn.SetDeadline(time.Now().Add(timeout))
	defer conn.SetDeadline(time.Time{})
	hello := make([]byte, len(handshakeMagic)+nonceLen)
	copy(hello, handshakeMagic)
	nonceA := hello[len(handshakeMagic):]
	if _, err := rand.Read(nonceA); err != nil {
		return fmt.Errorf("nonce: %w", err)
	}
	if _, err := conn.Write(hello); err != nil {
		return fmt.Errorf("send challenge: %w", err)
	}
	answer := make([]byte, nonceLen+macLen)
	if _, err := io.ReadFull(conn, answer); err != nil {
		return fmt.Errorf("read proof: %w", err)
	}
	nonceD := answer[:nonceLen]
	if !hmac.Equal(answer[nonceLen:], handshakeMAC(secret, labelDialer, nonceA, nonceD)) {
		return errWrongSecret
	}
	if _, err := conn.Write(handshakeMAC(secret, labelAcceptor, nonceA, nonceD)); err != nil {
		return fmt.Errorf("send proof: %w", err)
	}
	return nil
}

// secretListener hands raft only connections that passed handshakeAccept.
// Handshakes run in their own goroutines, so a slow or silent stranger
// delays no one else's connection.
type secretListener struct {
	net.Listener
	secret  []byte
	timeout time.Duration
	logger  hclog.Logger

	conns     chan net.Conn
	pending   chan struct{} // one token per handshake in progress
	done      chan struct{}
	closeOnce sync.Once
}

func newSecretListener(ln net.Listener, secret []byte, timeout time.Duration, logger hclog.Logger) *secretListener {
	l := &secretListener{
		Listener: ln, secret: secret, timeout: timeout, logger: logger,
		conns: make(chan net.Conn), pending: make(chan struct{}, maxPendingHandshakes), done: make(chan struct{}),
	}
	go l.acceptLoop()
	return l
}

func (l *secretListener) acceptLoop() {
	for {
		conn, err := l.Listener.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			select {
			case <-l.done:
				return
			case <-time.After(50 * time.Millisecond): // e.g. out of file descriptors
			}
			continue
		}
		select {
		case l.pending <- struct{}{}:
		default:
			l.logger.Warn("too many raft handshakes in progress; closing connection", "from", conn.RemoteAddr())
			conn.Close()
			continue
		}
		go l.check(conn)
	}
}

func (l *secretListener) check(conn net.Conn) {
	defer func() { <-l.pending }()
	if err := handshakeAccept(conn, l.secret, l.timeout); err != nil {
		l.logger.Warn("rejected raft connection", "from", conn.RemoteAddr(), "error", err)
		conn.Close()
		return
	}
	select {
	case l.conns <- conn:
	case <-l.done:
		conn.Close()
	}
}

// Accept returns the next connection that passed the handshake.
func (l *secretListener) Accept() (net.Conn, error) {
	select {
	case conn := <-l.conns:
		return conn, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *secretListener) Close() error {
	l.closeOnce.Do(func() { close(l.done) })
	return l.Listener.Close()
}
