package raftnode

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
)

func openNodeIn(t *testing.T, dir, store string, addr string) (*Node, error) {
	t.Helper()
	return New(Config{
		ID: "n1", RaftAddr: addr, RespAddr: "resp-n1", DataDir: dir, Bootstrap: true, LogStore: store,
		HeartbeatTimeout: 200 * time.Millisecond, ElectionTimeout: 200 * time.Millisecond,
		Logger: hclog.New(&hclog.LoggerOptions{Name: "n1", Level: hclog.Warn}),
	})
}

func TestEachLogStoreKeepsAcknowledgedWritesAcrossRestart(t *testing.T) {
	for _, store := range LogStores {
		t.Run(store, func(t *testing.T) {
			dir := t.TempDir()
			n, err := openNodeIn(t, dir, store, freeAddr(t))
			if err != nil {
				t.Fatalf("start: %v", err)
			}
			waitFor(t, "leader gate", n.IsLeader)
			for i := 0; i < 20; i++ {
				if _, err := push(n, "k", fmt.Sprint(i)); err != nil {
					n.Shutdown()
					t.Fatalf("push %d: %v", i, err)
				}
			}
			if err := n.Shutdown(); err != nil {
				t.Fatalf("shutdown: %v", err)
			}
			n, err = openNodeIn(t, dir, store, freeAddr(t))
			if err != nil {
				t.Fatalf("restart: %v", err)
			}
			defer n.Shutdown()
			if !n.Restarted() {
				t.Fatal("restarted node did not find its earlier Raft state")
			}
			waitFor(t, "leader gate after restart", n.IsLeader)
			if exp, got := int64(20), llen(t, n, "k"); got != exp {
				t.Fatalf("llen after restart: exp %d, got %d", exp, got)
			}
		})
	}
}

func TestDataDirRefusesTheOtherLogStore(t *testing.T) {
	for _, c := range []struct{ made, reopened string }{{LogStoreBolt, LogStoreWAL}, {LogStoreWAL, LogStoreBolt}} {
		t.Run(c.made+"-then-"+c.reopened, func(t *testing.T) {
			dir := t.TempDir()
			n, err := openNodeIn(t, dir, c.made, freeAddr(t))
			if err != nil {
				t.Fatalf("start: %v", err)
			}
			waitFor(t, "leader gate", n.IsLeader)
			n.Shutdown()
			n, err = openNodeIn(t, dir, c.reopened, freeAddr(t))
			if err == nil {
				n.Shutdown()
				t.Fatalf("a %s data dir opened with --log-store %s", c.made, c.reopened)
			}
			if exp := "--log-store " + c.made; !strings.Contains(err.Error(), exp) {
				t.Fatalf("error %q does not say %q", err, exp)
			}
		})
	}
}

func TestWALDataDirInUseIsRefused(t *testing.T) {
	dir := t.TempDir()
	n, err := openNodeIn(t, dir, LogStoreWAL, freeAddr(t))
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	defer n.Shutdown()
	done := make(chan error, 1)
	go func() {
		second, err := openNodeIn(t, dir, LogStoreWAL, freeAddr(t))
		if err == nil {
			second.Shutdown()
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "another node is using this data dir") {
			t.Fatalf("second node on a data dir in use: exp a lock error, got %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("second node on a data dir in use hangs instead of failing")
	}
}

func TestUnknownLogStoreIsRefused(t *testing.T) {
	_, err := openNodeIn(t, t.TempDir(), "rocks", freeAddr(t))
	if err == nil || !strings.Contains(err.Error(), `unknown log store "rocks"`) {
		t.Fatalf("exp unknown log store error, got %v", err)
	}
}
