package tests

import (
	"bytes"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/raftlist/raftlist/fsm/resp"
)

// CLIENT's subcommands (KILL, REPLY, NO-EVICT, NO-TOUCH, SETINFO, HELP)
// against redis-server, byte for byte where Redis 7.0 has them.

// clientPipelineEnd closes every pipeline sendPipeline sends: CLIENT REPLY ON
// answers whatever state the pipeline left, and ECHO marks the end.
var clientPipelineEnd = []byte("+OK\r\n$3\r\nend\r\n")

// readUntil reads raw bytes from conn until they end with suffix, the
// deadline passes or the peer closes.
func readUntil(conn net.Conn, suffix []byte, d time.Duration) []byte {
	conn.SetReadDeadline(time.Now().Add(d))
	var out []byte
	buf := make([]byte, 4096)
	for suffix == nil || !bytes.HasSuffix(out, suffix) {
		n, err := conn.Read(buf)
		out = append(out, buf[:n]...)
		if err != nil {
			break
		}
	}
	return out
}

// clientPipeline sends cmds (space-separated words) in one write on a new
// connection, then CLIENT REPLY ON and ECHO end, and returns every byte
// the server wrote up to and including end's reply.
func clientPipeline(t *testing.T, addr string, cmds []string) []byte {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	defer conn.Close()
	var buf []byte
	for _, c := range append(append([]string(nil), cmds...), "client reply on", "echo end") {
		buf = resp.AppendCommand(buf, bargs(strings.Fields(c)...)...)
	}
	if _, err := conn.Write(buf); err != nil {
		t.Fatalf("write to %s: %v", addr, err)
	}
	return readUntil(conn, clientPipelineEnd, 10*time.Second)
}

// clientCases are pipelines whose every byte redis-server 7.0.15 and
// raftlist must answer alike. None may kill a client other than by an
// address or id nobody has: other tests' connections share the servers.
var clientCases = [][]string{
	{"client"},
	{"client foo"},
	{"CLIENT Kill"},
	{"client kill 1.2.3.4:5"},
	{"client kill foo"},
	{"client kill id"},
	{"client kill id x"},
	{"client kill id 0"},
	{"client kill id -1"},
	{"client kill id 1.5"},
	{"client kill id 01"},
	{"client kill id 99999999"},
	{"client kill ID 99999999 skipme no"},
	{"client kill addr 1.2.3.4:5"},
	{"client kill laddr 1.2.3.4:5"},
	{"client kill addr 1.2.3.4:5 laddr 1.2.3.4:6 id 99999999 type normal skipme no"},
	{"client kill user nouser"},
	{"client kill user default skipme maybe"},
	{"client kill user nouser skipme maybe"},
	{"client kill skipme maybe user nouser"},
	{"client kill type foo id x"},
	{"client kill id x type foo"},
	{"client kill skipme NO addr 1.2.3.4:5"},
	{"client kill type normal addr 1.2.3.4:5"},
	{"client kill type Foo"},
	{"client kill type master"},
	{"client kill type pubsub"},
	{"client kill type replica"},
	{"client kill type slave"},
	{"client kill type master skipme no"},
	{"client kill maxage 5"},
	{"client kill id 1 foo"},
	{"client kill id 1 addr"},
	{"client kill 1.2.3.4:5 x"},
	{"client reply"},
	{"client reply foo"},
	{"client reply on x"},
	{"client reply on"},
	{"client reply off", "ping", "rpush cr:k a", "foo", "client reply on", "lrange cr:k 0 -1"},
	{"client reply skip", "ping", "ping x"},
	{"client reply skip", "client reply skip", "ping y", "ping z"},
	{"client reply skip", "client reply off", "ping", "client reply on", "ping q"},
	{"client reply off", "client reply skip", "ping", "client reply on", "ping q"},
	{"client reply skip", "blpop cr:none 0.1", "ping"},
	{"client reply skip", "lpush cr:k2 a b", "lrange cr:k2 0 -1"},
	{"client reply skip", "client reply foo", "client reply foo"},
	{"client reply off", "client reply foo", "client reply bar"},
	{"multi", "client reply skip", "ping", "exec", "ping", "ping w"},
	{"multi", "client reply on", "ping", "exec"},
	{"client reply skip", "multi", "ping", "exec"},
	{"multi", "ping", "client reply off", "ping", "exec", "ping"},
	{"multi", "client reply off", "ping", "client reply on", "echo a", "exec", "ping"},
	{"client reply off", "multi", "ping", "client reply on", "rpush cr:k x", "exec", "lrange cr:k 0 -1"},
	{"multi", "client reply skip", "client reply skip", "echo b", "exec", "echo c", "echo d"},
	{"multi", "client reply foo", "exec", "ping"},
	{"multi", "client reply off", "exec"},
	{"client no-evict"},
	{"client no-evict on"},
	{"client no-evict foo"},
	{"client no-evict off x"},
	{"client no-evict OFF"},
	{"client help x"},
}

