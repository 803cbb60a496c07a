package tests

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/raftlist/raftlist/cluster/local"
)

// mustStartTLSCluster is mustStartCluster for a TLS-only cluster
// (local.Config.TLS): clients and nodes speak TLS, with a CA and
// certificates generated into the cluster's directory.
func mustStartTLSCluster(t *testing.T, n int, extraArgs ...string) *local.Cluster {
	t.Helper()
	return mustStartTLSAuthCluster(t, n, "", extraArgs...)
}

// mustStartTLSAuthCluster is mustStartTLSCluster whose nodes also run with
// --requirepass password, unless password is empty. Like every TLS
// cluster, they get a cluster secret that cluster/local makes up.
func mustStartTLSAuthCluster(t *testing.T, n int, password string, extraArgs ...string) *local.Cluster {
	t.Helper()
	return mustStartClusterWith(t, n, func(cfg *local.Config) { cfg.TLS, cfg.Password = true, password }, extraArgs...)
}

// mustRedisCli finds redis-cli, as mustStartRedis finds redis-server.
func mustRedisCli(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("redis-cli")
	if err != nil {
		msg := "redis-cli is not installed (apt-get install redis-tools); the TLS test drives it"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return path
}

// redisCli runs redis-cli against addr with extra flags (TLS ones) and
// returns its output, stdout and stderr together.
func redisCli(t *testing.T, cli, addr string, flags []string, args ...string) (string, error) {
	t.Helper()
	host, port, _ := net.SplitHostPort(addr)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	all := append(append([]string{"-h", host, "-p", port}, flags...), args...)
	out, err := exec.CommandContext(ctx, cli, all...).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// tlsClient is a go-redis client for addr with conf, failing fast.
func tlsClient(addr string, conf *tls.Config) *redis.Client {
	return redis.NewClient(&redis.Options{
		Addr: addr, TLSConfig: conf, MaxRetries: -1, Protocol: 2, DisableIdentity: true,
		DialTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second, WriteTimeout: 5 * time.Second,
	})
}

// infoField reads one field of an INFO section through c.
func infoField(t *testing.T, ctx context.Context, c *redis.Client, section, field string) string {
	t.Helper()
	text, err := c.Info(ctx, section).Result()
	if err != nil {
		t.Fatalf("INFO %s: %v", section, err)
	}
	for _, line := range strings.Split(text, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), field+":"); ok {
			return v
		}
	}
	t.Fatalf("INFO %s has no %s:\n%s", section, field, text)
	return ""
}

