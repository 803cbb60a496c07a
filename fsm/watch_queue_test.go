package fsm

import (
	"bytes"
	"fmt"
	"testing"
)

// A list that is emptied and refilled over and over (a job queue: RPUSH,
// then the LPOP that empties it) deletes its key at every emptying. Found
// by the Redis #614 soak test (tests/blocked_scripts_test.go): a follower's heap
// grew all run long, all of it in (*DB).deleted.

// txChurn applies entries, each emptying and refilling key cycles times.
func txChurn(n *txNode, db int, key string, entries, cycles int) {
	for e := 0; e < entries; e++ {
		var cmds []Cmd
		for i := 0; i < cycles; i++ {
			cmds = append(cmds,
				Cmd{DB: db, Args: [][]byte{[]byte("RPUSH"), []byte(key), []byte("x")}},
				Cmd{DB: db, Args: [][]byte{[]byte("LPOP"), []byte(key)}})
		}
		n.apply(&Entry{Kind: KindCommands, Cmds: cmds})
	}
}

func TestVersionQueueIsBoundedByTombstonesNotDeletions(t *testing.T) {
	t.Run("one key emptied 512 times in each of 300 entries queues no more than the tombstones allow", func(t *testing.T) {
		n := txNewNode(t)
		txChurn(n, 0, "q", 300, 512)
		queued := len(n.st.ver.tombs) - n.st.ver.tombHead
		if limit := 2*n.st.tombstones() + tombQueueCompact; queued > limit {
			t.Fatalf("exp at most %d queued deletions (%d tombstones), got %d for %d deletions of one key",
				limit, n.st.tombstones(), queued, 300*512)
		}
	})
	t.Run("a node whose queue was compacted prunes and decides WATCH as one restored from a snapshot", func(t *testing.T) {
		a := txNewNode(t)
		script := func(n *txNode, from, to int) {
			for i := from; i < to; i++ {
				txChurn(n, i%2, fmt.Sprintf("q%d", i%3), 1, 200)
				n.do(i%2, fmt.Sprintf("RPUSH d%d x", i))
				if i%3 == 1 {
					n.do((i-1)%2, fmt.Sprintf("DEL d%d", i-1))
				}
				if i%4 == 0 {
					n.index += versionHorizon / 16
				}
			}
		}
		script(a, 0, 40)
		var buf bytes.Buffer
		if err := WriteSnapshot(&buf, a.st); err != nil {
			t.Fatal(err)
		}
		st, err := ReadSnapshot(&buf)
		if err != nil {
			t.Fatal(err)
		}
		b := &txNode{t: t, st: st, index: a.index}
		watches := []Watch{{0, []byte("q0"), 0}, {1, []byte("q1"), a.index - 1}, {0, []byte("d3"), 0}, {1, []byte("d38"), a.index}}
		script(a, 40, 120)
		script(b, 40, 120)
		if exp, got := txVersions(a.st), txVersions(b.st); exp != got {
			t.Fatalf("exp %s, got %s", exp, got)
		}
		if a.st.ver.floor == 0 {
			t.Fatalf("exp the script to prune something, got %s", txVersions(a.st))
		}
		for _, w := range watches {
			if exp, got := b.st.watchesHold([]Watch{w}), a.st.watchesHold([]Watch{w}); exp != got {
				t.Fatalf("watch %+v: exp %v (restored), got %v", w, exp, got)
			}
		}
		if queued, limit := len(a.st.ver.tombs)-a.st.ver.tombHead, 2*a.st.tombstones()+tombQueueCompact; queued > limit {
			t.Fatalf("exp at most %d queued deletions, got %d", limit, queued)
		}
	})
}
