package cluster

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/raftlist/raftlist/third_party/redcon"

	"github.com/raftlist/raftlist/raftnode"
)

// Config is how the front door behaves.
type Config struct {
	// ListenAddr is the plain-TCP RESP address clients connect to; empty
	// serves TLS only (Redis's port 0).
	ListenAddr string
	// TLSListenAddr, with TLS, serves RESP over TLS there (Redis's
	// tls-port); see tls.go.
	TLSListenAddr string
	// TLS is the client-facing TLS configuration: the node's certificate
	// and, for tls-auth-clients, ClientAuth and ClientCAs.
	TLS *tls.Config
	// PeerTLS, when set, makes this node reach other members' client
	// addresses (forwarding, --join) over TLS with this configuration:
	// the node's certificate as client certificate, the cluster CA as
	// RootCAs. Members then advertise their TLS addresses.
	PeerTLS *tls.Config
	// Redirect makes followers answer -MOVED 0 leader:port instead of
	// forwarding writes and linearizable reads to the leader.
	Redirect bool
	// MaxBulkLen bounds one argument, as Redis's proto-max-bulk-len.
	MaxBulkLen int64
	// RequestTimeout bounds how long one command may wait for the log or
	// the leader before the client gets an error.
	RequestTimeout time.Duration
	// MaxClients, IdleTimeout and OutputLimit are Redis's maxclients,
	// timeout and client-output-buffer-limit (limits.go); zero is no limit.
	MaxClients  int
	IdleTimeout time.Duration
	OutputLimit OutputBufferLimit
	// ConfigValues returns the node's settings by config key, for CONFIG
	// GET (config.go).
	ConfigValues func() map[string]string
	// Rewrite, when the node started from a config file, writes the
	// settings CONFIG SET changed into it, by config key (CONFIG
	// REWRITE); nil answers that there is no config file.
	Rewrite func(changed map[string]string) error
	// RequirePass, when set, is the default user's password: connections
	// must AUTH before anything else (auth.go).
	RequirePass string
	// ClusterSecret, when set, guards the internal commands (forwarding,
	// membership): only connections logged in as ClusterUser run them, and
	// this node logs in with it wherever it connects to another node.
	ClusterSecret string
	Logger        hclog.Logger
	// Metrics, if set, exports this server's counters to Prometheus.
	Metrics *Metrics
}

// Server is the RESP front door of one node.
type Server struct {
	cfg   Config
	node  *raftnode.Node
	doors []door // one per listener: plain and/or TLS (tls.go)
	fwd   *forwarder
	// arrivals orders proposals by when their commands arrived
	// (arrival.go).
	arrivals *arrivalSet
	// live holds the settings CONFIG SET changes (config_set.go).
	live    liveSettings
	fwdGate arrivalGate
	// readIndexes shares the leader's read index among a follower's reads.
	readIndexes *raftnode.Rounds[uint64]
	log         hclog.Logger
	started     time.Time

	blocked blockRegistry
	// relay hands followers' waiters their outcomes as this node applies
	// them (RAFT OUTCOME, blocking_relay.go).
	relay outcomeRelay
	// relays counts this follower's RAFT OUTCOME polls in flight.
	relays atomic.Int32
	// acks queues the seqs of this process's ended waiters for RAFT ACK
	// (blocking_ack.go).
	acks *ackQueue
	// done closes when the server closes, ending background retries.
	done      chan struct{}
	closeOnce sync.Once

	clientsMu sync.Mutex
	clients   map[int64]*client
	nextID    atomic.Int64

	// stats counts commands for INFO and metrics (stats.go); runID names
	// this process in INFO, as Redis's run_id.
	stats       *stats
	connections atomic.Int64
	runID       string

	// limits.go: clients counted against maxclients (node traffic is not)
	// and clients closed by the output limit; refusals are in stats.
	// acl is the node's view of the replicated ACL users (acl.go).
	acl aclState

	limitedClients atomic.Int64
	outputLimited  atomic.Uint64

	// monitors are the MONITOR connections (monitor.go), copied on change
	// so that feeding reads them without a lock.
	monMu    sync.Mutex
	monitors atomic.Pointer[[]*monitor]
}

