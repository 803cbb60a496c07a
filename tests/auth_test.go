package tests

import (
	"bytes"
	"context"
	binenc "encoding/binary"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/raftlist/raftlist/cluster/local"
)

// authPassword is the --requirepass of the clusters in this file.
const authPassword = "s3cret-pw"

// mustStartAuthCluster is mustStartCluster for a cluster whose nodes run
// with --requirepass password and extraArgs, and a cluster secret that
// cluster/local makes up (never the password).
func mustStartAuthCluster(t *testing.T, n int, password string, extraArgs ...string) *local.Cluster {
	t.Helper()
	return mustStartClusterWith(t, n, func(cfg *local.Config) { cfg.Password = password }, extraArgs...)
}

// authScript is what the differential test sends on one fresh connection
// to redis-server and to each raftlist node: every reply must match.
// "|" separates commands written together as one pipeline.
var authScripts = [][]string{
	{
		"PING", "GET k", "FOO bar", "GET", "AUTH", "AUTH a b c", "AUTH wrong", "AUTH default wrong",
		"AUTH nobody " + authPassword, "AUTH raftlist-cluster wrong", "CLIENT FOO", "CLIENT SETNAME x", "ECHO hi", "SELECT 1",
		"MULTI", "EXEC", "LPUSH", "LPUSH authk a", "BLPOP authk 1", "INFO", "COMMAND", "CLIENT GETNAME",
		"HELLO", "HELLO 2", "HELLO x", "HELLO 4", "HELLO 2 AUTH", "HELLO 2 AUTH default", "HELLO 2 SETNAME",
		"HELLO 2 FOO", "HELLO 2 AUTH default wrong", "HELLO 2 AUTH default wrong SETNAME a", "HELLO 2 SETNAME a b",
		"AUTH " + authPassword, "PING", "AUTH wrong", "PING", "RPUSH authk a b", "LRANGE authk 0 -1",
		"AUTH default " + authPassword, "HELLO 2 SETNAME ok", "CLIENT GETNAME", "DEL authk", "QUIT",
	},
	{"HELLO 2 AUTH default " + authPassword + " SETNAME bad\x01name", "PING", "CLIENT GETNAME"},
	{"HELLO 2 AUTH default " + authPassword, "LLEN nokey"},
	// HELLO's first bad option, in the order written, decides the error.
	{
		"HELLO 2 AUTH default wrong SETNAME bad\x01name", "HELLO 2 AUTH default wrong bogus",
		"HELLO 2 SETNAME bad\x01name AUTH default wrong", "HELLO 2 bogus SETNAME bad\x01name",
		"HELLO 2 SETNAME ok bogus", "HELLO 2 AUTH default " + authPassword + " SETNAME bad\x01name bogus",
	},
	// Option words are C strings to Redis (read up to a NUL), command and
	// subcommand names are not.
	{
		"AUTH " + authPassword, "HELLO 2 SETNAME\x00x nm", "CLIENT GETNAME", "CLIENT LIST TYPE\x00zz master",
		"CLIENT getname\x00", "client\x00 getname",
	},
	// A pipeline before AUTH: all refused, none reaches the log.
	{"RPUSH authp x|LPUSH authp y|MULTI|RPUSH authp z|EXEC|LRANGE authp 0 -1|AUTH " + authPassword + "|LRANGE authp 0 -1|EXISTS authp"},
}

// normaliseAuthReply hides what legitimately differs: HELLO's map (id,
// version, role) is compared by its length only.
func normaliseAuthReply(cmd string, raw []byte) string {
	if strings.HasPrefix(strings.ToUpper(cmd), "HELLO") && bytes.HasPrefix(raw, []byte("*")) {
		line, _, _ := bytes.Cut(raw, []byte("\r\n"))
		return string(line) + " (HELLO map)"
	}
	return string(raw)
}

// runAuthScript runs one script on a fresh connection to addr and returns
// the commands and their normalised replies.
func runAuthScript(t *testing.T, addr string, script []string) (cmds []string, replies []string) {
	t.Helper()
	c := mustDial(t, addr)
	for _, step := range script {
		group := strings.Split(step, "|")
		var batch [][][]byte
		for _, cmd := range group {
			batch = append(batch, bargs(strings.Fields(cmd)...))
		}
		raws, err := c.pipeline(batch)
		if err != nil {
			t.Fatalf("%q on %s: %v", step, addr, err)
		}
		for i, raw := range raws {
			cmds = append(cmds, group[i])
			replies = append(replies, normaliseAuthReply(group[i], raw))
		}
	}
	return cmds, replies
}

