package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/raftlist/raftlist/cluster/local"
	"github.com/raftlist/raftlist/fsm/resp"
)

// target is one server the workloads are driven at.
type target struct {
	name string
	// addr is where the load goes; setup is where setup writes go (the
	// leader, for raftlist through a follower).
	addr, setup string
	// wait, if set, follows every write ("write; WAIT 2 0" on Redis with
	// replicas); its integer reply below 2 counts as a WAIT timeout.
	wait [][]byte
	// durable targets are compared with raftlist on writes; reads are the
	// same on every Redis, so only the plain one serves read workloads.
	readsToo bool
	raftlist bool
	// pids are the server processes behind the target, whose CPU time a
	// cell measures.
	pids func() []int
	// logIndex, for raftlist, is the leader's commit index: how many log
	// entries a cell made.
	logIndex func() uint64
}

// Target names, in the order tables show them.
const (
	tRedis     = "redis"
	tRedisAOF  = "redis-aof"
	tRedisWait = "redis-wait2"
	// tRedisWaitAOF is the durability raftlist gives: primary and both
	// replicas with appendfsync always, every write followed by WAIT 2 1000.
	tRedisWaitAOF = "redis-wait2-aof"
	tRLLeader     = "raftlist-leader"
	tRLFollower   = "raftlist-follower"
)

var targetOrder = []string{tRedis, tRedisAOF, tRedisWait, tRedisWaitAOF, tRLLeader, tRLFollower}

// With --compare-binary, a second cluster runs another raftlist build (the
// code before a change) as these targets, interleaved with the others.
const (
	tBaseLeader   = "base-leader"
	tBaseFollower = "base-follower"
)

// redisProc is a redis-server the benchmark started.
type redisProc struct {
	addr string
	dir  string
	args []string
	cmd  *exec.Cmd
}

// startRedis runs redis-server on a free port with extra configuration
// arguments (`--appendonly yes` ...), its files in dir.
func startRedis(dir string, extra ...string) (*redisProc, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	p := &redisProc{addr: "127.0.0.1:" + strconv.Itoa(port), dir: dir}
	p.args = append([]string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "",
		"--dir", dir, "--logfile", filepath.Join(dir, "redis.log")}, extra...)
	return p, p.start()
}

func (p *redisProc) start() error {
	p.cmd = exec.Command("redis-server", p.args...)
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		return fmt.Errorf("start redis-server: %w", err)
	}
	return waitReady(p.addr, 20*time.Second)
}

func (p *redisProc) stop() {
	if p != nil && p.cmd != nil && p.cmd.Process != nil {
		p.cmd.Process.Kill()
		p.cmd.Wait()
	}
}

func (p *redisProc) pid() int { return p.cmd.Process.Pid }

