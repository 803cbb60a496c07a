package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/redis/go-redis/v9"
)

// statusFlags are the flags of `raftlist status`, named as redis-cli's
// where redis-cli has one.
type statusFlags struct {
	addr, user, pass    string
	json, tls, insecure bool
	cacert, cert, key   string
	timeout             time.Duration
}

// nodeStatus is one member as `raftlist status` reports it. Numbers a node
// did not tell (it was unreachable) are zero; lag and last contact are -1
// when unknown.
type nodeStatus struct {
	ID         string `json:"id"`
	ClientAddr string `json:"client_addr"`
	RaftAddr   string `json:"raft_addr"`
	// Role is the node's own answer (leader, follower, candidate), or
	// "unknown" when it could not be asked.
	Role         string `json:"role"`
	Voter        bool   `json:"voter"`
	Term         uint64 `json:"term"`
	CommitIndex  uint64 `json:"commit_index"`
	AppliedIndex uint64 `json:"applied_index"`
	// Lag is the leader's commit index minus this node's applied index,
	// in entries.
	Lag int64 `json:"lag"`
	// LastContactMs is how long ago the leader last heard from the node
	// (0 for the leader itself).
	LastContactMs int64  `json:"last_contact_ms"`
	Reachable     bool   `json:"reachable"`
	LogStore      string `json:"log_store"`
	Version       string `json:"version"`
	// Problem says why the node is not healthy, empty when it is.
	Problem string `json:"problem,omitempty"`
}

// clusterStatus is the whole report; Problems is empty when the cluster
// has a leader and every member is reachable.
type clusterStatus struct {
	Leader      string       `json:"leader"`
	Term        uint64       `json:"term"`
	CommitIndex uint64       `json:"commit_index"`
	Nodes       []nodeStatus `json:"nodes"`
	Problems    []string     `json:"problems"`
}

// errUnhealthy makes status exit 1 after printing its report.
var errUnhealthy = errLogged{errors.New("cluster unhealthy")}

// runStatus runs `raftlist status`: it asks the node at --addr for the
// members, then asks every member about itself, and prints a table (or
// JSON). It exits 1 when there is no leader or a member is unreachable,
// naming which on stderr.
func runStatus(args []string) error {
	f := &statusFlags{}
	fs := newFlagSet("status")
	fs.StringVar(&f.addr, "addr", "127.0.0.1:6379", "client address (HOST:PORT) of any member")
	fs.BoolVar(&f.json, "json", false, "print JSON instead of a table")
	fs.StringVar(&f.user, "user", "", "ACL user name to AUTH as (with --pass)")
	fs.StringVar(&f.pass, "pass", "", "password to AUTH with (the nodes' --requirepass; default $REDISCLI_AUTH)")
	fs.StringVar(&f.pass, "a", "", "alias of --pass, as redis-cli's -a")
	fs.BoolVar(&f.tls, "tls", false, "connect with TLS (the members' --tls-listen addresses)")
	fs.StringVar(&f.cacert, "cacert", "", "PEM CA certificate to verify the nodes with (default: the system's)")
	fs.StringVar(&f.cert, "cert", "", "PEM client certificate, for nodes with --tls-auth-clients yes")
	fs.StringVar(&f.key, "key", "", "PEM private key of --cert")
	fs.BoolVar(&f.insecure, "insecure", false, "do not verify the nodes' certificates")
	fs.DurationVar(&f.timeout, "timeout", 3*time.Second, "how long to wait for each node")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if f.pass == "" {
		f.pass = os.Getenv("REDISCLI_AUTH")
	}
	redis.SetLogger(quietLogger{}) // failures are reported per node instead
	opts, err := f.clientOptions()
	if err != nil {
		return usageError{"status", err}
	}
	st, err := gatherStatus(f.addr, opts, f.timeout)
	if err != nil {
		return err
	}
	if f.json {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(st); err != nil {
			return err
		}
	} else {
		printStatus(os.Stdout, st)
	}
	if len(st.Problems) > 0 {
		for _, p := range st.Problems {
			fmt.Fprintln(os.Stderr, "raftlist status:", p)
		}
		return errUnhealthy
	}
	return nil
}

