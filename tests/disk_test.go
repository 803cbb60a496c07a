package tests

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/raftlist/raftlist/cluster/local"
)

// Disk trouble: each node's data dir is a small tmpfs of its own, and one of
// them is filled to the last byte while clients write. The rule: a node
// never acknowledges what it did not persist. A leader that cannot write
// its log steps down and the two healthy nodes carry on; a follower that
// cannot write simply stops counting towards the majority. Once space is
// freed the node catches up and every digest matches.

// diskTmpfsSize is each node's data dir. bolt and the snapshot store need a
// few MiB for the writes these tests make.
const diskTmpfsSize = "16m"

// diskWriteWindow is how long writers run against the full disk.
const diskWriteWindow = 8 * time.Second

func TestFullDiskOnLeaderStepsDownAndLosesNoAcknowledgedWrite(t *testing.T) {
	testFullDisk(t, true)
}

func TestFullDiskOnFollowerLosesNoAcknowledgedWrite(t *testing.T) {
	testFullDisk(t, false)
}

func testFullDisk(t *testing.T, fillLeader bool) {
	dir := t.TempDir()
	for i := 1; i <= 3; i++ {
		mustMountTmpfs(t, filepath.Join(dir, "node"+strconv.Itoa(i)), diskTmpfsSize, "")
	}
	c := mustStartClusterIn(t, dir)
	leader := mustLeader(t, c)
	victim := leader
	if !fillLeader {
		victim = followers(c, leader)[0]
	}
	var healthy *local.Node
	for _, n := range c.Nodes {
		if n != victim {
			healthy = n
			break
		}
	}
	key := "disk:list"
	mustPush(t, healthy.ClientAddr, key, values("before", 20)...)
	mustConverge(t, c)

	ledBefore := countLogged(victim, "entering leader state")
	ballast := fillDisk(t, victim.DataDir)
	t.Logf("filled %s's data dir %s (%s is leader) with %s", victim.ID, victim.DataDir, leader.ID, ballast)

	o := newOutcomes()
	viaVictim, viaHealthy := newOutcomes(), newOutcomes()
	if fillLeader {
		// One client alone at first, so the reply to the write that met
		// the full disk is seen: an error, never OK.
		r := probeUntilError(t, victim.ClientAddr, key, viaVictim)
		t.Logf("the first failed write through %s was answered %q", victim.ID, r)
		if !isErrorPrefix(r, "UNCERTAIN") && !isErrorPrefix(r, "TRYAGAIN") {
			t.Errorf("exp UNCERTAIN or TRYAGAIN from the full leader, got %q", r)
		}
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	only := func(n *local.Node) func() []string { return func() []string { return []string{n.ClientAddr} } }
	go writer(stop, &wg, viaVictim, "victim", key, only(victim), 5*time.Second)
	go writer(stop, &wg, viaHealthy, "healthy", key, only(healthy), 5*time.Second)

	if fillLeader {
		nl := mustNewLeader(t, c, victim)
		t.Logf("%s took over from %s, whose disk is full", nl.ID, victim.ID)
	}
	time.Sleep(diskWriteWindow)
	healthyBefore := len(viaHealthy.snapshotAcked())
	time.Sleep(2 * time.Second)
	close(stop)
	wg.Wait()
	t.Logf("through %s (full disk): %s", victim.ID, viaVictim.counts())
	t.Logf("through %s: %s", healthy.ID, viaHealthy.counts())

	// The healthy majority kept taking writes while the disk was still full.
	if got := len(viaHealthy.snapshotAcked()); got <= healthyBefore || got < 10 {
		t.Errorf("writes through %s: exp the healthy majority to keep acknowledging writes, got %d acknowledged (%d by %v)",
			healthy.ID, got, healthyBefore, diskWriteWindow)
	}
	if fillLeader {
		if len(viaVictim.rejected)+len(viaVictim.uncertain) == 0 {
			t.Errorf("writes through the full leader %s: exp some to fail with TRYAGAIN or UNCERTAIN, got %s", victim.ID, viaVictim.counts())
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		info, err := victim.Info(ctx)
		cancel()
		if err != nil || info["raft_role"] == "leader" {
			t.Errorf("%s with a full disk: exp it not to lead, got role %q (err %v)", victim.ID, info["raft_role"], err)
		}
	}
	// A node whose disk stays full must not keep winning elections only to
	// fail its first append: the cluster takes no writes while that lasts.
	if led := countLogged(victim, "entering leader state") - ledBefore; led > 0 {
		t.Errorf("%s with a full disk: exp it never to lead again, got elected %d times", victim.ID, led)
	}
	if !waitLogged(victim, "no space left on device", 10*time.Second) || !waitLogged(victim, victim.DataDir, time.Second) {
		t.Errorf("%s's log: exp an error naming the data dir %s and ENOSPC\n%s", victim.ID, victim.DataDir, victim.LogTail(30))
	}
	for _, line := range strings.Split(victim.LogTail(400), "\n") {
		if strings.Contains(line, "[ERROR]") || strings.Contains(line, "[WARN]") || strings.Contains(line, "entering") {
			t.Logf("%s log: %s", victim.ID, line)
		}
	}
	if !victim.Running() {
		t.Fatalf("%s exited with its disk full (exp it to keep running and wait for space): %v\n%s", victim.ID, victim.ExitError(), victim.LogTail(40))
	}

	if fillLeader {
		// An operator restarting the node while the disk is still full:
		// it must shut down without a panic, and its bolt file must open
		// again once there is room (ENOSPC never corrupts it).
		victim.Stop()
		if err := victim.ExitError(); err != nil || countLogged(victim, "panic") > 0 {
			t.Errorf("%s stopped with its disk full: exp a clean exit, got %v\n%s", victim.ID, err, victim.LogTail(30))
		}
	}
	if err := os.Remove(ballast); err != nil {
		t.Fatalf("remove the ballast: %v", err)
	}
	if fillLeader {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err := victim.Restart(ctx)
		cancel()
		if err != nil {
			t.Fatalf("restart %s after freeing space: %v", victim.ID, err)
		}
	}
	mustConverge(t, c)
	o.merge(viaVictim)
	o.merge(viaHealthy)
	for _, n := range c.Nodes {
		list := mustRange(t, n.ClientAddr, key, true)
		requireOutcomes(t, o, list[20:])
		if got := list[:20]; fmt.Sprint(got) != fmt.Sprint(values("before", 20)) {
			t.Errorf("%s: the writes before the disk filled: exp %v, got %v", n.ID, values("before", 20), got)
		}
	}
}

// probeUntilError RPUSHes probe-0, probe-1, ... through addr one at a time
// until one is answered with an error, recording each outcome in o, and
// returns that error reply.
func probeUntilError(t *testing.T, addr, key string, o *outcomes) []byte {
	t.Helper()
	c := mustDial(t, addr)
	for i := 0; i < 5000; i++ {
		v := "probe-" + strconv.Itoa(i)
		raw, err := c.doStr("RPUSH", key, v)
		if err != nil {
			t.Fatalf("RPUSH %s through %s: %v", v, addr, err)
		}
		o.mu.Lock()
		switch {
		case len(raw) > 0 && raw[0] == ':':
			o.acked = append(o.acked, v)
		case isErrorPrefix(raw, "TRYAGAIN"):
			o.rejected[v] = true
		default:
			o.uncertain[v] = true
		}
		o.mu.Unlock()
		if len(raw) > 0 && raw[0] == '-' {
			return raw
		}
	}
	t.Fatalf("5000 writes through %s with its disk full were all acknowledged", addr)
	return nil
}

// snapshotAcked returns the values acknowledged so far.
func (o *outcomes) snapshotAcked() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.acked...)
}

