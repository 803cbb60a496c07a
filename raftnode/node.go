package raftnode

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"

	"github.com/raftlist/raftlist/fsm"
)

// Config is everything a node needs to start.
type Config struct {
	ID        string // unique, stable member id
	RaftAddr  string // host:port the Raft transport binds and advertises
	RespAddr  string // host:port clients reach this node on
	DataDir   string
	Bootstrap bool   // start a new one-node cluster if the data dir is empty
	LogStore  string // LogStoreBolt (default) or LogStoreWAL

	HeartbeatTimeout  time.Duration
	ElectionTimeout   time.Duration
	SnapshotThreshold uint64 // entries between snapshots
	SnapshotInterval  time.Duration
	TrailingLogs      uint64 // entries kept after a snapshot for slow followers
	ProposeTimeout    time.Duration
	// MaxEntrySize bounds one log entry in bytes (entrysize.go).
	MaxEntrySize int
	// ClusterSecret, when set, must be proven by both ends of every Raft
	// connection (handshake.go); a process without it cannot vote or
	// append entries.
	ClusterSecret string

	// TLS, when set, makes the Raft transport mutual TLS (tls.go):
	// Certificates is this node's certificate, presented to peers both as
	// server and as client; RootCAs is the CA every peer's certificate must
	// chain to. It needs ClusterSecret: a certificate only proves that the
	// CA signed it, and CAs sign client certificates too.
	TLS *tls.Config

	Logger hclog.Logger
	// SnapshotObserver, if set, hears how long each snapshot phase took
	// (SnapshotCapture, SnapshotPersist, SnapshotRestore).
	SnapshotObserver func(phase string, took time.Duration)
	// ClockOffset is added to this node's wall clock wherever the node
	// reads it for the log (entry timestamps, the read clock, active
	// expiry): the fault test runs a node whose clock is behind or ahead,
	// to show the log clock stays monotonic across leader changes. Zero
	// outside tests.
	ClockOffset time.Duration
}

// nowMs is this node's clock for the log, in Unix milliseconds.
func (n *Node) nowMs() int64 { return time.Now().Add(n.cfg.ClockOffset).UnixMilli() }

// NowMicro is this node's clock in Unix microseconds, ClockOffset
// included: what TIME answers at its front door.
func (n *Node) NowMicro() int64 { return time.Now().Add(n.cfg.ClockOffset).UnixMicro() }

// DefaultHeartbeatTimeout and DefaultElectionTimeout are the Raft timings
// of a node that sets neither. A follower starts an election once the
// leader has been silent for a heartbeat timeout and a random fraction of
// half of one (silence.go), so a crashed leader is replaced in well under a
// second; the leader sends heartbeats every tenth of the timeout on their
// own connections, answered without waiting for the follower's Raft loop
// or disk, and pre-vote keeps a follower that was merely stalled from
// deposing a live leader. hashicorp/raft's own defaults (1 s) took 2-3 s
// to fail over (docs/BENCHMARKS.md, Failover).
const (
	DefaultHeartbeatTimeout = 300 * time.Millisecond
	DefaultElectionTimeout  = 300 * time.Millisecond
)

func (c *Config) setDefaults() {
	if c.HeartbeatTimeout == 0 {
		c.HeartbeatTimeout = DefaultHeartbeatTimeout
	}
	if c.ElectionTimeout == 0 {
		c.ElectionTimeout = DefaultElectionTimeout
	}
	if c.SnapshotThreshold == 0 {
		c.SnapshotThreshold = 8192
	}
	if c.SnapshotInterval == 0 {
		c.SnapshotInterval = 30 * time.Second
	}
	if c.TrailingLogs == 0 {
		c.TrailingLogs = 10240
	}
	if c.ProposeTimeout == 0 {
		c.ProposeTimeout = 10 * time.Second
	}
	if c.MaxEntrySize <= 0 {
		c.MaxEntrySize = DefaultMaxEntrySize
	}
	if c.Logger == nil {
		c.Logger = hclog.New(&hclog.LoggerOptions{Name: c.ID, Level: hclog.Info, Output: os.Stderr})
	}
}

