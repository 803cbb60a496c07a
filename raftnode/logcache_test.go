package raftnode

import (
	"bytes"
	"testing"

	"github.com/hashicorp/raft"
)

func TestLogCacheIsBoundedByBytes(t *testing.T) {
	store := raft.NewInmemStore()
	c, err := newLogCache(store, 1024, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	big := bytes.Repeat([]byte("x"), 64<<10)
	for i := uint64(1); i <= 100; i++ {
		if err := c.StoreLogs([]*raft.Log{{Index: i, Data: big}}); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("a bulk load's large entries keep at most the budget in memory", func(t *testing.T) {
		if c.bytes > 1<<20 {
			t.Fatalf("exp at most %d bytes cached, got %d", 1<<20, c.bytes)
		}
		held := 0
		for _, l := range c.ring {
			if l != nil {
				held += len(l.Data)
			}
		}
		if held != c.bytes {
			t.Fatalf("exp the count %d to be what the ring holds, got %d", c.bytes, held)
		}
	})
	t.Run("every entry still reads back, evicted ones from the store", func(t *testing.T) {
		for i := uint64(1); i <= 100; i++ {
			var l raft.Log
			if err := c.GetLog(i, &l); err != nil || l.Index != i || len(l.Data) != len(big) {
				t.Fatalf("entry %d: exp it back, got index %d, %d bytes, %v", i, l.Index, len(l.Data), err)
			}
		}
	})
	t.Run("small entries after them fill the cache by count again", func(t *testing.T) {
		for i := uint64(101); i <= 3000; i++ {
			if err := c.StoreLog(&raft.Log{Index: i, Data: []byte("small")}); err != nil {
				t.Fatal(err)
			}
		}
		cached := 0
		for _, l := range c.ring {
			if l != nil {
				cached++
			}
		}
		if exp := 1024; cached != exp || c.bytes != exp*5 {
			t.Fatalf("exp %d entries of 5 bytes cached, got %d (%d bytes)", exp, cached, c.bytes)
		}
	})
	t.Run("a truncation empties it", func(t *testing.T) {
		if err := c.DeleteRange(2000, 3000); err != nil {
			t.Fatal(err)
		}
		if c.bytes != 0 {
			t.Fatalf("exp 0 bytes after DeleteRange, got %d", c.bytes)
		}
	})
}
