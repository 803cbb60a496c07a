package tests

import (
	"testing"
	"time"
)

func TestBlkStressTmp(t *testing.T) {
	for round := 0; round < 8; round++ {
		c := mustStartCluster(t, 3)
		conns := []*rawConn{}
		for _, n := range c.Nodes {
			conn, err := dialRaw(n.ClientAddr, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			conns = append(conns, conn)
		}
		for i := 0; i < 30; i++ {
			for j, conn := range conns {
				for _, to := range []string{"0.1", "0.0001"} {
					began := time.Now()
					raw, err := conn.doStr("BLPOP", "t", to)
					if err != nil || string(raw) != "*-1\r\n" {
						t.Errorf("round %d iter %d node %d BLPOP t %s: %q %v after %v", round, i, j, to, raw, err, time.Since(began))
						dumpLogs(t, c.Config().LogDir)
						return
					}
				}
			}
		}
		c.Stop()
	}
}
