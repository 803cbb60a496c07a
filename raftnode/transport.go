package raftnode

import (
	"crypto/tls"
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
type streamLayer struct {
	ln     net.Listener
	dialer net.Dialer
	tls    *transportTLS // nil: plain TCP (tls.go)
}

func newStreamLayer(bind string, tlsConf *tls.Config) (*streamLayer, error) {
	sec, err := newTransportTLS(tlsConf)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", bind)
	if err != nil {
		return nil, fmt.Errorf("listen for raft on %s: %w", bind, err)
	}
	tcp := ln.Addr().(*net.TCPAddr)
	s := &streamLayer{ln: ln, tls: sec}
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
	return s.tls.dial(conn, string(addr), timeout)
}

func (s *streamLayer) Accept() (net.Conn, error) {
	conn, err := s.ln.Accept()
	if err != nil {
		return nil, err
	}
	return s.tls.accept(conn), nil
}

func (s *streamLayer) Close() error   { return s.ln.Close() }
func (s *streamLayer) Addr() net.Addr { return s.ln.Addr() }

func newTransport(bind string, tlsConf *tls.Config, logger hclog.Logger) (*raft.NetworkTransport, error) {
	stream, err := newStreamLayer(bind, tlsConf)
	if err != nil {
		return nil, err
	}
	return raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream: stream, MaxPool: 5, Timeout: 10 * time.Second, Logger: logger,
	}), nil
}
