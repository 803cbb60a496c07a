package raftnode

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
)

// testCA is a throwaway certificate authority held in memory.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
}

var serial int64

func newTestCA(t *testing.T, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial++
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &testCA{cert: cert, key: key, pool: pool}
}

// node issues a certificate for a node reachable at ips, usable both as
// server and as client, as a member's certificate must be.
func (ca *testCA) node(t *testing.T, ips ...string) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial++
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "node"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	for _, ip := range ips {
		tmpl.IPAddresses = append(tmpl.IPAddresses, net.ParseIP(ip))
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func (ca *testCA) config(cert tls.Certificate) *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: ca.pool}
}

// greeting is long enough to fill a TLS record header, so a plain peer's
// bytes reach the handshake's sanity check rather than leaving it waiting.
const greeting = "hello, raft peer\n"

// exchange dials the stream layer with dial, sends greeting and reads it
// back, and reports the errors of each side: the dialling side's handshake, and the
// accepting side's first read (where its handshake runs).
func exchange(t *testing.T, server *streamLayer, dial func(addr string) (net.Conn, error)) (dialErr, acceptErr error) {
	t.Helper()
	accepted := make(chan error, 1)
	go func() {
		conn, err := server.Accept()
		if err != nil {
			accepted <- err
			return
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(5 * time.Second))
		buf := make([]byte, len(greeting))
		if _, err := io.ReadFull(conn, buf); err != nil {
			accepted <- err
			return
		}
		_, err = conn.Write(buf)
		accepted <- err
	}()
	conn, err := dial(server.Addr().String())
	if err == nil {
		conn.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err = conn.Write([]byte(greeting)); err == nil {
			buf := make([]byte, len(greeting))
			_, err = io.ReadFull(conn, buf)
		}
		conn.Close()
	}
	select {
	case acceptErr = <-accepted:
	case <-time.After(10 * time.Second):
		t.Fatalf("the accepting side never finished (dialling side: %v)", err)
	}
	return err, acceptErr
}

func TestRaftStreamLayerMutualTLS(t *testing.T) {
	ca := newTestCA(t, "cluster CA")
	other := newTestCA(t, "some other CA")
	server, err := newStreamLayer("127.0.0.1:0", transportSecurity{TLS: ca.config(ca.node(t, "127.0.0.1"))}, hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()

	layerDial := func(conf *tls.Config) func(string) (net.Conn, error) {
		return func(addr string) (net.Conn, error) {
			l, err := newStreamLayer("127.0.0.1:0", transportSecurity{TLS: conf}, hclog.NewNullLogger())
			if err != nil {
				return nil, err
			}
			defer l.Close()
			return l.Dial(raft.ServerAddress(addr), 5*time.Second)
		}
	}
	tlsDial := func(conf *tls.Config) func(string) (net.Conn, error) {
		return func(addr string) (net.Conn, error) {
			d := &net.Dialer{Timeout: 5 * time.Second}
			conn, err := tls.DialWithDialer(d, "tcp", addr, conf)
			if err != nil {
				return nil, err
			}
			return conn, nil
		}
	}
	tests := []struct {
		name         string
		dial         func(string) (net.Conn, error)
		wantDialErr  string // substring; "" means no error
		wantServeErr string
	}{
		{name: "a member with a certificate of the cluster CA gets through",
			dial: layerDial(ca.config(ca.node(t, "127.0.0.1")))},
		{name: "a peer without a client certificate is refused",
			dial:         tlsDial(&tls.Config{RootCAs: ca.pool, ServerName: "127.0.0.1"}),
			wantDialErr:  "certificate required",
			wantServeErr: "client didn't provide a certificate"},
		{name: "a peer whose certificate another CA signed is refused",
			dial: tlsDial(&tls.Config{ServerName: "127.0.0.1",
				// Go's client sends only a certificate the server's CA list
				// accepts; a hostile peer sends its own anyway.
				GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
					c := other.node(t, "127.0.0.1")
					return &c, nil
				},
				RootCAs: ca.pool}),
			wantServeErr: "certificate signed by unknown authority"},
		{name: "a plain TCP peer is refused",
			dial:         func(addr string) (net.Conn, error) { return net.Dial("tcp", addr) },
			wantServeErr: "first record does not look like a TLS handshake"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dialErr, serveErr := exchange(t, server, tc.dial)
			checkErr(t, "dialling side", dialErr, tc.wantDialErr, tc.wantServeErr != "")
			checkErr(t, "accepting side", serveErr, tc.wantServeErr, false)
		})
	}
}

