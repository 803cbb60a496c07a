package tests

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// statusReport is the part of `raftlist status --json` the tests read.
type statusReport struct {
	Leader string `json:"leader"`
	Nodes  []struct {
		ID        string `json:"id"`
		Role      string `json:"role"`
		Reachable bool   `json:"reachable"`
		Lag       int64  `json:"lag"`
		LogStore  string `json:"log_store"`
		Version   string `json:"version"`
		Problem   string `json:"problem"`
	} `json:"nodes"`
	Problems []string `json:"problems"`
}

// runStatusCmd runs the real binary's `raftlist status` and returns its
// stdout, stderr and exit status.
func runStatusCmd(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, append([]string{"status"}, args...)...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatalf("raftlist status %v: %v", args, err)
	}
	return out.String(), errOut.String(), code
}

func parseStatus(t *testing.T, stdout string) statusReport {
	t.Helper()
	var r statusReport
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatalf("raftlist status --json printed no JSON: %v\n%s", err, stdout)
	}
	return r
}

// TestStatusNamesAnUnreachableNode runs `raftlist status` against a healthy
// three-node cluster, kills a follower, and checks that status names it and
// exits non-zero, and that the leader's INFO replication then lists one
// connected replica.
func TestStatusNamesAnUnreachableNode(t *testing.T) {
	c := mustStartCluster(t, 3)
	leader := mustLeader(t, c)
	fs := followers(c, leader)
	victim, other := fs[0], fs[1]
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	stdout, stderr, code := runStatusCmd(t, "--addr", other.ClientAddr, "--json")
	if code != 0 {
		t.Fatalf("healthy cluster: exp exit 0, got %d\n%s%s", code, stdout, stderr)
	}
	r := parseStatus(t, stdout)
	if r.Leader != leader.ID || len(r.Nodes) != 3 || len(r.Problems) != 0 {
		t.Fatalf("healthy cluster: exp leader %s, 3 nodes, no problems, got %+v", leader.ID, r)
	}
	for _, n := range r.Nodes {
		if !n.Reachable || n.Lag < 0 || n.LogStore == "" || n.Version == "" || (n.ID == leader.ID) != (n.Role == "leader") {
			t.Errorf("healthy cluster: node %+v", n)
		}
	}
	requireReplication(t, ctx, leader.ClientAddr, 2)

	victim.Kill()
	deadline := time.Now().Add(30 * time.Second)
	for {
		stdout, stderr, code = runStatusCmd(t, "--addr", other.ClientAddr, "--json")
		if code != 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if code != 1 {
		t.Fatalf("after killing %s: exp exit 1, got %d\n%s%s", victim.ID, code, stdout, stderr)
	}
	if !strings.Contains(stderr, victim.ID+" ("+victim.ClientAddr+") unreachable") {
		t.Errorf("stderr does not name %s unreachable:\n%s", victim.ID, stderr)
	}
	r = parseStatus(t, stdout)
	for _, n := range r.Nodes {
		if want := n.ID != victim.ID; n.Reachable != want || (n.Problem == "") != want {
			t.Errorf("after killing %s: node %+v", victim.ID, n)
		}
	}

	// The table for people says the same.
	stdout, _, code = runStatusCmd(t, "--addr", leader.ClientAddr)
	row := regexp.MustCompile(`(?m)^` + victim.ID + `\s.*\sno\s+-\s+-\s*$`)
	if code != 1 || !row.MatchString(stdout) {
		t.Errorf("table after killing %s: exp exit 1 and its row unreachable, got exit %d\n%s", victim.ID, code, stdout)
	}

	requireReplication(t, ctx, leader.ClientAddr, 1)
}

// requireReplication waits until INFO replication at addr (the leader) says
// connected_slaves:want with want slave lines in Redis 7.0's format.
func requireReplication(t *testing.T, ctx context.Context, addr string, want int) {
	t.Helper()
	line := regexp.MustCompile(`^ip=[0-9.]+,port=\d+,state=online,offset=\d+,lag=\d+$`)
	deadline := time.Now().Add(20 * time.Second)
	var text string
	for time.Now().Before(deadline) {
		text = infoText(t, ctx, addr, "replication")
		info := parseInfoText(text)
		slaves := 0
		ok := info["role"] == "master" && info["connected_slaves"] == strconv.Itoa(want) &&
			regexp.MustCompile(`^\d+$`).MatchString(info["master_repl_offset"])
		for k, v := range info {
			if strings.HasPrefix(k, "slave") {
				slaves++
				ok = ok && line.MatchString(v)
			}
		}
		if ok && slaves == want {
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("INFO replication on %s: exp connected_slaves:%d and as many slaveN lines, got\n%s", addr, want, text)
}

// TestStatusOnATLSClusterWithAPassword connects the way redis-cli does:
// --tls with the CA and a client certificate, and -a with the password.
func TestStatusOnATLSClusterWithAPassword(t *testing.T) {
	c := mustStartTLSAuthCluster(t, 3, authPassword)
	leader := mustLeader(t, c)
	f := c.TLSFiles()
	tlsArgs := []string{"--addr", followers(c, leader)[0].ClientAddr, "--json",
		"--tls", "--cacert", f.CACert, "--cert", f.ClientCert, "--key", f.ClientKey}

	stdout, stderr, code := runStatusCmd(t, append(tlsArgs, "-a", authPassword)...)
	if code != 0 {
		t.Fatalf("with TLS and the password: exp exit 0, got %d\n%s%s", code, stdout, stderr)
	}
	r := parseStatus(t, stdout)
	if r.Leader != leader.ID || len(r.Nodes) != 3 {
		t.Fatalf("exp leader %s and 3 nodes, got %+v", leader.ID, r)
	}
	for _, n := range r.Nodes {
		if !n.Reachable {
			t.Errorf("node %+v unreachable", n)
		}
	}

	_, stderr, code = runStatusCmd(t, tlsArgs...)
	if code == 0 || !strings.Contains(stderr, "NOAUTH") {
		t.Errorf("without the password: exp a non-zero exit naming NOAUTH, got %d\n%s", code, stderr)
	}
}