// clientOptions are the go-redis options every connection uses (Addr
// aside).
func (f *statusFlags) clientOptions() (*redis.Options, error) {
	o := &redis.Options{Username: f.user, Password: f.pass, MaxRetries: -1, Protocol: 2,
		DisableIdentity: true, DialerRetries: 1, DialTimeout: f.timeout, ReadTimeout: f.timeout, WriteTimeout: f.timeout, PoolSize: 1}
	if !f.tls {
		if f.cacert != "" || f.cert != "" || f.key != "" || f.insecure {
			return nil, errors.New("--cacert, --cert, --key and --insecure need --tls")
		}
		return o, nil
	}
	conf := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: f.insecure}
	if f.cacert != "" {
		pem, err := os.ReadFile(f.cacert)
		if err != nil {
			return nil, fmt.Errorf("--cacert: %w", err)
		}
		conf.RootCAs = x509.NewCertPool()
		if !conf.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--cacert %s: no PEM certificate in it", f.cacert)
		}
	}
	if (f.cert == "") != (f.key == "") {
		return nil, errors.New("--cert and --key go together")
	}
	if f.cert != "" {
		cert, err := tls.LoadX509KeyPair(f.cert, f.key)
		if err != nil {
			return nil, fmt.Errorf("--cert %s / --key %s: %w", f.cert, f.key, err)
		}
		conf.Certificates = []tls.Certificate{cert}
	}
	o.TLSConfig = conf
	return o, nil
}

// member is one row of RAFT NODES.
type member struct {
	id, raftAddr, clientAddr, role, link string
	contactMs                            int64
}

// gatherStatus is the report through the member at addr. When that member
// knows of no leader but another member it lists says it leads (addr is cut
// off from it), the report is the leader's view, with that problem first:
// status through any member names the same leader.
func gatherStatus(addr string, base *redis.Options, timeout time.Duration) (*clusterStatus, error) {
	st, asked, err := gatherView(addr, base, timeout)
	if err != nil || st.Leader != "" {
		return st, err
	}
	var claimant *nodeStatus
	for i, n := range st.Nodes {
		if n.Reachable && n.Role == "leader" && (claimant == nil || n.Term > claimant.Term) {
			claimant = &st.Nodes[i]
		}
	}
	if claimant == nil {
		return st, nil
	}
	led, _, err := gatherView(claimant.ClientAddr, base, timeout)
	if err != nil || led.Leader != claimant.ID {
		return st, nil
	}
	problem := fmt.Sprintf("%s (%s) knows of no leader, while %s leads term %d", asked, addr, led.Leader, led.Term)
	led.Problems = append([]string{problem}, led.Problems...)
	for i := range led.Nodes {
		if n := &led.Nodes[i]; n.ID == asked && n.Problem == "" {
			n.Problem = problem
		}
	}
	return led, nil
}

// gatherView asks addr for the leader and the members, the leader for its
// view of each member's link, and each member for its own state. It also
// returns the id of the member at addr.
func gatherView(addr string, base *redis.Options, timeout time.Duration) (*clusterStatus, string, error) {
	entry, err := askInfo(addr, base, timeout)
	if err != nil {
		return nil, "", fmt.Errorf("cannot ask %s: %w", addr, err)
	}
	st := &clusterStatus{Leader: entry["raft_leader_id"], Problems: []string{}}
	// The leader knows every follower's link; a follower only its own.
	members, viewErr := askMembers(entry["raft_leader_addr"], base, timeout)
	fromLeader := viewErr == nil
	if !fromLeader {
		if members, err = askMembers(addr, base, timeout); err != nil {
			return nil, "", fmt.Errorf("cannot ask %s for RAFT NODES: %w", addr, err)
		}
	}
	var leaderCommit uint64
	infos := make([]map[string]string, len(members))
	errs := make([]error, len(members))
	var wg sync.WaitGroup // a stopped node costs one timeout, not one each
	for i, m := range members {
		if m.clientAddr == "" {
			errs[i] = errors.New("its client address is not recorded yet")
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			infos[i], errs[i] = askInfo(m.clientAddr, base, timeout)
		}()
	}
	wg.Wait()
	for i, m := range members {
		if errs[i] == nil && m.id == st.Leader {
			leaderCommit = num(infos[i]["raft_commit_index"])
			st.Term, st.CommitIndex = num(infos[i]["raft_term"]), leaderCommit
		}
	}
	if st.Leader == "" {
		st.Problems = append(st.Problems, fmt.Sprintf("no leader: %s (%s) knows of none", entry["raft_node_id"], addr))
	}
	for i, m := range members {
		n := nodeStatus{ID: m.id, ClientAddr: m.clientAddr, RaftAddr: m.raftAddr, Role: "unknown",
			Voter: m.role != "nonvoter", Lag: -1, LastContactMs: -1}
		if fromLeader {
			n.LastContactMs = m.contactMs
		}
		if info := infos[i]; errs[i] == nil {
			n.Reachable = true
			n.Role, n.LogStore, n.Version = info["raft_role"], info["raft_log_store"], info["raftlist_version"]
			n.Term, n.CommitIndex, n.AppliedIndex = num(info["raft_term"]), num(info["raft_commit_index"]), num(info["raft_applied_index"])
			if leaderCommit > 0 {
				n.Lag = max(0, int64(leaderCommit)-int64(n.AppliedIndex))
			}
		}
		switch {
		case errs[i] != nil:
			n.Problem = fmt.Sprintf("%s (%s) unreachable: %v", m.id, m.clientAddr, errs[i])
		case fromLeader && m.link == "unreachable":
			n.Problem = fmt.Sprintf("%s (%s) unreachable: the leader %s has not heard from it for %s", m.id, m.raftAddr,
				st.Leader, contactText(m.contactMs))
		}
		if n.Problem != "" {
			st.Problems = append(st.Problems, n.Problem)
		}
		st.Nodes = append(st.Nodes, n)
	}
	if st.Leader != "" && !fromLeader && !named(st.Nodes, st.Leader) {
		st.Problems = append(st.Problems, fmt.Sprintf("leader %s (%s) unreachable: %v", st.Leader, entry["raft_leader_addr"], viewErr))
	}
	return st, entry["raft_node_id"], nil
}

