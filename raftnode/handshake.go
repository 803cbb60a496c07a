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
	// maxPendingHandshakes bounds the connections being checked at once,
	// and maxPendingPerIP those from one address (see pendingHandshakes).
	maxPendingHandshakes = 64
	maxPendingPerIP      = 8

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
// delays no one else's connection, and pending bounds how many run.
type secretListener struct {
	net.Listener
	secret  []byte
	timeout time.Duration
	logger  hclog.Logger

	conns     chan net.Conn
	pending   *pendingHandshakes
	done      chan struct{}
	closeOnce sync.Once
}

func newSecretListener(ln net.Listener, secret []byte, timeout time.Duration, logger hclog.Logger) *secretListener {
	l := &secretListener{
		Listener: ln, secret: secret, timeout: timeout, logger: logger,
		conns:   make(chan net.Conn),
		pending: newPendingHandshakes(maxPendingHandshakes, maxPendingPerIP),
		done:    make(chan struct{}),
	}
	go l.acceptLoop()
	return l
}

// pendingHandshakes bounds the handshakes in progress without letting
// strangers lock members out. Refusing newcomers once full, as the first
// version did, let 64 silent connections keep every member out for as
// long as they were renewed. Instead, as OpenSSH bounds unauthenticated
// connections per source (PerSourceMaxStartups) and in total
// (MaxStartups):
//
//   - one address holds at most perIP handshakes; a newer connection from
//     it pushes out that address's oldest, so a stranger's address only
//     ever competes with itself, and each node dials from its own --raft
//     IP;
//   - when all max are taken, a newcomer pushes out the oldest handshake
//     of any address.
//
// A member answers the challenge within a round trip; a silent
// connection is the oldest wherever it sits, so it goes first. To push a
// member's handshake out a stranger must open perIP connections from the
// member's address (or max from many) within that round trip.
type pendingHandshakes struct {
	max, perIP int

	mu    sync.Mutex
	byIP  map[string][]*pendingConn // oldest first
	total int
}

// pendingConn is one accepted connection whose handshake is running.
type pendingConn struct {
	conn    net.Conn
	ip      string
	started time.Time
	// pushedOut is set (under pendingHandshakes.mu) when a newer
	// connection took its place; its conn is then closed.
	pushedOut bool
}

func newPendingHandshakes(max, perIP int) *pendingHandshakes {
	return &pendingHandshakes{max: max, perIP: perIP, byIP: make(map[string][]*pendingConn)}
}

// add registers conn and returns the handshake it pushed out, if any; the
// caller closes that one's connection.
func (p *pendingHandshakes) add(conn net.Conn) (*pendingConn, *pendingConn) {
	pc := &pendingConn{conn: conn, ip: remoteIP(conn), started: time.Now()}
	p.mu.Lock()
	defer p.mu.Unlock()
	var out *pendingConn
	if q := p.byIP[pc.ip]; len(q) >= p.perIP {
		out = q[0]
	} else if p.total >= p.max {
		for _, q := range p.byIP {
			if out == nil || q[0].started.Before(out.started) {
				out = q[0]
			}
		}
	}
	if out != nil {
		out.pushedOut = true
		p.removeLocked(out)
	}
	p.byIP[pc.ip] = append(p.byIP[pc.ip], pc)
	p.total++
	return pc, out
}

// remove ends pc's handshake; it reports whether pc had been pushed out.
func (p *pendingHandshakes) remove(pc *pendingConn) (pushedOut bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if pc.pushedOut {
		return true
	}
	p.removeLocked(pc)
	return false
}

func (p *pendingHandshakes) removeLocked(pc *pendingConn) {
	q := p.byIP[pc.ip]
	for i, x := range q {
		if x == pc {
			q = append(q[:i:i], q[i+1:]...)
			p.total--
			break
		}
	}
	if len(q) == 0 {
		delete(p.byIP, pc.ip)
	} else {
		p.byIP[pc.ip] = q
	}
}

// remoteIP is conn's peer address without the port.
func remoteIP(conn net.Conn) string {
	addr := conn.RemoteAddr().String()
	if host, _, err := net.SplitHostPort(addr); err == nil {
		return host
	}
	return addr
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
		pc, out := l.pending.add(conn)
		if out != nil {
			// Debug: a stranger renewing silent connections would
			// otherwise fill the log.
			l.logger.Debug("raft handshake pushed out by a newer connection", "from", out.conn.RemoteAddr(), "waited", time.Since(out.started))
			out.conn.Close()
		}
		go l.check(pc)
	}
}

func (l *secretListener) check(pc *pendingConn) {
	conn := pc.conn
	err := handshakeAccept(conn, l.secret, l.timeout)
	if pushedOut := l.pending.remove(pc); pushedOut {
		conn.Close()
		return
	}
	if err != nil {
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
