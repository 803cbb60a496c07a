package fsm

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/raftlist/raftlist/fsm/resp"
)

// The spec of MULTI/EXEC and WATCH in the state machine. Which writes
// disturb a WATCH, and every reply inside EXEC, was checked against
// redis-server 7.0.15 (WATCH k on one connection, the write on another,
// then MULTI, PING, EXEC).

// txNode is one state machine fed hand-built entries at rising indexes.
type txNode struct {
	t     *testing.T
	st    *State
	index uint64
}

func txNewNode(t *testing.T) *txNode { return &txNode{t: t, st: NewState()} }

func (n *txNode) apply(e *Entry) *Result {
	n.t.Helper()
	n.index++
	// Through the wire form, as Raft delivers it.
	d, err := DecodeEntry(e.Encode())
	if err != nil {
		n.t.Fatalf("decode: %v", err)
	}
	return n.st.Apply(n.index, 1, d)
}

// do applies one command line (split on spaces) in database db.
func (n *txNode) do(db int, line string) resp.Reply {
	n.t.Helper()
	return n.apply(&Entry{Kind: KindCommands, Cmds: []Cmd{{DB: db, Owner: "o", Seq: n.index + 1, Args: listBytes(listArgs(line))}}}).Replies[0]
}

// watch returns what a WATCH would carry now: the applied index.
func (n *txNode) watch(db int, keys ...string) []Watch {
	var out []Watch
	for _, k := range keys {
		out = append(out, Watch{DB: db, Key: []byte(k), Since: n.st.Applied()})
	}
	return out
}

// exec applies a transaction of command lines in database db.
func (n *txNode) exec(db int, watches []Watch, lines ...string) *Result {
	n.t.Helper()
	return n.apply(txEntry(db, watches, lines...))
}