// requireScriptsMatchRedis runs each script on redis-server at addr and on
// every node of c, and requires every reply to match. settle, if not nil,
// runs before each node's run.
func requireScriptsMatchRedis(t *testing.T, addr string, c *local.Cluster, scripts [][]string, settle func()) {
	t.Helper()
	for si, script := range scripts {
		cmds, want := runAuthScript(t, addr, script)
		for _, n := range c.Nodes {
			if settle != nil {
				settle()
			}
			_, got := runAuthScript(t, n.ClientAddr, script)
			for i := range want {
				if got[i] != want[i] {
					t.Errorf("script %d, %s on %s: exp %q (redis-server), got %q", si, cmds[i], n.ID, want[i], got[i])
				}
			}
		}
	}
}

func TestAuthRepliesMatchRedisOnEveryNode(t *testing.T) {
	rds := mustStartRedis(t)
	admin := mustDial(t, rds.Addr)
	if r := mustDo(t, admin, "CONFIG", "SET", "requirepass", authPassword); r.String() != "+OK" {
		t.Fatalf("CONFIG SET requirepass on redis-server: %s", r)
	}
	c := mustStartAuthCluster(t, 3, authPassword)
	requireScriptsMatchRedis(t, rds.Addr, c, authScripts, nil)
	// The refused pipelined writes reached no node's state.
	mustConverge(t, c)
	for _, n := range c.Nodes {
		if v, err := n.Client().Exists(context.Background(), "authp", "authk").Result(); err != nil || v != 0 {
			t.Errorf("EXISTS authp authk on %s: exp 0, got %d (%v)", n.ID, v, err)
		}
	}
}

func TestAuthClusterServesAuthenticatedClientsAndRefusesInternalCommands(t *testing.T) {
	c := mustStartAuthCluster(t, 3, authPassword)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	leader := mustLeader(t, c)

	t.Run("every node answers NOAUTH before AUTH and WRONGPASS to a wrong password", func(t *testing.T) {
		for _, n := range c.Nodes {
			conn := mustDial(t, n.ClientAddr)
			if r := mustDo(t, conn, "RPUSH", "k", "v"); r.String() != "-NOAUTH Authentication required." {
				t.Errorf("RPUSH before AUTH on %s: got %s", n.ID, r)
			}
			if r := mustDo(t, conn, "AUTH", "wrong"); !strings.HasPrefix(r.String(), "-WRONGPASS") {
				t.Errorf("AUTH wrong on %s: got %s", n.ID, r)
			}
			wrong := redis.NewClient(&redis.Options{Addr: n.ClientAddr, Password: "wrong", MaxRetries: -1})
			err := wrong.Ping(ctx).Err()
			wrong.Close()
			if err == nil || !strings.Contains(err.Error(), "WRONGPASS") {
				t.Errorf("go-redis with a wrong password on %s: exp WRONGPASS, got %v", n.ID, err)
			}
		}
	})

	t.Run("go-redis with the password writes through every follower", func(t *testing.T) {
		var want []string
		for _, n := range followers(c, leader) {
			rc := redis.NewClient(&redis.Options{Addr: n.ClientAddr, Password: authPassword})
			err := rc.RPush(ctx, "authlist", n.ID).Err()
			rc.Close()
			if err != nil {
				t.Fatalf("RPUSH through follower %s: %v", n.ID, err)
			}
			want = append(want, n.ID)
		}
		got, err := leader.Client().LRange(ctx, "authlist", 0, -1).Result()
		if err != nil || strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("LRANGE on the leader: exp %v, got %v (%v)", want, got, err)
		}
	})

	t.Run("the client password gets NOPERM on internal commands", func(t *testing.T) {
		for _, n := range c.Nodes {
			conn := mustDial(t, n.ClientAddr)
			mustDo(t, conn, "AUTH", authPassword)
			for _, cmd := range [][]string{
				{"RAFT", "ADDNODE", "intruder", "127.0.0.1:1", "127.0.0.1:2"},
				{"RAFT", "REMOVENODE", "node1"},
				{"RAFT", "FORWARD", "0", "intruder", "1", "RPUSH", "k", "v"},
				{"RAFT", "SNAPSHOT"},
			} {
				want := "-NOPERM this user has no permissions to run the 'raft|" + strings.ToLower(cmd[1]) + "' command"
				if r := mustDo(t, conn, cmd...); r.String() != want {
					t.Errorf("%v on %s: exp %s, got %s", cmd, n.ID, want, r)
				}
			}
			if r := mustDo(t, conn, "RAFT", "NODES"); len(r.elems) != 3 {
				t.Errorf("RAFT NODES on %s with the client password: exp 3 rows, got %s", n.ID, r)
			}
		}
		members, err := leader.Members(ctx)
		if err != nil || len(members) != 3 {
			t.Fatalf("members after refused ADDNODE/REMOVENODE: exp 3, got %v (%v)", members, err)
		}
	})

	t.Run("blocked clients on a follower time out and are served through the leader", func(t *testing.T) {
		f := followers(c, leader)
		rc := redis.NewClient(&redis.Options{Addr: f[0].ClientAddr, Password: authPassword, ReadTimeout: 20 * time.Second})
		defer rc.Close()
		// The timeout is an UNBLOCK the follower sends the leader.
		if err := rc.BLPop(ctx, time.Second, "authnone").Err(); err != redis.Nil {
			t.Fatalf("BLPOP authnone 1 on follower %s: exp nil, got %v", f[0].ID, err)
		}
		got := make(chan []string, 1)
		go func() {
			v, _ := rc.BLPop(ctx, 15*time.Second, "authq").Result()
			got <- v
		}()
		time.Sleep(500 * time.Millisecond)
		if err := f[1].Client().RPush(ctx, "authq", "x").Err(); err != nil {
			t.Fatalf("RPUSH through %s: %v", f[1].ID, err)
		}
		if v := <-got; strings.Join(v, ",") != "authq,x" {
			t.Fatalf("BLPOP on follower %s: exp [authq x], got %v", f[0].ID, v)
		}
	})

	t.Run("a node with the secret joins, serves and is removed", func(t *testing.T) {
		n, err := c.AddNode(ctx)
		if err != nil {
			t.Fatalf("add a node with the secret: %v", err)
		}
		if err := n.Client().RPush(ctx, "authlist", n.ID).Err(); err != nil {
			t.Fatalf("RPUSH through the new node %s: %v", n.ID, err)
		}
		mustConverge(t, c)
		if err := c.RemoveNode(ctx, n); err != nil {
			t.Fatalf("remove %s: %v", n.ID, err)
		}
	})
	mustConverge(t, c)
}

