package raftnode

import (
	"crypto/tls"
	"fmt"
	"net"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
)

// transportSecurity is what protects the Raft transport; the zero value is
// plain TCP that believes every peer.
type transportSecurity struct {
	// TLS makes every connection mutual TLS (tls.go).
	TLS *tls.Config
	// Secret must be proven by both ends of every connection
	// (handshake.go).
	Secret []byte
}

// streamLayer is raft's TCP stream layer, except that it dials from the
// node's own --raft IP. The stock layer dials unbound, so every connection
// leaves from 127.0.0.1 whatever the node listens on, and a partition made
// with per-address iptables rules would not cut it.
//
// Layers, bottom up, on both the dialled and the accepted side: TCP, then
// TLS when configured, then the cluster-secret handshake when configured,
// so the handshake's bytes are already encrypted and a peer without a
// valid certificate never reaches it.
type streamLayer struct {
	ln     net.Listener
	dialer net.Dialer
	tls    *transportTLS // nil: plain TCP (tls.go)
	secret []byte
}

func newStreamLayer(bind string, sec transportSecurity, logger hclog.Logger) (*streamLayer, error) {
	tlsSide, err := newTransportTLS(sec.TLS)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", bind)
	if err != nil {
		return nil, fmt.Errorf("listen for raft on %s: %w", bind, err)
	}
	tcp := ln.Addr().(*net.TCPAddr)
	s := &streamLayer{ln: ln, tls: tlsSide, secret: sec.Secret}
	if tlsSide != nil {
		s.ln = &tlsListener{Listener: s.ln, tls: tlsSide}
	}
	if len(sec.Secret) > 0 {
		s.ln = newSecretListener(s.ln, sec.Secret, handshakeTimeout, logger)
	}
	if !tcp.IP.IsUnspecified() {
		s.dialer.LocalAddr = &net.TCPAddr{IP: tcp.IP}
	}
	return s, nil
}

func (s *streamLayer) Dial(addr raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	d := s.dialer
	d.Timeout = timeout
	conn, err := d.Dial("tcp", string(addr))
	if err != nil {
		return nil, err
	}
	if conn, err = s.tls.dial(conn, string(addr), timeout); err != nil {
		return nil, err
	}
	if len(s.secret) == 0 {
		return conn, nil
	}
	if err := handshakeDial(conn, s.secret, handshakeTimeout); err != nil {
		conn.Close()
		return nil, fmt.Errorf("raft handshake with %s: %w", addr, err)
	}
	return conn, nil
}

func (s *streamLayer) Accept() (net.Conn, error) { return s.ln.Accept() }
func (s *streamLayer) Close() error              { return s.ln.Close() }
func (s *streamLayer) Addr() net.Addr            { return s.ln.Addr() }

// tlsListener hands out accepted connections wrapped in the server side of
// the transport's TLS; the handshake itself runs on first use, in whoever
// reads or writes first (raft's connection goroutine, or the secret
// listener's per-connection check), never in the accept loop.
type tlsListener struct {
	net.Listener
	tls *transportTLS
}

func (l *tlsListener) Accept() (net.Conn, error) {
	conn, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return l.tls.accept(conn), nil
}

func newTransport(bind string, sec transportSecurity, logger hclog.Logger) (*raft.NetworkTransport, error) {
	stream, err := newStreamLayer(bind, sec, logger)
	if err != nil {
		return nil, err
	}
	return raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream: stream, MaxPool: 5, Timeout: 10 * time.Second, Logger: logger,
	}), nil
}
