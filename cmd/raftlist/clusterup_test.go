package main

import (
	"reflect"
	"strings"
	"testing"
)

func TestClusterUpRestartHintRepeatsTheFlagsThatWereUsed(t *testing.T) {
	args := []string{"--nodes", "5", "--port", "7600", "--raft-port", "9600", "--host", "127.0.0.2", "--tls",
		"--requirepass", "s3cret", "--dir", "/tmp/my data", "--", "--election-timeout", "300ms", "--redirect"}
	cfg, fs, err := parseClusterUpFlags(args)
	if err != nil {
		t.Fatal(err)
	}
	got := restartCommand(fs, cfg)
	exp := "raftlist cluster up --host 127.0.0.2 --nodes 5 --port 7600 --raft-port 9600 --requirepass PASSWORD --tls --dir '/tmp/my data' -- --election-timeout 300ms --redirect"
	if got != exp {
		t.Fatalf("exp\n%s\ngot\n%s", exp, got)
	}
	if strings.Contains(got, "s3cret") {
		t.Fatalf("the password is echoed: %s", got)
	}
	// Reparsing the hint gives the same cluster.
	again, _, err := parseClusterUpFlags(strings.Fields(strings.ReplaceAll(strings.ReplaceAll(got, "'/tmp/my data'", "/tmp/x"), "PASSWORD", "s3cret"))[3:])
	if err != nil {
		t.Fatal(err)
	}
	cfg.Dir = "/tmp/x"
	if !reflect.DeepEqual(again, cfg) {
		t.Fatalf("exp the hint to parse back to %+v, got %+v", cfg, again)
	}
	t.Run("the default raft port is port+10000", func(t *testing.T) {
		cfg, fs, err := parseClusterUpFlags([]string{"--port", "7000"})
		if err != nil || cfg.RaftBasePort != 17000 {
			t.Fatalf("exp raft port 17000, got %d (%v)", cfg.RaftBasePort, err)
		}
		if got := restartCommand(fs, cfg); got != "raftlist cluster up --port 7000 --dir ./raftlist-data" {
			t.Fatalf("exp --port in the hint, got %s", got)
		}
	})
	for _, bad := range [][]string{{"--raft-port", "70000"}, {"--port", "7000", "--raft-port", "7002"}} {
		if _, _, err := parseClusterUpFlags(bad); err == nil {
			t.Errorf("exp an error for %v", bad)
		}
	}
}
