package cluster

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"time"

	"github.com/raftlist/raftlist/third_party/redcon"
)

// A node serves RESP on up to two listeners, as Redis does with port and
// tls-port: Config.ListenAddr speaks plain TCP, Config.TLSListenAddr speaks
// TLS. Both lead to the same handlers; a connection's commands behave the
// same whichever door it came through.
type door struct {
	srv  *redcon.Server
	addr string
	tls  *tls.Config // nil: plain TCP
}

// newDoors builds a redcon server per configured listener, each with the
// same limits.
func (s *Server) newDoors() []door {
	var doors []door
	add := func(addr string, conf *tls.Config) {
		srv := redcon.NewServerNetwork("tcp", addr, s.handle, s.accept, s.closed)
		srv.SetLimits(redcon.Limits{MaxBulkLen: s.cfg.MaxBulkLen})
		doors = append(doors, door{srv: srv, addr: addr, tls: conf})
	}
	if s.cfg.ListenAddr != "" {
		add(s.cfg.ListenAddr, nil)
	}
	if s.cfg.TLSListenAddr != "" {
		add(s.cfg.TLSListenAddr, s.cfg.TLS)
	}
	return doors
}

// listen opens every door's listener, or none: a node that cannot take
// one of its ports fails to start rather than serve half its doors.
func (s *Server) listen() ([]net.Listener, error) {
	var lns []net.Listener
	for _, d := range s.doors {
		ln, err := net.Listen("tcp", d.addr)
		if err != nil {
			for _, l := range lns {
				l.Close()
			}
			return nil, fmt.Errorf("listen on %s: %w", d.addr, err)
		}
		ln = s.arrivals.listener(ln)
		if d.tls != nil {
			// The handshake runs on the connection's first read, in its own
			// goroutine, so a client that never finishes it holds up no one.
			ln = tls.NewListener(ln, d.tls)
		}
		lns = append(lns, ln)
	}
	return lns, nil
}

// serveDoors serves every listener until Close and returns the first error.
func (s *Server) serveDoors(lns []net.Listener) error {
	errs := make(chan error, len(lns))
	for i, ln := range lns {
		go func() { errs <- s.doors[i].srv.Serve(ln) }()
	}
	var first error
	for range lns {
		if err := <-errs; err != nil && first == nil {
			first = err
			s.Close()
		}
	}
	return first
}

// TLSAddr returns the address the TLS listener is bound to, or nil.
func (s *Server) TLSAddr() net.Addr {
	for _, d := range s.doors {
		if d.tls != nil {
			return d.srv.Addr()
		}
	}
	return nil
}

// dialPeer connects to another member's client address: over TLS when
// conf is set (the cluster speaks TLS between nodes), verifying the peer's
// certificate against the cluster CA and the dialled host, and presenting
// this node's certificate as a client certificate; plain TCP otherwise.
func dialPeer(ctx context.Context, conf *tls.Config, addr string) (net.Conn, error) {
	if conf == nil {
		var d net.Dialer
		return d.DialContext(ctx, "tcp", addr)
	}
	if conf.ServerName == "" {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, fmt.Errorf("peer address %q: %w", addr, err)
		}
		conf = conf.Clone()
		conf.ServerName = host
	}
	d := tls.Dialer{Config: conf}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("TLS: %w", err)
	}
	return conn, nil
}

// dialNode opens a connection to another node's client address as a
// member: over TLS when conf is set (dialPeer), then logged in as
// ClusterUser when secret is set (authUpstream), so the AUTH and the
// secret in it travel encrypted.
func dialNode(ctx context.Context, conf *tls.Config, secret, addr string, timeout time.Duration) (net.Conn, error) {
	conn, err := dialPeer(ctx, conf, addr)
	if err != nil {
		return nil, err
	}
	if err := authUpstream(ctx, conn, secret, timeout); err != nil {
		conn.Close()
		return nil, err
	}
	return conn, nil
}

// rawConn is the TCP connection beneath conn: a TLS connection's socket is
// its NetConn's, and what poll(2) asks about (the peer's FIN or RST, bytes
// waiting) is a property of that socket.
func rawConn(conn net.Conn) net.Conn {
	if tc, ok := conn.(*tls.Conn); ok {
		return tc.NetConn()
	}
	return conn
}