// Node is one raftlist member's consensus half.
type Node struct {
	// clusterID is the id of the cluster the data dir belongs to, a
	// string, "" unknown (clusterid.go).
	clusterID atomic.Value
	// expiredKeys and expireEntries count what this node's active expiry
	// proposed while it led (expiry.go).
	expiredKeys   atomic.Uint64
	expireEntries atomic.Uint64
	cfg           Config
	raft          *raft.Raft
	machine       *fsm.Machine
	store         logStore
	disk          *diskStore // store, watched for a failing data dir (disk.go)
	transport     *raft.NetworkTransport
	log           hclog.Logger

	// owner names this process in entries it proposes: the node id plus an
	// incarnation, so request ids never repeat across restarts.
	owner string
	seq   atomic.Uint64

	// gateTerm is the term in which this node, as leader, has applied its
	// own term-start entry. Writes and linearizable reads are served only
	// while it equals the current term.
	gateTerm  atomic.Uint64
	gateMu    sync.Mutex
	gateTried uint64 // term of the term-start proposal in flight or done

	// restarted is set when the data dir held Raft state from an earlier
	// process of this node.
	restarted bool

	// verifier shares one VerifyLeader round (a heartbeat to a quorum)
	// among the reads waiting for one (Rounds).
	verifier  Rounds[struct{}]
	batch     batcher
	nudge     nudger
	observer  *raft.Observer
	view      peerView // the other members as this node sees them (peers.go)
	stop      chan struct{}
	closeOnce sync.Once
	// handingOff is set while HandOff transfers leadership.
	handingOff atomic.Bool
}

// New opens (or creates) the node's data dir and starts Raft.
func New(cfg Config) (*Node, error) {
	cfg.setDefaults()
	if cfg.TLS != nil && cfg.ClusterSecret == "" {
		return nil, ErrTLSWithoutSecret
	}
	if err := checkDataDir(cfg.DataDir); err != nil {
		return nil, err
	}
	n := &Node{
		cfg:     cfg,
		machine: fsm.NewMachine(),
		log:     cfg.Logger,
		owner:   cfg.ID + "/" + strconv.FormatInt(time.Now().UnixNano(), 36),
		stop:    make(chan struct{}),
	}
	// Reads outside the log decide expiry at this node's wall clock (never
	// before the log clock): TTLs count down between entries.
	n.machine.SetReadClock(n.nowMs)
	var err error
	n.store, err = openLogStore(cfg.LogStore, cfg.DataDir, cfg.Logger.Named("wal"))
	if err != nil {
		return nil, err
	}
	n.disk = &diskStore{logStore: n.store, dir: cfg.DataDir, log: cfg.Logger, stop: n.stop}
	fileSnaps, err := raft.NewFileSnapshotStoreWithLogger(cfg.DataDir, 2, cfg.Logger.Named("snapshot"))
	if err != nil {
		n.store.Close()
		return nil, fmt.Errorf("open snapshot store in %s: %w", cfg.DataDir, err)
	}
	snaps := breakSnapshotCRC(fileSnaps, cfg.DataDir) // itself, except in jepsen_break_* builds (break.go)
	// Refuse a damaged log or snapshot before raft reads it (damage.go).
	if err := n.checkDataDirIntact(snaps); err != nil {
		n.store.Close()
		return nil, err
	}
	n.transport, err = newTransport(cfg.RaftAddr, transportSecurity{TLS: cfg.TLS, Secret: []byte(cfg.ClusterSecret)}, cfg.Logger.Named("raft-net"))
	if err != nil {
		n.store.Close()
		return nil, err
	}
	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(cfg.ID)
	rc.HeartbeatTimeout = cfg.HeartbeatTimeout
	rc.ElectionTimeout = cfg.ElectionTimeout
	// A leader that has heard from no quorum for the lease steps down.
	// Reads never rely on it (each is checked with VerifyLeader or a read
	// index), so it is as long as raft allows, less the 1 ms watchSilence
	// takes off the heartbeat timeout for a moment: a leader whose
	// followers' answers are late under load keeps leading rather than
	// causing the election it fears (half the heartbeat timeout before).
	rc.LeaderLeaseTimeout = max(cfg.HeartbeatTimeout*9/10, min(cfg.HeartbeatTimeout, 5*time.Millisecond))
	rc.SnapshotThreshold = cfg.SnapshotThreshold
	rc.SnapshotInterval = cfg.SnapshotInterval
	rc.TrailingLogs = cfg.TrailingLogs
	// Followers learn that an entry committed from the next append; with
	// no traffic that comes CommitTimeout later (default 50 ms), which is
	// how late a follower would answer a blocked client it holds.
	rc.CommitTimeout = 5 * time.Millisecond
	rc.MaxAppendEntries = 512
	rc.BatchApplyCh = true
	rc.Logger = cfg.Logger.Named("raft")
	// Per-peer metrics only with a peer_id label, never in the name.
	rc.NoLegacyTelemetry = true

	logs, err := newLogCache(n.disk, logCacheEntries, logCacheBytes)
	if err != nil {
		n.closeStores()
		return nil, fmt.Errorf("create log cache: %w", err)
	}
	n.restarted, err = raft.HasExistingState(logs, n.disk, snaps)
	if err != nil {
		n.closeStores()
		return nil, fmt.Errorf("inspect existing raft state: %w", err)
	}
	if err := n.loadClusterID(); err != nil {
		n.closeStores()
		return nil, err
	}
	if cfg.Bootstrap && !n.restarted {
		if err := n.bootstrap(rc, logs, snaps); err != nil {
			n.closeStores()
			return nil, err
		}
	}
	n.raft, err = raft.NewRaft(rc, n.raftFSM(), logs, n.disk, snaps, peerTransport{n.transport, &n.view.table})
	if err != nil {
		n.closeStores()
		return nil, fmt.Errorf("start raft: %w", err)
	}
	n.verifier.Fetch = func() (struct{}, error) { return struct{}{}, n.raft.VerifyLeader().Error() }
	n.batch.n = n
	// Installed once n.raft is set; entries applied before (a restart's
	// replay) need no nudge. The machine's lock orders this with Apply.
	n.machine.OnServed(n.noteServed)
	n.watchLeadership()
	go n.watchSilence()
	go n.expireActively()
	return n, nil
}