// txServed renders who was answered what, in order.
func txServed(served []Served) string {
	parts := make([]string, len(served))
	for i, s := range served {
		parts[i] = fmt.Sprintf("%s/%d=%q", s.Owner, s.Seq, ksRESP(s.Reply))
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// txWire renders replies in wire form.
func txWire(replies []resp.Reply) string {
	var b strings.Builder
	for _, r := range replies {
		b.WriteString(ksRESP(r))
	}
	return b.String()
}

func txEntry(db int, watches []Watch, lines ...string) *Entry {
	tx := Transaction{DB: db, Owner: "tx", Seq: 7, Watches: watches, Cmds: [][][]byte{}}
	for _, l := range lines {
		tx.Cmds = append(tx.Cmds, listBytes(listArgs(l)))
	}
	return &Entry{Kind: KindExec, TimeMs: 1_700_000_000_000, Tx: tx}
}

func TestExecDecidesWatchesAtApplyTime(t *testing.T) {
	ran := "*1\r\n+PONG\r\n"
	aborted := "*-1\r\n"
	for _, tc := range []struct {
		name  string
		setup []string // before WATCH, database 0
		other []string // after WATCH, before EXEC; "@n cmd" runs in database n
		exp   string
	}{
		{"an untouched key lets EXEC run", []string{"RPUSH k a"}, nil, ran},
		{"a write to another key lets EXEC run", []string{"RPUSH k a"}, []string{"RPUSH j a"}, ran},
		{"a write before the WATCH lets EXEC run", []string{"RPUSH k a", "RPUSH k b"}, nil, ran},
		{"a read of the key lets EXEC run", []string{"RPUSH k a"}, []string{"LRANGE k 0 -1", "LLEN k"}, ran},
		{"a push aborts", nil, []string{"RPUSH k a"}, aborted},
		{"a push to a key that exists aborts", []string{"RPUSH k a"}, []string{"LPUSH k b"}, aborted},
		{"a pop aborts", []string{"RPUSH k a b"}, []string{"LPOP k"}, aborted},
		{"popping the last element aborts", []string{"RPUSH k a"}, []string{"RPOP k"}, aborted},
		{"LPOP with count 0 pops nothing and lets EXEC run", []string{"RPUSH k a"}, []string{"LPOP k 0"}, ran},
		{"a pop of a missing key lets EXEC run", nil, []string{"LPOP k"}, ran},
		{"LPUSHX on a missing key lets EXEC run", nil, []string{"LPUSHX k a"}, ran},
		{"LSET aborts even with the same value", []string{"RPUSH k a"}, []string{"LSET k 0 a"}, aborted},
		{"LINSERT aborts", []string{"RPUSH k a"}, []string{"LINSERT k BEFORE a x"}, aborted},
		{"LINSERT without the pivot lets EXEC run", []string{"RPUSH k a"}, []string{"LINSERT k BEFORE zz x"}, ran},
		{"LREM that removes aborts", []string{"RPUSH k a b"}, []string{"LREM k 0 a"}, aborted},
		{"LREM that matches nothing lets EXEC run", []string{"RPUSH k a"}, []string{"LREM k 0 zz"}, ran},
		{"LTRIM aborts even when it keeps everything", []string{"RPUSH k a"}, []string{"LTRIM k 0 -1"}, aborted},
		{"LTRIM to empty aborts", []string{"RPUSH k a"}, []string{"LTRIM k 1 0"}, aborted},
		{"LMOVE of a key onto itself aborts", []string{"RPUSH k a"}, []string{"LMOVE k k LEFT LEFT"}, aborted},
		{"LMOVE into the key aborts", []string{"RPUSH s a"}, []string{"LMOVE s k LEFT LEFT"}, aborted},
		{"LMOVE out of the key aborts", []string{"RPUSH k a"}, []string{"RPOPLPUSH k d"}, aborted},
		{"LMPOP aborts", []string{"RPUSH k a"}, []string{"LMPOP 2 z k LEFT"}, aborted},
		{"SET of the same value aborts", []string{"SET k 1"}, []string{"SET k 1"}, aborted},
		{"SET NX that does not set lets EXEC run", []string{"SET k 1"}, []string{"SET k 2 NX"}, ran},
		{"a push to a string key fails and lets EXEC run", []string{"SET k 1"}, []string{"LPUSH k a"}, ran},
		{"DEL aborts", []string{"SET k 1"}, []string{"DEL k"}, aborted},
		{"DEL of a missing key lets EXEC run", nil, []string{"DEL k"}, ran},
		{"deleting and recreating the key aborts", []string{"SET k 1"}, []string{"DEL k", "SET k 1"}, aborted},
		{"RENAME onto the key aborts", []string{"SET j 1"}, []string{"RENAME j k"}, aborted},
		{"RENAME of the key aborts", []string{"SET k 1"}, []string{"RENAME k j"}, aborted},
		{"RENAME of the key onto itself lets EXEC run", []string{"SET k 1"}, []string{"RENAME k k"}, ran},
		{"RENAMENX that does not rename lets EXEC run", []string{"SET k 1", "SET j 1"}, []string{"RENAMENX j k"}, ran},
		{"FLUSHALL aborts when the key exists", []string{"SET k 1"}, []string{"FLUSHALL"}, aborted},
		{"FLUSHALL lets EXEC run when the key did not exist", nil, []string{"FLUSHALL"}, ran},
		{"FLUSHDB of the key's database aborts", []string{"SET k 1"}, []string{"FLUSHDB"}, aborted},
		{"FLUSHDB of another database lets EXEC run", []string{"SET k 1"}, []string{"@1 FLUSHDB"}, ran},
		{"the same key in another database lets EXEC run", []string{"SET k 1"}, []string{"@3 SET k 2"}, ran},
		{"a blocked client served from the key aborts", nil, []string{"@0 BLPOP k 0", "RPUSH j x", "RPUSH k a"}, aborted},
		{"pushing and popping back aborts", nil, []string{"RPUSH k a", "RPOP k"}, aborted},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := txNewNode(t)
			for _, l := range tc.setup {
				n.do(0, l)
			}
			w := n.watch(0, "k")
			for _, l := range tc.other {
				db := 0
				if strings.HasPrefix(l, "@") {
					fmt.Sscanf(l, "@%d", &db)
					l = l[strings.IndexByte(l, ' ')+1:]
				}
				n.do(db, l)
			}
			res := n.exec(0, w, "PING")
			if got := ksRESP(res.Replies[0]); got != tc.exp {
				t.Fatalf("exp %q, got %q", tc.exp, got)
			}
		})
	}
}