// waitInfo polls until INFO section's field on c reads want.
func waitInfo(t *testing.T, c *redis.Client, section, field, want string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var got string
	for {
		got = infoField(t, ctx, c, section, field)
		if got == want {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("INFO %s %s: exp %q, got %q after 20s", section, field, want, got)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func TestTLSCluster(t *testing.T) {
	cli := mustRedisCli(t)
	c := mustStartTLSCluster(t, 3)
	files := c.TLSFiles()
	leader := mustLeader(t, c)
	follower := followers(c, leader)[0]
	other := followers(c, leader)[1]
	host, _, _ := net.SplitHostPort(leader.ClientAddr)
	good, err := files.ClientConfig(host)
	if err != nil {
		t.Fatal(err)
	}
	cliTLS := []string{"--tls", "--cacert", files.CACert, "--cert", files.ClientCert, "--key", files.ClientKey}

	t.Run("redis-cli --tls talks to a follower and to the leader", func(t *testing.T) {
		for _, n := range []*local.Node{follower, leader} {
			if out, err := redisCli(t, cli, n.ClientAddr, cliTLS, "PING"); err != nil || out != "PONG" {
				t.Fatalf("PING on %s: exp PONG, got %q (%v)", n.ID, out, err)
			}
			if out, err := redisCli(t, cli, n.ClientAddr, cliTLS, "RPUSH", "cli:"+n.ID, "a", "b"); err != nil || out != "2" {
				t.Fatalf("RPUSH on %s: exp 2, got %q (%v)", n.ID, out, err)
			}
		}
		for _, n := range []*local.Node{leader, follower} {
			for _, key := range []string{"cli:" + leader.ID, "cli:" + follower.ID} {
				if out, err := redisCli(t, cli, n.ClientAddr, cliTLS, "LRANGE", key, "0", "-1"); err != nil || out != "a\nb" {
					t.Fatalf("LRANGE %s on %s: exp \"a\\nb\", got %q (%v)", key, n.ID, out, err)
				}
			}
		}
	})

	t.Run("go-redis with a TLS config writes through a follower and reads on the leader", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		fc, lc := tlsClient(follower.ClientAddr, good), tlsClient(leader.ClientAddr, good)
		defer fc.Close()
		defer lc.Close()
		if n, err := fc.RPush(ctx, "goredis", "x", "y", "z").Result(); err != nil || n != 3 {
			t.Fatalf("RPUSH through %s: exp 3, got %d (%v)", follower.ID, n, err)
		}
		got, err := lc.LRange(ctx, "goredis", 0, -1).Result()
		if err != nil || strings.Join(got, ",") != "x,y,z" {
			t.Fatalf("LRANGE on %s: exp x,y,z, got %v (%v)", leader.ID, got, err)
		}
	})

	t.Run("a plain TCP client on the TLS port gets no reply and a closed connection", func(t *testing.T) {
		conn, err := net.DialTimeout("tcp", follower.ClientAddr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := conn.Write([]byte("*1\r\n$4\r\nPING\r\n")); err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(conn)
		if err != nil || len(data) != 0 {
			t.Fatalf("exp the node to close the connection without a reply, got %q (%v)", data, err)
		}
		out, err := redisCli(t, cli, follower.ClientAddr, nil, "PING")
		if err == nil || strings.Contains(out, "PONG") {
			t.Fatalf("plain redis-cli on the TLS port: exp a failure, got %q (%v)", out, err)
		}
	})

	t.Run("a client without a certificate is refused, since tls-auth-clients defaults to yes", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		noCert := &tls.Config{RootCAs: good.RootCAs, ServerName: host}
		nc := tlsClient(follower.ClientAddr, noCert)
		defer nc.Close()
		if err := nc.Ping(ctx).Err(); err == nil || !strings.Contains(err.Error(), "certificate required") {
			t.Fatalf("PING without a client certificate: exp a certificate required error, got %v", err)
		}
		out, err := redisCli(t, cli, follower.ClientAddr, []string{"--tls", "--cacert", files.CACert}, "PING")
		if err == nil || strings.Contains(out, "PONG") {
			t.Fatalf("redis-cli without --cert: exp a failure, got %q (%v)", out, err)
		}
	})

	t.Run("the Raft port refuses peers without a certificate of the cluster CA and the cluster keeps working", func(t *testing.T) {
		strangers, err := local.WriteTLSFiles(filepath.Join(t.TempDir(), "stranger"))
		if err != nil {
			t.Fatal(err)
		}
		stranger, err := strangers.ClientConfig(host)
		if err != nil {
			t.Fatal(err)
		}
		// Trusting the cluster's CA keeps the stranger's own check out of
		// the way: the refusal must come from the node.
		stranger.RootCAs = good.RootCAs
		stranger.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			return &stranger.Certificates[0], nil
		}
		noCert := &tls.Config{RootCAs: good.RootCAs, ServerName: host}
		// The alerts name the node's reason: a node without mutual TLS on
		// its Raft port would fail these handshakes some other way.
		for _, tc := range []struct {
			name string
			conf *tls.Config
			exp  string
		}{
			{"no certificate", noCert, "tls: certificate required"},
			{"another CA's certificate", stranger, "tls: unknown certificate authority"},
		} {
			for _, n := range c.Nodes {
				err := tryRaftPort(n.RaftAddr, tc.conf)
				if err == nil || !strings.Contains(err.Error(), tc.exp) {
					t.Fatalf("%s on %s's Raft port: exp %q, got %v", tc.name, n.ID, tc.exp, err)
				}
			}
		}
		mustTLSPush(t, good, other.ClientAddr, "after-strangers", "still", "working")
		mustConverge(t, c)
	})

	t.Run("a client blocked in BLPOP over TLS is served by a push through another node", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		bc := tlsClient(follower.ClientAddr, good)
		defer bc.Close()
		got := make(chan []string, 1)
		errc := make(chan error, 1)
		go func() {
			v, err := bc.BLPop(ctx, 20*time.Second, "tls:queue").Result()
			if err != nil {
				errc <- err
				return
			}
			got <- v
		}()
		fc := tlsClient(follower.ClientAddr, good)
		defer fc.Close()
		waitInfo(t, fc, "clients", "blocked_clients", "1")
		mustTLSPush(t, good, other.ClientAddr, "tls:queue", "hello")
		select {
		case v := <-got:
			if strings.Join(v, " ") != "tls:queue hello" {
				t.Fatalf("BLPOP: exp [tls:queue hello], got %v", v)
			}
		case err := <-errc:
			t.Fatalf("BLPOP: %v", err)
		case <-ctx.Done():
			t.Fatal("BLPOP was not served within 30s")
		}
	})

	t.Run("a client blocked in BLPOP over TLS that hangs up is cleaned up", func(t *testing.T) {
		conn, err := tls.Dial("tcp", follower.ClientAddr, good)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Write([]byte("*3\r\n$5\r\nBLPOP\r\n$10\r\ntls:nobody\r\n$1\r\n0\r\n")); err != nil {
			t.Fatal(err)
		}
		fc := tlsClient(follower.ClientAddr, good)
		defer fc.Close()
		lc := tlsClient(leader.ClientAddr, good)
		defer lc.Close()
		waitInfo(t, fc, "clients", "blocked_clients", "1")
		waitInfo(t, lc, "raft", "raft_blocked_waiters", "1")
		conn.Close()
		waitInfo(t, fc, "clients", "blocked_clients", "0")
		waitInfo(t, lc, "raft", "raft_blocked_waiters", "0")
	})
}