// bootstrap starts a one-node cluster in an empty data dir. New calls it
// only when the dir holds no Raft state, so passing --bootstrap to a
// restarted node is harmless.
func (n *Node) bootstrap(rc *raft.Config, logs raft.LogStore, snaps raft.SnapshotStore) error {
	conf := raft.Configuration{Servers: []raft.Server{{
		ID: rc.LocalID, Address: n.transport.LocalAddr(), Suffrage: raft.Voter,
	}}}
	if err := raft.BootstrapCluster(rc, logs, n.disk, snaps, n.transport, conf); err != nil {
		return fmt.Errorf("bootstrap cluster: %w", err)
	}
	return n.foundCluster()
}

func (n *Node) closeStores() {
	n.transport.Close()
	n.store.Close()
}

// Restarted reports whether this process resumed an earlier one's data.
func (n *Node) Restarted() bool { return n.restarted }

// Machine returns the node's state machine, for local reads.
func (n *Node) Machine() *fsm.Machine { return n.machine }

// ID returns the node's member id.
func (n *Node) ID() string { return n.cfg.ID }

// Owner returns the name this process stamps on its proposals.
func (n *Node) Owner() string { return n.owner }

// NextSeq returns a fresh request sequence number for this process.
func (n *Node) NextSeq() uint64 { return n.seq.Add(1) }

// Shutdown stops Raft and closes the stores. Safe to call more than once.
func (n *Node) Shutdown() error {
	var err error
	n.closeOnce.Do(func() {
		close(n.stop)
		n.raft.DeregisterObserver(n.observer)
		err = n.raft.Shutdown().Error()
		n.closeStores()
	})
	if err != nil {
		return fmt.Errorf("shut down raft: %w", err)
	}
	return nil
}

// Propose appends cmds, contiguous, to the log (batched with concurrent
// proposals into one entry) and waits until this node has applied them. It
// returns their replies, or an error that says whether they may have been
// applied (see IsRetryable).
func (n *Node) Propose(ctx context.Context, cmds []fsm.Cmd) (*fsm.Result, error) {
	if err := n.checkGate(); err != nil {
		return nil, err
	}
	return n.batch.propose(ctx, cmds)
}

// ProposeUnblock ends a waiter through the log (timeout, cancel, CLIENT
// UNBLOCK). If the waiter already ended, the entry is a no-op.
func (n *Node) ProposeUnblock(ctx context.Context, u fsm.Unblock) error {
	_, err := n.proposeEntry(ctx, fsm.Entry{Kind: fsm.KindUnblock, Unblock: u})
	return err
}

// proposeEntry proposes one entry of its own (not batched with client
// commands), stamped with this leader's clock, past the leader gate.
func (n *Node) proposeEntry(ctx context.Context, e fsm.Entry) (*fsm.Result, error) {
	if err := n.checkGate(); err != nil {
		return nil, err
	}
	e.TimeMs = n.nowMs()
	return n.apply(ctx, &e)
}

// applyAfterHandOff appends data to the log and waits until the entry is
// applied here. An entry refused because this leader is handing off (a
// planned stop) was never queued: it waits for the hand-off to end and then
// tries again here or answers ErrNotLeader, which sends the request on to
// the new leader, so a planned restart is invisible to clients.
func (n *Node) applyAfterHandOff(ctx context.Context, data []byte) (raft.ApplyFuture, error) {
	for {
		f := n.raft.Apply(data, n.cfg.ProposeTimeout)
		done := make(chan struct{})
		go func() { f.Error(); close(done) }()
		select {
		case <-done:
		case <-ctx.Done():
			return nil, errors.Join(ErrUnknownOutcome, fmt.Errorf("wait for entry to apply: %w", ctx.Err()))
		}
		err := f.Error()
		if !errors.Is(err, raft.ErrLeadershipTransferInProgress) {
			return f, classify(err)
		}
		if err := n.awaitHandOff(ctx); err != nil {
			return nil, err
		}
	}
}

