package tests

import (
	"bytes"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"
)

// pipelineScript mixes everything the front door groups (runs of plain
// writes, runs of reads) with everything that must break a run (SELECT,
// MULTI, errors, a blocking command, connection commands), crosses the
// 512-command run limit, leaves no data behind, and ends with QUIT followed
// by a write that must never run.
func pipelineScript() [][][]byte {
	s := [][]string{
		{"LPUSH", "k", "a"}, {"RPUSH", "k", "b", "c"}, {"LRANGE", "k", "0", "-1"}, {"LLEN", "k"},
		{"SELECT", "1"}, {"LPUSH", "k", "x"}, {"LRANGE", "k", "0", "-1"}, {"SELECT", "0"}, {"LRANGE", "k", "0", "-1"},
		{"NOSUCHCOMMAND", "k"}, {"LPUSH", "k"}, {"SET", "s", "v"}, {"LPUSH", "s", "x"}, {"GET", "k"},
		{"MULTI"}, {"LPUSH", "k", "m"}, {"LRANGE", "k", "0", "-1"}, {"EXEC"},
		{"LPOP", "k"}, {"RPOP", "k", "2"}, {"LMOVE", "k", "k2", "LEFT", "RIGHT"}, {"LRANGE", "k2", "0", "-1"},
		{"BLPOP", "k2", "0"}, {"PING"}, {"ECHO", "hi"}, {"LRANGE", "k", "0", "-1"}, {"DEL", "k", "k2", "s"},
	}
	for i := 0; i < 600; i++ {
		s = append(s, []string{"RPUSH", "big", strconv.Itoa(i)})
		if i%97 == 0 {
			s = append(s, []string{"LLEN", "big"}, []string{"LINDEX", "big", "-1"})
		}
	}
	s = append(s, []string{"LRANGE", "big", "590", "-1"}, []string{"DEL", "big"},
		[]string{"SELECT", "1"}, []string{"DEL", "k"}, []string{"QUIT"},
		[]string{"LPUSH", "afterquit", "x"})
	out := make([][][]byte, len(s))
	for i, c := range s {
		out[i] = bargs(c...)
	}
	return out
}

// sendPipeline writes cmds in one write and reads replies until the
// connection closes (after QUIT).
func sendPipeline(t *testing.T, addr string, cmds [][][]byte) [][]byte {
	t.Helper()
	c := mustDial(t, addr)
	var wire []byte
	for _, args := range cmds {
		wire = appendCommand(wire, args)
	}
	if err := c.writeRaw(wire); err != nil {
		t.Fatalf("%s: send pipeline: %v", addr, err)
	}
	var out [][]byte
	for {
		raw, err := c.readReply()
		if err != nil {
			if !isClosed(err) {
				t.Fatalf("%s: reply %d: %v", addr, len(out), err)
			}
			return out
		}
		out = append(out, raw)
	}
}

func appendCommand(dst []byte, args [][]byte) []byte {
	dst = append(dst, '*')
	dst = strconv.AppendInt(dst, int64(len(args)), 10)
	dst = append(dst, '\r', '\n')
	for _, a := range args {
		dst = append(dst, '$')
		dst = strconv.AppendInt(dst, int64(len(a)), 10)
		dst = append(dst, '\r', '\n')
		dst = append(append(dst, a...), '\r', '\n')
	}
	return dst
}

// A pipeline is answered exactly as redis-server answers it, through the
// leader and through a follower, although raftlist proposes its runs of
// writes together and lets its runs of reads share a read barrier.
func TestPipelinedCommandsAnswerAsRedisThroughLeaderAndFollower(t *testing.T) {
	rs := mustStartRedis(t)
	c := mustStartCluster(t, 3)
	leader := mustLeader(t, c)
	follower := followers(c, leader)[0]
	cmds := pipelineScript()
	want := sendPipeline(t, rs.Addr, cmds)
	if len(want) != len(cmds)-1 {
		t.Fatalf("redis answered %d of %d commands; the script expects all but the one after QUIT", len(want), len(cmds))
	}
	for _, n := range []struct{ name, addr string }{{"leader", leader.ClientAddr}, {"follower", follower.ClientAddr}} {
		t.Run("through the "+n.name, func(t *testing.T) {
			got := sendPipeline(t, n.addr, cmds)
			if len(got) != len(want) {
				t.Fatalf("exp %d replies, got %d", len(want), len(got))
			}
			for i := range want {
				if !bytes.Equal(got[i], want[i]) {
					t.Fatalf("reply %d to %q: exp %q, got %q", i, bytes.Join(cmds[i], []byte(" ")), want[i], got[i])
				}
			}
			if raw, err := mustDial(t, leader.ClientAddr).doStr("EXISTS", "afterquit"); err != nil || string(raw) != ":0\r\n" {
				t.Fatalf("the command after QUIT ran: EXISTS afterquit = %q %v", raw, err)
			}
		})
	}
	mustConverge(t, c)
}

// Many clients pipelining at once through every node: each client's
// writes land in its own order, none lost or doubled, and the nodes end
// equal.
func TestConcurrentPipelinesKeepEachClientsOrder(t *testing.T) {
	c := mustStartCluster(t, 3)
	const clients, rounds, depth = 24, 10, 40
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for i := 0; i < clients; i++ {
		addr := c.Nodes[i%len(c.Nodes)].ClientAddr
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn, err := dialRaw(addr, 60*time.Second)
			if err != nil {
				errs <- err
				return
			}
			defer conn.Close()
			key := "client" + strconv.Itoa(i)
			for r := 0; r < rounds; r++ {
				var cmds [][][]byte
				for d := 0; d < depth; d++ {
					cmds = append(cmds, bargs("RPUSH", key, strconv.Itoa(r*depth+d)))
					if d%10 == 9 {
						cmds = append(cmds, bargs("LINDEX", key, "-1"))
					}
				}
				replies, err := conn.pipeline(cmds)
				if err != nil {
					errs <- fmt.Errorf("%s round %d: %v", key, r, err)
					return
				}
				for j, raw := range replies {
					args := cmds[j]
					switch string(args[0]) {
					case "RPUSH":
						n, _ := strconv.Atoi(string(args[2]))
						if exp := ":" + strconv.Itoa(n+1) + "\r\n"; string(raw) != exp {
							errs <- fmt.Errorf("%s: RPUSH %d: exp %q, got %q", key, n, exp, raw)
							return
						}
					case "LINDEX":
						prev := string(cmds[j-1][2])
						if exp := "$" + strconv.Itoa(len(prev)) + "\r\n" + prev + "\r\n"; string(raw) != exp {
							errs <- fmt.Errorf("%s: LINDEX after RPUSH %s: exp %q, got %q", key, prev, exp, raw)
							return
						}
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	want := make([]string, rounds*depth)
	for i := range want {
		want[i] = strconv.Itoa(i)
	}
	for i := 0; i < clients; i++ {
		requireList(t, c.Nodes[0].ClientAddr, "client"+strconv.Itoa(i), false, want)
	}
	mustConverge(t, c)
}