// TestRaftStreamLayerChecksTheDialledAddress: a certificate the cluster CA
// signed for another machine cannot answer for the member raft dials.
func TestRaftStreamLayerChecksTheDialledAddress(t *testing.T) {
	ca := newTestCA(t, "cluster CA")
	server, err := newStreamLayer("127.0.0.1:0", transportSecurity{TLS: ca.config(ca.node(t, "127.0.0.2"))}, hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	go func() {
		if conn, err := server.Accept(); err == nil {
			io.Copy(io.Discard, conn)
			conn.Close()
		}
	}()
	client, err := newStreamLayer("127.0.0.1:0", transportSecurity{TLS: ca.config(ca.node(t, "127.0.0.1"))}, hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	_, err = client.Dial(raft.ServerAddress(server.Addr().String()), 5*time.Second)
	checkErr(t, "dial", err, "certificate is valid for 127.0.0.2, not 127.0.0.1", false)
}

func TestNodesReplicateOverMutualTLS(t *testing.T) {
	ca := newTestCA(t, "cluster CA")
	start := func(id string, bootstrap bool) *Node {
		n, err := New(Config{
			ID: id, RaftAddr: freeAddr(t), RespAddr: "resp-" + id, DataDir: t.TempDir(), Bootstrap: bootstrap,
			HeartbeatTimeout: 500 * time.Millisecond, ElectionTimeout: 500 * time.Millisecond,
			TLS: ca.config(ca.node(t, "127.0.0.1")), ClusterSecret: "s3cret",
			Logger: hclog.New(&hclog.LoggerOptions{Name: id, Level: hclog.Warn}),
		})
		if err != nil {
			t.Fatalf("start node %s: %v", id, err)
		}
		t.Cleanup(func() { n.Shutdown() })
		return n
	}
	n1 := start("n1", true)
	waitFor(t, "n1 leads", n1.IsLeader)
	n2 := start("n2", false)
	if err := n1.AddNode(context.Background(), "n2", string(n2.transport.LocalAddr()), "resp-n2"); err != nil {
		t.Fatalf("add n2: %v", err)
	}
	if _, err := push(n1, "k", "a"); err != nil {
		t.Fatalf("push: %v", err)
	}
	waitFor(t, "n2 applies the push", func() bool { return llen(t, n2, "k") == 1 })
}

func checkErr(t *testing.T, side string, err error, want string, anyErr bool) {
	t.Helper()
	switch {
	case want == "" && !anyErr && err != nil:
		t.Fatalf("%s: exp no error, got %v", side, err)
	case want == "" && anyErr && err == nil:
		t.Fatalf("%s: exp an error, got none", side)
	case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
		t.Fatalf("%s: exp an error containing %q, got %v", side, want, err)
	}
}

// TestRaftStreamLayerDropsAPeerThatNeverHandshakes: a stranger that opens
// the Raft port and sends nothing is cut off after the handshake timeout.
func TestRaftStreamLayerDropsAPeerThatNeverHandshakes(t *testing.T) {
	ca := newTestCA(t, "cluster CA")
	server, err := newStreamLayer("127.0.0.1:0", transportSecurity{TLS: ca.config(ca.node(t, "127.0.0.1"))}, hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	server.tls.handshakeTimeout = 200 * time.Millisecond
	conn, err := net.Dial("tcp", server.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	accepted, err := server.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer accepted.Close()
	done := make(chan error, 1)
	go func() {
		_, err := accepted.Read(make([]byte, 1))
		done <- err
	}()
	select {
	case err := <-done:
		checkErr(t, "accepting side", err, "raft transport TLS handshake", false)
	case <-time.After(10 * time.Second):
		t.Fatal("the accepting side still waits for a handshake after 10s")
	}
}

// TestRaftStreamLayerRunsTheSecretHandshakeOverTLS: with both a certificate
// and a cluster secret, a member needs both, and the secret handshake runs
// inside the TLS connection, not beside it.
func TestRaftStreamLayerRunsTheSecretHandshakeOverTLS(t *testing.T) {
	ca := newTestCA(t, "cluster CA")
	secure := func(secret string) transportSecurity {
		return transportSecurity{TLS: ca.config(ca.node(t, "127.0.0.1")), Secret: []byte(secret)}
	}
	server, err := newStreamLayer("127.0.0.1:0", secure("s3cret"), hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		for {
			conn, err := server.Accept()
			if err != nil {
				return
			}
			accepted <- conn
		}
	}()
	dial := func(sec transportSecurity) (net.Conn, error) {
		l, err := newStreamLayer("127.0.0.1:0", sec, hclog.NewNullLogger())
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		return l.Dial(raft.ServerAddress(server.Addr().String()), 5*time.Second)
	}

	t.Run("a member with the certificate and the secret gets through, over TLS", func(t *testing.T) {
		conn, err := dial(secure("s3cret"))
		if err != nil {
			t.Fatalf("dial: exp no error, got %v", err)
		}
		defer conn.Close()
		if _, ok := conn.(*tls.Conn); !ok {
			t.Fatalf("dialled connection: exp *tls.Conn, got %T", conn)
		}
		select {
		case c := <-accepted:
			defer c.Close()
			if _, ok := c.(*acceptedConn); !ok {
				t.Fatalf("accepted connection: exp the TLS server side, got %T", c)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the member's connection was never accepted")
		}
	})
	t.Run("a peer with a valid certificate but the wrong secret is refused", func(t *testing.T) {
		_, err := dial(secure("wrong"))
		checkErr(t, "dialling side", err, "raft handshake", false)
		select {
		case c := <-accepted:
			c.Close()
			t.Fatal("the accepting side handed raft a connection with the wrong secret")
		case <-time.After(500 * time.Millisecond):
		}
	})
	t.Run("a peer with the secret but no certificate never reaches the handshake", func(t *testing.T) {
		_, err := dial(transportSecurity{Secret: []byte("s3cret")})
		checkErr(t, "dialling side", err, "", true)
		select {
		case c := <-accepted:
			c.Close()
			t.Fatal("the accepting side handed raft a plain TCP connection")
		case <-time.After(500 * time.Millisecond):
		}
	})
}
