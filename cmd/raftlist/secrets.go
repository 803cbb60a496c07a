package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/raftlist/raftlist/raftnode"
)

// resolveSecrets reads the password flags: a value given inline or read
// from a file (not both). The cluster secret is never derived from the
// client password: node rights (membership, forwarding with any owner)
// must need a secret that every application's password does not reveal.
func (f *serverFlags) resolveSecrets() error {
	var err error
	if f.requirePass, err = secretFromFlags("requirepass", f.requirePass, f.requirePassFile); err != nil {
		return err
	}
	if f.clusterSecret, err = secretFromFlags("cluster-secret", f.clusterSecret, f.clusterSecretFile); err != nil {
		return err
	}
	return nil
}

// errNeedClusterSecret says how to give a node the cluster secret it needs.
var errNeedClusterSecret = errors.New("set --cluster-secret or --cluster-secret-file, the same on every node and not the client password")

// needsClusterSecret reports why a node must have a cluster secret, or "".
// With a client password, node rights would otherwise be unguarded or
// guarded by the password; with node-to-node TLS, a certificate of the CA
// proves only that the CA signed it (an application's client certificate
// too), not membership.
func (f *serverFlags) needsClusterSecret() string {
	switch {
	case f.tls.enabled() && f.tls.cluster == "yes":
		return "--tls-cluster yes"
	case f.requirePass != "":
		return "--requirepass"
	}
	return ""
}

// checkClusterSecret runs once the TLS flags are checked. A node that needs
// a cluster secret and was given none may still run alone: it makes up a
// random one that nobody else knows, so its Raft port admits no one and no
// connection gets node rights (its own internal requests have them
// anyway). Joining a cluster that way cannot work, so --join is refused.
func (f *serverFlags) checkClusterSecret() error {
	if f.clusterSecret != "" && f.clusterSecret == f.requirePass {
		return errors.New("--cluster-secret must not be the --requirepass password: every application that knows the password would get node rights (remove members, forge forwarded commands)")
	}
	why := f.needsClusterSecret()
	if f.clusterSecret != "" || why == "" {
		return nil
	}
	if f.join != "" {
		return fmt.Errorf("--join with %s needs a cluster secret, which nodes prove to each other: %w", why, errNeedClusterSecret)
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return fmt.Errorf("make up a cluster secret: %w", err)
	}
	f.clusterSecret, f.secretMadeUp = hex.EncodeToString(b), true
	return nil
}

// checkAlone refuses a node running on a made-up cluster secret
// (checkClusterSecret) whose data dir says it has fellow members: they
// could not talk to it. A cluster set up when --requirepass doubled as the
// cluster secret lands here after an upgrade.
func (f *serverFlags) checkAlone(node *raftnode.Node) error {
	if !f.secretMadeUp {
		return nil
	}
	members, err := node.Members()
	if err != nil {
		return fmt.Errorf("read the cluster configuration: %w", err)
	}
	if len(members) > 1 {
		return fmt.Errorf("this node is one of %d members but has no cluster secret (%s needs one, and --requirepass no longer doubles as it): %w",
			len(members), f.needsClusterSecret(), errNeedClusterSecret)
	}
	return nil
}

// secretFromFlags is --NAME VALUE or --NAME-file PATH, the file's content
// trimmed of surrounding white space (an editor's final newline).
func secretFromFlags(name, value, file string) (string, error) {
	if file == "" {
		return value, nil
	}
	if value != "" {
		return "", fmt.Errorf("--%s and --%s-file exclude each other", name, name)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("--%s-file: %w", name, err)
	}
	secret := strings.TrimSpace(string(data))
	if secret == "" {
		return "", fmt.Errorf("--%s-file %s is empty", name, file)
	}
	return secret, nil
}