// strangerAppendEntries is what a process without the secret could send to
// a Raft port: hashicorp/raft's rpcAppendEntries type byte and a msgpack
// AppendEntriesRequest {ProtocolVersion: 3, Term: term} (RPCHeader is
// embedded, so its fields sit at the top level). A node that believes it
// adopts the term; a leader steps down.
func strangerAppendEntries(term uint64) []byte {
	str := func(b []byte, s string) []byte { return append(append(b, 0xa0|byte(len(s))), s...) }
	b := []byte{0, 0x82} // rpcAppendEntries, a map of 2
	b = str(b, "ProtocolVersion")
	b = append(b, 3)
	b = str(b, "Term")
	b = append(b, 0xcf)
	return binenc.BigEndian.AppendUint64(b, term)
}

// raftTerm is the node's INFO raft_term.
func raftTerm(t *testing.T, n *local.Node) uint64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	info, err := n.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	v, err := strconv.ParseUint(info["raft_term"], 10, 64)
	if err != nil {
		t.Fatalf("raft_term %q: %v", info["raft_term"], err)
	}
	return v
}

// sendToRaftPort writes payload to addr and reports whether the node closed
// the connection within d without answering anything but a handshake
// challenge.
func sendToRaftPort(t *testing.T, addr string, payload []byte, d time.Duration) (closed bool, got []byte) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("connect to raft port %s: %v", addr, err)
	}
	defer conn.Close()
	if len(payload) > 0 {
		if _, err := conn.Write(payload); err != nil {
			return true, nil
		}
	}
	conn.SetReadDeadline(time.Now().Add(d))
	buf := make([]byte, 4096)
	for {
		n, err := conn.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			ne, ok := err.(net.Error)
			return !(ok && ne.Timeout()), got
		}
	}
}

