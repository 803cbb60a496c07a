package raftnode

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"
)

// transportTLS is the Raft transport's mutual TLS: every connection, dialled
// or accepted, presents this node's certificate and must present one that
// the cluster CA signed. It sits right on top of TCP, beneath anything else
// the stream layer does with a connection, so whatever runs above it (a
// cluster-secret handshake, raft's own RPCs) is already encrypted.
type transportTLS struct {
	server *tls.Config
	client *tls.Config
	// handshakeTimeout bounds an accepted connection's handshake: a
	// stranger that connects and never finishes it is dropped instead of
	// holding a goroutine and a socket for good.
	handshakeTimeout time.Duration
}

// defaultHandshakeTimeout is raft's own dial timeout in this package
// (newTransport), so a member that can dial in time also handshakes in time.
const defaultHandshakeTimeout = 10 * time.Second

// newTransportTLS derives both sides from base, which holds the node's
// certificate (Certificates) and the cluster CA (RootCAs). Nil base means
// plain TCP.
func newTransportTLS(base *tls.Config) (*transportTLS, error) {
	if base == nil {
		return nil, nil
	}
	if len(base.Certificates) == 0 && base.GetCertificate == nil {
		return nil, errors.New("raft transport TLS: no node certificate")
	}
	if base.RootCAs == nil {
		return nil, errors.New("raft transport TLS: no CA to verify peers with")
	}
	server := base.Clone()
	// A peer must present a certificate of the cluster CA, and one that is
	// a member's: the CA may also sign applications' client certificates,
	// and any of those could otherwise append entries or vote. Membership
	// itself is proven by the cluster secret above TLS (New requires one).
	server.ClientAuth = tls.RequireAndVerifyClientCert
	server.ClientCAs = base.RootCAs
	server.VerifyConnection = chainVerify(server.VerifyConnection, requireMemberCertificate)
	client := base.Clone()
	if client.MinVersion == 0 {
		client.MinVersion = tls.VersionTLS12
	}
	if server.MinVersion == 0 {
		server.MinVersion = tls.VersionTLS12
	}
	return &transportTLS{server: server, client: client, handshakeTimeout: defaultHandshakeTimeout}, nil
}

// errNotAMemberCertificate is a peer certificate that the CA signed for a
// client only: a member's certificate must also allow serverAuth, since a
// node is its peers' server (tls.md), so no application's certificate
// passes for a node's.
var errNotAMemberCertificate = errors.New("the peer's certificate is not a member's: it does not allow serverAuth (a client certificate of the cluster CA cannot speak Raft)")

// requireMemberCertificate accepts a verified peer certificate whose
// extended key usage allows serverAuth (or does not restrict it).
func requireMemberCertificate(cs tls.ConnectionState) error {
	if len(cs.PeerCertificates) == 0 {
		return errors.New("the peer presented no certificate")
	}
	leaf := cs.PeerCertificates[0]
	if len(leaf.ExtKeyUsage) == 0 && len(leaf.UnknownExtKeyUsage) == 0 {
		return nil
	}
	for _, u := range leaf.ExtKeyUsage {
		if u == x509.ExtKeyUsageServerAuth || u == x509.ExtKeyUsageAny {
			return nil
		}
	}
	return errNotAMemberCertificate
}

// chainVerify runs first (if any) and then next.
func chainVerify(first, next func(tls.ConnectionState) error) func(tls.ConnectionState) error {
	if first == nil {
		return next
	}
	return func(cs tls.ConnectionState) error {
		if err := first(cs); err != nil {
			return err
		}
		return next(cs)
	}
}

// dial runs the client handshake on conn, a fresh TCP connection to addr,
// within timeout. The peer's certificate must name addr's host (an IP SAN
// for an IP), so a CA-signed certificate of some other machine cannot stand
// in for the member raft meant to reach.
func (t *transportTLS) dial(conn net.Conn, addr string, timeout time.Duration) (net.Conn, error) {
	if t == nil {
		return conn, nil
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("raft transport TLS: peer address %q: %w", addr, err)
	}
	cfg := t.client
	if cfg.ServerName == "" {
		cfg = cfg.Clone()
		cfg.ServerName = host
	}
	tc := tls.Client(conn, cfg)
	ctx := context.Background()
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	if err := tc.HandshakeContext(ctx); err != nil {
		conn.Close()
		return nil, fmt.Errorf("raft transport TLS handshake with %s: %w", addr, err)
	}
	return tc, nil
}

// accept wraps an accepted connection. The handshake runs on the first
// read or write, in raft's per-connection goroutine, so a slow or hostile
// peer never holds up the accept loop; a peer without a valid certificate
// fails there and raft drops the connection.
func (t *transportTLS) accept(conn net.Conn) net.Conn {
	if t == nil {
		return conn
	}
	return &acceptedConn{Conn: tls.Server(conn, t.server), timeout: t.handshakeTimeout}
}

// acceptedConn runs the server handshake once, within timeout, before the
// first read or write. tls.Conn would run it unbounded, and a deadline set
// on the socket instead would outlive the handshake and cut idle pooled
// raft connections later.
type acceptedConn struct {
	*tls.Conn
	timeout time.Duration
	once    sync.Once
	err     error
}

func (c *acceptedConn) handshake() error {
	c.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
		defer cancel()
		if err := c.Conn.HandshakeContext(ctx); err != nil {
			c.err = fmt.Errorf("raft transport TLS handshake with %s: %w", c.RemoteAddr(), err)
		}
	})
	return c.err
}

func (c *acceptedConn) Read(b []byte) (int, error) {
	if err := c.handshake(); err != nil {
		return 0, err
	}
	return c.Conn.Read(b)
}

func (c *acceptedConn) Write(b []byte) (int, error) {
	if err := c.handshake(); err != nil {
		return 0, err
	}
	return c.Conn.Write(b)
}