// tryRaftPort opens a TLS connection to a Raft port with conf, sends bytes
// and returns the error that ends the connection (in TLS 1.3 the server's
// verdict on the client certificate arrives after the client's handshake,
// on the first read); nil if the node kept the connection open.
func tryRaftPort(addr string, conf *tls.Config) error {
	d := &net.Dialer{Timeout: 5 * time.Second}
	conn, err := tls.DialWithDialer(d, "tcp", addr, conf)
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := conn.Write([]byte("\x00garbage that is no raft RPC\n")); err != nil {
		return err
	}
	_, err = io.ReadAll(conn)
	if err == nil {
		return errors.New("closed by the node")
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return nil // the node kept the connection open: not refused
	}
	return err
}

// mustTLSPush RPUSHes values to key through addr over TLS.
func mustTLSPush(t *testing.T, conf *tls.Config, addr, key string, values ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c := tlsClient(addr, conf)
	defer c.Close()
	args := make([]any, len(values))
	for i, v := range values {
		args[i] = v
	}
	if err := c.RPush(ctx, key, args...).Err(); err != nil {
		t.Fatalf("RPUSH %s through %s: %v", key, addr, err)
	}
}

// TestTLSBesidePlainWithOptionalClientCertificates: one node serving both
// doors (Redis's port and tls-port) with tls-auth-clients optional.
func TestTLSBesidePlainWithOptionalClientCertificates(t *testing.T) {
	plainAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	c := mustStartTLSCluster(t, 1, "--listen", plainAddr, "--tls-auth-clients", "optional")
	n := c.Nodes[0]
	files := c.TLSFiles()
	host, _, _ := net.SplitHostPort(n.ClientAddr)
	good, err := files.ClientConfig(host)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	plain := redis.NewClient(&redis.Options{Addr: plainAddr, MaxRetries: -1, DialTimeout: 5 * time.Second})
	defer plain.Close()
	if err := plain.RPush(ctx, "doors", "plain").Err(); err != nil {
		t.Fatalf("RPUSH on the plain port: %v", err)
	}
	withCert := tlsClient(n.ClientAddr, good)
	defer withCert.Close()
	if err := withCert.RPush(ctx, "doors", "tls-with-cert").Err(); err != nil {
		t.Fatalf("RPUSH over TLS with a client certificate: %v", err)
	}
	noCert := tlsClient(n.ClientAddr, &tls.Config{RootCAs: good.RootCAs, ServerName: host})
	defer noCert.Close()
	if err := noCert.RPush(ctx, "doors", "tls-without-cert").Err(); err != nil {
		t.Fatalf("RPUSH over TLS without a client certificate (optional): %v", err)
	}
	got, err := plain.LRange(ctx, "doors", 0, -1).Result()
	if exp := "plain,tls-with-cert,tls-without-cert"; err != nil || strings.Join(got, ",") != exp {
		t.Fatalf("LRANGE: exp %s, got %v (%v)", exp, got, err)
	}

	// optional still verifies a certificate that is sent.
	strangers, err := local.WriteTLSFiles(filepath.Join(t.TempDir(), "stranger"))
	if err != nil {
		t.Fatal(err)
	}
	stranger, err := strangers.ClientConfig(host)
	if err != nil {
		t.Fatal(err)
	}
	stranger.RootCAs = good.RootCAs
	stranger.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
		return &stranger.Certificates[0], nil
	}
	sc := tlsClient(n.ClientAddr, stranger)
	defer sc.Close()
	if err := sc.Ping(ctx).Err(); err == nil {
		t.Fatal("PING with a certificate of another CA: exp a refusal, got PONG")
	}
}

