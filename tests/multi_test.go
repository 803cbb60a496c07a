package tests

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/raftlist/raftlist/cluster/local"
)

// Multi-process tests of MULTI/EXEC/DISCARD/WATCH/UNWATCH (issue 5): a
// transaction is one log entry whichever node the client is on; WATCH is
// decided at apply time from replicated key versions, so a change made
// through any node aborts EXEC; blocked clients are served only after the
// whole EXEC; and a scripted set of sessions answers byte for byte as
// redis-server 7.0.15 does.

// txClient is a go-redis client for addr that shows every reply as it is
// (no retries), one connection, RESP2.
func txClient(t *testing.T, addr string) *redis.Client {
	t.Helper()
	rc := redis.NewClient(&redis.Options{
		Addr: addr, MaxRetries: -1, PoolSize: 1, Protocol: 2, DisableIdentity: true,
		DialTimeout: 2 * time.Second, ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second,
	})
	t.Cleanup(func() { rc.Close() })
	return rc
}

// txExpect runs a command on c and compares its raw reply.
func txExpect(t *testing.T, c *rawConn, exp string, args ...string) {
	t.Helper()
	raw, err := c.doStr(args...)
	if err != nil {
		t.Fatalf("%s on %s: %v", quoteCommand(bargs(args...)), c.addr, err)
	}
	if string(raw) != exp {
		t.Fatalf("%s on %s: exp %q, got %q", quoteCommand(bargs(args...)), c.addr, exp, raw)
	}
}

// txNodes returns the leader first, then the followers.
func txNodes(t *testing.T, c *local.Cluster) []*local.Node {
	l := mustLeader(t, c)
	return append([]*local.Node{l}, followers(c, l)...)
}

func txRole(i int) string {
	if i == 0 {
		return "leader"
	}
	return "follower " + strconv.Itoa(i)
}

func TestTxMultiExecThroughLeaderAndFollowers(t *testing.T) {
	c := mustStartCluster(t, 3)
	nodes := txNodes(t, c)
	ctx := context.Background()
	for i, n := range nodes {
		t.Run("raw MULTI/EXEC through the "+txRole(i), func(t *testing.T) {
			conn := mustDial(t, n.ClientAddr)
			key := "raw:" + n.ID
			txExpect(t, conn, "+OK\r\n", "MULTI")
			txExpect(t, conn, "+QUEUED\r\n", "RPUSH", key, "a", "b")
			txExpect(t, conn, "+QUEUED\r\n", "LPOP", key)
			txExpect(t, conn, "+QUEUED\r\n", "SELECT", "5")
			txExpect(t, conn, "+QUEUED\r\n", "RPUSH", key, "in5")
			txExpect(t, conn, "+QUEUED\r\n", "LRANGE", key, "0", "-1")
			txExpect(t, conn, "*5\r\n:2\r\n$1\r\na\r\n+OK\r\n:1\r\n*1\r\n$3\r\nin5\r\n", "EXEC")
			// SELECT inside the transaction stays selected after it.
			txExpect(t, conn, "*1\r\n$3\r\nin5\r\n", "LRANGE", key, "0", "-1")
			txExpect(t, conn, "+OK\r\n", "SELECT", "0")
			txExpect(t, conn, "*1\r\n$1\r\nb\r\n", "LRANGE", key, "0", "-1")
		})
		t.Run("go-redis TxPipelined through the "+txRole(i), func(t *testing.T) {
			rc := txClient(t, n.ClientAddr)
			key := "gr:" + n.ID
			var push *redis.IntCmd
			var rng *redis.StringSliceCmd
			_, err := rc.TxPipelined(ctx, func(p redis.Pipeliner) error {
				push = p.RPush(ctx, key, "x", "y", "z")
				p.LPop(ctx, key)
				rng = p.LRange(ctx, key, 0, -1)
				return nil
			})
			if err != nil {
				t.Fatalf("TxPipelined: %v", err)
			}
			if push.Val() != 3 || fmt.Sprint(rng.Val()) != "[y z]" {
				t.Fatalf("exp 3 and [y z], got %d and %v", push.Val(), rng.Val())
			}
		})
	}
	t.Run("the transactions reached every node", func(t *testing.T) {
		mustConverge(t, c)
		for _, n := range nodes {
			requireList(t, n.ClientAddr, "gr:"+nodes[0].ID, true, []string{"y", "z"})
		}
	})
}

