package cluster

import (
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/raftlist/raftlist/fsm/resp"
)

// MONITOR streams what this node serves, as redis-server 7.0 does
// (replication.c replicationFeedMonitors, fed from server.c call()):
// one status line per command, after it ran,
//
//	+<sec>.<usec> [<db> <addr>] "cmd" "arg" ...
//
// with every argument quoted as sdscatrepr quotes it. What a node shows:
//
//   - the commands its own clients sent, whether this node applied them
//     (the leader) or forwarded them to the leader (a follower): each
//     command is shown once, on the node its client is connected to. A
//     leader does not show the hops followers forward to it (their
//     clients are another node's).
//   - not what Redis refuses before running (unknown command, arity,
//     NOAUTH/NOPERM, a command refused at queue time in MULTI; a command
//     raftlist refuses for its arguments before the log is shown, as
//     Redis shows it once it ran and failed), not admin commands (Redis finds them
//     too dangerous to show: CONFIG, DEBUG, CLIENT LIST/KILL, MONITOR…).
//   - AUTH and HELLO's AUTH arguments as "(redacted)", as Redis does.
//   - inside MULTI: MULTI when it runs, the queued commands when EXEC ran
//     them (not when queued), then EXEC; an aborted or WATCH-failed EXEC
//     shows EXEC alone.
//   - EVAL/EVALSHA are shown once they ran (Redis shows them just before
//     they run, with the same line). The commands a script runs
//     (Redis's "[0 lua]" lines) are not shown: they run inside the state
//     machine at apply time, on every node, and the state machine does not
//     report them (see README, differences from Redis).
//
// A monitoring connection is a Redis replica-like client: commands that
// touch the keyspace are refused ("Replica can't interact with the
// keyspace"), connection commands still run, and RESET (or QUIT) ends it.
// Its stream has its own writer goroutine and buffer, bounded by
// client-output-buffer-limit: a monitor that does not read is closed when
// it passes the hard limit, or stays over the soft limit for soft-seconds,
// as Redis closes a client over its limits. Feeding never waits for a
// monitor.

// monitor is one monitoring connection's stream. Once a connection
// monitors, every byte it is sent goes through here, its own replies
// included, so that one goroutine writes to the socket.
type monitor struct {
	s    *Server
	c    *client
	conn net.Conn

	mu sync.Mutex
	// buf is what waits to be written; writing is the size of what the
	// writer is writing now. Both count against the output limit.
	buf, spare []byte
	writing    int
	softSince  time.Time
	// listening is false once RESET ended monitoring: the connection
	// still writes through here, but is fed no more commands.
	listening bool
	closed    bool
	wake      chan struct{}
	drained   *sync.Cond
}

// monitorCommand is MONITOR: the connection starts receiving the stream.
func monitorCommand(s *Server, r *request) resp.Reply {
	c := r.c
	if r.inExec {
		return resp.Error("ERR MONITOR isn't allowed for DENY BLOCKING client")
	}
	if c.mon != nil {
		if c.mon.isListening() {
			return resp.Raw(nil) // Redis ignores MONITOR from a monitor: no reply
		}
		c.mon.listen(true)
		c.monitoring.Store(true)
		s.addMonitor(c.mon)
		return resp.OK
	}
	m := &monitor{s: s, c: c, conn: c.conn.NetConn(), listening: true, wake: make(chan struct{}, 1)}
	m.drained = sync.NewCond(&m.mu)
	c.mon = m
	c.monitoring.Store(true)
	go m.write()
	s.addMonitor(m)
	return resp.OK
}

func (m *monitor) isListening() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.listening
}

func (m *monitor) listen(on bool) {
	m.mu.Lock()
	m.listening = on
	m.mu.Unlock()
}

func (s *Server) addMonitor(m *monitor) {
	s.monMu.Lock()
	defer s.monMu.Unlock()
	old := s.monitorList()
	next := make([]*monitor, 0, 1+len(old))
	next = append(append(next, old...), m)
	s.monitors.Store(&next)
}

// monitorList is the monitoring connections now (nil for none).
func (s *Server) monitorList() []*monitor {
	if p := s.monitors.Load(); p != nil {
		return *p
	}
	return nil
}