func TestExecWatchDetails(t *testing.T) {
	t.Run("a transaction aborted by WATCH changes nothing and serves nobody", func(t *testing.T) {
		n := txNewNode(t)
		w := n.watch(0, "k")
		n.do(0, "BLPOP q 0")
		n.do(0, "SET k 1")
		before := n.st.Digest()
		res := n.exec(0, w, "RPUSH q a", "SET k 2")
		if exp, got := "*-1\r\n", ksRESP(res.Replies[0]); exp != got {
			t.Fatalf("exp %q, got %q", exp, got)
		}
		if len(res.Served) != 0 || n.st.Digest() != before {
			t.Fatalf("exp no change, got served %v and digest %s (was %s)", res.Served, n.st.Digest(), before)
		}
	})
	t.Run("one changed key among several aborts", func(t *testing.T) {
		n := txNewNode(t)
		w := append(n.watch(0, "a", "b"), n.watch(2, "c")...)
		n.do(2, "SET c 1")
		if exp, got := "*-1\r\n", ksRESP(n.exec(0, w, "PING").Replies[0]); exp != got {
			t.Fatalf("exp %q, got %q", exp, got)
		}
	})
	t.Run("the transaction's own writes do not abort it", func(t *testing.T) {
		n := txNewNode(t)
		w := n.watch(0, "k")
		if exp, got := "*2\r\n:1\r\n:2\r\n", ksRESP(n.exec(0, w, "RPUSH k a", "RPUSH k b").Replies[0]); exp != got {
			t.Fatalf("exp %q, got %q", exp, got)
		}
	})
	t.Run("a write in the same entry before EXEC's own cannot exist: versions are log indexes", func(t *testing.T) {
		n := txNewNode(t)
		n.do(0, "SET k 1")
		if v, ok := n.st.KeyVersion(0, []byte("k")); !ok || v != 1 {
			t.Fatalf("exp version 1, got %d %v", v, ok)
		}
		n.exec(0, nil, "SET k 2")
		if v, _ := n.st.KeyVersion(0, []byte("k")); v != 2 {
			t.Fatalf("exp version 2 after EXEC, got %d", v)
		}
	})
}

