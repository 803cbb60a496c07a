package tests

import (
	"context"
	"strconv"
	"testing"
	"time"
)

// INFO's fields that clients and exporters read must be true on every
// node: number_of_cached_scripts counts the replicated script cache (the
// same on every node, and what redis-server counts for the same SCRIPT
// LOADs), the leader is the master with its log's offset and the
// followers replicas with theirs, maxclients is the configured limit.
func TestInfoScriptsReplicationAndClientsFields(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rds := mustStartRedis(t)
	c := mustStartCluster(t, 3, "--maxclients", "50")
	leader := mustLeader(t, c)
	node := mustDial(t, leader.ClientAddr)
	redis := mustDial(t, rds.Addr)
	for _, body := range []string{"return 1", "return 2", "return 1"} {
		mustDo(t, node, "SCRIPT", "LOAD", body)
		mustDo(t, redis, "SCRIPT", "LOAD", body)
	}
	mustDo(t, node, "EVAL", "return 3", "0")
	mustDo(t, redis, "EVAL", "return 3", "0")
	mustConverge(t, c)
	want := parseInfoText(infoText(t, ctx, rds.Addr, "memory"))["number_of_cached_scripts"]
	if want != "3" {
		t.Fatalf("redis-server: exp 3 cached scripts, got %q", want)
	}
	leaderInfo := parseInfoText(infoText(t, ctx, leader.ClientAddr, "everything"))
	masterOffset, err := strconv.ParseUint(leaderInfo["master_repl_offset"], 10, 64)
	if err != nil || leaderInfo["role"] != "master" || masterOffset == 0 {
		t.Fatalf("leader: exp role master and a master_repl_offset, got %q and %q", leaderInfo["role"], leaderInfo["master_repl_offset"])
	}
	for _, n := range c.Nodes {
		info := parseInfoText(infoText(t, ctx, n.ClientAddr, "everything"))
		if got := info["number_of_cached_scripts"]; got != want {
			t.Errorf("%s: exp number_of_cached_scripts:%s (redis-server), got %q", n.ID, want, got)
		}
		if info["number_of_functions"] != "0" || info["maxclients"] != "50" {
			t.Errorf("%s: exp number_of_functions:0 and maxclients:50, got %q and %q", n.ID, info["number_of_functions"], info["maxclients"])
		}
		if info["redis_version"] != "7.0.15" {
			t.Errorf("%s: exp redis_version:7.0.15, got %q", n.ID, info["redis_version"])
		}
		if n.ID == leader.ID {
			continue
		}
		off, err := strconv.ParseUint(info["slave_repl_offset"], 10, 64)
		if err != nil || info["role"] != "slave" || off == 0 {
			t.Errorf("%s: exp role slave with a slave_repl_offset, got %q and %q", n.ID, info["role"], info["slave_repl_offset"])
		}
	}
	mustConverge(t, c)
}
