package local

import (
	"context"
	"crypto/tls"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/raftlist/raftlist/fsm/resp"
)

// stopGrace is how long Stop waits after SIGTERM before SIGKILL.
const stopGrace = 5 * time.Second

// Node is one raftlist server process of a local cluster.
type Node struct {
	ID         string
	ClientAddr string // RESP address clients use
	RaftAddr   string // Raft transport address
	DataDir    string
	LogFile    string // the node's stderr and stdout, appended across restarts

	binary  string
	args    []string    // `server ...` flags, the same on every restart
	tlsConf *tls.Config // the clients' TLS configuration when the node serves TLS only
	// password and secret log this package's clients in (Config.Password,
	// Config.ClusterSecret).
	password, secret string

	mu     sync.Mutex
	proc   *process // current incarnation; nil before the first start
	paused bool
	client *redis.Client // for callers, see Client
	admin  *redis.Client // for this package's polling: short timeouts, no retries
}

// process is one incarnation of a node.
type process struct {
	cmd  *exec.Cmd
	done chan struct{} // closed once the process has exited and been reaped
	err  error         // Wait's result, valid after done is closed
}

// start runs the node's process with its flags. The process gets its own
// process group, so signals aimed at it (and a Ctrl-C in the terminal) reach
// exactly the node, and it is sent SIGTERM if the process that started it
// dies.
func (n *Node) start() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.proc != nil && !n.proc.exited() {
		return fmt.Errorf("%s is already running (pid %d)", n.ID, n.proc.cmd.Process.Pid)
	}
	logf, err := os.OpenFile(n.LogFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("open %s log: %w", n.ID, err)
	}
	fmt.Fprintf(logf, "=== %s cluster/local: %s %s\n",
		time.Now().Format(time.RFC3339Nano), n.binary, strings.Join(n.args, " "))
	cmd := exec.Command(n.binary, n.args...)
	cmd.Stdout = logf
	cmd.Stderr = logf
	cmd.SysProcAttr = procAttr()
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("start %s: %w", n.ID, err)
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		logf.Close()
		close(p.done)
	}()
	n.proc = p
	n.paused = false
	return nil
}

func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// current returns the running incarnation, or nil.
func (n *Node) current() *process {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.proc == nil || n.proc.exited() {
		return nil
	}
	return n.proc
}

// signal sends sig to the node's process group; a no-op if it is not running.
func (n *Node) signal(sig nodeSignal) *process {
	p := n.current()
	if p != nil {
		signalGroup(p.cmd.Process, sig)
	}
	return p
}

// Running reports whether the node's process is alive (paused counts).
func (n *Node) Running() bool { return n.current() != nil }

// Paused reports whether the node was stopped with Pause and not resumed.
func (n *Node) Paused() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.paused && n.proc != nil && !n.proc.exited()
}

// Pid returns the process id of the running node, or 0.
func (n *Node) Pid() int {
	if p := n.current(); p != nil {
		return p.cmd.Process.Pid
	}
	return 0
}

// Done is closed when the node's current process exits.
func (n *Node) Done() <-chan struct{} {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.proc == nil {
		ch := make(chan struct{})
		close(ch)
		return ch
	}
	return n.proc.done
}

// ExitError returns how the node's last process ended: nil while it runs or
// after a clean exit.
func (n *Node) ExitError() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.proc == nil || !n.proc.exited() {
		return nil
	}
	return n.proc.err
}

// Kill sends SIGKILL and waits until the process is gone: a crash.
func (n *Node) Kill() {
	if p := n.signal(sigKill); p != nil {
		<-p.done
	}
}

// Stop sends SIGTERM (and SIGCONT, so a paused node can act on it) and waits
// for the node to shut down cleanly, sending SIGKILL after 5 s.
func (n *Node) Stop() {
	p := n.signal(sigTerm)
	if p == nil {
		return
	}
	n.signal(sigCont)
	select {
	case <-p.done:
	case <-time.After(stopGrace):
		n.signal(sigKill)
		<-p.done
	}
}

// Pause freezes the node with SIGSTOP: it neither answers nor sends
// heartbeats, like a machine that stalls.
func (n *Node) Pause() {
	if n.signal(sigStop) != nil {
		n.mu.Lock()
		n.paused = true
		n.mu.Unlock()
	}
}

// Resume continues a paused node with SIGCONT.
func (n *Node) Resume() {
	n.signal(sigCont)
	n.mu.Lock()
	n.paused = false
	n.mu.Unlock()
}

// Restart starts the node again with the same flags and data dir (stopping
// it first if it runs) and waits until it answers INFO. It does not wait for
// the node to find a leader or catch up: see Cluster.Leader and
// Cluster.WaitConverged.
func (n *Node) Restart(ctx context.Context) error {
	n.Stop()
	if err := n.start(); err != nil {
		return err
	}
	return n.waitServing(ctx)
}

// waitServing polls INFO until the node answers, failing fast (with the
// tail of its log) if the process exits.
func (n *Node) waitServing(ctx context.Context) error {
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		if err := n.exitedEarly(); err != nil {
			return err
		}
		_, err := n.Info(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s does not answer INFO on %s: %w (last error: %v)", n.ID, n.ClientAddr, ctx.Err(), err)
		case <-n.Done():
		case <-tick.C:
		}
	}
}

