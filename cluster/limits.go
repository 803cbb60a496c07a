package cluster

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/raftlist/raftlist/fsm/resp"
	"github.com/raftlist/raftlist/third_party/redcon"
)

// Limits that keep one client, or many, from exhausting a node, each named
// and worded as Redis names and words it:
//
//   - maxclients: a connection beyond the limit gets
//     "-ERR max number of clients reached" and is closed. Redis writes that
//     at accept; raftlist answers it to the connection's first command,
//     because only then can it tell node traffic from clients: a
//     connection whose first command proves the cluster secret (AUTH
//     raftlist-cluster <secret>, as a follower forwarding and a node
//     joining send) is another node and is never counted nor refused, so a
//     full node still forwards and replicates. For a request/response
//     client the difference does not show: its first command gets the
//     error, then EOF. Without a cluster secret nothing proves a node, so
//     every connection counts (isNodeTraffic).
//   - timeout: a client idle for that many seconds is closed, silently, as
//     Redis's clientsCron does — also inside MULTI, but never while a
//     command of it is running (a blocked BLPOP/BRPOPLPUSH is a running
//     command, as Redis exempts blocked clients) and never node traffic.
//   - client-output-buffer-limit normal <hard> <soft> <soft-seconds>: the
//     replies a client has not taken yet. Over hard, it is closed at once;
//     at soft, they are pushed to the network with soft-seconds to go, and
//     a client that does not read them in that time is closed. Either way
//     a client that stops reading holds at most hard bytes (plus the
//     kernel's socket buffer) and never a goroutine for ever. A forwarding
//     connection from a follower carries many clients' replies, so it is
//     never closed for them: a reply over hard is answered as an error
//     instead (limitNodeReply), and replies piling up over hard are pushed
//     out (limitOutput).

// OutputBufferLimit is client-output-buffer-limit for normal clients, in
// Redis's syntax: "normal <hard> <soft> <soft-seconds>", sizes with Redis's
// units. Zero hard and soft is Redis's default: no limit.
type OutputBufferLimit struct {
	Hard, Soft  int64
	SoftSeconds int64
}

// DefaultOutputBufferLimit is Redis's default for replicas, the clients
// Redis expects to take huge replies: a normal client of raftlist must not
// be able to exhaust a node's memory, so unlimited is not the default.
var DefaultOutputBufferLimit = OutputBufferLimit{Hard: 256 << 20, Soft: 64 << 20, SoftSeconds: 60}

// String is the limit as CONFIG GET shows it, sizes in bytes.
func (l *OutputBufferLimit) String() string {
	return fmt.Sprintf("normal %d %d %d", l.Hard, l.Soft, l.SoftSeconds)
}

// Set parses "normal <hard> <soft> <soft-seconds>", as a flag.Value.
func (l *OutputBufferLimit) Set(s string) error {
	f := strings.Fields(s)
	if len(f) != 4 {
		return errors.New("expected: normal <hard limit> <soft limit> <soft seconds>")
	}
	if !strings.EqualFold(f[0], "normal") {
		return fmt.Errorf("class %q: raftlist has only normal clients (no replicas, no pub/sub)", f[0])
	}
	hard, err1 := ParseBytes(f[1])
	soft, err2 := ParseBytes(f[2])
	secs, err3 := strconv.ParseInt(f[3], 10, 64)
	if err := errors.Join(err1, err2, err3); err != nil || secs < 0 {
		return fmt.Errorf("invalid limits %q: %v", s, err)
	}
	*l = OutputBufferLimit{Hard: hard, Soft: soft, SoftSeconds: secs}
	return nil
}

// MultiWord says a config file line gives this value as several words.
func (l *OutputBufferLimit) MultiWord() bool { return true }

// ByteSize is a size flag that takes Redis's memory units.
type ByteSize int64

func (b *ByteSize) String() string { return strconv.FormatInt(int64(*b), 10) }

// Set parses a size as Redis's config does (ParseBytes).
func (b *ByteSize) Set(s string) error {
	n, err := ParseBytes(s)
	if err != nil {
		return err
	}
	*b = ByteSize(n)
	return nil
}

// ParseBytes reads a size as Redis's memtoull does: a non-negative number
// with an optional unit, k/m/g powers of 1000, kb/mb/gb powers of 1024,
// any case.
func ParseBytes(s string) (int64, error) {
	units := []struct {
		suffix string
		mul    int64
	}{{"kb", 1 << 10}, {"mb", 1 << 20}, {"gb", 1 << 30}, {"k", 1e3}, {"m", 1e6}, {"g", 1e9}, {"b", 1}}
	lower := strings.ToLower(s)
	mul := int64(1)
	for _, u := range units {
		if strings.HasSuffix(lower, u.suffix) {
			lower, mul = strings.TrimSuffix(lower, u.suffix), u.mul
			break
		}
	}
	n, err := strconv.ParseInt(lower, 10, 64)
	if err != nil || n < 0 || n > (1<<63-1)/mul {
		return 0, fmt.Errorf("invalid size %q", s)
	}
	return n * mul, nil
}