// TestStrangerAppendEntriesDisturbsAClusterWithoutSecret is the control for
// the next test: the same bytes a stranger sends there really do move an
// unprotected node's term, so their having no effect there means something.
func TestStrangerAppendEntriesDisturbsAClusterWithoutSecret(t *testing.T) {
	c := mustStartCluster(t, 1)
	n := c.Nodes[0]
	before := raftTerm(t, n)
	sendToRaftPort(t, n.RaftAddr, strangerAppendEntries(before+1000), 2*time.Second)
	if after := raftTerm(t, n); after < before+1000 {
		t.Fatalf("raft_term after a stranger's AppendEntries with term %d: exp >= %d, got %d (the probe no longer reaches raft)", before+1000, before+1000, after)
	}
}

func TestStrangersCannotDisturbAClusterWithSecret(t *testing.T) {
	c := mustStartAuthCluster(t, 3, authPassword)
	leader := mustLeader(t, c)
	before := raftTerm(t, leader)

	for _, n := range c.Nodes {
		if closed, got := sendToRaftPort(t, n.RaftAddr, strangerAppendEntries(before+1000), 10*time.Second); !closed {
			t.Errorf("%s kept a connection that sent AppendEntries without the handshake open (read %q)", n.ID, got)
		}
		if closed, _ := sendToRaftPort(t, n.RaftAddr, bytes.Repeat([]byte("garbage\r\n"), 100), 10*time.Second); !closed {
			t.Errorf("%s kept a connection sending garbage open", n.ID)
		}
	}
	// A silent stranger is closed once the handshake times out (5s).
	start := time.Now()
	if closed, _ := sendToRaftPort(t, leader.RaftAddr, nil, 15*time.Second); !closed {
		t.Errorf("the leader kept a silent connection open for 15s")
	} else if took := time.Since(start); took > 10*time.Second {
		t.Errorf("the leader closed a silent connection after %v, exp about 5s", took)
	}

	if after := raftTerm(t, leader); after != before {
		t.Errorf("raft_term on %s: exp %d (unchanged), got %d", leader.ID, before, after)
	}
	if l := mustLeader(t, c); l != leader {
		t.Errorf("leader changed from %s to %s", leader.ID, l.ID)
	}
	if err := leader.Client().RPush(context.Background(), "after-strangers", "v").Err(); err != nil {
		t.Fatalf("RPUSH after the strangers: %v", err)
	}
	mustConverge(t, c)
}

func TestANodeWithTheWrongSecretCannotJoin(t *testing.T) {
	c := mustStartAuthCluster(t, 3, authPassword)
	leader := mustLeader(t, c)
	for _, tc := range []struct{ name, flags, want string }{
		{"wrong cluster secret", "--requirepass " + authPassword + " --cluster-secret wrong", "WRONGPASS"},
		{"no secret at all", "", "NOAUTH"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			port := freePort(t)
			logPath := filepath.Join(dir, "stranger.log")
			logf, err := os.Create(logPath)
			if err != nil {
				t.Fatal(err)
			}
			defer logf.Close()
			args := []string{"server", "--id", "stranger", "--listen", "127.0.0.1:" + strconv.Itoa(port),
				"--raft", "127.0.0.1:" + strconv.Itoa(freePort(t)), "--data", filepath.Join(dir, "data"),
				"--join", leader.ClientAddr}
			args = append(append(args, testTimingArgs...), strings.Fields(tc.flags)...)
			cmd := exec.Command(binary, args...)
			cmd.Stdout, cmd.Stderr = logf, logf
			cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case err = <-done:
			case <-time.After(30 * time.Second):
				cmd.Process.Kill()
				<-done
				t.Fatal("a node with the wrong secret did not give up joining within 30s")
			}
			log, _ := os.ReadFile(logPath)
			if err == nil {
				t.Errorf("a refused node exited with status 0\n%s", log)
			}
			if !bytes.Contains(log, []byte("refused this node's cluster credentials")) || !bytes.Contains(log, []byte(tc.want)) {
				t.Errorf("the refused node's log does not say why (exp %q):\n%s", tc.want, log)
			}
		})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	members, err := leader.Members(ctx)
	if err != nil || len(members) != 3 {
		t.Fatalf("members after refused joins: exp 3, got %v (%v)", members, err)
	}
	if err := leader.Client().RPush(ctx, "after-refused-join", "v").Err(); err != nil {
		t.Fatalf("RPUSH after the refused joins: %v", err)
	}
	mustConverge(t, c)
}
