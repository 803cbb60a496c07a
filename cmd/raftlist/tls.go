package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
)

// tlsFlags are the TLS flags of `raftlist server`, named after Redis's
// config keys (tls-port becomes --tls-listen HOST:PORT, as port is --listen).
type tlsFlags struct {
	listen      string // --tls-listen
	certFile    string // --tls-cert-file
	keyFile     string // --tls-key-file
	caFile      string // --tls-ca-cert-file
	authClients string // --tls-auth-clients yes|no|optional
	cluster     string // --tls-cluster yes|no
}

// enabled reports whether any TLS flag asks for TLS.
func (t *tlsFlags) enabled() bool {
	return t.listen != "" || t.certFile != "" || t.keyFile != ""
}

// nodeTLS is the TLS configuration of a node, built from the flags.
type nodeTLS struct {
	// clients is the client-facing listener's configuration.
	clients *tls.Config
	// peers and raft are set when node-to-node traffic is TLS
	// (--tls-cluster yes): peers for forwarding and --join, raft for the
	// Raft transport's mutual TLS.
	peers, raft *tls.Config
}

// check validates the combination of flags; plain is --listen.
func (t *tlsFlags) check(plain string) error {
	switch t.authClients {
	case "yes", "no", "optional":
	default:
		return fmt.Errorf("--tls-auth-clients %q: want yes, no or optional", t.authClients)
	}
	switch t.cluster {
	case "yes", "no":
	default:
		return fmt.Errorf("--tls-cluster %q: want yes or no", t.cluster)
	}
	if !t.enabled() {
		if plain == "" {
			return errors.New("--listen is empty and there is no --tls-listen: nothing to serve clients on")
		}
		return nil
	}
	switch {
	case t.certFile == "" || t.keyFile == "":
		return errors.New("TLS needs both --tls-cert-file and --tls-key-file")
	case t.listen == "":
		return errors.New("--tls-cert-file needs --tls-listen HOST:PORT, the address to serve TLS on")
	case t.caFile == "" && (t.authClients != "no" || t.cluster == "yes"):
		return errors.New("--tls-ca-cert-file is needed to verify client certificates (--tls-auth-clients yes or optional) and other nodes (--tls-cluster yes)")
	case t.cluster == "no" && plain == "":
		return errors.New("--tls-cluster no needs a plain --listen address for node-to-node traffic")
	}
	return nil
}

// load reads the certificate, key and CA files; nil when TLS is off.
func (t *tlsFlags) load() (*nodeTLS, error) {
	if !t.enabled() {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(t.certFile, t.keyFile)
	if err != nil {
		return nil, fmt.Errorf("load TLS certificate %s and key %s: %w", t.certFile, t.keyFile, err)
	}
	var ca *x509.CertPool
	if t.caFile != "" {
		pem, err := os.ReadFile(t.caFile)
		if err != nil {
			return nil, fmt.Errorf("read TLS CA: %w", err)
		}
		ca = x509.NewCertPool()
		if !ca.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("read TLS CA %s: no PEM certificate in it", t.caFile)
		}
	}
	// Redis's default tls-protocols is "TLSv1.2 TLSv1.3".
	base := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	out := &nodeTLS{clients: base.Clone()}
	out.clients.ClientCAs = ca
	switch t.authClients {
	case "yes":
		out.clients.ClientAuth = tls.RequireAndVerifyClientCert
	case "optional":
		out.clients.ClientAuth = tls.VerifyClientCertIfGiven
	}
	if t.cluster == "yes" {
		out.peers = base.Clone()
		out.peers.RootCAs = ca
		out.raft = out.peers.Clone()
	}
	return out, nil
}

// advertised is the client address other members dial and redirects
// name: the TLS one when node-to-node traffic is TLS.
func (t *tlsFlags) advertised(plain string) string {
	if t.enabled() && t.cluster == "yes" {
		return t.listen
	}
	return plain
}
