package local

import (
	"os"
	"path/filepath"
	"testing"
)

func TestTheClusterSecretIsMadeUpKeptAndNeverThePassword(t *testing.T) {
	dir := t.TempDir()
	start := func() string {
		t.Helper()
		c := &Cluster{cfg: Config{Dir: dir, Password: "pw"}}
		if err := c.ensureClusterSecret(); err != nil {
			t.Fatal(err)
		}
		if err := c.writeSecrets(); err != nil {
			t.Fatal(err)
		}
		return c.cfg.ClusterSecret
	}
	first := start()
	if first == "" || first == "pw" {
		t.Fatalf("a cluster with a password: exp a made-up secret, got %q", first)
	}
	if again := start(); again != first {
		t.Fatalf("a restart: exp the kept secret %q, got %q", first, again)
	}
	// A directory from when the password doubled as the secret.
	if err := os.WriteFile(filepath.Join(dir, "cluster-secret"), []byte("pw\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if fresh := start(); fresh == "pw" || fresh == first || fresh == "" {
		t.Fatalf("a secret file holding the password: exp a fresh secret, got %q", fresh)
	}
	plain := &Cluster{cfg: Config{Dir: t.TempDir()}}
	if err := plain.ensureClusterSecret(); err != nil || plain.cfg.ClusterSecret != "" {
		t.Fatalf("a cluster with neither password nor TLS: exp no secret, got %q (%v)", plain.cfg.ClusterSecret, err)
	}
}