// merge adds what another set of writers learnt.
func (o *outcomes) merge(p *outcomes) {
	o.mu.Lock()
	defer o.mu.Unlock()
	p.mu.Lock()
	defer p.mu.Unlock()
	o.acked = append(o.acked, p.acked...)
	for v := range p.rejected {
		o.rejected[v] = true
	}
	for v := range p.uncertain {
		o.uncertain[v] = true
	}
	o.transport += p.transport
	o.errs = append(o.errs, p.errs...)
}

func TestUnwritableDataDirFailsStartupNamingPathAndCause(t *testing.T) {
	cases := []struct {
		name  string
		opts  string
		fill  bool
		cause string
	}{
		{"a read-only file system", "ro", false, "read-only file system"},
		{"a full file system", "", true, "no space left on device"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			data := filepath.Join(t.TempDir(), "data")
			mustMountTmpfs(t, data, "1m", tc.opts)
			if tc.fill {
				fillDisk(t, data)
			}
			port := freeBasePort(t)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, binary, "server", "--id", "n1",
				"--listen", "127.0.0.1:"+strconv.Itoa(port), "--raft", "127.0.0.1:"+strconv.Itoa(port+10000),
				"--data", data, "--bootstrap")
			out, err := cmd.CombinedOutput()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || ctx.Err() != nil {
				t.Fatalf("exp the server to exit with an error, got %v (ctx %v)\n%s", err, ctx.Err(), out)
			}
			if !bytes.Contains(out, []byte(data)) || !bytes.Contains(out, []byte(tc.cause)) {
				t.Fatalf("exp the startup error to name %s and %q, got:\n%s", data, tc.cause, out)
			}
			t.Logf("startup error: %s", lastLine(out))
		})
	}
}

