package tests

import (
	"bytes"
	"strconv"
	"testing"
	"time"
)

// maxclients and timeout spare only connections that prove the cluster
// secret (issue 16, item 3).

// TestARaftCommandIsNoProofOfANode: on a node without a cluster secret,
// a stranger whose first command is RAFT NODES used to pass for another
// node and escape maxclients and timeout. Nothing proves a node there, so
// it is a client like any other.
func TestARaftCommandIsNoProofOfANode(t *testing.T) {
	t.Run("over maxclients it gets Redis's refusal", func(t *testing.T) {
		const maxClients = 8
		n := mustStartCluster(t, 1, "--maxclients", strconv.Itoa(maxClients)).Nodes[0]
		var open []*rawConn
		defer func() {
			for _, c := range open {
				c.Close()
			}
		}()
		// Fill the node (this package's own polling may hold a few slots).
		for i := 0; i <= maxClients; i++ {
			conn := mustDial(t, n.ClientAddr)
			if refusal(t, conn) != nil {
				conn.Close()
				break
			}
			open = append(open, conn)
		}
		stranger := mustDial(t, n.ClientAddr)
		defer stranger.Close()
		raw, err := stranger.doStr("RAFT", "NODES")
		if exp := "-ERR max number of clients reached\r\n"; string(raw) != exp {
			t.Fatalf("RAFT NODES as the first command on a full node: exp %q, got %q (%v)", exp, quoteRaw(raw), err)
		}
	})

	t.Run("idle past the timeout it is closed", func(t *testing.T) {
		n := mustStartCluster(t, 1, "--timeout", "1").Nodes[0]
		stranger := mustDial(t, n.ClientAddr)
		defer stranger.Close()
		if raw := mustRaw(t, stranger, "RAFT", "NODES"); !bytes.HasPrefix(raw, []byte("*1\r\n")) {
			t.Fatalf("RAFT NODES: exp one member, got %q", quoteRaw(raw))
		}
		time.Sleep(3 * time.Second)
		if raw, err := stranger.doStr("PING"); !isClosed(err) {
			t.Fatalf("PING after idling 3s with timeout 1: exp a closed connection, got %q (%v)", quoteRaw(raw), err)
		}
	})
}