// awaitHandOff waits while a leadership transfer is under way: until this
// node is no longer leader (ErrNotLeader) or the transfer gave up, when
// the caller may propose again.
func (n *Node) awaitHandOff(ctx context.Context) error {
	tick := time.NewTicker(handOffPoll)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
		case <-ctx.Done():
			return errors.Join(ErrNotApplied, fmt.Errorf("wait for leadership hand-off: %w", ctx.Err()))
		}
		if n.raft.State() != raft.Leader || !n.handingOff.Load() {
			break
		}
	}
	if n.raft.State() != raft.Leader {
		return errors.Join(ErrNotLeader, raft.ErrLeadershipTransferInProgress)
	}
	return nil
}

// handOffPoll is how often a proposal refused during a hand-off looks
// whether the hand-off ended; a transfer takes a round trip or two.
const handOffPoll = 2 * time.Millisecond

// HandOff passes leadership to the most up-to-date voter before a planned
// stop, so the others go on at once instead of waiting out an election
// timeout. handed is false when there was nothing to hand off (not the
// leader, or the only voter); to is the new leader's id once this node has
// heard from it ("" if not within an election timeout). The library bounds the
// transfer by the election timeout; on failure the node is still leader
// and the caller stops anyway (the others elect one as after a crash).
func (n *Node) HandOff() (to string, handed bool, err error) {
	if n.raft.State() != raft.Leader || n.voters() < 2 {
		return "", false, nil
	}
	n.handingOff.Store(true)
	defer n.handingOff.Store(false)
	deadline := time.Now().Add(n.cfg.ElectionTimeout)
	if err := n.raft.LeadershipTransfer().Error(); err != nil {
		return "", false, fmt.Errorf("hand off leadership: %w", err)
	}
	// The transfer also ends when this node merely loses leadership (no
	// quorum): it counts as handed off only once this node hears from a new
	// leader. The others hear its first heartbeat at the same moment, so
	// from then on they forward to it and this front door may close.
	for {
		if _, id := n.raft.LeaderWithID(); id != "" && string(id) != n.cfg.ID {
			return string(id), true, nil
		}
		if time.Now().After(deadline) {
			return "", false, errors.New("hand off leadership: no new leader heard within the election timeout")
		}
		time.Sleep(handOffPoll)
	}
}

// voters counts the voters in the latest configuration.
func (n *Node) voters() int {
	f := n.raft.GetConfiguration()
	if f.Error() != nil {
		return 0
	}
	k := 0
	for _, s := range f.Configuration().Servers {
		if s.Suffrage == raft.Voter {
			k++
		}
	}
	return k
}

// apply proposes e and waits for its result on this node's state machine.
func (n *Node) apply(ctx context.Context, e *fsm.Entry) (*fsm.Result, error) {
	if res, ok := breakReplyBeforeCommit(n, e); ok { // jepsen_break_* builds only (break.go)
		return res, nil
	}
	ctx, cancel := context.WithTimeout(ctx, n.cfg.ProposeTimeout)
	defer cancel()
	data := e.Encode()
	if err := n.checkEntrySize(e, data); err != nil {
		return nil, err
	}
	f, err := n.applyAfterHandOff(ctx, data)
	if err != nil {
		return nil, err
	}
	switch r := f.Response().(type) {
	case *fsm.Result:
		return r, nil
	case error:
		// The machine halted: it will not apply anything again.
		return nil, errors.Join(ErrUnknownOutcome, r)
	default:
		return nil, fmt.Errorf("unexpected apply response %T", r)
	}
}

// checkGate refuses work unless this node leads and has applied an entry of
// its current term (so its state reflects every entry committed before).
func (n *Node) checkGate() error {
	if err := n.machine.Halted(); err != nil {
		return err
	}
	if n.raft.State() != raft.Leader {
		return ErrNotLeader
	}
	if n.gateTerm.Load() != n.raft.CurrentTerm() {
		return ErrNotReady
	}
	return nil
}

// IsLeader reports whether this node leads with its gate open.
func (n *Node) IsLeader() bool { return n.checkGate() == nil }

// BootstrapAlone makes this running node the first member of a new
// one-node cluster, as Config.Bootstrap does at start. It fails (with
// raft.ErrCantBootstrap) when the node already holds Raft state, so a node
// that ever belonged to a cluster can never found another. Used by
// --bootstrap-expect once the expected nodes are found all empty.
func (n *Node) BootstrapAlone() error {
	conf := raft.Configuration{Servers: []raft.Server{{
		ID: raft.ServerID(n.cfg.ID), Address: n.transport.LocalAddr(), Suffrage: raft.Voter,
	}}}
	if err := n.raft.BootstrapCluster(conf).Error(); err != nil {
		return fmt.Errorf("bootstrap cluster: %w", err)
	}
	return n.foundCluster()
}