// waitReady waits until addr answers PING with PONG (not LOADING).
func waitReady(addr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var err error
	for time.Now().Before(deadline) {
		var v resp.Value
		var cn *rconn
		if cn, err = dial(addr); err == nil {
			v, err = cn.do(2*time.Second, []byte("PING"))
			cn.close()
			if err == nil && v.Kind != resp.KindStatus {
				err = fmt.Errorf("PING answered %s", v)
			}
			if err == nil {
				return nil
			}
		}
		time.Sleep(2 * time.Millisecond)
	}
	return fmt.Errorf("%s not ready after %v: %w", addr, timeout, err)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// redisSet is the four Redis set-ups: plain, AOF with fsync always, a
// primary with two replicas, and a primary with two replicas all three with
// AOF and fsync always.
type redisSet struct {
	plain, aof, primary, aofPrimary *redisProc
	replicas, aofReplicas           []*redisProc
}

func startRedisSet(dir string) (*redisSet, error) {
	s := &redisSet{}
	var err error
	if s.plain, err = startRedis(filepath.Join(dir, "plain"), "--appendonly", "no"); err != nil {
		return s, err
	}
	if s.aof, err = startRedis(filepath.Join(dir, "aof"), "--appendonly", "yes", "--appendfsync", "always"); err != nil {
		return s, err
	}
	if s.primary, s.replicas, err = startReplicated(dir, "", "--appendonly", "no"); err != nil {
		return s, err
	}
	if s.aofPrimary, s.aofReplicas, err = startReplicated(dir, "aof-", "--appendonly", "yes", "--appendfsync", "always"); err != nil {
		return s, err
	}
	if err := waitReplicas(s.primary.addr, 2); err != nil {
		return s, err
	}
	return s, waitReplicas(s.aofPrimary.addr, 2)
}

// startReplicated starts a primary and two replicas of it, all with conf.
func startReplicated(dir, prefix string, conf ...string) (*redisProc, []*redisProc, error) {
	primary, err := startRedis(filepath.Join(dir, prefix+"primary"), conf...)
	if err != nil {
		return primary, nil, err
	}
	host, port, _ := net.SplitHostPort(primary.addr)
	var replicas []*redisProc
	for i := 1; i <= 2; i++ {
		r, err := startRedis(filepath.Join(dir, prefix+"replica"+strconv.Itoa(i)), append(conf, "--replicaof", host, port)...)
		if r != nil {
			replicas = append(replicas, r)
		}
		if err != nil {
			return primary, replicas, err
		}
	}
	return primary, replicas, nil
}

// waitReplicas waits until the primary counts n connected replicas in sync.
func waitReplicas(addr string, n int) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if info, err := infoFields(addr, "replication"); err == nil {
			online := 0
			for k, v := range info {
				if strings.HasPrefix(k, "slave") && strings.Contains(v, "state=online") {
					online++
				}
			}
			if online >= n {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("redis primary %s: %d replicas did not come online", addr, n)
}

func (s *redisSet) stop() {
	ps := append([]*redisProc{s.plain, s.aof, s.primary, s.aofPrimary}, s.replicas...)
	for _, p := range append(ps, s.aofReplicas...) {
		if p != nil {
			p.stop()
		}
	}
}

func (s *redisSet) targets() []*target {
	pids := func(ps ...*redisProc) func() []int {
		return func() []int {
			var out []int
			for _, p := range ps {
				out = append(out, p.pid())
			}
			return out
		}
	}
	return []*target{
		{name: tRedis, addr: s.plain.addr, setup: s.plain.addr, readsToo: true, pids: pids(s.plain)},
		{name: tRedisAOF, addr: s.aof.addr, setup: s.aof.addr, pids: pids(s.aof)},
		{name: tRedisWait, addr: s.primary.addr, setup: s.primary.addr, wait: words("WAIT", "2", "0"),
			pids: pids(append([]*redisProc{s.primary}, s.replicas...)...)},
		{name: tRedisWaitAOF, addr: s.aofPrimary.addr, setup: s.aofPrimary.addr, wait: words("WAIT", "2", "1000"),
			pids: pids(append([]*redisProc{s.aofPrimary}, s.aofReplicas...)...)},
	}
}

// infoFields returns INFO section's field:value lines.
func infoFields(addr, section string) (map[string]string, error) {
	cn, err := dial(addr)
	if err != nil {
		return nil, err
	}
	defer cn.close()
	v, err := cn.do(5*time.Second, []byte("INFO"), []byte(section))
	if err != nil {
		return nil, err
	}
	if v.Kind != resp.KindBulk {
		return nil, fmt.Errorf("INFO %s answered %s", section, v)
	}
	out := map[string]string{}
	for _, line := range strings.Split(string(v.Str), "\n") {
		if k, val, ok := strings.Cut(strings.TrimRight(line, "\r"), ":"); ok && !strings.HasPrefix(k, "#") {
			out[k] = val
		}
	}
	return out, nil
}

// buildRaftlist builds the node binary into dir with `go build`.
func buildRaftlist(root, dir string) (string, error) {
	bin := filepath.Join(dir, "raftlist")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/raftlist")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/raftlist: %v\n%s", err, out)
	}
	return bin, nil
}

// moduleRoot is the directory holding go.mod.
func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("run the benchmark inside the raftlist module")
	}
	return filepath.Dir(gomod), nil
}

// startCluster starts a 3-node raftlist cluster in dir with extra server
// flags, retrying once if a port was taken between probe and bind.
func startCluster(bin, dir string, extra []string) (*local.Cluster, error) {
	var err error
	for attempt := 1; attempt <= 3; attempt++ {
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		var c *local.Cluster
		c, err = local.Start(ctx, local.Config{
			Binary: bin, Nodes: 3, Dir: filepath.Join(dir, "try"+strconv.Itoa(attempt)), ExtraArgs: extra,
		})
		cancel()
		if err == nil {
			return c, nil
		}
		if !strings.Contains(err.Error(), "address already in use") {
			break
		}
	}
	return nil, fmt.Errorf("start raftlist cluster: %w", err)
}

// clusterTargets are raftlist's two ways in: the leader, and a follower
// that forwards to it.
func clusterTargets(ctx context.Context, c *local.Cluster, leaderName, followerName string) (leader, follower *local.Node, ts []*target, err error) {
	leader, err = c.Leader(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	for _, n := range c.Nodes {
		if n != leader {
			follower = n
			break
		}
	}
	pids := func() []int {
		var out []int
		for _, n := range c.Nodes {
			if pid := n.Pid(); pid != 0 {
				out = append(out, pid)
			}
		}
		return out
	}
	logIndex := func() uint64 {
		f, err := infoFields(leader.ClientAddr, "raft")
		if err != nil {
			return 0
		}
		i, _ := strconv.ParseUint(f["raft_commit_index"], 10, 64)
		return i
	}
	ts = []*target{
		{name: leaderName, addr: leader.ClientAddr, setup: leader.ClientAddr, readsToo: true, raftlist: true, pids: pids, logIndex: logIndex},
		{name: followerName, addr: follower.ClientAddr, setup: leader.ClientAddr, readsToo: true, raftlist: true, pids: pids, logIndex: logIndex},
	}
	return leader, follower, ts, nil
}

// cpuTicks is the user+system CPU time of pids in clock ticks (1/100 s).
func cpuTicks(pids []int) int64 {
	var total int64
	for _, pid := range pids {
		data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil {
			continue
		}
		// Fields after the command name, which is in parentheses.
		s := string(data)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(f) > 12 {
			u, _ := strconv.ParseInt(f[11], 10, 64)
			st, _ := strconv.ParseInt(f[12], 10, 64)
			total += u + st
		}
	}
	return total
}