// New builds a front door over node. Call Serve to accept clients.
func New(cfg Config, node *raftnode.Node) *Server {
	if cfg.MaxBulkLen == 0 {
		cfg.MaxBulkLen = 64 << 20
	}
	if cfg.RequestTimeout == 0 {
		cfg.RequestTimeout = 15 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = hclog.NewNullLogger()
	}
	s := &Server{
		cfg:     cfg,
		node:    node,
		log:     cfg.Logger,
		started: time.Now(),
		clients: make(map[int64]*client),
		done:    make(chan struct{}),
		acks:    newAckQueue(),
	}
	s.stats = newStats(commandNames())
	s.live.init(cfg)
	s.runID = newRunID()
	s.fwd = newForwarder(cfg.MaxBulkLen, cfg.RequestTimeout)
	s.arrivals = newArrivalSet()
	s.readIndexes = &raftnode.Rounds[uint64]{Fetch: func() (uint64, error) {
		ctx, cancel := s.requestContext()
		defer cancel()
		return s.leaderReadIndex(ctx)
	}}
	s.fwd.tls = cfg.PeerTLS
	s.fwd.secret = cfg.ClusterSecret
	node.Machine().OnServed(s.deliverServed)
	node.Machine().OnRestore(s.restoredSnapshot)
	node.Machine().OnACL(s.aclChanged)
	s.doors = s.newDoors()
	go s.sampleOps()
	go s.sendAcks()
	if cfg.Metrics != nil {
		cfg.Metrics.srv.Store(s)
	}
	return s
}

// Serve listens and serves until Close. It sends nil (or the listen error)
// on ready once the listeners are up.
func (s *Server) Serve(ready chan<- error) error {
	lns, err := s.listen()
	if ready != nil {
		ready <- err
	}
	if err != nil {
		return err
	}
	if s.node.Restarted() {
		go s.purgeEarlierIncarnations()
	}
	go s.reapIdle()
	if err := s.serveDoors(lns); err != nil {
		return fmt.Errorf("serve RESP: %w", err)
	}
	return nil
}

// Addr returns the address the server listens on: the plain one if there
// is one, else the TLS one.
func (s *Server) Addr() net.Addr { return s.doors[0].srv.Addr() }

// Close stops accepting clients and closes every connection.
func (s *Server) Close() error {
	s.closeOnce.Do(func() { close(s.done) })
	s.fwd.close()
	s.arrivals.close()
	var first error
	for _, d := range s.doors {
		if err := d.srv.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

func (s *Server) accept(conn redcon.Conn) bool {
	c := &client{
		id:      s.nextID.Add(1),
		conn:    conn,
		created: time.Now(),
	}
	c.auth.Store(int32(s.initialAuth()))
	// Redis's createClient: authenticated at once while the default user
	// needs no password; a later password does not log it out.
	c.loggedIn.Store(!s.defaultNeedsAuth())
	c.lastCmd.Store(time.Now().UnixNano())
	c.lastCmdName.Store("NULL")
	conn.SetContext(c)
	n := s.limitedClients.Add(1)
	limit := s.live.maxClients.Load()
	c.overLimit = limit > 0 && n > limit
	s.clientsMu.Lock()
	s.clients[c.id] = c
	s.clientsMu.Unlock()
	s.connections.Add(1)
	return true
}

func (s *Server) closed(conn redcon.Conn, _ error) {
	c, ok := conn.Context().(*client)
	if !ok {
		return
	}
	s.clientsMu.Lock()
	delete(s.clients, c.id)
	s.clientsMu.Unlock()
	if c.mon != nil {
		c.mon.close()
	}
	if !c.node.Load() {
		s.limitedClients.Add(-1)
	}
}

// clientList returns the connected clients in id order.
func (s *Server) clientList() []*client {
	s.clientsMu.Lock()
	out := make([]*client, 0, len(s.clients))
	for _, c := range s.clients {
		out = append(out, c)
	}
	s.clientsMu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

func (s *Server) requestContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), s.cfg.RequestTimeout)
}
