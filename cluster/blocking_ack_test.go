package cluster

import (
	"slices"
	"testing"
)

func TestAckQueue(t *testing.T) {
	t.Run("seqs come out oldest first, at most n at a time", func(t *testing.T) {
		q := newAckQueue()
		for seq := uint64(1); seq <= 5; seq++ {
			q.add(seq)
		}
		if exp, got := []uint64{1, 2, 3}, q.take(3); !slices.Equal(exp, got) {
			t.Fatalf("exp %v, got %v", exp, got)
		}
		if exp, got := []uint64{4, 5}, q.take(3); !slices.Equal(exp, got) {
			t.Fatalf("exp %v, got %v", exp, got)
		}
		if got := q.take(3); len(got) != 0 {
			t.Fatalf("exp an empty queue, got %v", got)
		}
	})
	t.Run("seqs an ACK failed to carry go first next time", func(t *testing.T) {
		q := newAckQueue()
		q.add(1)
		q.add(2)
		failed := q.take(1)
		q.add(3)
		q.putBack(failed)
		if exp, got := []uint64{1, 2, 3}, q.take(10); !slices.Equal(exp, got) {
			t.Fatalf("exp %v, got %v", exp, got)
		}
	})
	t.Run("adding never blocks and wakes the sender once", func(t *testing.T) {
		q := newAckQueue()
		for seq := uint64(1); seq <= 100; seq++ {
			q.add(seq)
		}
		if exp, got := 1, len(q.wake); exp != got {
			t.Fatalf("exp %d pending wake-up, got %d", exp, got)
		}
	})
}
