package local

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"path/filepath"
	"testing"
)

func TestWriteTLSFilesIssuesCertificatesTheCAVerifiesAndKeepsThemOnRestart(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tls")
	f, err := WriteTLSFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.IssueNodeCert("node1", "127.0.0.2", "db.example"); err != nil {
		t.Fatal(err)
	}
	ca, _ := os.ReadFile(f.CACert)
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca) {
		t.Fatal("no CA certificate in ca.crt")
	}
	verify := func(certFile, keyFile, host string, usage x509.ExtKeyUsage) error {
		pair, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return err
		}
		cert, err := x509.ParseCertificate(pair.Certificate[0])
		if err != nil {
			return err
		}
		_, err = cert.Verify(x509.VerifyOptions{Roots: pool, DNSName: host, KeyUsages: []x509.ExtKeyUsage{usage}})
		return err
	}
	for _, tc := range []struct {
		host  string
		usage x509.ExtKeyUsage
	}{
		{"127.0.0.2", x509.ExtKeyUsageServerAuth},
		{"db.example", x509.ExtKeyUsageServerAuth},
		{"", x509.ExtKeyUsageClientAuth},
	} {
		if err := verify(f.NodeCert("node1"), f.NodeKey("node1"), tc.host, tc.usage); err != nil {
			t.Errorf("node1 for %q (usage %v): exp valid, got %v", tc.host, tc.usage, err)
		}
	}
	if err := verify(f.NodeCert("node1"), f.NodeKey("node1"), "127.0.0.3", x509.ExtKeyUsageServerAuth); err == nil {
		t.Error("node1 for 127.0.0.3: exp invalid, got valid")
	}
	if err := verify(f.ClientCert, f.ClientKey, "", x509.ExtKeyUsageClientAuth); err != nil {
		t.Errorf("client certificate: exp valid, got %v", err)
	}
	if st, _ := os.Stat(f.CAKey); st.Mode().Perm() != 0o600 {
		t.Errorf("ca.key mode: exp 0600, got %o", st.Mode().Perm())
	}

	again, err := WriteTLSFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := again.IssueNodeCert("node1", "127.0.0.9"); err != nil {
		t.Fatal(err)
	}
	ca2, _ := os.ReadFile(again.CACert)
	if string(ca2) != string(ca) {
		t.Fatal("a second WriteTLSFiles replaced the CA: the nodes' certificates would no longer verify")
	}
	if err := verify(again.NodeCert("node1"), again.NodeKey("node1"), "127.0.0.2", x509.ExtKeyUsageServerAuth); err != nil {
		t.Fatalf("node1 after a second run: exp its first certificate kept, got %v", err)
	}
}
