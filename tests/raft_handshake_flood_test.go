package tests

import (
	"context"
	"io"
	"net"
	"testing"
	"time"

	"github.com/raftlist/raftlist/cluster/local"
)

// floodHosts give each node its own loopback address, and the stranger
// another: each node dials its peers from its own --raft IP.
var floodHosts = []string{"127.0.0.61", "127.0.0.62", "127.0.0.63"}

const floodFrom = "127.0.0.60"

// holdRaftPort keeps n silent connections from floodFrom to addr open
// until stop closes, reconnecting whenever the node drops one, as a
// stranger holding the Raft port's handshake slots would.
func holdRaftPort(addr string, n int, stop <-chan struct{}) {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(floodFrom)}, Timeout: time.Second}
	for i := 0; i < n; i++ {
		go func() {
			for {
				start := time.Now()
				if conn, err := d.Dial("tcp", addr); err == nil {
					go func() { <-stop; conn.Close() }()
					io.Copy(io.Discard, conn)
					conn.Close()
				}
				// A slot held until the node timed it out is taken
				// again at once; a refused connection waits a little.
				pause := 200 * time.Millisecond
				if time.Since(start) > time.Second {
					pause = 0
				}
				select {
				case <-stop:
					return
				case <-time.After(pause):
				}
			}
		}()
	}
}

// TestMembersGetInWhileStrangersHoldTheRaftPort: a stranger keeps 70
// silent connections open to every node's Raft port (more than the 64
// handshakes a node runs at once). The leader is killed: the other two
// must open new connections to each other to elect a new leader, which
// must then replicate, and the old leader, restarted, must catch up.
func TestMembersGetInWhileStrangersHoldTheRaftPort(t *testing.T) {
	c := mustStartClusterWith(t, 3, func(cfg *local.Config) {
		cfg.Hosts, cfg.Host, cfg.BasePort, cfg.Password = floodHosts, "", 0, authPassword
	})
	leader := mustLeader(t, c)
	stop := make(chan struct{})
	defer close(stop)
	for _, n := range c.Nodes {
		holdRaftPort(n.RaftAddr, 70, stop)
	}
	time.Sleep(2 * time.Second) // every handshake slot taken, on the old code

	leader.Kill()
	next := mustNewLeader(t, c, leader)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := next.Client().RPush(ctx, "flooded", "after the election").Err(); err != nil {
		t.Fatalf("RPUSH on the new leader %s: %v", next.ID, err)
	}
	if err := leader.Restart(ctx); err != nil {
		t.Fatalf("restart %s: %v", leader.ID, err)
	}
	mustConverge(t, c)
	got, err := leader.Client().LRange(ctx, "flooded", 0, -1).Result()
	if err != nil || len(got) != 1 {
		t.Fatalf("LRANGE flooded on the restarted %s: exp [after the election], got %v (%v)", leader.ID, got, err)
	}
}
