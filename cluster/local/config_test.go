package local

import "testing"

func TestHostsGiveEachNodeItsOwnAddress(t *testing.T) {
	cfg := Config{Binary: "raftlist", Dir: t.TempDir(), BasePort: 20000,
		Hosts: []string{"127.0.0.11", "127.0.0.12", "127.0.0.13", "127.0.0.14"}}
	cfg, err := cfg.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		i            int
		client, raft string
	}{
		{1, "127.0.0.11:20000", "127.0.0.11:30000"},
		{3, "127.0.0.13:20002", "127.0.0.13:30002"},
		{4, "127.0.0.14:20003", "127.0.0.14:30003"}, // a node added later
		{5, "127.0.0.11:20004", "127.0.0.11:30004"}, // wraps around
	} {
		n := cfg.node(tc.i)
		if n.ClientAddr != tc.client || n.RaftAddr != tc.raft {
			t.Errorf("node%d: exp %s %s, got %s %s", tc.i, tc.client, tc.raft, n.ClientAddr, n.RaftAddr)
		}
	}
}

func TestWithoutHostsEveryNodeUsesHost(t *testing.T) {
	cfg, err := Config{Binary: "raftlist", Dir: t.TempDir(), BasePort: 20000}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if n := cfg.node(2); n.ClientAddr != "127.0.0.1:20001" || n.RaftAddr != "127.0.0.1:30001" {
		t.Fatalf("exp 127.0.0.1:20001 127.0.0.1:30001, got %s %s", n.ClientAddr, n.RaftAddr)
	}
}

func TestFreeBasePortChecksEveryHost(t *testing.T) {
	cfg, err := Config{Binary: "raftlist", Dir: t.TempDir(), Nodes: 2,
		Hosts: []string{"127.0.0.21", "127.0.0.22"}}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.BasePort < 10000 || cfg.BasePort >= 22000 {
		t.Fatalf("exp a base port in [10000, 22000), got %d", cfg.BasePort)
	}
}
