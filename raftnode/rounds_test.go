package raftnode

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// A caller never gets the answer of a round that started before it
// arrived (that answer could miss a write committed in between), and a
// burst of callers shares rounds instead of making one each.
func TestRoundsNeverAnswerACallerWithARoundStartedBeforeIt(t *testing.T) {
	var started atomic.Int64 // the rounds begun so far, numbered from 1
	rs := &Rounds[int64]{Fetch: func() (int64, error) {
		n := started.Add(1)
		time.Sleep(2 * time.Millisecond)
		return n, nil
	}}
	var wg sync.WaitGroup
	var calls atomic.Int64
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				before := started.Load() // rounds begun before this call arrived
				got, err := rs.Get(context.Background())
				if err != nil {
					t.Error(err)
					return
				}
				if got <= before {
					t.Errorf("answered by round %d, which had begun before the call (%d begun)", got, before)
					return
				}
				calls.Add(1)
			}
		}()
	}
	wg.Wait()
	if r, c := started.Load(), calls.Load(); r >= c {
		t.Errorf("%d rounds for %d calls: nothing shared", r, c)
	}
}

func TestRoundsGetGivesUpWithItsContext(t *testing.T) {
	block := make(chan struct{})
	defer close(block)
	rs := &Rounds[int]{Fetch: func() (int, error) { <-block; return 1, nil }}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := rs.Get(ctx); err == nil {
		t.Fatal("exp the context's error while the round hangs, got nil")
	}
}