// countLogged counts the lines of n's log that mention text.
func countLogged(n *local.Node, text string) int {
	data, err := os.ReadFile(n.LogFile)
	if err != nil {
		return 0
	}
	return bytes.Count(data, []byte(text))
}

func lastLine(out []byte) string {
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return lines[len(lines)-1]
}

// mustMountTmpfs mounts a tmpfs of the given size on dir (created if
// missing) and unmounts it when the test ends. Without root or mount(8),
// the test is skipped: the disk-trouble tests need a file system they can
// fill without filling the machine's.
func mustMountTmpfs(t *testing.T, dir, size, extra string) {
	t.Helper()
	if runtime.GOOS != "linux" || os.Geteuid() != 0 {
		t.Skip("disk-trouble tests mount a tmpfs: they need Linux and root")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	opts := "size=" + size
	if extra != "" {
		opts += "," + extra
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "mount", "-t", "tmpfs", "-o", opts, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("mount -t tmpfs -o %s tmpfs %s failed (a container without CAP_SYS_ADMIN?): %v %s", opts, dir, err, out)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if out, err := exec.CommandContext(ctx, "umount", dir).CombinedOutput(); err != nil {
			// A node process that outlived its Stop still holds files:
			// detach the mount so the test never leaves it behind.
			t.Logf("umount %s: %v %s; detaching it lazily", dir, err, out)
			exec.CommandContext(ctx, "umount", "-l", dir).Run()
		}
	})
}

// fillDisk writes a ballast file into dir until the file system is full and
// returns its path.
func fillDisk(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "ballast")
	f, err := os.Create(path)
	if err != nil {
		t.Fatalf("create ballast: %v", err)
	}
	defer f.Close()
	for _, chunk := range []int{1 << 20, 4096, 1} {
		buf := make([]byte, chunk)
		for {
			if _, err := f.Write(buf); err != nil {
				if !errors.Is(err, syscall.ENOSPC) {
					t.Fatalf("fill %s: %v", dir, err)
				}
				break
			}
		}
	}
	return path
}

// mustStartClusterIn starts a 3-node cluster whose data dirs are dir/node1..3
// (which may be mount points), stopped when the test ends, before anything
// registered earlier (the unmounts) runs.
func mustStartClusterIn(t *testing.T, dir string) *local.Cluster {
	t.Helper()
	cfg := local.Config{
		Binary:    binary,
		Nodes:     3,
		BasePort:  freeBasePort(t),
		Host:      "127.0.0.1",
		Dir:       dir,
		ExtraArgs: testTimingArgs,
		LogDir:    t.TempDir(),
	}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	c, err := local.Start(ctx, cfg)
	if err != nil {
		dumpLogs(t, cfg.LogDir)
		t.Fatalf("start a 3-node cluster in %s: %v", dir, err)
	}
	t.Cleanup(func() {
		c.Stop()
		if t.Failed() {
			dumpLogs(t, c.Config().LogDir)
		}
	})
	return c
}
