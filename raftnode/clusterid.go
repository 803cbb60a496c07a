package raftnode

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// The cluster id names the cluster a data dir belongs to. It is made up
// when a cluster is founded (--bootstrap, --bootstrap-expect), learned
// from the member a node joins through (INFO raft's raft_cluster_id), and
// kept in DATA/cluster-id. A node whose data dir belongs to one cluster
// must never be admitted to another: the other's leader would overwrite
// its log and mix two histories, and the node still knows its old
// members. The join refuses that before asking for admission
// (cmd/raftlist/join.go). Data dirs from before the id existed have none;
// nothing is checked for them.

const clusterIDFile = "cluster-id"

// ErrOtherCluster: a node asked to join a cluster other than the one its
// data dir belongs to.
var ErrOtherCluster = errors.New("belongs to another cluster")

// ClusterID returns the id of this node's cluster, "" when unknown.
func (n *Node) ClusterID() string {
	id, _ := n.clusterID.Load().(string)
	return id
}

// SetClusterID records the cluster this node belongs to, as learned when
// joining. It refuses to change a known id.
func (n *Node) SetClusterID(id string) error {
	if cur := n.ClusterID(); cur != "" {
		if cur != id {
			return fmt.Errorf("node %s %w: its data dir is cluster %s's, not %s's", n.cfg.ID, ErrOtherCluster, cur, id)
		}
		return nil
	}
	if err := writeFileAtomic(filepath.Join(n.cfg.DataDir, clusterIDFile), []byte(id+"\n")); err != nil {
		return fmt.Errorf("record cluster id: %w", err)
	}
	n.clusterID.Store(id)
	return nil
}

// foundCluster gives a cluster this node founds a new id.
func (n *Node) foundCluster() error {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return err
	}
	return n.SetClusterID(hex.EncodeToString(b))
}

// loadClusterID reads the data dir's cluster id, if it has one.
func (n *Node) loadClusterID() error {
	b, err := os.ReadFile(filepath.Join(n.cfg.DataDir, clusterIDFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read cluster id: %w", err)
	}
	n.clusterID.Store(strings.TrimSpace(string(b)))
	return nil
}

func writeFileAtomic(path string, b []byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