func TestTxQueueErrorsDiscardAndExecAbort(t *testing.T) {
	c := mustStartCluster(t, 3)
	nodes := txNodes(t, c)
	for i, n := range nodes {
		t.Run("through the "+txRole(i), func(t *testing.T) {
			conn := mustDial(t, n.ClientAddr)
			key := "abort:" + n.ID
			txExpect(t, conn, "+OK\r\n", "MULTI")
			txExpect(t, conn, "+QUEUED\r\n", "RPUSH", key, "a")
			txExpect(t, conn, "-ERR unknown command 'NOSUCH', with args beginning with: 'x' \r\n", "NOSUCH", "x")
			txExpect(t, conn, "-ERR wrong number of arguments for 'lpush' command\r\n", "LPUSH", key)
			txExpect(t, conn, "-ERR Command not allowed inside a transaction\r\n", "RAFT", "NODES")
			txExpect(t, conn, "-EXECABORT Transaction discarded because of previous errors.\r\n", "EXEC")
			txExpect(t, conn, ":0\r\n", "LLEN", key)
			txExpect(t, conn, "-ERR EXEC without MULTI\r\n", "EXEC")
			txExpect(t, conn, "-ERR DISCARD without MULTI\r\n", "DISCARD")
			txExpect(t, conn, "+OK\r\n", "MULTI")
			txExpect(t, conn, "+QUEUED\r\n", "RPUSH", key, "a")
			txExpect(t, conn, "+OK\r\n", "DISCARD")
			txExpect(t, conn, ":0\r\n", "LLEN", key)
			txExpect(t, conn, "+OK\r\n", "MULTI")
			txExpect(t, conn, "+QUEUED\r\n", "RPUSH", key, "b")
			txExpect(t, conn, "*1\r\n:1\r\n", "EXEC")
		})
	}
	mustConverge(t, c)
}

