package main

import (
	"fmt"
	"os"
	"strings"
)

// resolveSecrets turns the password flags into the two secrets the node
// uses: a value given inline or read from a file (not both), and the
// cluster secret defaulting to the client password, so that one password
// protects a cluster.
func (f *serverFlags) resolveSecrets() error {
	var err error
	if f.requirePass, err = secretFromFlags("requirepass", f.requirePass, f.requirePassFile); err != nil {
		return err
	}
	if f.clusterSecret, err = secretFromFlags("cluster-secret", f.clusterSecret, f.clusterSecretFile); err != nil {
		return err
	}
	if f.clusterSecret == "" {
		f.clusterSecret = f.requirePass
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
