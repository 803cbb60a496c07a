package fsm

import (
	"fmt"
	"testing"
)

// A burst of keys expiring prunes WATCH's tombstones down to
// maxTombstones (their memory comes back: TestMemoryComesBackAfterKeysExpire);
// these are the WATCHes in flight across that burst, each decided as
// Redis would or, where a pruned deletion leaves doubt, by an abort.
func TestWatchAcrossAnExpiryBurst(t *testing.T) {
	const burst = 3 * maxTombstones
	type setup struct {
		n       *txNode
		watches map[string][]Watch
	}
	prepare := func(t *testing.T) setup {
		n := txNewNode(t)
		n.do(0, "SET recreated 1")
		n.do(0, "SET deleted 1")
		n.do(0, "SET untouched 1")
		n.do(0, "SET changed 1")
		s := setup{n: n, watches: map[string][]Watch{}}
		for _, k := range []string{"recreated", "deleted", "untouched", "changed", "never"} {
			s.watches[k] = n.watch(0, k)
		}
		n.do(0, "DEL recreated")
		n.do(0, "DEL deleted")
		n.do(0, "SET changed 2")
		// The burst: keys with a TTL, then expiry entries until none is due.
		for b := 0; b < burst/1000; b++ {
			cmds := []Cmd{}
			for i := 0; i < 1000; i++ {
				cmds = append(cmds, Cmd{Args: [][]byte{[]byte("SET"), []byte(fmt.Sprintf("ttl:%d:%d", b, i)), []byte("v"), []byte("PX"), []byte("1000")}})
			}
			n.apply(&Entry{Kind: KindCommands, Cmds: cmds})
		}
		for res := (&Result{MoreDue: true}); res.MoreDue; {
			res = n.apply(&Entry{Kind: KindExpire, TimeMs: 2000, Expire: ExpireCycle{Limit: 1024}})
		}
		if got := n.st.tombstones(); got > maxTombstones {
			t.Fatalf("exp at most %d tombstones after the burst, got %d", maxTombstones, got)
		}
		if _, ok := n.st.KeyVersion(0, []byte("deleted")); ok {
			t.Fatalf("exp the early deletions' tombstones pruned, got %s", txVersions(n.st)[:200])
		}
		return s
	}
	aborted, ran := "*-1\r\n", "*1\r\n+PONG\r\n"
	for _, c := range []struct {
		name, key, then, want string
	}{
		{"a key deleted then recreated after WATCH aborts EXEC, its tombstone pruned in between", "recreated", "SET recreated 2", aborted},
		{"a key deleted after WATCH whose tombstone is gone aborts EXEC (the floor)", "deleted", "", aborted},
		{"a key changed after WATCH aborts EXEC", "changed", "", aborted},
		{"a key nobody touched runs EXEC, whatever expired around it", "untouched", "", ran},
		{"a key that never existed aborts EXEC: the one spurious abort, documented", "never", "", aborted},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := prepare(t)
			if c.then != "" {
				s.n.do(0, c.then)
			}
			if got := ksRESP(s.n.exec(0, s.watches[c.key], "PING").Replies[0]); got != c.want {
				t.Fatalf("exp %q, got %q", c.want, got)
			}
		})
	}
	t.Run("a WATCH taken after the burst runs EXEC", func(t *testing.T) {
		s := prepare(t)
		w := s.n.watch(0, "never", "deleted")
		if got := ksRESP(s.n.exec(0, w, "PING").Replies[0]); got != ran {
			t.Fatalf("exp %q, got %q", ran, got)
		}
	})
}

// An entry of format 3 prunes with the bound its binaries had, so nodes of
// both binaries in a rolling upgrade keep the same tombstones and decide
// every WATCH alike; the first format 4 entry prunes to the new bound.
func TestTombstoneBoundFollowsTheEntryFormat(t *testing.T) {
	st := NewState()
	index := uint64(0)
	apply := func(format byte, cmds ...Cmd) {
		index++
		st.Apply(index, 1, &Entry{Kind: KindCommands, Cmds: cmds, OldFormat: format})
	}
	var sets, dels []Cmd
	for i := 0; i < 2*maxTombstones; i++ {
		k := []byte(fmt.Sprint(i))
		sets = append(sets, Cmd{Args: [][]byte{[]byte("SET"), k, []byte("v")}})
		dels = append(dels, Cmd{Args: [][]byte{[]byte("DEL"), k}})
	}
	apply(formatExpiry, sets...)
	apply(formatExpiry, dels[:maxTombstones]...)
	apply(formatExpiry, dels[maxTombstones:]...)
	if exp, got := 2*maxTombstones, st.tombstones(); exp != got {
		t.Fatalf("after format 3 entries: exp %d tombstones (under %d), got %d", exp, maxTombstonesFormat3, got)
	}
	apply(0, Cmd{Args: [][]byte{[]byte("PING")}})
	if exp, got := maxTombstones, st.tombstones(); exp != got {
		t.Fatalf("after a format 4 entry: exp %d tombstones, got %d", exp, got)
	}
	if exp, got := uint64(2), st.ver.floor; exp != got {
		t.Fatalf("exp floor %d (the first deletions' index), got %d", exp, got)
	}
}
