package tests

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/raftlist/raftlist/cluster/local"
	"github.com/raftlist/raftlist/fsm/resp"
)

// The limits of docs/operations/limits-and-config.md, each against a real
// cluster and, where Redis has the limit, against a real redis-server.

const (
	limMaxClients = 12
	limEntrySize  = 65536
	// The slow reader's list: limBigElems elements of limBigElem bytes,
	// about 1 MB per LRANGE reply.
	limBigElems = 2000
	limBigElem  = 500
)

// limitsCluster runs with small limits: every one of them is reached by a
// test below without much data. Its nodes share a cluster secret: only a
// connection that proves it is node traffic, which maxclients spares, so
// a full leader still takes what followers forward.
func limitsCluster(t *testing.T) *local.Cluster {
	t.Helper()
	return mustStartClusterWith(t, 3, func(cfg *local.Config) { cfg.ClusterSecret = "limits-cluster-secret" },
		"--maxclients", strconv.Itoa(limMaxClients),
		"--max-entry-size", strconv.Itoa(limEntrySize),
		"--client-output-buffer-limit", "normal 32mb 4mb 2")
}

func TestLimits(t *testing.T) {
	c := limitsCluster(t)
	leader := mustLeader(t, c)
	follower := followers(c, leader)[0]
	t.Run("a command whose entry would exceed max-entry-size is refused before the log", func(t *testing.T) {
		testMaxEntrySize(t, c, leader, follower)
	})
	t.Run("a client that does not read its replies is disconnected and node memory stays bounded", func(t *testing.T) {
		testSlowReader(t, leader)
	})
	t.Run("connections over maxclients get Redis's error while nodes still forward", func(t *testing.T) {
		testMaxClients(t, leader, follower)
	})
}

func testMaxEntrySize(t *testing.T, c *local.Cluster, leader, follower *local.Node) {
	big := strings.Repeat("x", limEntrySize+1)
	half := strings.Repeat("y", limEntrySize/2+1)
	tooLarge := fmt.Sprintf("-ERR command exceeds max-entry-size (%d bytes)\r\n", limEntrySize)
	for _, n := range []*local.Node{leader, follower} {
		conn := mustDial(t, n.ClientAddr)
		defer conn.Close()
		cases := []struct {
			name string
			cmds [][]string
			exp  string
		}{
			{"one argument", [][]string{{"RPUSH", "ent:big", big}}, tooLarge},
			{"a script's argument", [][]string{{"EVAL", "return redis.call('rpush', KEYS[1], ARGV[1])", "1", "ent:big", big}}, tooLarge},
			{"a transaction", [][]string{{"MULTI"}, {"RPUSH", "ent:big", half}, {"RPUSH", "ent:big", half}, {"EXEC"}},
				fmt.Sprintf("-ERR transaction exceeds max-entry-size (%d bytes)\r\n", limEntrySize)},
		}
		for _, tc := range cases {
			var last []byte
			for _, cmd := range tc.cmds {
				raw, err := conn.doStr(cmd...)
				if err != nil {
					t.Fatalf("%s on %s: %v", tc.name, n.ID, err)
				}
				last = raw
			}
			if string(last) != tc.exp {
				t.Errorf("%s on %s: exp %q, got %q", tc.name, n.ID, tc.exp, quoteRaw(last))
			}
		}
		if r := mustDo(t, conn, "EXISTS", "ent:big"); r.n != 0 {
			t.Fatalf("on %s: a refused command reached the log: EXISTS ent:big = %d", n.ID, r.n)
		}
		// Many small writes still travel together, in entries under the limit.
		key := "ent:many:" + n.ID
		cmds := make([][][]byte, 200)
		for i := range cmds {
			cmds[i] = bargs("RPUSH", key, fmt.Sprintf("%04d%s", i, strings.Repeat("e", 1000)))
		}
		replies, err := conn.pipeline(cmds)
		if err != nil {
			t.Fatalf("pipeline on %s: %v", n.ID, err)
		}
		for i, raw := range replies {
			if exp := fmt.Sprintf(":%d\r\n", i+1); string(raw) != exp {
				t.Fatalf("pipelined RPUSH %d on %s: exp %q, got %q", i, n.ID, exp, quoteRaw(raw))
			}
		}
	}
	mustConverge(t, c)
}