// named reports whether the node id already has a problem of its own.
func named(nodes []nodeStatus, id string) bool {
	for _, n := range nodes {
		if n.ID == id && n.Problem != "" {
			return true
		}
	}
	return false
}

// askInfo returns the server and raft sections of INFO at addr.
func askInfo(addr string, base *redis.Options, timeout time.Duration) (map[string]string, error) {
	rdb := client(addr, base)
	defer rdb.Close()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	text, err := rdb.Info(ctx, "server", "raft").Result()
	if err != nil {
		return nil, err
	}
	out := make(map[string]string)
	for _, line := range strings.Split(text, "\n") {
		if k, v, ok := strings.Cut(strings.TrimRight(line, "\r"), ":"); ok && !strings.HasPrefix(k, "#") {
			out[k] = v
		}
	}
	return out, nil
}

// askMembers returns RAFT NODES at addr.
func askMembers(addr string, base *redis.Options, timeout time.Duration) ([]member, error) {
	if addr == "" {
		return nil, errors.New("no address")
	}
	rdb := client(addr, base)
	defer rdb.Close()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	rows, err := rdb.Do(ctx, "RAFT", "NODES").Slice()
	if err != nil {
		return nil, err
	}
	out := make([]member, 0, len(rows))
	for _, row := range rows {
		f, ok := row.([]any)
		if !ok || len(f) < 4 {
			return nil, fmt.Errorf("RAFT NODES: unexpected row %v", row)
		}
		var s [5]string
		for i := 0; i < len(f) && i < len(s); i++ {
			s[i], _ = f[i].(string)
		}
		m := member{id: s[0], raftAddr: s[1], clientAddr: s[2], role: s[3], link: s[4], contactMs: -1}
		if len(f) >= 6 {
			if ms, ok := f[5].(int64); ok {
				m.contactMs = ms
			}
		}
		out = append(out, m)
	}
	return out, nil
}

func client(addr string, base *redis.Options) *redis.Client {
	o := *base
	o.Addr = addr
	return redis.NewClient(&o)
}

func num(s string) uint64 {
	n, _ := strconv.ParseUint(s, 10, 64)
	return n
}

func contactText(ms int64) string {
	if ms < 0 {
		return "ever"
	}
	return (time.Duration(ms) * time.Millisecond).Round(100 * time.Millisecond).String()
}

// printStatus writes the report as a table.
func printStatus(w io.Writer, st *clusterStatus) {
	leader := st.Leader
	if leader == "" {
		leader = "none"
	}
	if st.Term == 0 {
		fmt.Fprintf(w, "leader %s (its term and commit index unknown)\n\n", leader)
	} else {
		fmt.Fprintf(w, "leader %s, term %d, commit index %d\n\n", leader, st.Term, st.CommitIndex)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tCLIENT\tRAFT\tROLE\tVOTER\tTERM\tCOMMIT\tAPPLIED\tLAG\tLAST CONTACT\tREACHABLE\tSTORE\tVERSION")
	dash := func(s string) string {
		if s == "" {
			return "-"
		}
		return s
	}
	for _, n := range st.Nodes {
		voter, reachable := "no", "no"
		if n.Voter {
			voter = "yes"
		}
		if n.Reachable {
			reachable = "yes"
		}
		lag, contact, term, commit, applied := "-", "-", "-", "-", "-"
		if n.Lag >= 0 {
			lag = strconv.FormatInt(n.Lag, 10)
		}
		if n.LastContactMs >= 0 {
			contact = contactText(n.LastContactMs) + " ago"
		}
		if n.Reachable {
			term, commit, applied = strconv.FormatUint(n.Term, 10), strconv.FormatUint(n.CommitIndex, 10), strconv.FormatUint(n.AppliedIndex, 10)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", n.ID, dash(n.ClientAddr), n.RaftAddr,
			n.Role, voter, term, commit, applied, lag, contact, reachable, dash(n.LogStore), dash(n.Version))
	}
	tw.Flush()
}
