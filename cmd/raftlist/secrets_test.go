package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// madeUp in wantCS expects a random secret (checkClusterSecret).
const madeUp = "(made up)"

func TestPasswordFlags(t *testing.T) {
	dir := t.TempDir()
	pwFile := filepath.Join(dir, "pw")
	os.WriteFile(pwFile, []byte("  from-file\n"), 0o600)
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, []byte("\n"), 0o600)
	for _, tc := range []struct {
		name             string
		args             []string
		wantPass, wantCS string
		wantErr          string
	}{
		{name: "no password and no secret by default", args: nil},
		{name: "a password alone gives a made-up cluster secret, never the password", args: []string{"--requirepass", "pw"}, wantPass: "pw", wantCS: madeUp},
		{name: "a password alone cannot join", args: []string{"--requirepass", "pw", "--join", "127.0.0.1:1"}, wantErr: "--join with --requirepass needs a cluster secret, which nodes prove to each other: set --cluster-secret or --cluster-secret-file"},
		{name: "a cluster secret of its own", args: []string{"--requirepass", "pw", "--cluster-secret", "cs"}, wantPass: "pw", wantCS: "cs"},
		{name: "the password as cluster secret is refused", args: []string{"--requirepass", "pw", "--cluster-secret", "pw"}, wantErr: "must not be the --requirepass password"},
		{name: "a secret without a client password", args: []string{"--cluster-secret", "cs"}, wantCS: "cs"},
		{name: "a password file is read and trimmed", args: []string{"--requirepass-file", pwFile}, wantPass: "from-file", wantCS: madeUp},
		{name: "a cluster secret file", args: []string{"--cluster-secret-file", pwFile}, wantCS: "from-file"},
		{name: "value and file exclude each other", args: []string{"--requirepass", "x", "--requirepass-file", pwFile}, wantErr: "exclude each other"},
		{name: "an empty file is refused", args: []string{"--cluster-secret-file", empty}, wantErr: "is empty"},
		{name: "a missing file is refused", args: []string{"--requirepass-file", filepath.Join(dir, "nope")}, wantErr: "no such file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := parseServerFlags(tc.args)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("exp an error containing %q, got %v", tc.wantErr, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.wantCS == madeUp {
				if !f.secretMadeUp || len(f.clusterSecret) != 64 {
					t.Fatalf("exp a made-up 64-hex-digit cluster secret, got %q (made up: %v)", f.clusterSecret, f.secretMadeUp)
				}
				tc.wantCS = f.clusterSecret
			}
			if f.requirePass != tc.wantPass || f.clusterSecret != tc.wantCS {
				t.Fatalf("exp requirepass %q cluster secret %q, got %q %q", tc.wantPass, tc.wantCS, f.requirePass, f.clusterSecret)
			}
		})
	}
}