func TestExecRunsQueuedCommands(t *testing.T) {
	for _, tc := range []struct {
		name  string
		db    int
		lines []string
		exp   string
		after string // listDump of database 0 afterwards
	}{
		{"an empty transaction answers an empty array", 0, nil, "*0\r\n", "(empty)"},
		{"replies are collected in order", 0, []string{"RPUSH l a b", "LPOP l", "LLEN l"},
			"*3\r\n:2\r\n$1\r\na\r\n:1\r\n", "l=[b]"},
		{"a run-time error does not stop the commands after it", 0, []string{"SET s x", "LPUSH s a", "RPUSH l a"},
			"*3\r\n+OK\r\n-WRONGTYPE Operation against a key holding the wrong kind of value\r\n:1\r\n", `l=[a] s="x"`},
		{"an argument error is a run-time error, as in Redis", 0, []string{"LPOP l -1", "RPUSH l a"},
			"*2\r\n-ERR value is out of range, must be positive\r\n:1\r\n", "l=[a]"},
		{"an unknown command carried in the entry answers Redis's error", 0, []string{"NOSUCH x", "RPUSH l a"},
			"*2\r\n-ERR unknown command 'NOSUCH', with args beginning with: 'x' \r\n:1\r\n", "l=[a]"},
		{"a wrong arity carried in the entry answers Redis's error", 0, []string{"LLEN", "RPUSH l a"},
			"*2\r\n-ERR wrong number of arguments for 'llen' command\r\n:1\r\n", "l=[a]"},
		{"PING and ECHO answer inside EXEC", 0, []string{"PING", "PING hi", "ECHO x", "PING a b"},
			"*4\r\n+PONG\r\n$2\r\nhi\r\n$1\r\nx\r\n-ERR wrong number of arguments for 'ping' command\r\n", "(empty)"},
		{"SELECT switches the database for the commands after it", 0, []string{"RPUSH l a", "SELECT 3", "RPUSH l b", "select 0", "RPUSH l c"},
			"*5\r\n:1\r\n+OK\r\n:1\r\n+OK\r\n:2\r\n", "l=[a c]"},
		{"the transaction starts in the client's database", 2, []string{"RPUSH l a", "SELECT 0", "RPUSH l z"},
			"*3\r\n:1\r\n+OK\r\n:1\r\n", "l=[z]"},
		{"a bad SELECT answers its error and keeps the database", 0, []string{"SELECT 99", "SELECT x", "SELECT -1", "RPUSH l a"},
			"*4\r\n-ERR DB index is out of range\r\n-ERR value is not an integer or out of range\r\n-ERR DB index is out of range\r\n:1\r\n", "l=[a]"},
		{"blocking commands do not block", 0, []string{"BLPOP q 0", "BRPOPLPUSH q d 0", "BLMOVE q d LEFT LEFT 0", "BLMPOP 0 1 q LEFT", "BRPOPLPUSH q d -1"},
			"*5\r\n*-1\r\n$-1\r\n$-1\r\n*-1\r\n-ERR timeout is negative\r\n", "(empty)"},
		{"a blocking pop sees a push before it in the transaction", 0, []string{"RPUSH q x", "BLPOP q 0"},
			"*2\r\n:1\r\n*2\r\n$1\r\nq\r\n$1\r\nx\r\n", "(empty)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := txNewNode(t)
			res := n.exec(tc.db, nil, tc.lines...)
			if got := ksRESP(res.Replies[0]); got != tc.exp {
				t.Fatalf("exp %q, got %q", tc.exp, got)
			}
			if got := listDump(n.st); got != tc.after {
				t.Fatalf("database 0: exp %s, got %s", tc.after, got)
			}
			if n.st.BlockedWaiters() != 0 {
				t.Fatalf("exp no waiter, got %d", n.st.BlockedWaiters())
			}
		})
	}
	t.Run("SELECT in one transaction does not carry into the next", func(t *testing.T) {
		n := txNewNode(t)
		n.exec(0, nil, "SELECT 5")
		n.exec(0, nil, "RPUSH l a")
		if got := listDump(n.st); got != "l=[a]" {
			t.Fatalf("exp l=[a] in database 0, got %s", got)
		}
	})
}