func (s *Server) removeMonitor(m *monitor) {
	s.monMu.Lock()
	defer s.monMu.Unlock()
	old := s.monitorList()
	next := make([]*monitor, 0, len(old))
	for _, o := range old {
		if o != m {
			next = append(next, o)
		}
	}
	s.monitors.Store(&next)
}

// push queues b for the connection, closing it if that puts it over its
// output limit. It never blocks on the network.
func (m *monitor) push(b []byte, fed bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed || (fed && !m.listening) {
		return
	}
	m.buf = append(m.buf, b...)
	pending := int64(len(m.buf) + m.writing)
	l := *m.s.live.outputLimit.Load()
	now := time.Now()
	switch {
	case l.Hard > 0 && pending > l.Hard:
		m.dropLocked(pending)
		return
	case l.Soft > 0 && pending >= l.Soft:
		if m.softSince.IsZero() {
			m.softSince = now
		} else if now.Sub(m.softSince) > time.Duration(l.SoftSeconds)*time.Second {
			m.dropLocked(pending)
			return
		}
	default:
		m.softSince = time.Time{}
	}
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

func (m *monitor) dropLocked(pending int64) {
	m.s.log.Warn("Client scheduled to be closed ASAP for overcoming of output buffer limits",
		"id", m.c.id, "addr", m.conn.RemoteAddr().String(), "omem", pending)
	m.s.outputLimited.Add(1)
	m.closeLocked()
}

func (m *monitor) closeLocked() {
	if m.closed {
		return
	}
	m.closed = true
	m.buf, m.spare = nil, nil
	m.conn.Close() // wakes the connection's read and the writer's write
	m.drained.Broadcast()
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// close ends the stream: the connection is gone.
func (m *monitor) close() {
	m.s.removeMonitor(m)
	m.mu.Lock()
	m.closeLocked()
	m.mu.Unlock()
}

// write is the connection's one writer while it monitors.
func (m *monitor) write() {
	for range m.wake {
		m.mu.Lock()
		if m.closed {
			m.mu.Unlock()
			return
		}
		out := m.buf
		m.buf, m.spare = m.spare[:0], nil
		m.writing = len(out)
		m.mu.Unlock()
		_, err := m.conn.Write(out)
		m.mu.Lock()
		m.writing = 0
		if cap(out) <= 64<<10 {
			m.spare = out[:0]
		}
		if err != nil {
			m.closeLocked()
		}
		if len(m.buf) > 0 {
			select {
			case m.wake <- struct{}{}:
			default:
			}
		} else {
			m.drained.Broadcast()
		}
		closed := m.closed
		m.mu.Unlock()
		if closed {
			return
		}
	}
}

// flush waits until what was queued is written (before QUIT closes the
// socket), for at most d.
func (m *monitor) flush(d time.Duration) {
	t := time.AfterFunc(d, func() {
		m.mu.Lock()
		m.closeLocked()
		m.mu.Unlock()
	})
	defer t.Stop()
	m.mu.Lock()
	defer m.mu.Unlock()
	for !m.closed && (len(m.buf) > 0 || m.writing > 0) {
		m.drained.Wait()
	}
}

// feedMonitors shows r, which this node just served, to every monitor.
func (s *Server) feedMonitors(r *request) {
	mons := s.monitorList()
	if len(mons) == 0 || r.c.node.Load() || r.forwarded || (r.rejected && !r.failedArgs) || r.queued {
		return
	}
	for _, q := range r.ranInTx {
		if shownToMonitor(q.args) {
			s.feedLine(mons, r.c, q.db, q.args)
		}
	}
	if !shownToMonitor(r.args) {
		return
	}
	s.feedLine(mons, r.c, int(r.c.db.Load()), r.args) // the database after it ran, as Redis shows SELECT
}

func (s *Server) feedLine(mons []*monitor, c *client, db int, args [][]byte) {
	line := monitorLine(nil, time.Now(), db, c.conn.RemoteAddr(), redacted(args))
	for _, m := range mons {
		m.push(line, true)
	}
}

// shownToMonitor reports whether Redis shows a command to MONITOR: not
// an admin command or subcommand.
func shownToMonitor(args [][]byte) bool {
	sp, cc := findCommand(args[0])
	if sp == nil {
		return false
	}
	flags := sp.Flags
	if cc != nil && cc.subs != nil && len(args) > 1 {
		if sc := subcommandNamed(cc.subs, args[1]); sc != nil {
			flags |= sc.flags
		}
	}
	return flags&resp.Admin == 0
}

var redactedArg = []byte("(redacted)")

// redacted is args as Redis shows them: AUTH's password (and user), and
// the credentials of HELLO's AUTH option, as "(redacted)"
// (redactClientCommandArgument in authCommand and helloCommand).
func redacted(args [][]byte) [][]byte {
	switch {
	case isName(args[0], "auth") && len(args) <= 3:
		out := append([][]byte(nil), args...)
		for i := 1; i < len(out); i++ {
			out[i] = redactedArg
		}
		return out
	case isName(args[0], "hello") && len(args) > 1:
		if v, err := strconv.Atoi(string(args[1])); err != nil || v < 2 || v > 3 {
			return args // refused before the options are read
		}
		var out [][]byte
		for j := 2; j < len(args); j++ {
			more := len(args) - 1 - j
			switch {
			case resp.IsOption(args[j], "auth") && more >= 2:
				if out == nil {
					out = append([][]byte(nil), args...)
				}
				out[j+1], out[j+2] = redactedArg, redactedArg
				j += 2
			case resp.IsOption(args[j], "setname") && more >= 1:
				j++
			default:
				j = len(args)
			}
		}
		if out != nil {
			return out
		}
	}
	return args
}

// monitorLine appends one MONITOR line: Redis's format, arguments quoted
// by sdscatrepr.
func monitorLine(b []byte, now time.Time, db int, addr string, args [][]byte) []byte {
	b = fmt.Appendf(b, "+%d.%06d [%d %s] ", now.Unix(), now.Nanosecond()/1000, db, addr)
	for i, a := range args {
		if i > 0 {
			b = append(b, ' ')
		}
		b = appendRepr(b, a)
	}
	return append(b, '\r', '\n')
}

// appendRepr is Redis's sdscatrepr: a quoted string with \\ \" \n \r \t
// \a \b escaped, printable ASCII as is, every other byte as \xhh.
func appendRepr(b, s []byte) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for _, ch := range s {
		switch ch {
		case '\\', '"':
			b = append(b, '\\', ch)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		case '\a':
			b = append(b, '\\', 'a')
		case '\b':
			b = append(b, '\\', 'b')
		default:
			if ch >= 0x20 && ch <= 0x7e {
				b = append(b, ch)
			} else {
				b = append(b, '\\', 'x', hex[ch>>4], hex[ch&15])
			}
		}
	}
	return append(b, '"')
}

// errMonitorKeyspace is what a monitoring connection gets for a command
// that touches the keyspace (Redis: a monitor is a replica-flagged
// client, processCommand).
const errMonitorKeyspace = resp.Error("ERR Replica can't interact with the keyspace")

// RESET: the connection as new (Redis's clearClientConnectionState):
// monitoring ends, MULTI and WATCH are discarded, database 0, RESP2, the
// default user, no name, READWRITE, CLIENT REPLY ON.
func resetCommand(s *Server, r *request) resp.Reply {
	c := r.c
	if c.node.Load() {
		return resp.Error("ERR can only reset normal client connections")
	}
	if c.mon != nil && c.mon.isListening() {
		c.mon.listen(false)
		c.monitoring.Store(false)
		s.removeMonitor(c.mon)
	}
	c.endTx()
	c.db.Store(0)
	c.proto.Store(resp.RESP2)
	c.setUser("")
	c.auth.Store(int32(s.initialAuth()))
	c.loggedIn.Store(!s.defaultNeedsAuth())
	c.setName(nil)
	c.readonly.Store(false)
	c.replyOff, c.replySkip, c.replySkipNext = false, false, false
	return resp.Status("RESET")
}