// TestClientSubcommandsAnswerAsRedis sends every case to redis-server and
// to a leader and a follower of a cluster.
func TestClientSubcommandsAnswerAsRedis(t *testing.T) {
	redisSrv := mustStartRedis(t)
	c := mustStartCluster(t, 3)
	leader := mustLeader(t, c)
	addrs := []string{leader.ClientAddr, followers(c, leader)[0].ClientAddr}
	for _, addr := range addrs {
		for _, cmds := range clientCases {
			cmds = append([]string{"del cr:k cr:k2"}, cmds...)
			want := clientPipeline(t, redisSrv.Addr, cmds)
			if !bytes.HasSuffix(want, clientPipelineEnd) {
				t.Fatalf("%q: redis-server's reply did not end: %q", cmds, want)
			}
			if got := clientPipeline(t, addr, cmds); !bytes.Equal(got, want) {
				t.Errorf("%q on %s:\nexp %q\ngot %q", cmds, addr, want, got)
			}
		}
	}
	mustConverge(t, c)
}

// TestClientRedis72SubcommandsAnswerAs72: NO-TOUCH and SETINFO are Redis
// 7.2's (7.0.15 answers unknown subcommand); raftlist answers them with
// 7.2's replies and errors and shows what SETINFO set, as 7.2 does.
func TestClientRedis72SubcommandsAnswerAs72(t *testing.T) {
	c := mustStartCluster(t, 3)
	leader := mustLeader(t, c)
	for _, n := range []string{leader.ClientAddr, followers(c, leader)[0].ClientAddr} {
		conn := mustDial(t, n)
		for _, tc := range []struct{ cmd, want string }{
			{"client no-touch on", "+OK"},
			{"client no-evict on", "+OK"},
			{"client no-touch", "-ERR wrong number of arguments for 'client|no-touch' command"},
			{"client no-touch maybe", "-ERR syntax error"},
			{"client setinfo lib-name", "-ERR wrong number of arguments for 'client|setinfo' command"},
			{"client setinfo lib-name a b", "-ERR wrong number of arguments for 'client|setinfo' command"},
			{"client setinfo lib-nom x", "-ERR Unrecognized option 'lib-nom'"},
			{"client setinfo LIB-NAME go-redis(v9)", "+OK"},
			{"client setinfo lib-ver 9.0.5", "+OK"},
			{"client setinfo Lib-Ver \x01", "-ERR Lib-Ver cannot contain spaces, newlines or special characters."},
		} {
			if got := mustDo(t, conn, strings.Fields(tc.cmd)...).String(); got != tc.want {
				t.Errorf("%q on %s: exp %s, got %s", tc.cmd, n, tc.want, got)
			}
		}
		if got := mustDo(t, conn, "client", "setinfo", "lib-ver", "a b").String(); got != "-ERR lib-ver cannot contain spaces, newlines or special characters." {
			t.Errorf("SETINFO with a space: got %s", got)
		}
		info := string(mustDo(t, conn, "client", "info").str)
		for _, field := range []string{" flags=eT ", " cmd=client|info ", " lib-name=go-redis(v9) lib-ver=9.0.5\n"} {
			if !strings.Contains(info, field) {
				t.Errorf("CLIENT INFO on %s lacks %q: %q", n, field, info)
			}
		}
		mustDo(t, conn, "client", "setinfo", "lib-name", "")
		mustDo(t, conn, "client", "no-touch", "off")
		mustDo(t, conn, "client", "no-evict", "off")
		mustDo(t, conn, "client", "setname", "me")
		list := string(mustDo(t, conn, "client", "list").str)
		if !strings.Contains(list, " name=me ") || !strings.Contains(list, " flags=N ") ||
			!strings.Contains(list, " cmd=client|list ") || !strings.Contains(list, " lib-name= lib-ver=9.0.5\n") {
			t.Errorf("CLIENT LIST on %s: %q", n, list)
		}
		help := mustDo(t, conn, "client", "help")
		if help.kind != '*' || len(help.elems) < 10 || !strings.HasPrefix(string(help.elems[0].str), "CLIENT <subcommand>") {
			t.Errorf("CLIENT HELP on %s: %s", n, help)
		}
		conn.Close()
	}
	mustConverge(t, c)
}