func TestExecServesWaitersAfterTheWholeTransaction(t *testing.T) {
	t.Run("a push popped back inside EXEC serves nobody", func(t *testing.T) {
		n := txNewNode(t)
		n.do(0, "BLPOP q 0")
		res := n.exec(0, nil, "LPUSH q x", "LPOP q")
		if exp, got := "*2\r\n:1\r\n$1\r\nx\r\n", ksRESP(res.Replies[0]); exp != got {
			t.Fatalf("exp %q, got %q", exp, got)
		}
		if len(res.Served) != 0 || n.st.BlockedWaiters() != 1 {
			t.Fatalf("exp the waiter still blocked, got served %v, %d waiters", res.Served, n.st.BlockedWaiters())
		}
	})
	t.Run("waiters are served from what the whole transaction left", func(t *testing.T) {
		n := txNewNode(t)
		n.do(0, "BLPOP q 0")         // seq 1
		n.do(0, "BRPOPLPUSH r q2 0") // seq 2
		n.do(0, "BLPOP q2 0")        // seq 3
		res := n.exec(0, nil, "RPUSH q a", "LPUSH q b", "RPUSH r c", "LPOP r", "RPUSH r d")
		exp := `[o/1="*2\r\n$1\r\nq\r\n$1\r\nb\r\n", o/2="$1\r\nd\r\n", o/3="*2\r\n$2\r\nq2\r\n$1\r\nd\r\n"]`
		if got := txServed(res.Served); got != exp {
			t.Fatalf("exp %s, got %s", exp, got)
		}
		if exp, got := "q=[a]", listDump(n.st); exp != got {
			t.Fatalf("exp %s, got %s", exp, got)
		}
	})
	t.Run("a waiter in another database is served after a SELECT inside EXEC", func(t *testing.T) {
		n := txNewNode(t)
		n.do(4, "BLPOP q 0")
		res := n.exec(0, nil, "SELECT 4", "RPUSH q a")
		if exp, got := `[o/1="*2\r\n$1\r\nq\r\n$1\r\na\r\n"]`, txServed(res.Served); exp != got {
			t.Fatalf("exp %s, got %s", exp, got)
		}
	})
}

// txVersions renders every remembered version and the floor.
func txVersions(st *State) string {
	var b strings.Builder
	for _, v := range st.sortedVersions() {
		fmt.Fprintf(&b, "%d/%q=%d ", v.key.db, v.key.key, v.version)
	}
	fmt.Fprintf(&b, "floor=%d tombs=%d", st.ver.floor, st.tombstones())
	return b.String()
}

func TestVersionsInSnapshotsAndClones(t *testing.T) {
	n := txNewNode(t)
	n.do(0, "RPUSH a x")
	n.do(3, "SET b\x00 y")
	n.do(0, "RPUSH gone x")
	n.do(0, "DEL gone")
	n.do(5, "RPUSH f x")
	n.do(5, "FLUSHDB")
	n.st.ver.floor = 1 // as if something had been pruned
	exp := txVersions(n.st)
	var buf bytes.Buffer
	if err := WriteSnapshot(&buf, n.st); err != nil {
		t.Fatal(err)
	}
	restored, err := ReadSnapshot(&buf)
	if err != nil {
		t.Fatal(err)
	}
	for name, st := range map[string]*State{"restored": restored, "cloned": n.st.Clone()} {
		t.Run("the "+name+" state remembers every version, deleted keys too", func(t *testing.T) {
			if got := txVersions(st); got != exp {
				t.Fatalf("exp %s, got %s", exp, got)
			}
			if exp, got := 2, len(st.ver.tombs)-st.ver.tombHead; exp != got {
				t.Fatalf("exp %d queued tombstones, got %d", exp, got)
			}
		})
		t.Run("the "+name+" state decides a WATCH as the original", func(t *testing.T) {
			for _, w := range []Watch{{0, []byte("gone"), 3}, {0, []byte("gone"), 4}, {5, []byte("f"), 5}, {5, []byte("f"), 6}, {9, []byte("never"), 0}} {
				if exp, got := n.st.watchesHold([]Watch{w}), st.watchesHold([]Watch{w}); exp != got {
					t.Fatalf("watch %+v: exp %v, got %v", w, exp, got)
				}
			}
		})
	}
	t.Run("versions stay out of the digest", func(t *testing.T) {
		a, b := txNewNode(t), txNewNode(t)
		a.do(0, "SET k 1")
		b.do(0, "SET other 1")
		b.do(0, "DEL other")
		b.do(0, "SET k 1")
		if a.st.Digest() != b.st.Digest() {
			t.Fatalf("exp equal digests for equal data, got %s and %s", a.st.Digest(), b.st.Digest())
		}
	})
	t.Run("a snapshot without version records restores every key at the snapshot's index", func(t *testing.T) {
		var buf bytes.Buffer
		WriteSnapshot(&buf, n.st)
		raw := buf.Bytes()
		sec := binary.AppendUvarint([]byte{recVersionFloor}, n.st.ver.floor)
		for _, v := range n.st.sortedVersions() {
			sec = append(sec, recVersion)
			sec = binary.AppendUvarint(sec, uint64(v.key.db))
			sec = appendBytes(sec, []byte(v.key.key))
			sec = binary.AppendUvarint(sec, v.version)
		}
		if !bytes.HasSuffix(raw, append(sec, recEnd)) {
			t.Fatal("exp the version records last")
		}
		old := append(append([]byte{}, raw[:len(raw)-len(sec)-1]...), recEnd)
		st, err := ReadSnapshot(bytes.NewReader(old))
		if err != nil {
			t.Fatal(err)
		}
		if v, ok := st.KeyVersion(0, []byte("a")); !ok || v != n.st.Applied() {
			t.Fatalf("exp version %d, got %d %v", n.st.Applied(), v, ok)
		}
	})
}

