package raftnode

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
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
}

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
	// A peer must prove it is a member: an unauthenticated connection to
	// the Raft port could otherwise append entries or vote.
	server.ClientAuth = tls.RequireAndVerifyClientCert
	server.ClientCAs = base.RootCAs
	client := base.Clone()
	if client.MinVersion == 0 {
		client.MinVersion = tls.VersionTLS12
	}
	if server.MinVersion == 0 {
		server.MinVersion = tls.VersionTLS12
	}
	return &transportTLS{server: server, client: client}, nil
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
// read, in raft's per-connection goroutine, so a slow or hostile peer never
// holds up the accept loop; a peer without a valid certificate fails there
// and raft drops the connection.
func (t *transportTLS) accept(conn net.Conn) net.Conn {
	if t == nil {
		return conn
	}
	return tls.Server(conn, t.server)
}
