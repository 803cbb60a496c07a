package local

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// TLSFiles is a throwaway public key infrastructure for a local cluster, as
// PEM files in one directory: a CA, a certificate per node and one client
// certificate (named like Redis's own test suite: ca.crt, client.crt, ...).
// It is for trying TLS out and for tests; production clusters bring their
// own certificates.
type TLSFiles struct {
	Dir        string
	CACert     string // ca.crt: what --tls-ca-cert-file and redis-cli --cacert take
	CAKey      string // ca.key
	ClientCert string // client.crt: for redis-cli --cert and other clients
	ClientKey  string // client.key
}

// certValidity is how long the generated certificates last: long enough
// that a cluster made with `cluster up --tls` keeps working for years.
const certValidity = 5 * 365 * 24 * time.Hour

// NodeCert and NodeKey are the files of node id's certificate.
func (f TLSFiles) NodeCert(id string) string { return filepath.Join(f.Dir, id+".crt") }
func (f TLSFiles) NodeKey(id string) string  { return filepath.Join(f.Dir, id+".key") }

// WriteTLSFiles makes dir hold a CA and a client certificate that CA
// signed, keeping the ones already there: a cluster restarted on the same
// directory keeps its CA, so the nodes' certificates stay valid.
func WriteTLSFiles(dir string) (TLSFiles, error) {
	f := TLSFiles{
		Dir:        dir,
		CACert:     filepath.Join(dir, "ca.crt"),
		CAKey:      filepath.Join(dir, "ca.key"),
		ClientCert: filepath.Join(dir, "client.crt"),
		ClientKey:  filepath.Join(dir, "client.key"),
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return f, fmt.Errorf("local: TLS dir: %w", err)
	}
	if !exists(f.CACert) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return f, fmt.Errorf("local: CA key: %w", err)
		}
		tmpl, err := template("raftlist local CA")
		if err != nil {
			return f, err
		}
		tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
		tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			return f, fmt.Errorf("local: create CA certificate: %w", err)
		}
		if err := writePair(f.CACert, f.CAKey, der, key); err != nil {
			return f, err
		}
	}
	if !exists(f.ClientCert) {
		// A client certificate is only that (EKU clientAuth): a node's
		// Raft port refuses it even before the cluster secret is asked.
		if err := f.issue(f.ClientCert, f.ClientKey, "raftlist client", nil, x509.ExtKeyUsageClientAuth); err != nil {
			return f, err
		}
	}
	return f, nil
}

// IssueNodeCert writes id's certificate and key unless they exist. It is
// valid for hosts (IP addresses or DNS names), the addresses clients and
// other nodes dial it by, and usable both as server and as client
// certificate, since a node is the client of its peers.
func (f TLSFiles) IssueNodeCert(id string, hosts ...string) error {
	if exists(f.NodeCert(id)) {
		return nil
	}
	return f.issue(f.NodeCert(id), f.NodeKey(id), id, hosts, x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth)
}

func (f TLSFiles) issue(certFile, keyFile, name string, hosts []string, usages ...x509.ExtKeyUsage) error {
	ca, err := tls.LoadX509KeyPair(f.CACert, f.CAKey)
	if err != nil {
		return fmt.Errorf("local: load CA: %w", err)
	}
	caCert, err := x509.ParseCertificate(ca.Certificate[0])
	if err != nil {
		return fmt.Errorf("local: parse CA: %w", err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("local: key for %s: %w", name, err)
	}
	tmpl, err := template(name)
	if err != nil {
		return err
	}
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	tmpl.ExtKeyUsage = usages
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, ca.PrivateKey)
	if err != nil {
		return fmt.Errorf("local: create certificate for %s: %w", name, err)
	}
	return writePair(certFile, keyFile, der, key)
}

// ClientConfig is a client's TLS configuration for a node at host: it
// trusts the CA and presents the client certificate.
func (f TLSFiles) ClientConfig(host string) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(f.ClientCert, f.ClientKey)
	if err != nil {
		return nil, fmt.Errorf("local: load client certificate: %w", err)
	}
	pemCA, err := os.ReadFile(f.CACert)
	if err != nil {
		return nil, fmt.Errorf("local: read CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemCA) {
		return nil, errors.New("local: no certificate in " + f.CACert)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: pool, ServerName: host, MinVersion: tls.VersionTLS12}, nil
}

func template(name string) (*x509.Certificate, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 126))
	if err != nil {
		return nil, fmt.Errorf("local: serial number: %w", err)
	}
	now := time.Now()
	return &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: name, Organization: []string{"raftlist"}},
		// A little in the past, so a clock a few seconds behind still
		// accepts a certificate made just now.
		NotBefore: now.Add(-time.Hour),
		NotAfter:  now.Add(certValidity),
	}, nil
}

func writePair(certFile, keyFile string, der []byte, key *ecdsa.PrivateKey) error {
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return fmt.Errorf("local: encode key: %w", err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return fmt.Errorf("local: %w", err)
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return fmt.Errorf("local: %w", err)
	}
	return nil
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
