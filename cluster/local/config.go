package local

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Config describes a local cluster. Node i (1-based) is named node<i>,
// listens for clients on BasePort+i-1 and for Raft on RaftBasePort+i-1, keeps
// its data in Dir/node<i> and writes its stderr to LogDir/node<i>.log.
type Config struct {
	// Binary is the raftlist executable to run (`Binary server ...`).
	Binary string
	// Nodes is how many nodes Start runs (default 3).
	Nodes int
	// BasePort is node1's client (RESP) port; 0 picks free ports.
	BasePort int
	// RaftBasePort is node1's Raft port (default BasePort+10000, the
	// server's own default).
	RaftBasePort int
	// Host is the address every node listens on (default 127.0.0.1).
	Host string
	// Hosts, when not empty, gives each node its own address instead of
	// Host: node i listens on Hosts[(i-1) % len(Hosts)], so nodes added
	// later take the next ones. A fault test gives each node its own
	// loopback IP (127.0.0.11, .12, ...) so that iptables rules can cut
	// the Raft traffic between two of them.
	Hosts []string
	// Dir holds one data directory per node. If it already holds a node's
	// data, Start brings that cluster back instead of creating a new one.
	Dir string
	// ExtraArgs are passed to every `raftlist server` after the flags this
	// package sets (for example --election-timeout 300ms).
	ExtraArgs []string
	// LogDir receives <id>.log per node (default Dir).
	LogDir string
	// TLS runs the nodes TLS-only (Redis's port 0 with a tls-port): each
	// node serves RESP over TLS on its client address and speaks mutual TLS
	// to the others, with a CA and certificates generated into Dir/tls
	// (tls.go) on first start. Node.Client and Cluster.TLSFiles give the
	// means to connect.
	TLS bool
	// Password, when set, is every node's --requirepass; this package's
	// clients (Node.Client and its own polling) log in with it.
	Password string
	// ClusterSecret is every node's --cluster-secret. Nodes with a
	// Password or TLS need one, and the password is never it: when empty,
	// Start makes one up into Dir/cluster-secret on first start and reads
	// it back on later ones (secrets.go). The package's polling logs in
	// with it, so that it may also run RAFT REMOVENODE.
	ClusterSecret string
	// Progress, when set, is told in a few words what Start is waiting
	// for each time that changes ("waiting for node2 to listen on
	// 127.0.0.1:6380", "waiting for a leader"), for a person watching.
	Progress func(what string)
}

// defaultNodes is the size of a cluster when Config.Nodes is zero.
const defaultNodes = 3

// raftPortOffset is the server's default distance between a node's client
// port and its Raft port.
const raftPortOffset = 10000

// withDefaults fills in defaults and makes the directories absolute, so the
// paths printed and passed to nodes do not depend on anyone's working dir.
func (c Config) withDefaults() (Config, error) {
	if c.Binary == "" {
		return c, errors.New("local: Config.Binary is empty")
	}
	if c.Dir == "" {
		return c, errors.New("local: Config.Dir is empty")
	}
	if c.Nodes == 0 {
		c.Nodes = defaultNodes
	}
	if c.Nodes < 0 {
		return c, fmt.Errorf("local: Config.Nodes is %d", c.Nodes)
	}
	if c.Host == "" {
		c.Host = "127.0.0.1"
	}
	if c.BasePort == 0 {
		p, err := freeBasePort(c.hostsOf(c.Nodes), c.Nodes)
		if err != nil {
			return c, err
		}
		c.BasePort = p
	}
	if c.RaftBasePort == 0 {
		c.RaftBasePort = c.BasePort + raftPortOffset
	}
	if c.LogDir == "" {
		c.LogDir = c.Dir
	}
	var err error
	if c.Dir, err = filepath.Abs(c.Dir); err != nil {
		return c, err
	}
	if c.LogDir, err = filepath.Abs(c.LogDir); err != nil {
		return c, err
	}
	if c.Binary, err = filepath.Abs(c.Binary); err != nil {
		return c, err
	}
	return c, nil
}

// host is the address node i (1-based) listens on.
func (c Config) host(i int) string {
	if len(c.Hosts) > 0 {
		return c.Hosts[(i-1)%len(c.Hosts)]
	}
	return c.Host
}

// hostsOf returns the distinct addresses of nodes 1..n.
func (c Config) hostsOf(n int) []string {
	var out []string
	for i := 1; i <= n; i++ {
		if h := c.host(i); !slices.Contains(out, h) {
			out = append(out, h)
		}
	}
	return out
}

// node describes node i (1-based) of the cluster, not yet started.
func (c Config) node(i int) *Node {
	id := "node" + strconv.Itoa(i)
	return &Node{
		ID:         id,
		ClientAddr: net.JoinHostPort(c.host(i), strconv.Itoa(c.BasePort+i-1)),
		RaftAddr:   net.JoinHostPort(c.host(i), strconv.Itoa(c.RaftBasePort+i-1)),
		DataDir:    filepath.Join(c.Dir, id),
		LogFile:    filepath.Join(c.LogDir, id+".log"),
		binary:     c.Binary,
		password:   c.Password,
		secret:     c.ClusterSecret,
	}
}

// FreeBasePort finds a port p such that p .. p+n-1 and the matching Raft
// ports p+10000 .. p+10000+n-1 can all be bound on host right now. Another
// process may still take one before the nodes bind it; tests that race for
// ports should retry.
func FreeBasePort(host string, n int) (int, error) {
	return freeBasePort([]string{host}, n)
}

// freeBasePort is FreeBasePort with the runs free on every one of hosts.
func freeBasePort(hosts []string, n int) (int, error) {
	for try := 0; try < 200; try++ {
		// Both runs stay below Linux's ephemeral range (32768+), where an
		// outgoing connection could take a port between the check and use.
		base := 10000 + rand.IntN(12000)
		free := true
		for _, host := range hosts {
			free = free && portsFree(host, base, n) && portsFree(host, base+raftPortOffset, n)
		}
		if free {
			return base, nil
		}
	}
	return 0, fmt.Errorf("local: no run of %d free ports found on %s", n, strings.Join(hosts, ", "))
}

func portsFree(host string, base, n int) bool {
	var held []net.Listener
	defer func() {
		for _, l := range held {
			l.Close()
		}
	}()
	for p := base; p < base+n; p++ {
		l, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(p)))
		if err != nil {
			return false
		}
		held = append(held, l)
	}
	return true
}
