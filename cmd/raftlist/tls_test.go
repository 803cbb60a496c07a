package main

import (
	"strings"
	"testing"
)

func TestServerTLSFlags(t *testing.T) {
	const files = "--tls-cert-file c.crt --tls-key-file c.key --tls-ca-cert-file ca.crt"
	tests := []struct {
		name       string
		args       string
		err        string // substring of the expected error; "" for none
		advertised string
		id, raft   string
	}{
		{name: "no TLS flags: plain only, as before",
			args: "--listen 127.0.0.1:7000", advertised: "127.0.0.1:7000", id: "node-7000", raft: "127.0.0.1:17000"},
		{name: "TLS only: ids and the Raft port derive from the TLS port, which peers are told",
			args: `--listen= --tls-listen 127.0.0.1:7100 ` + files, advertised: "127.0.0.1:7100", id: "node-7100", raft: "127.0.0.1:17100"},
		{name: "both doors with tls-cluster yes: peers are told the TLS address",
			args: `--listen 127.0.0.1:7000 --tls-listen 127.0.0.1:7100 ` + files, advertised: "127.0.0.1:7100", id: "node-7000", raft: "127.0.0.1:17000"},
		{name: "both doors with tls-cluster no: peers are told the plain address",
			args: `--listen 127.0.0.1:7000 --tls-listen 127.0.0.1:7100 --tls-cluster no ` + files, advertised: "127.0.0.1:7000", id: "node-7000", raft: "127.0.0.1:17000"},
		{name: "nothing to listen on",
			args: `--listen=`, err: "nothing to serve clients on"},
		{name: "a certificate without a key",
			args: `--tls-listen 127.0.0.1:7100 --tls-cert-file c.crt`, err: "both --tls-cert-file and --tls-key-file"},
		{name: "certificates without a TLS address",
			args: `--tls-cert-file c.crt --tls-key-file c.key --tls-ca-cert-file ca.crt`, err: "needs --tls-listen"},
		{name: "client certificates required but no CA to check them",
			args: `--tls-listen 127.0.0.1:7100 --tls-cert-file c.crt --tls-key-file c.key --tls-cluster no`, err: "--tls-ca-cert-file is needed"},
		{name: "TLS-only node with plain node-to-node traffic",
			args: `--listen= --tls-listen 127.0.0.1:7100 --tls-cluster no ` + files, err: "needs a plain --listen"},
		{name: "a bad tls-auth-clients value",
			args: `--tls-auth-clients maybe`, err: `--tls-auth-clients "maybe"`},
		{name: "a bad tls-cluster value",
			args: `--tls-cluster sometimes`, err: `--tls-cluster "sometimes"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := parseServerFlags(strings.Fields(tc.args))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("exp an error containing %q, got %v", tc.err, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("exp no error, got %v", err)
			}
			if got := f.tls.advertised(f.listen); got != tc.advertised {
				t.Errorf("advertised: exp %q, got %q", tc.advertised, got)
			}
			if f.id != tc.id || f.raftAddr != tc.raft {
				t.Errorf("id, raft: exp %q %q, got %q %q", tc.id, tc.raft, f.id, f.raftAddr)
			}
		})
	}
}