func testSlowReader(t *testing.T, leader *local.Node) {
	conn := mustDial(t, leader.ClientAddr)
	defer conn.Close()
	// Built in small pushes: one push of the whole list would exceed
	// max-entry-size.
	var cmds [][][]byte
	for i := 0; i < limBigElems; i += 20 {
		args := []string{"RPUSH", "slow:big"}
		for j := 0; j < 20; j++ {
			args = append(args, strings.Repeat("v", limBigElem))
		}
		cmds = append(cmds, bargs(args...))
	}
	if _, err := conn.pipeline(cmds); err != nil {
		t.Fatal(err)
	}
	lrange := resp.AppendCommand(nil, bargs("LRANGE", "slow:big", "0", "-1")...)
	replySize := len(mustRaw(t, conn, "LRANGE", "slow:big", "0", "-1"))
	// Measured before the fast reader too: without a limit, it leaves
	// its whole pipeline's replies in the heap.
	before := rssBytes(t, leader.Pid())

	t.Run("a client that reads keeps up however many replies it pipelines", func(t *testing.T) {
		fast := mustDial(t, leader.ClientAddr)
		defer fast.Close()
		fast.timeout = 30 * time.Second
		n := 40 // 40 MB of replies, ten times the soft limit
		if err := fast.writeRaw(bytes.Repeat(lrange, n)); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < n; i++ {
			raw, err := fast.readReply()
			if err != nil {
				t.Fatalf("reply %d: %v", i, err)
			}
			if len(raw) != replySize {
				t.Fatalf("reply %d: exp %d bytes, got %d", i, replySize, len(raw))
			}
		}
	})

	slow, err := net.Dial("tcp", leader.ClientAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	slow.(*net.TCPConn).SetReadBuffer(4096)
	const n = 200 // 200 MB of replies if they were all held
	slow.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if _, err := slow.Write(bytes.Repeat(lrange, n)); err != nil {
		t.Fatal(err)
	}
	// While it does not read: the node's memory stays far below what the
	// replies would take, and other clients are served.
	peak := before
	other := mustDial(t, leader.ClientAddr)
	defer other.Close()
	for deadline := time.Now().Add(4 * time.Second); time.Now().Before(deadline); {
		peak = max(peak, rssBytes(t, leader.Pid()))
		if raw := mustRaw(t, other, "LLEN", "slow:big"); string(raw) != fmt.Sprintf(":%d\r\n", limBigElems) {
			t.Fatalf("another client's LLEN: got %q", quoteRaw(raw))
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("leader RSS %d MB before, peak %d MB with %d MB of unread replies asked for", before>>20, peak>>20, n*replySize>>20)
	if limit := before + 100<<20; peak > limit {
		t.Fatalf("leader RSS peaked at %d MB, over %d MB: the unread replies were held", peak>>20, limit>>20)
	}
	// It was disconnected: reading now ends well before all the replies.
	slow.SetReadDeadline(time.Now().Add(10 * time.Second))
	got, err := io.Copy(io.Discard, slow)
	if err != nil && !isClosed(err) {
		t.Fatalf("slow client: exp the connection closed, got %v after %d bytes", err, got)
	}
	if got >= int64(n*replySize) {
		t.Fatalf("slow client got all %d bytes: it was never disconnected", got)
	}
	info := mustRaw(t, other, "INFO", "stats")
	if !bytes.Contains(info, []byte("client_output_buffer_limit_disconnections:1")) {
		t.Fatalf("INFO stats does not count the disconnection:\n%s", info)
	}
}

func testMaxClients(t *testing.T, leader, follower *local.Node) {
	// The test harness has clients of its own on the leader; fill up what
	// is left, then one more is refused.
	var open []*rawConn
	defer func() {
		for _, c := range open {
			c.Close()
		}
	}()
	var refused []byte
	for i := 0; i <= limMaxClients && refused == nil; i++ {
		conn := mustDial(t, leader.ClientAddr)
		raw := refusal(t, conn)
		if raw == nil {
			open = append(open, conn)
			continue
		}
		refused = raw
	}
	if refused == nil {
		t.Fatalf("%d connections were all accepted with maxclients %d", limMaxClients+1, limMaxClients)
	}
	exp := "-ERR max number of clients reached\r\n"
	if string(refused) != exp {
		t.Fatalf("exp %q then EOF, got %q", exp, quoteRaw(refused))
	}
	// A full leader still takes what followers forward.
	f := mustDial(t, follower.ClientAddr)
	defer f.Close()
	if raw := mustRaw(t, f, "RPUSH", "maxclients:fwd", "a"); string(raw) != ":1\r\n" {
		t.Fatalf("a write forwarded to the full leader: exp :1, got %q", quoteRaw(raw))
	}
	if raw := mustRaw(t, f, "BLPOP", "maxclients:fwd", "1"); !bytes.Contains(raw, []byte("maxclients:fwd")) {
		t.Fatalf("a blocking pop forwarded to the full leader: got %q", quoteRaw(raw))
	}
	// A freed slot is taken again.
	open[len(open)-1].Close()
	open = open[:len(open)-1]
	time.Sleep(200 * time.Millisecond)
	again := mustDial(t, leader.ClientAddr)
	defer again.Close()
	if raw := mustRaw(t, again, "INFO", "stats"); !bytes.Contains(raw, []byte("rejected_connections:1")) {
		t.Fatalf("a connection after one closed: exp INFO stats with rejected_connections:1, got %q", quoteRaw(raw))
	}

	t.Run("redis-server gives the same reply", func(t *testing.T) {
		r := mustStartRedis(t)
		admin := mustDial(t, r.Addr)
		defer admin.Close()
		mustRaw(t, admin, "CONFIG", "SET", "maxclients", "2")
		second := mustDial(t, r.Addr)
		defer second.Close()
		mustRaw(t, second, "PING")
		third := mustDial(t, r.Addr)
		defer third.Close()
		if got := refusal(t, third); string(got) != string(refused) {
			t.Fatalf("redis-server: %q, raftlist: %q", quoteRaw(got), quoteRaw(refused))
		}
	})
}

// refusal sends PING on a fresh connection and returns everything the
// server sent before closing it, or nil if it answered PONG and stayed.
// Redis writes its refusal at accept, raftlist at the first command: the
// bytes are the same.
func refusal(t *testing.T, conn *rawConn) []byte {
	t.Helper()
	var got []byte
	buf := make([]byte, 256)
	conn.conn.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	n, err := conn.conn.Read(buf)
	got = append(got, buf[:n]...)
	if err == nil || !isTimeout(err) {
		// Redis refused at accept; read up to EOF.
		rest, _ := io.ReadAll(conn.conn)
		return append(got, rest...)
	}
	conn.conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := conn.conn.Write(resp.AppendCommand(nil, bargs("PING")...)); err != nil {
		t.Fatal(err)
	}
	for {
		n, err := conn.conn.Read(buf)
		got = append(got, buf[:n]...)
		if string(got) == "+PONG\r\n" {
			conn.rd = resp.NewReader(conn.conn, maxReplyBulk)
			return nil
		}
		if err != nil {
			if !errors.Is(err, io.EOF) && !isClosed(err) {
				t.Fatalf("reading a refusal: %v after %q", err, got)
			}
			return got
		}
	}
}

// TestIdleTimeoutClosesIdleClientsAsRedisDoes runs one scenario against a
// cluster started with --timeout 1 (leader and follower) and a
// redis-server with timeout 1: which connections are closed must agree.
func TestIdleTimeoutClosesIdleClientsAsRedisDoes(t *testing.T) {
	r := mustStartRedis(t)
	admin := mustDial(t, r.Addr)
	mustRaw(t, admin, "CONFIG", "SET", "timeout", "1")
	admin.Close()
	exp := idleScenario(t, r.Addr)

	c := mustStartCluster(t, 3, "--timeout", "1")
	leader := mustLeader(t, c)
	for _, n := range []*local.Node{leader, followers(c, leader)[0]} {
		if got := idleScenario(t, n.ClientAddr); got != exp {
			t.Errorf("on %s:\n exp (redis-server) %s\n got %s", n.ID, exp, got)
		}
	}
}

// idleScenario leaves an idle client, one inside MULTI and one blocked in
// BLPOP for four seconds beside a busy one, then says which are still
// connected; the blocked one must also still get its element, pushed
// through the same node (from a follower, over its idle connections to
// the leader).
func idleScenario(t *testing.T, addr string) string {
	key := fmt.Sprintf("idle:%d", time.Now().UnixNano())
	idle, multi, blocked, busy := mustDial(t, addr), mustDial(t, addr), mustDial(t, addr), mustDial(t, addr)
	for _, c := range []*rawConn{idle, multi, blocked, busy} {
		defer c.Close()
	}
	mustRaw(t, idle, "PING")
	mustRaw(t, multi, "MULTI")
	if err := blocked.writeRaw(resp.AppendCommand(nil, bargs("BLPOP", key, "0")...)); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 20; i++ {
		mustRaw(t, busy, "PING")
		time.Sleep(200 * time.Millisecond)
	}
	pusher := mustDial(t, addr)
	defer pusher.Close()
	if raw := mustRaw(t, pusher, "RPUSH", key, "served"); string(raw) != ":0\r\n" && string(raw) != ":1\r\n" {
		t.Fatalf("RPUSH on %s after idling: got %q", addr, quoteRaw(raw))
	}
	state := func(c *rawConn) string {
		if c == blocked {
			raw, err := c.readReply()
			if err != nil {
				return "closed"
			}
			return "served " + strings.ReplaceAll(quoteRaw(raw), key, "KEY")
		}
		raw, err := c.doStr("PING")
		switch {
		case isClosed(err):
			return "closed"
		case err != nil:
			t.Fatalf("PING on %s: %v", addr, err)
		}
		return "open " + quoteRaw(raw)
	}
	return fmt.Sprintf("idle=%s multi=%s blocked=%s busy=%s", state(idle), state(multi), state(blocked), state(busy))
}

func TestProtoMaxBulkLenAnswersAsRedis(t *testing.T) {
	// Redis's smallest proto-max-bulk-len is 1mb.
	c := mustStartCluster(t, 1, "--proto-max-bulk-len", "1mb")
	r := mustStartRedis(t)
	admin := mustDial(t, r.Addr)
	defer admin.Close()
	mustRaw(t, admin, "CONFIG", "SET", "proto-max-bulk-len", "1mb")
	req := []byte(fmt.Sprintf("*2\r\n$4\r\nECHO\r\n$%d\r\n", 1<<20+1))
	var got []string
	for _, addr := range []string{r.Addr, c.Nodes[0].ClientAddr} {
		conn := mustDial(t, addr)
		if err := conn.writeRaw(req); err != nil {
			t.Fatal(err)
		}
		conn.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		all, _ := io.ReadAll(conn.conn)
		conn.Close()
		got = append(got, string(all))
	}
	if exp := "-ERR Protocol error: invalid bulk length\r\n"; got[0] != exp || got[1] != got[0] {
		t.Fatalf("exp %q then EOF from both; redis-server %q, raftlist %q", exp, got[0], got[1])
	}
	n := mustDial(t, c.Nodes[0].ClientAddr)
	defer n.Close()
	if raw := mustRaw(t, n, "CONFIG", "GET", "proto-max-bulk-len"); string(raw) != "*2\r\n$18\r\nproto-max-bulk-len\r\n$7\r\n1048576\r\n" {
		t.Fatalf("CONFIG GET proto-max-bulk-len: got %q", quoteRaw(raw))
	}
}

// TestConfigGetAnswersAsRedis compares CONFIG replies whose values agree by
// construction (defaults both servers share) byte for byte, and checks the
// rest against the node's own flags, given partly in a config file.
func TestConfigGetAnswersAsRedis(t *testing.T) {
	conf := filepath.Join(t.TempDir(), "raftlist.conf")
	if err := os.WriteFile(conf, []byte("# written by the test\nmaxclients 10000\ntimeout 3\nredirect no\nclient-output-buffer-limit normal 64mb 16mb 30\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c := mustStartCluster(t, 1, "--config", conf, "--timeout", "0")
	r := mustStartRedis(t)
	rc, nc := mustDial(t, r.Addr), mustDial(t, c.Nodes[0].ClientAddr)
	defer rc.Close()
	defer nc.Close()
	same := [][]string{
		{"CONFIG", "GET", "maxclients"},
		{"CONFIG", "GET", "MAXCLIENTS"},
		{"CONFIG", "GET", "timeout"}, // the flag overrode the file's 3
		{"CONFIG", "GET", "databases"},
		{"CONFIG", "GET", "save"},
		{"CONFIG", "GET", "no-such-parameter"},
		{"CONFIG", "GET", "maxclient?"},
		{"CONFIG", "GET", "databases", "DATABASES", "data*es"},
		{"CONFIG", "GET"},
		{"CONFIG"},
		{"CONFIG", "NOSUCH"},
		{"CONFIG", "HELP", "extra"},
	}
	for _, cmd := range same {
		exp, got := mustRaw(t, rc, cmd...), mustRaw(t, nc, cmd...)
		if !bytes.Equal(exp, got) {
			t.Errorf("%s: redis-server %q, raftlist %q", strings.Join(cmd, " "), quoteRaw(exp), quoteRaw(got))
		}
	}
	// Settings that differ from Redis's by design, in Redis's shape.
	_, port, _ := net.SplitHostPort(c.Nodes[0].ClientAddr)
	dir, _ := filepath.Abs(c.Nodes[0].DataDir)
	own := map[string]string{
		"port":                       port,
		"bind":                       "127.0.0.1",
		"dir":                        dir,
		"appendonly":                 "yes",
		"appendfsync":                "always",
		"redirect":                   "no",
		"client-output-buffer-limit": "normal 67108864 16777216 30",
	}
	for name, exp := range own {
		raw := mustRaw(t, nc, "CONFIG", "GET", name)
		if want := string(resp.AppendCommand(nil, []byte(name), []byte(exp))); string(raw) != want {
			t.Errorf("CONFIG GET %s: exp %q, got %q", name, want, quoteRaw(raw))
		}
	}
	// HELP is Redis's text: raftlist has every subcommand Redis 7.0 has.
	if exp, got := mustRaw(t, rc, "CONFIG", "HELP"), mustRaw(t, nc, "CONFIG", "HELP"); string(got) != string(exp) {
		t.Errorf("CONFIG HELP: exp Redis's %q, got %q", quoteRaw(exp), quoteRaw(got))
	}
}

// mustRaw runs a command on c and returns its raw reply.
func mustRaw(t *testing.T, c *rawConn, args ...string) []byte {
	t.Helper()
	raw, err := c.doStr(args...)
	if err != nil {
		t.Fatalf("%s on %s: %v", quoteCommand(bargs(args...)), c.addr, err)
	}
	return raw
}

// rssBytes is a process's resident memory, from /proc.
func rssBytes(t *testing.T, pid int) int64 {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	t.Fatalf("no VmRSS in /proc/%d/status", pid)
	return 0
}

// TestLimitsWithAuthSpareNodeTraffic: with a password (and the cluster
// secret cluster/local makes up beside it), nodes are told from clients
// by their login, and stay outside maxclients and timeout.
func TestLimitsWithAuthSpareNodeTraffic(t *testing.T) {
	c := mustStartAuthCluster(t, 3, authPassword, "--maxclients", "6", "--timeout", "2")
	leader := mustLeader(t, c)
	follower := followers(c, leader)[0]
	login := func(addr string) (*rawConn, []byte) {
		conn := mustDial(t, addr)
		raw, err := conn.doStr("AUTH", authPassword)
		if err != nil && !isClosed(err) {
			t.Fatalf("AUTH on %s: %v", addr, err)
		}
		return conn, raw
	}
	pushThroughFollower := func(elem string) {
		t.Helper()
		f, raw := login(follower.ClientAddr)
		defer f.Close()
		if string(raw) != "+OK\r\n" {
			t.Fatalf("AUTH on the follower: got %q", quoteRaw(raw))
		}
		if raw := mustRaw(t, f, "RPUSH", "authlim", elem); !bytes.HasPrefix(raw, []byte(":")) {
			t.Fatalf("RPUSH through the follower: got %q", quoteRaw(raw))
		}
	}
	pushThroughFollower("warm") // the follower's forwarding connection exists from here

	// CONFIG GET shows requirepass to whoever gave it, as Redis does, but
	// the cluster secret only to a node.
	user, _ := login(follower.ClientAddr)
	if raw := mustRaw(t, user, "CONFIG", "GET", "requirepass", "cluster-secret"); string(raw) != string(resp.AppendCommand(nil, bargs("requirepass", authPassword)...)) {
		t.Errorf("CONFIG GET requirepass cluster-secret as the default user: got %q", quoteRaw(raw))
	}
	// The secret cluster/local made up for the cluster (never the password).
	secret := c.Config().ClusterSecret
	mustRaw(t, user, "AUTH", "raftlist-cluster", secret)
	if raw := mustRaw(t, user, "CONFIG", "GET", "cluster-secret"); string(raw) != string(resp.AppendCommand(nil, bargs("cluster-secret", secret)...)) {
		t.Errorf("CONFIG GET cluster-secret as a node: got %q", quoteRaw(raw))
	}
	user.Close()

	var open []*rawConn
	defer func() {
		for _, c := range open {
			c.Close()
		}
	}()
	var refused []byte
	for i := 0; i <= 6 && refused == nil; i++ {
		conn, raw := login(leader.ClientAddr)
		if string(raw) == "+OK\r\n" {
			open = append(open, conn)
			continue
		}
		refused = raw
		conn.Close()
	}
	if exp := "-ERR max number of clients reached\r\n"; string(refused) != exp {
		t.Fatalf("the connection over maxclients: exp %q, got %q", exp, quoteRaw(refused))
	}
	pushThroughFollower("while the leader is full")
	// A blocking command from a follower takes a connection of its own to
	// the leader, opened now: it must not be refused.
	f, raw := login(follower.ClientAddr)
	defer f.Close()
	if string(raw) != "+OK\r\n" {
		t.Fatalf("AUTH on the follower: got %q", quoteRaw(raw))
	}
	if raw := mustRaw(t, f, "BLPOP", "authlim", "1"); !bytes.Contains(raw, []byte("warm")) {
		t.Fatalf("BLPOP through the follower to the full leader: got %q", quoteRaw(raw))
	}

	// Longer than the timeout: the clients are closed, the follower's
	// forwarding connection, as idle, is not.
	time.Sleep(5 * time.Second)
	for i, conn := range open {
		if _, err := conn.doStr("PING"); !isClosed(err) {
			t.Fatalf("idle client %d: exp closed, got %v", i, err)
		}
	}
	pushThroughFollower("after idling")
}