// errMaxClients is Redis's reply to a connection over maxclients.
const errMaxClients = "ERR max number of clients reached"

// admit decides, at a connection's first command, whether it is node
// traffic (never counted) or a client, which is refused if it arrived
// over maxclients. It returns false when the connection is being closed.
func (s *Server) admit(conn redcon.Conn, c *client, args [][]byte) bool {
	c.admitted = true
	if s.isNodeTraffic(args) {
		c.node.Store(true)
		s.limitedClients.Add(-1)
		return true
	}
	if !c.overLimit {
		return true
	}
	s.stats.rejectedConns.Add(1)
	conn.ReadPipeline() // the rest of what it sent is not served either
	conn.WriteError(errMaxClients)
	c.closing = true
	conn.Close()
	return false
}

// isNodeTraffic reports the first command of a connection from another
// node: its login with the cluster secret (authUpstream), a proof. What a
// command is (RAFT FORWARD, say) proves nothing: anyone can send it to
// escape maxclients and timeout. Without a cluster secret there is no
// proof, and nodes' connections count as clients.
func (s *Server) isNodeTraffic(args [][]byte) bool {
	if s.cfg.ClusterSecret == "" {
		return false
	}
	return len(args) == 3 && isName(args[0], "auth") && isName(args[1], ClusterUser) &&
		secretEqual(args[2], s.cfg.ClusterSecret)
}

// reapIdle closes clients idle for longer than the timeout (CONFIG SET
// may change it, from or to none), until the server closes. One ticker
// per server, four times a second, as often as a timeout of one second
// needs: it only reads atomics.
func (s *Server) reapIdle() {
	s.every(250*time.Millisecond, func(now time.Time) {
		timeout := time.Duration(s.live.idleTimeout.Load())
		if timeout <= 0 {
			return
		}
		for _, c := range s.clientList() {
			if c.node.Load() || c.busy.Load() {
				continue
			}
			if now.Sub(time.Unix(0, c.lastCmd.Load())) > timeout {
				s.log.Debug("closing idle client", "id", c.id, "addr", c.conn.RemoteAddr())
				// The connection's goroutine owns its writer; closing
				// the socket wakes its read, and it cleans up.
				c.conn.NetConn().Close()
			}
		}
	})
}

// limitNodeReply is the reply wire to send another node: wire itself,
// or, when it alone is over the hard limit, an error in its place, so
// that only the request it answers fails and the connection, shared by
// the follower's clients, stays in sync. A client of this node would be
// closed for that reply.
func (s *Server) limitNodeReply(wire []byte) []byte {
	hard := s.live.outputLimit.Load().Hard
	if hard <= 0 || int64(len(wire)) <= hard {
		return wire
	}
	return resp.AppendRESP(wire[:0], resp.Error(fmt.Sprintf(
		"ERR the reply (%d bytes) exceeds client-output-buffer-limit (hard %d bytes); the command was executed", len(wire), hard)))
}

// limitOutput applies client-output-buffer-limit after a reply is queued.
func (s *Server) limitOutput(conn redcon.Conn, c *client) {
	l := *s.live.outputLimit.Load()
	n := int64(conn.OutputLen())
	if c.node.Load() {
		// Replies to many of a follower's clients: push them out rather
		// than close the connection under all of them. A follower that
		// does not read within the request timeout is gone anyway.
		if l.Hard > 0 && n > l.Hard && conn.FlushWithin(s.cfg.RequestTimeout) != nil {
			s.dropSlowClient(conn, c, n)
		}
		return
	}
	switch {
	case l.Hard > 0 && n > l.Hard:
		s.dropSlowClient(conn, c, n)
	case l.Soft > 0 && n >= l.Soft:
		// Redis closes a client that stays over soft for soft-seconds;
		// pushing the bytes out with that deadline is the same test. Zero
		// seconds means at once: a short grace for the write itself.
		d := max(time.Duration(l.SoftSeconds)*time.Second, 10*time.Millisecond)
		if err := conn.FlushWithin(d); err != nil {
			s.dropSlowClient(conn, c, n)
		}
	}
}

// dropSlowClient closes a client over its output limit without trying to
// write what it did not read.
func (s *Server) dropSlowClient(conn redcon.Conn, c *client, pending int64) {
	s.log.Warn("Client scheduled to be closed ASAP for overcoming of output buffer limits",
		"id", c.id, "addr", c.conn.RemoteAddr(), "omem", pending)
	s.outputLimited.Add(1)
	c.closing = true
	c.out = nil
	conn.NetConn().Close() // first, so that Close's flush fails at once
	conn.Close()
}