func TestTxWatchAcrossNodes(t *testing.T) {
	c := mustStartCluster(t, 3)
	nodes := txNodes(t, c)
	leader, f1, f2 := nodes[0], nodes[1], nodes[2]
	watcher := mustDial(t, f1.ClientAddr)
	other := mustDial(t, f2.ClientAddr)
	onLeader := mustDial(t, leader.ClientAddr)

	t.Run("a change through another node makes EXEC on a follower answer nil", func(t *testing.T) {
		txExpect(t, watcher, "+OK\r\n", "WATCH", "w1")
		txExpect(t, other, ":1\r\n", "RPUSH", "w1", "x")
		txExpect(t, watcher, "+OK\r\n", "MULTI")
		txExpect(t, watcher, "+QUEUED\r\n", "RPUSH", "w1", "mine")
		txExpect(t, watcher, "*-1\r\n", "EXEC")
		txExpect(t, watcher, "*1\r\n$1\r\nx\r\n", "LRANGE", "w1", "0", "-1")
	})
	t.Run("a change through the leader makes EXEC on a follower answer nil", func(t *testing.T) {
		txExpect(t, watcher, "+OK\r\n", "WATCH", "w2")
		txExpect(t, onLeader, "+OK\r\n", "SET", "w2", "v")
		txExpect(t, watcher, "+OK\r\n", "MULTI")
		txExpect(t, watcher, "+QUEUED\r\n", "DEL", "w2")
		txExpect(t, watcher, "*-1\r\n", "EXEC")
	})
	t.Run("a change through a follower makes EXEC on the leader answer nil", func(t *testing.T) {
		txExpect(t, onLeader, "+OK\r\n", "WATCH", "w3")
		txExpect(t, other, ":1\r\n", "LPUSH", "w3", "x")
		txExpect(t, onLeader, "+OK\r\n", "MULTI")
		txExpect(t, onLeader, "+QUEUED\r\n", "LPOP", "w3")
		txExpect(t, onLeader, "*-1\r\n", "EXEC")
	})
	t.Run("deleting a watched key through another node aborts", func(t *testing.T) {
		txExpect(t, other, ":1\r\n", "RPUSH", "w4", "x")
		txExpect(t, watcher, "+OK\r\n", "WATCH", "w4")
		txExpect(t, other, ":1\r\n", "DEL", "w4")
		txExpect(t, watcher, "+OK\r\n", "MULTI")
		txExpect(t, watcher, "+QUEUED\r\n", "PING")
		txExpect(t, watcher, "*-1\r\n", "EXEC")
	})
	t.Run("a write acknowledged just before WATCH on a follower does not abort", func(t *testing.T) {
		for i := 0; i < 50; i++ {
			key := "w5:" + strconv.Itoa(i)
			txExpect(t, other, ":1\r\n", "RPUSH", key, "x")
			txExpect(t, watcher, "+OK\r\n", "WATCH", key)
			txExpect(t, watcher, "+OK\r\n", "MULTI")
			txExpect(t, watcher, "+QUEUED\r\n", "RPUSH", key, "y")
			txExpect(t, watcher, "*1\r\n:2\r\n", "EXEC")
		}
	})
	t.Run("the client's own write after WATCH aborts, as in Redis", func(t *testing.T) {
		txExpect(t, watcher, "+OK\r\n", "WATCH", "w6")
		txExpect(t, watcher, ":1\r\n", "RPUSH", "w6", "x")
		txExpect(t, watcher, "+OK\r\n", "MULTI")
		txExpect(t, watcher, "+QUEUED\r\n", "PING")
		txExpect(t, watcher, "*-1\r\n", "EXEC")
	})
	t.Run("EXEC forgets the watches, so the next transaction runs", func(t *testing.T) {
		txExpect(t, other, ":2\r\n", "RPUSH", "w6", "z")
		txExpect(t, watcher, "+OK\r\n", "MULTI")
		txExpect(t, watcher, "+QUEUED\r\n", "PING")
		txExpect(t, watcher, "*1\r\n+PONG\r\n", "EXEC")
	})
	t.Run("UNWATCH and DISCARD forget the watches", func(t *testing.T) {
		txExpect(t, watcher, "+OK\r\n", "WATCH", "w7")
		txExpect(t, watcher, "+OK\r\n", "UNWATCH")
		txExpect(t, other, ":1\r\n", "RPUSH", "w7", "x")
		txExpect(t, watcher, "+OK\r\n", "MULTI")
		txExpect(t, watcher, "+QUEUED\r\n", "PING")
		txExpect(t, watcher, "*1\r\n+PONG\r\n", "EXEC")
		txExpect(t, watcher, "+OK\r\n", "WATCH", "w7")
		txExpect(t, watcher, "+OK\r\n", "MULTI")
		txExpect(t, watcher, "+OK\r\n", "DISCARD")
		txExpect(t, other, ":2\r\n", "RPUSH", "w7", "x")
		txExpect(t, watcher, "+OK\r\n", "MULTI")
		txExpect(t, watcher, "+QUEUED\r\n", "PING")
		txExpect(t, watcher, "*1\r\n+PONG\r\n", "EXEC")
	})
	mustConverge(t, c)
}