func TestVersionPruning(t *testing.T) {
	t.Run("a deleted key's version is forgotten after the horizon, and an older WATCH on it aborts", func(t *testing.T) {
		n := txNewNode(t)
		n.do(0, "SET live 1")
		n.do(0, "SET k 1")
		old := n.watch(0, "k", "never")
		n.do(0, "DEL k") // index 3
		fresh := n.watch(0, "k", "never")
		n.index += versionHorizon // entries that never reached the FSM, as config changes
		n.do(0, "DBSIZE")
		if _, ok := n.st.KeyVersion(0, []byte("k")); ok {
			t.Fatalf("exp k's version pruned, got %s", txVersions(n.st))
		}
		if _, ok := n.st.KeyVersion(0, []byte("live")); !ok {
			t.Fatalf("exp the live key's version kept, got %s", txVersions(n.st))
		}
		if exp, got := uint64(3), n.st.ver.floor; exp != got {
			t.Fatalf("exp floor %d, got %d", exp, got)
		}
		if got := ksRESP(n.exec(0, old[:1], "PING").Replies[0]); got != "*-1\r\n" {
			t.Fatalf("a WATCH older than the pruned deletion: exp abort, got %q", got)
		}
		if got := ksRESP(n.exec(0, old[1:], "PING").Replies[0]); got != "*-1\r\n" {
			t.Fatalf("a WATCH older than the floor on a never-seen key: exp a conservative abort, got %q", got)
		}
		if got := ksRESP(n.exec(0, fresh, "PING").Replies[0]); got != "*1\r\n+PONG\r\n" {
			t.Fatalf("a WATCH after the deletion: exp EXEC to run, got %q", got)
		}
	})
	t.Run("a deleted key recreated before the horizon is not forgotten", func(t *testing.T) {
		n := txNewNode(t)
		n.do(0, "SET k 1")
		n.do(0, "DEL k")
		n.do(0, "SET k 2")
		n.index += versionHorizon
		n.do(0, "DBSIZE")
		if v, ok := n.st.KeyVersion(0, []byte("k")); !ok || v != 3 {
			t.Fatalf("exp version 3, got %d %v", v, ok)
		}
		if n.st.ver.floor != 0 || len(n.st.ver.tombs) != 0 {
			t.Fatalf("exp nothing pruned and an empty queue, got floor %d and %d queued", n.st.ver.floor, len(n.st.ver.tombs))
		}
	})
	t.Run("too many deleted keys are forgotten oldest first, a whole entry at a time", func(t *testing.T) {
		n := txNewNode(t)
		// maxTombstones/2+1 keys deleted at index d1, as many at d2: more
		// than allowed, so d1's go, all of them, and d2's stay.
		mset := func(db int) {
			cmds := []Cmd{}
			for i := 0; i < maxTombstones/2+1; i++ {
				cmds = append(cmds, Cmd{DB: db, Args: [][]byte{[]byte("SET"), []byte(fmt.Sprint(i)), []byte("v")}})
			}
			n.apply(&Entry{Kind: KindCommands, Cmds: cmds})
		}
		mset(1)
		mset(2)
		n.do(1, "FLUSHDB")
		d1 := n.st.Applied()
		if n.st.ver.floor != 0 {
			t.Fatalf("exp nothing pruned yet, got floor %d", n.st.ver.floor)
		}
		n.do(2, "FLUSHDB")
		if exp, got := d1, n.st.ver.floor; exp != got {
			t.Fatalf("exp floor %d, got %d", exp, got)
		}
		if _, ok := n.st.KeyVersion(1, []byte("0")); ok {
			t.Fatal("exp database 1's tombstones pruned")
		}
		if _, ok := n.st.KeyVersion(2, []byte("0")); !ok {
			t.Fatal("exp database 2's tombstones kept")
		}
		if exp, got := maxTombstones/2+1, n.st.tombstones(); exp != got {
			t.Fatalf("exp %d tombstones, got %d", exp, got)
		}
	})
	t.Run("a node restored from a snapshot prunes exactly as one that applied the log", func(t *testing.T) {
		a := txNewNode(t)
		script := func(n *txNode, from, to int) {
			for i := from; i < to; i++ {
				k := fmt.Sprintf("k%d", i%7)
				switch i % 5 {
				case 0:
					n.do(i%2, "RPUSH "+k+" x")
				case 1:
					n.do(i%2, fmt.Sprintf("RPUSH d%d x", i))
				case 2:
					n.do((i-1)%2, fmt.Sprintf("DEL d%d", i-1))
				case 3:
					n.do(i%2, "LPOP "+k)
				case 4:
					if i%35 == 4 {
						n.do(i%2, "FLUSHDB")
					}
					n.index += versionHorizon / 16
				}
			}
		}
		script(a, 0, 100)
		var buf bytes.Buffer
		if err := WriteSnapshot(&buf, a.st); err != nil {
			t.Fatal(err)
		}
		st, err := ReadSnapshot(&buf)
		if err != nil {
			t.Fatal(err)
		}
		b := &txNode{t: t, st: st, index: a.index}
		script(a, 100, 400)
		script(b, 100, 400)
		if exp, got := txVersions(a.st), txVersions(b.st); exp != got {
			t.Fatalf("exp %s, got %s", exp, got)
		}
		if a.st.ver.floor == 0 {
			t.Fatalf("exp the script to prune something, got %s", txVersions(a.st))
		}
	})
}