// TestClientReplyOffWritesOnce: writes sent under CLIENT REPLY OFF or
// SKIP, on the leader and through followers (whose replies are relayed
// from the leader), are applied exactly once, and nothing of their
// replies reaches the client.
func TestClientReplyOffWritesOnce(t *testing.T) {
	c := mustStartCluster(t, 3)
	leader := mustLeader(t, c)
	var want []string
	for i, n := range c.Nodes {
		cmds := []string{"client reply off"}
		for k := range 20 {
			v := fmt.Sprintf("n%d-%d", i, k)
			cmds = append(cmds, "rpush once "+v)
			want = append(want, v)
		}
		cmds = append(cmds, "client reply skip", "rpush once skipped-"+n.ID, "client reply skip")
		want = append(want, "skipped-"+n.ID)
		if got := clientPipeline(t, n.ClientAddr, cmds); !bytes.Equal(got, clientPipelineEnd) {
			t.Fatalf("%s: exp only %q, got %q", n.ID, clientPipelineEnd, got)
		}
	}
	requireList(t, leader.ClientAddr, "once", false, want)
	mustConverge(t, c)
	for _, n := range c.Nodes {
		requireList(t, n.ClientAddr, "once", true, want)
	}
}

// TestClientKillSelfAnswersThenCloses: SKIPME no (and the old form) kill
// the caller too, after its reply, as redis-server does; the rest of its
// pipeline is not run.
func TestClientKillSelfAnswersThenCloses(t *testing.T) {
	redisSrv := mustStartRedis(t)
	c := mustStartCluster(t, 3)
	leader := mustLeader(t, c)
	addrs := []string{redisSrv.Addr, leader.ClientAddr, followers(c, leader)[0].ClientAddr}
	for _, form := range []func(info map[string]string) string{
		func(info map[string]string) string { return "client kill skipme no id " + info["id"] },
		func(info map[string]string) string { return "client kill " + info["addr"] },
		func(info map[string]string) string {
			return "client kill laddr " + info["laddr"] + " addr " + info["addr"] + " skipme no"
		},
	} {
		var replies []string
		for _, addr := range addrs {
			conn := mustDial(t, addr)
			info := clientFields(string(mustDo(t, conn, "client", "info").str))
			var buf []byte
			for _, cmd := range []string{form(info), "rpush killed-self x", "ping"} {
				buf = resp.AppendCommand(buf, bargs(strings.Fields(cmd)...)...)
			}
			if err := conn.writeRaw(buf); err != nil {
				t.Fatal(err)
			}
			replies = append(replies, string(readUntil(conn.conn, nil, 10*time.Second)))
		}
		if replies[0] != ":1\r\n" && replies[0] != "+OK\r\n" {
			t.Fatalf("redis-server answered %q: the case tests nothing", replies[0])
		}
		for k, got := range replies[1:] {
			if got != replies[0] {
				t.Errorf("%s on %s: exp %q (redis-server), got %q", form(map[string]string{}), addrs[k+1], replies[0], got)
			}
		}
	}
	requireList(t, leader.ClientAddr, "killed-self", false, nil)
	mustConverge(t, c)
}

// TestClientListQbufCountsUnservedInput: qbuf in CLIENT LIST and INFO is
// what the client sent and the server has not finished serving, as
// redis-server counts it: the running command itself, a command only
// partly received, nothing for an idle client.
func TestClientListQbufCountsUnservedInput(t *testing.T) {
	redisSrv := mustStartRedis(t)
	c := mustStartCluster(t, 3)
	leader := mustLeader(t, c)
	partial := []byte("*3\r\n$5\r\nrpush\r\n$4\r\nqbuf\r\n$10\r\nabc")
	qbufs := func(addr string) []string {
		idle, busy, observer := mustDial(t, addr), mustDial(t, addr), mustDial(t, addr)
		mustDo(t, idle, "client", "setname", "idle")
		mustDo(t, busy, "client", "setname", "partial")
		if err := busy.writeRaw(partial); err != nil {
			t.Fatal(err)
		}
		own := clientFields(string(mustDo(t, observer, "client", "info").str))["qbuf"]
		out := []string{"own=" + own}
		deadline := time.Now().Add(10 * time.Second)
		for {
			byName := map[string]string{}
			for _, l := range clientLines(t, observer) {
				byName[l["name"]] = l["qbuf"]
			}
			if byName["partial"] != "0" || time.Now().After(deadline) {
				return append(out, "idle="+byName["idle"], "partial="+byName["partial"])
			}
			time.Sleep(20 * time.Millisecond) // the partial bytes are not read yet
		}
	}
	want := qbufs(redisSrv.Addr)
	for _, n := range []string{leader.ClientAddr, followers(c, leader)[0].ClientAddr} {
		if got := qbufs(n); !slices.Equal(got, want) {
			t.Errorf("qbuf on %s: exp %v (redis-server), got %v", n, want, got)
		}
	}
	mustConverge(t, c)
}
