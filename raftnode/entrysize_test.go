package raftnode

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"

	"github.com/raftlist/raftlist/fsm"
)

func TestNextBatchBoundsBytesAndSendsAHugeProposalAlone(t *testing.T) {
	p := func(size, ncmds int) *proposal { return &proposal{size: size, cmds: make([]fsm.Cmd, ncmds)} }
	cases := []struct {
		name    string
		queue   []*proposal
		max     int
		expN    int
		expCmds int
	}{
		{"small proposals fill up to the byte limit", []*proposal{p(400, 1), p(400, 1), p(400, 1)}, 1000, 2, 2},
		{"a proposal exactly at the limit joins", []*proposal{p(500, 1), p(500, 1), p(1, 1)}, 1000, 2, 2},
		{"a huge proposal at the head goes alone", []*proposal{p(5000, 1), p(1, 1)}, 1000, 1, 1},
		{"a huge proposal behind others waits for the next entry", []*proposal{p(10, 1), p(5000, 1)}, 1000, 1, 1},
		{"the command count bounds too", []*proposal{p(1, maxBatchCmds), p(1, 1)}, 1000, 1, maxBatchCmds},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n, cmds := nextBatch(tc.queue, tc.max, time.Now())
			if n != tc.expN || cmds != tc.expCmds {
				t.Fatalf("exp %d proposals / %d commands, got %d / %d", tc.expN, tc.expCmds, n, cmds)
			}
		})
	}
}

func TestEntriesNeverExceedMaxEntrySize(t *testing.T) {
	const limit = 4096
	n, err := New(Config{
		ID: "n1", RaftAddr: freeAddr(t), RespAddr: "resp-n1", DataDir: t.TempDir(), Bootstrap: true,
		// Raft's default timeouts: a leader change under a loaded CI
		// machine would fail proposals this test expects to succeed.
		MaxEntrySize: limit,
		Logger:       hclog.New(&hclog.LoggerOptions{Name: "n1", Level: hclog.Warn}),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Shutdown() })
	waitFor(t, "leader gate", n.IsLeader)

	t.Run("a command over the limit is refused and not applied", func(t *testing.T) {
		before := n.Machine().AppliedIndex()
		_, err := push(n, "big", string(bytes.Repeat([]byte("x"), limit)))
		if !errors.Is(err, ErrEntryTooLarge) {
			t.Fatalf("exp ErrEntryTooLarge, got %v", err)
		}
		if exp := "command exceeds max-entry-size (4096 bytes)"; err.Error() != exp {
			t.Fatalf("exp %q, got %q", exp, err.Error())
		}
		if IsRetryable(err) || errors.Is(err, ErrUnknownOutcome) {
			t.Fatalf("a refused proposal is neither retryable nor of unknown outcome: %v", err)
		}
		if got := n.Machine().AppliedIndex(); got != before {
			t.Fatalf("applied index moved from %d to %d", before, got)
		}
		if got := llen(t, n, "big"); got != 0 {
			t.Fatalf("exp no list, got length %d", got)
		}
	})

	t.Run("a transaction over the limit is refused", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		tx := fsm.Transaction{Owner: n.Owner(), Seq: n.NextSeq(), Cmds: [][][]byte{
			{[]byte("rpush"), []byte("t"), bytes.Repeat([]byte("a"), limit/2)},
			{[]byte("rpush"), []byte("t"), bytes.Repeat([]byte("b"), limit/2)},
		}}
		_, err := n.ProposeTx(ctx, tx)
		if exp := "transaction exceeds max-entry-size (4096 bytes)"; err == nil || err.Error() != exp {
			t.Fatalf("exp %q, got %v", exp, err)
		}
	})

	t.Run("many concurrent proposals are packed into entries under the limit", func(t *testing.T) {
		first := n.Machine().AppliedIndex() + 1
		const clients = 100
		var wg sync.WaitGroup
		errs := make(chan error, clients)
		for i := 0; i < clients; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				if _, err := push(n, "k", fmt.Sprintf("%04d%s", i, bytes.Repeat([]byte("e"), 900))); err != nil {
					errs <- err
				}
			}(i)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		if got := llen(t, n, "k"); got != clients {
			t.Fatalf("exp %d elements, got %d", clients, got)
		}
		last := n.Machine().AppliedIndex()
		multi := 0
		for i := first; i <= last; i++ {
			var l raft.Log
			if err := n.store.GetLog(i, &l); err != nil {
				t.Fatalf("read entry %d: %v", i, err)
			}
			if len(l.Data) > limit {
				t.Fatalf("entry %d is %d bytes, over the %d limit", i, len(l.Data), limit)
			}
			if e, err := fsm.DecodeEntry(l.Data); err == nil && len(e.Cmds) > 1 {
				multi++
			}
		}
		t.Logf("%d entries for %d proposals, %d of them carrying several commands", last-first+1, clients, multi)
	})
}