// txEntries are well-formed KindExec entries, for round trips and as fuzz
// seeds.
var txEntries = []struct {
	name string
	e    *Entry
}{
	{"an empty transaction", txEntry(0, nil)},
	{"a transaction with watches and commands", txEntry(15, []Watch{{0, []byte("k"), 3}, {15, []byte("\x00\r\n"), 1 << 62}},
		"RPUSH l a b", "SELECT 2", "PING", "BLPOP l 0")},
	{"a transaction with an unknown command", txEntry(1, nil, "NOSUCH", "ECHO")},
}

func TestExecEntryRoundTrip(t *testing.T) {
	for _, tc := range txEntries {
		t.Run(tc.name+" decodes to itself", func(t *testing.T) {
			got, err := DecodeEntry(tc.e.Encode())
			if err != nil {
				t.Fatalf("exp nil error, got %v", err)
			}
			exp := *tc.e
			if exp.Tx.Watches == nil {
				exp.Tx.Watches = []Watch{}
			}
			if !reflect.DeepEqual(&exp, got) {
				t.Fatalf("exp %+v, got %+v", &exp, got)
			}
		})
		t.Run(tc.name+" cut anywhere is corrupt", func(t *testing.T) {
			b := tc.e.Encode()
			for n := 0; n < len(b); n++ {
				if _, err := DecodeEntry(b[:n]); !errors.Is(err, ErrCorruptEntry) {
					t.Fatalf("cut at %d of %d: exp ErrCorruptEntry, got %v", n, len(b), err)
				}
			}
		})
	}
	head := func(db uint64) []byte {
		b := []byte{formatV1, byte(KindExec), 0}
		b = binary.AppendUvarint(b, db)
		b = appendBytes(b, []byte("o"))
		return binary.AppendUvarint(b, 1)
	}
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"database 16 does not exist", append(head(16), 0, 0)},
		{"a database that overflows int does not exist", append(head(1<<63), 0, 0)},
		{"a watch in database 16 is corrupt", append(head(0), 1, 16, 1, 'k', 0, 0)},
		{"a watch count past the data is corrupt", append(head(0), 200, 0)},
		{"a command count past the data is corrupt", append(head(0), 0, 200)},
		{"an argument count past the data is corrupt", append(head(0), 0, 1, 9, 1, 'x')},
		{"a command without arguments is corrupt", append(head(0), 0, 1, 0)},
		{"a trailing byte is corrupt", append(head(0), 0, 0, 0)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if e, err := DecodeEntry(tc.data); !errors.Is(err, ErrCorruptEntry) {
				t.Fatalf("exp ErrCorruptEntry, got %v (entry %+v)", err, e)
			}
			if e, err := DecodeEntry(withSum(tc.data)); !errors.Is(err, ErrCorruptEntry) || errors.Is(err, ErrEntryChecksum) {
				t.Fatalf("format 2: exp ErrCorruptEntry (not a checksum mismatch), got %v (entry %+v)", err, e)
			}
		})
	}
}

