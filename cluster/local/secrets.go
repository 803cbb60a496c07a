package local

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// The nodes get their password and cluster secret through files in Dir,
// readable only by the owner, never on the command line: command lines are
// visible to every user of the machine (ps) and are copied into each
// node's log by start.

func (c *Cluster) passwordFile() string { return filepath.Join(c.cfg.Dir, "requirepass") }
func (c *Cluster) secretFile() string   { return filepath.Join(c.cfg.Dir, "cluster-secret") }

// writeSecrets writes the files secretArgs names.
func (c *Cluster) writeSecrets() error {
	for _, f := range []struct{ path, value string }{
		{c.passwordFile(), c.cfg.Password},
		{c.secretFile(), c.cfg.ClusterSecret},
	} {
		if f.value == "" {
			continue
		}
		if err := os.WriteFile(f.path, []byte(f.value+"\n"), 0o600); err != nil {
			return fmt.Errorf("local: write %s: %w", f.path, err)
		}
	}
	return nil
}

// secretArgs are the server flags that pass the password and secret.
func (c *Cluster) secretArgs() []string {
	var args []string
	if c.cfg.Password != "" {
		args = append(args, "--requirepass-file", c.passwordFile())
	}
	if c.cfg.ClusterSecret != "" {
		args = append(args, "--cluster-secret-file", c.secretFile())
	}
	return args
}

// ensureClusterSecret gives a cluster with a password or TLS the cluster
// secret its nodes need (a server refuses to join one without it): the one
// in Dir/cluster-secret if an earlier start left it there, so that a
// restarted cluster keeps talking to itself, or a fresh random one. The
// client password is never used: it would give every application node
// rights. A directory from before 2026-12 holds the password there (it
// doubled as the secret); it gets a fresh secret, which every node of the
// cluster, started together, takes at once.
func (c *Cluster) ensureClusterSecret() error {
	if c.cfg.ClusterSecret != "" || (c.cfg.Password == "" && !c.cfg.TLS) {
		return nil
	}
	data, err := os.ReadFile(c.secretFile())
	kept := strings.TrimSpace(string(data))
	switch {
	case err == nil && kept != "" && kept != c.cfg.Password:
		c.cfg.ClusterSecret = kept
		return nil
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("local: read %s: %w", c.secretFile(), err)
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return fmt.Errorf("local: make up a cluster secret: %w", err)
	}
	c.cfg.ClusterSecret = hex.EncodeToString(b)
	return nil
}
