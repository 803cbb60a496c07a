package raftnode

import (
	"fmt"
	"net"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
)

// streamLayer is raft's TCP stream layer, except that it dials from the
// node's own --raft IP. The stock layer dials unbound, so every connection
// leaves from 127.0.0.1 whatever the node listens on, and a partition made
// with per-address iptables rules would not cut it.
//
// With a cluster secret, every connection in either direction passes the
// handshake of handshake.go before raft uses it.
type streamLayer struct {
	ln     net.Listener
	dialer net.Dialer
	secret []byte
}

func newStreamLayer(bind string, secret []byte, logger hclog.Logger) (*streamLayer, error) {
	ln, err := net.Listen("tcp", bind)
	if err != nil {
		return nil, fmt.Errorf("listen for raft on %s: %w", bind, err)
	}
	tcp := ln.Addr().(*net.TCPAddr)
	s := &streamLayer{ln: ln, secret: secret}
	if len(secret) > 0 {
		s.ln = newSecretListener(ln, secret, handshakeTimeout, logger)
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
	if err != nil || len(s.secret) == 0 {
		return conn, err
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

func newTransport(bind string, secret []byte, logger hclog.Logger) (*raft.NetworkTransport, error) {
	stream, err := newStreamLayer(bind, secret, logger)
	if err != nil {
		return nil, err
	}
	return raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream: stream, MaxPool: 5, Timeout: 10 * time.Second, Logger: logger,
	}), nil
}