// TestTLSRedirectNamesTheLeadersTLSAddress: in --redirect mode a follower
// of a TLS cluster sends clients to an address they can reach with TLS.
func TestTLSRedirectNamesTheLeadersTLSAddress(t *testing.T) {
	c := mustStartTLSCluster(t, 3, "--redirect")
	leader := mustLeader(t, c)
	follower := followers(c, leader)[0]
	host, _, _ := net.SplitHostPort(leader.ClientAddr)
	conf, err := c.TLSFiles().ClientConfig(host)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	fc := tlsClient(follower.ClientAddr, conf)
	defer fc.Close()
	err = fc.RPush(ctx, "moved", "x").Err()
	if exp := "MOVED 0 " + leader.ClientAddr; err == nil || err.Error() != exp {
		t.Fatalf("RPUSH on follower %s: exp %q, got %v", follower.ID, exp, err)
	}
	lc := tlsClient(strings.TrimPrefix(err.Error(), "MOVED 0 "), conf)
	defer lc.Close()
	if n, err := lc.RPush(ctx, "moved", "x").Result(); err != nil || n != 1 {
		t.Fatalf("RPUSH at the address MOVED named: exp 1, got %d (%v)", n, err)
	}
}

// TestTLSAndAuthTogether: with both TLS and --requirepass, a client needs
// both, and so does every node-to-node path: a write a follower forwards
// reaches the TLS-only leader only if the follower both speaks TLS and logs
// in as the cluster user, and the Raft transport replicates only through
// mutual TLS with the secret handshake inside it.
func TestTLSAndAuthTogether(t *testing.T) {
	c := mustStartTLSAuthCluster(t, 3, authPassword)
	leader := mustLeader(t, c)
	follower := followers(c, leader)[0]
	host, _, _ := net.SplitHostPort(leader.ClientAddr)
	conf, err := c.TLSFiles().ClientConfig(host)
	if err != nil {
		t.Fatal(err)
	}
	authed := func(addr string) *redis.Client {
		return redis.NewClient(&redis.Options{
			Addr: addr, TLSConfig: conf, Password: authPassword, MaxRetries: -1, Protocol: 2, DisableIdentity: true,
			DialTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second, WriteTimeout: 5 * time.Second,
		})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	t.Run("a TLS client with the password writes through a follower and reads on the leader", func(t *testing.T) {
		fc, lc := authed(follower.ClientAddr), authed(leader.ClientAddr)
		defer fc.Close()
		defer lc.Close()
		if n, err := fc.RPush(ctx, "both", "x", "y").Result(); err != nil || n != 2 {
			t.Fatalf("RPUSH through %s: exp 2, got %d (%v)", follower.ID, n, err)
		}
		got, err := lc.LRange(ctx, "both", 0, -1).Result()
		if err != nil || strings.Join(got, ",") != "x,y" {
			t.Fatalf("LRANGE on %s: exp x,y, got %v (%v)", leader.ID, got, err)
		}
	})

	t.Run("a TLS client without AUTH gets NOAUTH and writes nothing", func(t *testing.T) {
		for _, n := range []*local.Node{follower, leader} {
			nc := tlsClient(n.ClientAddr, conf)
			err := nc.RPush(ctx, "both", "stranger").Err()
			nc.Close()
			if err == nil || !strings.HasPrefix(err.Error(), "NOAUTH ") {
				t.Fatalf("RPUSH without AUTH on %s: exp NOAUTH, got %v", n.ID, err)
			}
		}
		lc := authed(leader.ClientAddr)
		defer lc.Close()
		if n, err := lc.LLen(ctx, "both").Result(); err != nil || n != 2 {
			t.Fatalf("LLEN after the refused pushes: exp 2, got %d (%v)", n, err)
		}
	})

	mustConverge(t, c)
}