func TestExecIsDeterministic(t *testing.T) {
	// Two nodes fed the same log, one of them restored from a snapshot
	// halfway, end with equal digests and equal versions.
	log := []*Entry{}
	for i := 0; i < 60; i++ {
		k := fmt.Sprintf("k%d", i%4)
		switch i % 6 {
		case 0:
			log = append(log, &Entry{Kind: KindCommands, Cmds: []Cmd{{Owner: "o", Seq: uint64(i), Args: listBytes(listArgs("BLPOP " + k + " 0"))}}})
		case 1, 2:
			log = append(log, txEntry(i%3, []Watch{{0, []byte(k), uint64(i / 2)}}, "RPUSH "+k+" a b", "SELECT 1", "LPOP "+k, "SELECT 0", "RPOP "+k))
		case 3:
			log = append(log, txEntry(0, nil, "DEL "+k, "LPUSH "+k+" z"))
		default:
			log = append(log, &Entry{Kind: KindCommands, Cmds: []Cmd{{Args: listBytes(listArgs("RPUSH " + k + " y"))}}})
		}
	}
	a, b := txNewNode(t), txNewNode(t)
	var ra, rb []string
	for i, e := range log {
		if i == 30 {
			var buf bytes.Buffer
			WriteSnapshot(&buf, b.st)
			st, err := ReadSnapshot(&buf)
			if err != nil {
				t.Fatal(err)
			}
			b.st = st
		}
		ra = append(ra, txWire(a.apply(e).Replies))
		rb = append(rb, txWire(b.apply(e).Replies))
	}
	if !reflect.DeepEqual(ra, rb) {
		t.Fatalf("exp equal replies, got\n%v\n%v", ra, rb)
	}
	if a.st.Digest() != b.st.Digest() || txVersions(a.st) != txVersions(b.st) {
		t.Fatalf("exp equal states, got %s %s / %s %s", a.st.Digest(), txVersions(a.st), b.st.Digest(), txVersions(b.st))
	}
}