// exitedEarly returns an error carrying the tail of the node's log if the
// node was started and its process has ended.
func (n *Node) exitedEarly() error {
	n.mu.Lock()
	p := n.proc
	n.mu.Unlock()
	if p == nil || !p.exited() {
		return nil
	}
	status := "exited"
	if p.err != nil {
		status = p.err.Error()
	}
	return fmt.Errorf("%s exited early (%s); last lines of %s:\n%s", n.ID, status, n.LogFile, n.LogTail(20))
}

// LogTail returns the last lines of the node's log, indented, for error
// messages.
func (n *Node) LogTail(lines int) string {
	data, err := os.ReadFile(n.LogFile)
	if err != nil {
		return "    (" + err.Error() + ")"
	}
	const maxTail = 16 << 10
	if len(data) > maxTail {
		data = data[len(data)-maxTail:]
	}
	all := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return "    " + strings.Join(all, "\n    ")
}

// Client returns a go-redis client for this node (created on first use and
// shared): go-redis's defaults, including its retries of TRYAGAIN, with
// timeouts suited to a local cluster.
func (n *Node) Client() *redis.Client {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.client == nil {
		n.client = redis.NewClient(&redis.Options{
			Addr:         n.ClientAddr,
			TLSConfig:    n.tlsConf,
			Password:     n.password,
			DialTimeout:  2 * time.Second,
			ReadTimeout:  5 * time.Second,
			WriteTimeout: 5 * time.Second,
		})
	}
	return n.client
}

// adminClient is what this package polls with: a dead or paused node must
// make a poll fail fast, and a failed poll is simply repeated.
func (n *Node) adminClient() *redis.Client {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.admin == nil {
		opts := &redis.Options{
			Addr:            n.ClientAddr,
			TLSConfig:       n.tlsConf,
			DialTimeout:     500 * time.Millisecond,
			ReadTimeout:     2 * time.Second,
			WriteTimeout:    2 * time.Second,
			MaxRetries:      -1,
			PoolSize:        4,
			Protocol:        2,
			DisableIdentity: true,
		}
		if n.secret != "" {
			opts.Username, opts.Password = resp.ClusterUser, n.secret
		}
		n.admin = redis.NewClient(opts)
	}
	return n.admin
}

// closeClients closes both clients; later calls create fresh ones.
func (n *Node) closeClients() {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, c := range []*redis.Client{n.client, n.admin} {
		if c != nil {
			c.Close()
		}
	}
	n.client, n.admin = nil, nil
}

// Info returns the node's `INFO raft` fields (raft_role, raft_leader_id,
// raft_applied_index, ...).
func (n *Node) Info(ctx context.Context) (map[string]string, error) {
	text, err := n.adminClient().Info(ctx, "raft").Result()
	if err != nil {
		return nil, fmt.Errorf("%s INFO raft: %w", n.ID, err)
	}
	return parseInfo(text), nil
}

// parseInfo reads INFO's "field:value" lines, skipping "# Section" headers.
func parseInfo(text string) map[string]string {
	out := make(map[string]string)
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimRight(line, "\r")
		if line == "" || line[0] == '#' {
			continue
		}
		if k, v, ok := strings.Cut(line, ":"); ok {
			out[k] = v
		}
	}
	return out
}

// Digest returns the node's DEBUG DIGEST: 40 hex digits naming its whole
// replicated state.
func (n *Node) Digest(ctx context.Context) (string, error) {
	d, err := n.adminClient().Do(ctx, "DEBUG", "DIGEST").Text()
	if err != nil {
		return "", fmt.Errorf("%s DEBUG DIGEST: %w", n.ID, err)
	}
	return d, nil
}

// Member is one row of RAFT NODES.
type Member struct {
	ID, RaftAddr, ClientAddr, Role string // Role: leader, voter or nonvoter
	// Link is the answering node's view of the member: self, online,
	// unreachable, or unknown (a follower's view of other followers).
	Link string
	// LastContactMs is how long ago the answering node and the member
	// last talked, -1 if never or unknown; MatchIndex the last log index
	// the member reported to the leader (0 where unknown).
	LastContactMs, MatchIndex int64
}

// Members returns RAFT NODES as this node answers it.
func (n *Node) Members(ctx context.Context) ([]Member, error) {
	v, err := n.adminClient().Do(ctx, "RAFT", "NODES").Slice()
	if err != nil {
		return nil, fmt.Errorf("%s RAFT NODES: %w", n.ID, err)
	}
	out := make([]Member, 0, len(v))
	for _, row := range v {
		f, ok := row.([]any)
		if !ok || len(f) < 4 {
			return nil, fmt.Errorf("%s RAFT NODES: unexpected row %v", n.ID, row)
		}
		var s [5]string
		for i := 0; i < len(f) && i < len(s); i++ {
			s[i], _ = f[i].(string)
		}
		m := Member{ID: s[0], RaftAddr: s[1], ClientAddr: s[2], Role: s[3], Link: s[4], LastContactMs: -1}
		if len(f) >= 7 {
			m.LastContactMs, _ = f[5].(int64)
			m.MatchIndex, _ = f[6].(int64)
		}
		out = append(out, m)
	}
	return out, nil
}
