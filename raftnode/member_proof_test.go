package raftnode

import (
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

// client issues a certificate as a CA issues one to an application: EKU
// clientAuth only, no node name. It chains to the cluster CA, so TLS
// alone accepts it.
func (ca *testCA) client(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial++
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "an application"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// certStream is the attacker's raft.StreamLayer: it dials with whatever
// TLS configuration it is given and accepts nothing.
type certStream struct {
	net.Listener
	conf *tls.Config
}

func (s certStream) Dial(addr raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	return tls.DialWithDialer(&net.Dialer{Timeout: timeout}, "tcp", string(addr), s.conf)
}

// forgeAppendEntries sends, with raft's own NetworkTransport as the
// attacker's client, an AppendEntries of term to addr over TLS with conf,
// and returns the error raft's client saw.
func forgeAppendEntries(addr string, conf *tls.Config, term uint64) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	attacker := raft.NewNetworkTransport(certStream{Listener: ln, conf: conf}, 1, 3*time.Second, io.Discard)
	defer attacker.Close()
	req := &raft.AppendEntriesRequest{
		RPCHeader: raft.RPCHeader{ProtocolVersion: raft.ProtocolVersionMax, ID: []byte("intruder"), Addr: []byte(ln.Addr().String())},
		Term:      term,
	}
	var resp raft.AppendEntriesResponse
	return attacker.AppendEntries("victim", raft.ServerAddress(addr), req, &resp)
}

func TestRaftRefusesTLSWithoutAClusterSecret(t *testing.T) {
	ca := newTestCA(t, "cluster CA")
	n, err := New(Config{
		ID: "n1", RaftAddr: freeAddr(t), RespAddr: "resp-n1", DataDir: t.TempDir(), Bootstrap: true,
		TLS:    ca.config(ca.node(t, "127.0.0.1")),
		Logger: hclog.NewNullLogger(),
	})
	if err == nil {
		n.Shutdown()
		t.Fatal("a node with Raft TLS and no cluster secret started: exp an error, got nil")
	}
	if !strings.Contains(err.Error(), "cluster secret") {
		t.Fatalf("exp an error naming the cluster secret, got %v", err)
	}
}

// TestRaftTLSRefusesAClientCertificateOfTheClusterCA: the accepting side
// checks the peer's certificate is a member's (usable as a server), not
// merely signed by the CA, so an application's client certificate never
// reaches raft even where the secret handshake is not in front of it.
func TestRaftTLSRefusesAClientCertificateOfTheClusterCA(t *testing.T) {
	ca := newTestCA(t, "cluster CA")
	stream, err := newStreamLayer("127.0.0.1:0", transportSecurity{TLS: ca.config(ca.node(t, "127.0.0.1"))}, hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	victim := raft.NewNetworkTransport(stream, 1, 3*time.Second, io.Discard)
	defer victim.Close()

	conf := ca.config(ca.client(t))
	conf.ServerName = "127.0.0.1"
	err = forgeAppendEntries(stream.Addr().String(), conf, 1000)
	select {
	case rpc := <-victim.Consumer():
		t.Fatalf("a client certificate's AppendEntries reached raft: %+v", rpc.Command)
	case <-time.After(500 * time.Millisecond):
	}
	if err == nil {
		t.Fatal("the forged AppendEntries: exp an error, got a response")
	}
	// A member's certificate still gets through the same listener.
	member := ca.config(ca.node(t, "127.0.0.1"))
	member.ServerName = "127.0.0.1"
	go forgeAppendEntries(stream.Addr().String(), member, 1)
	select {
	case rpc := <-victim.Consumer():
		rpc.Respond(&raft.AppendEntriesResponse{}, nil)
	case <-time.After(5 * time.Second):
		t.Fatal("a member's AppendEntries never reached raft")
	}
}

// TestAForgedAppendEntriesWithAClientCertificateLeavesTheTermAlone is the
// attack of issue 16 against a whole node as `--tls-cluster yes` runs it:
// a client-only certificate of the cluster's CA, raft's own transport as
// the client, an AppendEntries of term +1000.
func TestAForgedAppendEntriesWithAClientCertificateLeavesTheTermAlone(t *testing.T) {
	ca := newTestCA(t, "cluster CA")
	addr := freeAddr(t)
	n, err := New(Config{
		ID: "n1", RaftAddr: addr, RespAddr: "resp-n1", DataDir: t.TempDir(), Bootstrap: true,
		HeartbeatTimeout: 500 * time.Millisecond, ElectionTimeout: 500 * time.Millisecond,
		TLS: ca.config(ca.node(t, "127.0.0.1")), ClusterSecret: "s3cret",
		Logger: hclog.New(&hclog.LoggerOptions{Name: "n1", Level: hclog.Error}),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Shutdown()
	waitFor(t, "n1 leads", n.IsLeader)
	before := n.raft.CurrentTerm()

	conf := ca.config(ca.client(t))
	conf.ServerName = "127.0.0.1"
	if err := forgeAppendEntries(addr, conf, before+1000); err == nil {
		t.Fatal("the forged AppendEntries: exp an error, got a response")
	}
	time.Sleep(200 * time.Millisecond)
	if after := n.raft.CurrentTerm(); after != before {
		t.Fatalf("term after the forged AppendEntries: exp %d, got %d", before, after)
	}
	if !n.IsLeader() {
		t.Fatal("n1 stepped down after the forged AppendEntries")
	}
}
