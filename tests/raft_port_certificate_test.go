package tests

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/raftlist/raftlist/cluster/local"
)

// Only members speak Raft: a certificate of the cluster's CA is not enough
// (issue 16, item 1).

// clientOnlyCert is what a CA hands an application: a certificate the
// cluster's CA signed, EKU clientAuth only, no node name. It is returned as
// a TLS client configuration that trusts the cluster's CA.
func clientOnlyCert(t *testing.T, files *local.TLSFiles, host string) *tls.Config {
	t.Helper()
	ca, err := tls.LoadX509KeyPair(files.CACert, files.CAKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, err := x509.ParseCertificate(ca.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "an application"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, ca.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(caCert)
	return &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}},
		RootCAs:      pool, ServerName: host, MinVersion: tls.VersionTLS12,
	}
}

// sendOverTLS writes payload to addr over TLS with conf and reads until the
// node closes the connection or d passes; it returns what it read.
func sendOverTLS(addr string, conf *tls.Config, payload []byte, d time.Duration) ([]byte, error) {
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, conf)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(d))
	if _, err := conn.Write(payload); err != nil {
		return nil, err
	}
	var got []byte
	buf := make([]byte, 4096)
	for {
		n, err := conn.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			return got, err
		}
	}
}

// TestAClientCertificateOfTheClusterCACannotSpeakRaft: an application's
// certificate, signed by the CA of a TLS cluster, sends every node a forged
// AppendEntries with the term +1000 (hashicorp/raft's wire format: the
// rpcAppendEntries byte and a msgpack request). No term moves, the leader
// stays, the cluster keeps serving.
func TestAClientCertificateOfTheClusterCACannotSpeakRaft(t *testing.T) {
	c := mustStartTLSCluster(t, 3)
	leader := mustLeader(t, c)
	host, _, _ := net.SplitHostPort(leader.RaftAddr)
	app := clientOnlyCert(t, c.TLSFiles(), host)
	before := raftTerm(t, leader)
	for _, n := range c.Nodes {
		// TLS 1.3 sends the server's verdict on the client certificate
		// after the client's handshake: it arrives on the first read.
		got, err := sendOverTLS(n.RaftAddr, app, strangerAppendEntries(before+1000), 5*time.Second)
		if len(got) > 0 || err == nil || !strings.Contains(err.Error(), "tls: bad certificate") {
			t.Errorf("%s's Raft port: exp the TLS alert bad certificate and no reply, got %d bytes and %v", n.ID, len(got), err)
		}
	}
	time.Sleep(time.Second)
	for _, n := range c.Nodes {
		if after := raftTerm(t, n); after != before {
			t.Errorf("raft_term on %s after the forged AppendEntries: exp %d (unchanged), got %d", n.ID, before, after)
		}
	}
	if l := mustLeader(t, c); l != leader {
		t.Errorf("leader changed from %s to %s", leader.ID, l.ID)
	}
	host, _, _ = net.SplitHostPort(leader.ClientAddr)
	good, err := c.TLSFiles().ClientConfig(host)
	if err != nil {
		t.Fatal(err)
	}
	mustTLSPush(t, good, leader.ClientAddr, "after-forged-append", "v")
	mustConverge(t, c)
}
