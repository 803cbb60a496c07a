package local

import (
	"fmt"
	"os"
	"path/filepath"
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