// TestTxWatchOptimisticIncrementsAcrossNodes is the classic WATCH loop
// (GET, then SET in MULTI, retry on nil) run by clients on every node at
// once: if any WATCH missed a concurrent change, increments would be lost.
func TestTxWatchOptimisticIncrementsAcrossNodes(t *testing.T) {
	c := mustStartCluster(t, 3)
	nodes := txNodes(t, c)
	ctx := context.Background()
	perClient := scale(15, 60)
	const clientsPerNode = 3
	var wg sync.WaitGroup
	var mu sync.Mutex
	aborts := 0
	errs := make(chan error, len(nodes)*clientsPerNode)
	for _, n := range nodes {
		for j := 0; j < clientsPerNode; j++ {
			rc := txClient(t, n.ClientAddr)
			wg.Add(1)
			go func() {
				defer wg.Done()
				for done := 0; done < perClient; {
					err := rc.Watch(ctx, func(tx *redis.Tx) error {
						v, err := tx.Get(ctx, "counter").Int()
						if err != nil && !errors.Is(err, redis.Nil) {
							return err
						}
						_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
							p.Set(ctx, "counter", v+1, 0)
							p.RPush(ctx, "history", v+1)
							return nil
						})
						return err
					}, "counter")
					switch {
					case err == nil:
						done++
					case errors.Is(err, redis.TxFailedErr):
						mu.Lock()
						aborts++
						mu.Unlock()
					default:
						errs <- err
						return
					}
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("a client failed: %v", err)
	}
	total := len(nodes) * clientsPerNode * perClient
	t.Logf("%d increments, %d aborted attempts", total, aborts)
	for _, n := range nodes {
		conn := mustDial(t, n.ClientAddr)
		txExpect(t, conn, "$"+strconv.Itoa(len(strconv.Itoa(total)))+"\r\n"+strconv.Itoa(total)+"\r\n", "GET", "counter")
	}
	history := mustRange(t, nodes[0].ClientAddr, "history", false)
	for i, v := range history {
		if v != strconv.Itoa(i+1) {
			t.Fatalf("history[%d]: exp %d, got %s (every increment must see the one before)", i, i+1, v)
		}
	}
	mustConverge(t, c)
}

func TestTxBlockedClientsAreServedAfterTheWholeExec(t *testing.T) {
	c := mustStartCluster(t, 3)
	nodes := txNodes(t, c)
	blocked := mustDial(t, nodes[1].ClientAddr)
	tx := mustDial(t, nodes[2].ClientAddr)
	if err := blocked.writeRaw([]byte("*3\r\n$5\r\nBLPOP\r\n$1\r\nq\r\n$1\r\n0\r\n")); err != nil {
		t.Fatal(err)
	}
	txAwaitWaiters(t, c, 1)
	txExpect(t, tx, "+OK\r\n", "MULTI")
	txExpect(t, tx, "+QUEUED\r\n", "LPUSH", "q", "x")
	txExpect(t, tx, "+QUEUED\r\n", "LPOP", "q")
	txExpect(t, tx, "+QUEUED\r\n", "BLPOP", "q", "0")
	txExpect(t, tx, "*3\r\n:1\r\n$1\r\nx\r\n*-1\r\n", "EXEC")
	mustConverge(t, c)
	txAwaitWaiters(t, c, 1) // pushed and popped inside one EXEC: nobody served
	txExpect(t, tx, "+OK\r\n", "MULTI")
	txExpect(t, tx, "+QUEUED\r\n", "RPUSH", "q", "a")
	txExpect(t, tx, "+QUEUED\r\n", "LPUSH", "q", "b")
	txExpect(t, tx, "*2\r\n:1\r\n:2\r\n", "EXEC")
	raw, err := blocked.readReply()
	if err != nil {
		t.Fatal(err)
	}
	if exp := "*2\r\n$1\r\nq\r\n$1\r\nb\r\n"; string(raw) != exp {
		t.Fatalf("exp the element the whole EXEC left first, %q, got %q", exp, raw)
	}
	txAwaitWaiters(t, c, 0)
	requireList(t, nodes[0].ClientAddr, "q", false, []string{"a"})
	mustConverge(t, c)
}

// txAwaitWaiters waits until every node reports want blocked waiters.
func txAwaitWaiters(t *testing.T, c *local.Cluster, want int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ok := true
		var last string
		for _, n := range c.Nodes {
			info, err := n.Info(context.Background())
			if err != nil || info["raft_blocked_waiters"] != strconv.Itoa(want) {
				ok, last = false, fmt.Sprintf("%s: %v %v", n.ID, info["raft_blocked_waiters"], err)
			}
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("exp %d blocked waiters on every node, got %s", want, last)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestTxRedirectModeFollowersAnswerMoved(t *testing.T) {
	c := mustStartCluster(t, 3, "--redirect")
	nodes := txNodes(t, c)
	conn := mustDial(t, nodes[1].ClientAddr)
	moved := "-MOVED 0 " + nodes[0].ClientAddr + "\r\n"
	txExpect(t, conn, moved, "WATCH", "k")
	txExpect(t, conn, "+OK\r\n", "MULTI")
	txExpect(t, conn, "+QUEUED\r\n", "RPUSH", "k", "a")
	txExpect(t, conn, moved, "EXEC")
	txExpect(t, conn, "-ERR EXEC without MULTI\r\n", "EXEC")
	leader := mustDial(t, nodes[0].ClientAddr)
	txExpect(t, leader, "+OK\r\n", "MULTI")
	txExpect(t, leader, "+QUEUED\r\n", "RPUSH", "k", "a")
	txExpect(t, leader, "*1\r\n:1\r\n", "EXEC")
}

// ---------------------------------------------------------------------------
// Differential sessions against redis-server.

// txStep is one command of a session on connection conn (0 or 1).
type txStep struct {
	conn int
	args []string
}

func txS(args ...string) txStep { return txStep{conn: 0, args: args} }
func txO(args ...string) txStep { return txStep{conn: 1, args: args} }
func txWatchCase(name string, setup, other []txStep) txSession {
	steps := append([]txStep{}, setup...)
	steps = append(steps, txS("WATCH", "k"))
	steps = append(steps, other...)
	steps = append(steps, txS("MULTI"), txS("PING"), txS("EXEC"))
	return txSession{name: "WATCH: " + name, steps: steps}
}

type txSession struct {
	name  string
	steps []txStep
}

var txSessions = []txSession{
	{"nested MULTI is an error that does not abort", []txStep{txS("MULTI"), txS("MULTI"), txS("RPUSH", "l", "a"), txS("EXEC"), txS("LRANGE", "l", "0", "-1")}},
	{"WATCH inside MULTI is an error that does not abort", []txStep{txS("MULTI"), txS("WATCH", "k"), txS("SET", "k", "1"), txS("EXEC")}},
	{"WATCH without keys inside MULTI aborts", []txStep{txS("MULTI"), txS("WATCH"), txS("SET", "k", "1"), txS("EXEC"), txS("EXISTS", "k")}},
	{"EXEC with an argument inside MULTI aborts", []txStep{txS("MULTI"), txS("SET", "k", "1"), txS("EXEC", "x"), txS("EXEC"), txS("EXISTS", "k")}},
	{"MULTI with an argument", []txStep{txS("MULTI", "x"), txS("EXEC"), txS("MULTI"), txS("MULTI", "x"), txS("EXEC")}},
	{"EXEC with an argument outside MULTI", []txStep{txS("EXEC", "x"), txS("MULTI"), txS("PING"), txS("EXEC")}},
	{"EXEC with an argument forgets the watches", []txStep{txS("WATCH", "k"), txS("MULTI"), txS("EXEC", "x"), txO("SET", "k", "1"),
		txS("MULTI"), txS("PING"), txS("EXEC")}},
	{"DISCARD with an argument inside MULTI aborts", []txStep{txS("MULTI"), txS("DISCARD", "x"), txS("EXEC"), txS("EXEC")}},
	{"QUIT takes any arguments", []txStep{txS("MULTI"), txS("QUIT", "x")}},
	{"run-time errors do not stop the rest", []txStep{txS("SET", "s", "x"), txS("MULTI"), txS("LPUSH", "s", "a"), txS("LPOP", "l", "-1"),
		txS("RPUSH", "l", "a", "b"), txS("LINDEX", "l", "x"), txS("LPOP", "l", "5"), txS("GET", "l"), txS("EXEC")}},
	{"SAVE and SHUTDOWN inside MULTI are not allowed and abort", []txStep{txS("MULTI"), txS("SAVE"), txS("SHUTDOWN", "NOSAVE"),
		txS("SAVE", "x"), txS("RPUSH", "l", "a"), txS("EXEC"), txS("LLEN", "l")}},
	{"an unknown command aborts", []txStep{txS("MULTI"), txS("NOSUCH", "x"), txS("RPUSH", "l", "a"), txS("EXEC"), txS("LLEN", "l")}},
	{"a wrong arity aborts", []txStep{txS("MULTI"), txS("RPUSH", "l", "a"), txS("LPUSH", "l"), txS("EXEC"), txS("LLEN", "l")}},
	{"a wrong arity checked at run time does not abort", []txStep{txS("MULTI"), txS("LPOP", "l", "1", "2"), txS("RPUSH", "l", "a"), txS("EXEC")}},
	{"an unknown subcommand aborts", []txStep{txS("MULTI"), txS("CLIENT", "FOO"), txS("EXEC")}},
	{"a subcommand's wrong arity aborts", []txStep{txS("MULTI"), txS("CLIENT", "SETNAME"), txS("EXEC")}},
	{"DISCARD after an error clears it", []txStep{txS("MULTI"), txS("NOSUCH"), txS("DISCARD"), txS("MULTI"), txS("PING"), txS("EXEC")}},
	{"SELECT inside MULTI applies to the commands after it and stays", []txStep{txS("MULTI"), txS("SELECT", "3"), txS("RPUSH", "l", "a"),
		txS("SELECT", "99"), txS("SELECT", "x"), txS("RPUSH", "l", "b"), txS("EXEC"), txS("LRANGE", "l", "0", "-1"), txS("SELECT", "0"), txS("LLEN", "l")}},
	{"a failed SELECT inside MULTI keeps the database", []txStep{txS("MULTI"), txS("SELECT", "16"), txS("RPUSH", "l", "a"), txS("EXEC"), txS("LLEN", "l")}},
	{"SELECT inside a discarded MULTI does not apply", []txStep{txS("MULTI"), txS("SELECT", "3"), txS("DISCARD"), txS("RPUSH", "l", "a"), txS("SELECT", "0"), txS("LLEN", "l")}},
	{"PING and ECHO are queued", []txStep{txS("MULTI"), txS("PING"), txS("PING", "hi"), txS("ECHO", "e"), txS("PING", "a", "b"), txS("EXEC")}},
	{"CLIENT SETNAME and GETNAME are queued", []txStep{txS("MULTI"), txS("CLIENT", "SETNAME", "tx"), txS("CLIENT", "GETNAME"), txS("RPUSH", "l", "a"), txS("EXEC"), txS("CLIENT", "GETNAME")}},
	{"EXEC and DISCARD without MULTI", []txStep{txS("EXEC"), txS("DISCARD"), txS("MULTI"), txS("DISCARD"), txS("EXEC")}},
	{"UNWATCH is queued inside MULTI", []txStep{txS("UNWATCH"), txS("MULTI"), txS("UNWATCH"), txS("EXEC")}},
	{"an empty transaction", []txStep{txS("MULTI"), txS("EXEC")}},
	{"blocking commands do not block", []txStep{txS("MULTI"), txS("BLPOP", "q", "0"), txS("BRPOP", "q", "q2", "1"), txS("BRPOPLPUSH", "q", "d", "0"),
		txS("BLMOVE", "q", "d", "LEFT", "LEFT", "0"), txS("BLMPOP", "0", "1", "q", "LEFT"), txS("BRPOPLPUSH", "q", "d", "-1"),
		txS("RPUSH", "q", "x", "y"), txS("BLPOP", "q", "0"), txS("BLMOVE", "q", "d", "LEFT", "RIGHT", "0"), txS("EXEC"), txS("LRANGE", "d", "0", "-1")}},
	{"a transaction across databases", []txStep{txS("MULTI"), txS("RPUSH", "l", "0"), txS("SELECT", "1"), txS("RPUSH", "l", "1"), txS("RENAME", "l", "m"),
		txS("SELECT", "0"), txS("LMOVE", "l", "l", "LEFT", "RIGHT"), txS("FLUSHDB"), txS("SELECT", "1"), txS("LRANGE", "m", "0", "-1"), txS("EXEC"), txS("DBSIZE")}},
	txWatchCase("no change", []txStep{txS("RPUSH", "k", "a")}, []txStep{txO("LRANGE", "k", "0", "-1"), txO("RPUSH", "j", "a")}),
	txWatchCase("a push", nil, []txStep{txO("RPUSH", "k", "a")}),
	txWatchCase("FLUSHALL of a missing key", nil, []txStep{txO("SET", "j", "1"), txO("FLUSHALL")}),
	txWatchCase("FLUSHALL of the key", []txStep{txS("SET", "k", "1")}, []txStep{txO("FLUSHALL")}),
	txWatchCase("FLUSHDB of another database", []txStep{txS("SET", "k", "1")}, []txStep{txO("SELECT", "1"), txO("FLUSHDB"), txO("SELECT", "0")}),
	txWatchCase("the key in another database", []txStep{txS("SET", "k", "1")}, []txStep{txO("SELECT", "2"), txO("SET", "k", "2"), txO("SELECT", "0")}),
	txWatchCase("DEL of a missing key", nil, []txStep{txO("DEL", "k")}),
	txWatchCase("DEL", []txStep{txS("SET", "k", "1")}, []txStep{txO("DEL", "k")}),
	txWatchCase("DEL and recreate", []txStep{txS("SET", "k", "1")}, []txStep{txO("DEL", "k"), txO("SET", "k", "1")}),
	txWatchCase("LPOP with count 0", []txStep{txS("RPUSH", "k", "a")}, []txStep{txO("LPOP", "k", "0")}),
	txWatchCase("LPOP of a missing key", nil, []txStep{txO("LPOP", "k")}),
	txWatchCase("LREM without a match", []txStep{txS("RPUSH", "k", "a")}, []txStep{txO("LREM", "k", "0", "zz")}),
	txWatchCase("LREM with a match", []txStep{txS("RPUSH", "k", "a", "b")}, []txStep{txO("LREM", "k", "0", "a")}),
	txWatchCase("LINSERT without the pivot", []txStep{txS("RPUSH", "k", "a")}, []txStep{txO("LINSERT", "k", "BEFORE", "zz", "x")}),
	txWatchCase("LINSERT", []txStep{txS("RPUSH", "k", "a")}, []txStep{txO("LINSERT", "k", "AFTER", "a", "x")}),
	txWatchCase("LTRIM keeping everything", []txStep{txS("RPUSH", "k", "a")}, []txStep{txO("LTRIM", "k", "0", "-1")}),
	txWatchCase("LSET to the same value", []txStep{txS("RPUSH", "k", "a")}, []txStep{txO("LSET", "k", "0", "a")}),
	txWatchCase("LMOVE onto itself", []txStep{txS("RPUSH", "k", "a")}, []txStep{txO("LMOVE", "k", "k", "LEFT", "LEFT")}),
	txWatchCase("LPUSHX on a missing key", nil, []txStep{txO("LPUSHX", "k", "a")}),
	txWatchCase("a push to a string key", []txStep{txS("SET", "k", "1")}, []txStep{txO("LPUSH", "k", "a")}),
	txWatchCase("SET of the same value", []txStep{txS("SET", "k", "1")}, []txStep{txO("SET", "k", "1")}),
	txWatchCase("SET NX that does not set", []txStep{txS("SET", "k", "1")}, []txStep{txO("SET", "k", "2", "NX")}),
	txWatchCase("RENAME onto itself", []txStep{txS("SET", "k", "1")}, []txStep{txO("RENAME", "k", "k")}),
	txWatchCase("RENAMENX that does not rename", []txStep{txS("SET", "k", "1"), txS("SET", "j", "1")}, []txStep{txO("RENAMENX", "j", "k")}),
	txWatchCase("RENAME onto the key", []txStep{txS("SET", "j", "1")}, []txStep{txO("RENAME", "j", "k")}),
	txWatchCase("the client's own write", nil, []txStep{txS("SET", "k", "1")}),
	txWatchCase("the client's own read", nil, []txStep{txS("GET", "k")}),
	txWatchCase("a BLPOP that pops at once", []txStep{txS("RPUSH", "k", "a")}, []txStep{txO("BLPOP", "k", "0")}),
	{"WATCH of several keys, one changed", []txStep{txS("WATCH", "a", "b", "c"), txO("SET", "c", "1"), txS("MULTI"), txS("SET", "a", "1"), txS("EXEC"), txS("EXISTS", "a")}},
	{"WATCH twice keeps the first", []txStep{txS("WATCH", "k"), txO("SET", "k", "1"), txS("WATCH", "k"), txS("MULTI"), txS("PING"), txS("EXEC")}},
	{"WATCH in a selected database", []txStep{txS("SELECT", "2"), txS("WATCH", "k"), txS("SELECT", "0"), txO("SELECT", "2"), txO("SET", "k", "1"),
		txS("MULTI"), txS("PING"), txS("EXEC")}},
	{"WATCH then an empty EXEC", []txStep{txS("WATCH", "k"), txO("SET", "k", "1"), txS("MULTI"), txS("EXEC"), txS("MULTI"), txS("EXEC")}},
	{"EXECABORT forgets the watches", []txStep{txS("WATCH", "k"), txS("MULTI"), txS("NOSUCH"), txS("EXEC"), txO("SET", "k", "1"),
		txS("MULTI"), txS("PING"), txS("EXEC")}},
	{"DISCARD forgets the watches", []txStep{txS("WATCH", "k"), txO("SET", "k", "1"), txS("MULTI"), txS("DISCARD"), txS("MULTI"), txS("PING"), txS("EXEC")}},
	{"UNWATCH forgets the watches", []txStep{txS("WATCH", "k"), txS("UNWATCH"), txO("SET", "k", "1"), txS("MULTI"), txS("PING"), txS("EXEC")}},
	{"EXEC without MULTI keeps the watches", []txStep{txS("WATCH", "k"), txS("EXEC"), txO("SET", "k", "1"), txS("MULTI"), txS("PING"), txS("EXEC")}},
	{"a change inside MULTI before EXEC aborts", []txStep{txS("WATCH", "k"), txS("MULTI"), txS("RPUSH", "k", "a"), txO("RPUSH", "k", "b"),
		txS("EXEC"), txS("LRANGE", "k", "0", "-1")}},
}

func TestTxSessionsDifferentialAgainstRedis(t *testing.T) {
	rs := mustStartRedis(t)
	c := mustStartCluster(t, 3)
	nodes := txNodes(t, c)
	// The session's client on one follower, the other client on the other.
	sides := []struct {
		name  string
		addrs [2]string
	}{
		{"redis", [2]string{rs.Addr, rs.Addr}},
		{"raftlist", [2]string{nodes[1].ClientAddr, nodes[2].ClientAddr}},
	}
	for _, s := range txSessions {
		t.Run(s.name, func(t *testing.T) {
			var replies [2][]string
			for si, side := range sides {
				conns := [2]*rawConn{mustDial(t, side.addrs[0]), mustDial(t, side.addrs[1])}
				txExpect(t, conns[0], "+OK\r\n", "FLUSHALL")
				for _, st := range s.steps {
					raw, err := conns[st.conn].doStr(st.args...)
					if err != nil {
						t.Fatalf("%s: %s: %v", side.name, quoteCommand(bargs(st.args...)), err)
					}
					replies[si] = append(replies[si], string(raw))
				}
				conns[0].Close()
				conns[1].Close()
			}
			for i, st := range s.steps {
				if replies[0][i] != replies[1][i] {
					t.Fatalf("step %d, connection %d, %s: redis answered %q, raftlist %q", i, st.conn, quoteCommand(bargs(st.args...)), replies[0][i], replies[1][i])
				}
			}
		})
	}
	mustConverge(t, c)
}
