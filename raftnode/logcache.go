package raftnode

import (
	"fmt"
	"sync"

	"github.com/hashicorp/raft"
)

// logCache keeps the newest log entries in memory, as raft.LogCache does
// (replication and the FSM read them back right after they are written),
// but bounded by bytes as well as by count. raft.LogCache holds its last
// 1024 entries whatever their size: after a bulk load (entries carrying
// hundreds of commands each) that was tens of MB held until 1024 newer
// entries came, and an idle cluster writes few. Found by heap profile
// after a million keys with TTLs expired: node memory stayed at ~70 MB of
// Go heap, most of it the last bulk entries in this cache.
type logCache struct {
	store  raft.LogStore
	budget int

	mu    sync.RWMutex
	ring  []*raft.Log
	bytes int    // Data of the entries in ring
	first uint64 // no entry below first is in ring
}

// logCacheEntries and logCacheBytes bound the cache.
const (
	logCacheEntries = 1024
	logCacheBytes   = 4 << 20
)

func newLogCache(store raft.LogStore, entries, budget int) (*logCache, error) {
	if entries <= 0 || budget <= 0 {
		return nil, fmt.Errorf("log cache bounds must be positive")
	}
	return &logCache{store: store, budget: budget, ring: make([]*raft.Log, entries)}, nil
}

// IsMonotonic passes the store's answer on (raft.MonotonicLogStore).
func (c *logCache) IsMonotonic() bool {
	m, ok := c.store.(raft.MonotonicLogStore)
	return ok && m.IsMonotonic()
}

func (c *logCache) GetLog(idx uint64, log *raft.Log) error {
	c.mu.RLock()
	cached := c.ring[idx%uint64(len(c.ring))]
	c.mu.RUnlock()
	if cached != nil && cached.Index == idx {
		*log = *cached
		return nil
	}
	return c.store.GetLog(idx, log)
}

func (c *logCache) StoreLog(log *raft.Log) error { return c.StoreLogs([]*raft.Log{log}) }

func (c *logCache) StoreLogs(logs []*raft.Log) error {
	if err := c.store.StoreLogs(logs); err != nil {
		return fmt.Errorf("unable to store logs within log store, err: %q", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, l := range logs {
		slot := l.Index % uint64(len(c.ring))
		if old := c.ring[slot]; old != nil {
			c.bytes -= len(old.Data)
		}
		c.ring[slot] = l
		c.bytes += len(l.Data)
		if n := uint64(len(c.ring)); l.Index >= n && c.first < l.Index-n+1 {
			c.first = l.Index - n + 1
		}
	}
	// Evict oldest first until within the budget; the newest entry stays
	// whatever its size.
	last := logs[len(logs)-1].Index
	for c.bytes > c.budget && c.first < last {
		slot := c.first % uint64(len(c.ring))
		if old := c.ring[slot]; old != nil && old.Index == c.first {
			c.bytes -= len(old.Data)
			c.ring[slot] = nil
		}
		c.first++
	}
	return nil
}

func (c *logCache) FirstIndex() (uint64, error) { return c.store.FirstIndex() }
func (c *logCache) LastIndex() (uint64, error)  { return c.store.LastIndex() }

func (c *logCache) DeleteRange(min, max uint64) error {
	c.mu.Lock()
	c.ring, c.bytes, c.first = make([]*raft.Log, len(c.ring)), 0, 0
	c.mu.Unlock()
	return c.store.DeleteRange(min, max)
}
