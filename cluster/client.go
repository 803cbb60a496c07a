package cluster

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/raftlist/raftlist/third_party/redcon"

	"github.com/raftlist/raftlist/fsm"
	"github.com/raftlist/raftlist/fsm/resp"
)

// client is one connection's state. Its handler runs in the connection's
// own goroutine, but CLIENT LIST reads it from others: shared fields are
// atomic or under mu.
type client struct {
	id      int64
	conn    redcon.Conn
	created time.Time

	db       atomic.Int64 // selected database
	readonly atomic.Bool  // READONLY: serve reads from local (possibly stale) state
	// closeAfterReply closes the connection once the current reply is out.
	closeAfterReply atomic.Bool

	// tx is the MULTI queue (nil outside MULTI) and watches the WATCHed
	// keys (multi.go); only the connection's goroutine touches them.
	// multiLen is what CLIENT LIST shows: 0 outside MULTI, else 1 + the
	// number of queued commands.
	tx       *txState
	watches  []fsm.Watch
	multiLen atomic.Int64

	// Scratch space of the connection's goroutine (pipeline.go): the
	// reply being encoded, the run being served, a lone command, and
	// whether the connection is closing so the rest of its pipeline is
	// dropped.
	out     []byte
	run     []request
	one     [1]redcon.Command
	closing bool
	// mon is the connection's MONITOR stream (monitor.go), nil until it
	// sends MONITOR; from then on its replies go out through it too.
	mon *monitor

	// queued is the size of the commands of the pipeline being served
	// that have not finished, the one running included: with what redcon
	// has read and not parsed, CLIENT LIST's qbuf, as Redis counts the
	// query buffer until a command is done.
	queued atomic.Int64

	// auth is the connection's authLevel (auth.go); zero is no rights.
	auth atomic.Int32
	// loggedIn is Redis's c->authenticated: set by a successful AUTH or
	// HELLO AUTH, or at accept while the default user needs no password.
	// A connection without it must log in once the default user needs a
	// password or is off (Redis's authRequired, asked per command).
	loggedIn atomic.Bool
	// proto is the protocol HELLO chose (resp.RESP2 or resp.RESP3; zero
	// is RESP2, as a new connection speaks): every reply to this
	// connection is encoded in it, the forwarded ones by the leader.
	proto atomic.Int32

	mu   sync.Mutex
	name string
	user string // the user AUTH logged in as; "" is default
	// CLIENT SETINFO (Redis 7.2): shown in CLIENT LIST, "" when unset.
	libName, libVer string
	// serving is set while the connection's goroutine serves a pipeline;
	// killed by CLIENT KILL (clientkill.go). Both under mu, so that a
	// kill either finds the client idle and closes its socket, or the
	// client finishes the command it started, answers it, and closes.
	serving bool
	killed  atomic.Bool

	// CLIENT REPLY (clientreply.go); only the connection's goroutine
	// touches them.
	replyOff, replySkip, replySkipNext bool
	// replyDecided: the reply being written already is what Redis writes
	// under the reply modes (an EXEC that ran CLIENT REPLY).
	replyDecided bool
	// CLIENT NO-EVICT and NO-TOUCH, and blocked in a blocking command:
	// shown in CLIENT LIST's flags.
	noEvict, noTouch, blocked atomic.Bool
	// monitoring is set while the connection monitors (flag O).
	monitoring atomic.Bool
	// nodeLink marks a connection that carried another node's traffic
	// (RAFT FORWARD and the other internal subcommands): CLIENT KILL
	// never closes it, as it serves the clients of another node.
	nodeLink atomic.Bool

	lastCmd     atomic.Int64 // unix nanos
	lastCmdName atomic.Value // string

	// limits.go: admitted once the first command classified the
	// connection; overLimit if it arrived over maxclients; node for node
	// traffic; busy while a command of it runs (the idle timeout spares it).
	admitted  bool
	overLimit bool
	node      atomic.Bool
	busy      atomic.Bool
}

func (c *client) setName(name []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.name = string(name)
}

func (c *client) setUser(user string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.user = user
}

func (c *client) getUser() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.user == "" {
		return "default"
	}
	return c.user
}

func (c *client) getName() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.name
}

func (c *client) libInfo() (name, ver string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.libName, c.libVer
}

// beginServing marks the client busy with a pipeline, unless it was
// killed: then it must serve nothing more.
func (c *client) beginServing() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.killed.Load() {
		return false
	}
	c.serving = true
	return true
}

// endServing reports whether the client was killed while it served.
func (c *client) endServing() (killed bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.serving = false
	return c.killed.Load()
}

// kill marks the client killed and reports whether it was idle (its
// socket may be closed at once) rather than serving (it closes itself
// once the command it runs has answered).
func (c *client) kill() (idle bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.killed.Store(true)
	return !c.serving
}

// infoLine is the client's line in CLIENT LIST and CLIENT INFO, with the
// fields redis-server 7.2 prints: 7.0's, then lib-name and lib-ver, which
// CLIENT SETINFO sets (clients send it on connect).
// protocol is the protocol the connection speaks.
func (c *client) protocol() int {
	if c.proto.Load() == resp.RESP3 {
		return resp.RESP3
	}
	return resp.RESP2
}

func (c *client) infoLine() string {
	name := c.getName()
	libName, libVer := c.libInfo()
	pending, free := c.conn.QueryBuffer()
	now := time.Now()
	idle := now.Sub(time.Unix(0, c.lastCmd.Load()))
	flags := ""
	multi := c.multiLen.Load() - 1
	if multi >= 0 {
		flags += "x"
	}
	if c.blocked.Load() {
		flags += "b"
	}
	if c.readonly.Load() {
		flags += "r"
	}
	if c.noEvict.Load() {
		flags += "e"
	}
	if c.noTouch.Load() {
		flags += "T"
	}
	if c.monitoring.Load() {
		flags += "O"
	}
	if flags == "" {
		flags = "N"
	}
	fields := []string{
		fmt.Sprintf("id=%d", c.id),
		"addr=" + c.conn.RemoteAddr(),
		"laddr=" + c.conn.NetConn().LocalAddr().String(),
		"fd=-1",
		"name=" + name,
		fmt.Sprintf("age=%d", int(now.Sub(c.created).Seconds())),
		fmt.Sprintf("idle=%d", int(idle.Seconds())),
		"flags=" + flags,
		fmt.Sprintf("db=%d", c.db.Load()),
		"sub=0", "psub=0", "ssub=0", fmt.Sprintf("multi=%d", multi),
		fmt.Sprintf("qbuf=%d", int64(pending)+c.queued.Load()), fmt.Sprintf("qbuf-free=%d", free),
		"argv-mem=0", "multi-mem=0", "rbs=0", "rbp=0", "obl=0", "oll=0", "omem=0", "tot-mem=0",
		"events=r",
		"cmd=" + strings.ToLower(c.lastCmdName.Load().(string)),
		"user=" + c.getUser(), "redir=-1", "resp=" + strconv.Itoa(c.protocol()),
		"lib-name=" + libName, "lib-ver=" + libVer,
	}
	return strings.Join(fields, " ")
}
