package fsm

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/hashicorp/raft"

	"github.com/raftlist/raftlist/fsm/resp"
)

// exNode is a node whose entries carry the leader time the test chooses,
// so expiry can be driven across its boundaries.
type exNode struct {
	t     *testing.T
	m     *Machine
	index uint64
	term  uint64
}

func exNewNode(t *testing.T) *exNode { return &exNode{t: t, m: NewMachine(), term: 1} }

// at applies args as one entry stamped with leader time ms (a write) or
// reads it at read time ms (a read-only command), as a node would.
func (n *exNode) at(ms int64, args ...string) resp.Reply {
	n.t.Helper()
	argv := ksArgv(args)
	cmd, err := Validate(argv)
	if err != nil {
		return asError(err)
	}
	if cmd.Flags&resp.Write == 0 {
		var r resp.Reply
		before := n.digest()
		if err := n.m.View(func(s *State) { r = s.ReadAt(0, ms, argv) }); err != nil {
			n.t.Fatalf("view: %v", err)
		}
		if exp, got := before, n.digest(); exp != got {
			n.t.Fatalf("read %q changed the state: exp digest %s, got %s", args, exp, got)
		}
		return r
	}
	return n.entry(&Entry{Kind: KindCommands, TimeMs: ms, Cmds: []Cmd{{Owner: "ex", Seq: n.index + 1, Args: argv}}}).Replies[0]
}

// entry applies e as the next log entry.
func (n *exNode) entry(e *Entry) *Result {
	n.t.Helper()
	n.index++
	res, ok := n.m.Apply(ksMakeLog(n.index, n.term, e)).(*Result)
	if !ok {
		n.t.Fatalf("apply %+v: got %#v", e, res)
	}
	return res
}

func (n *exNode) clock() int64 {
	var c int64
	n.m.View(func(s *State) { c = s.Clock() })
	return c
}

func (n *exNode) digest() string {
	var d string
	n.m.View(func(s *State) { d = s.Digest() })
	return d
}

// restart replaces the machine with one restored from its snapshot.
func (n *exNode) restart() {
	n.t.Helper()
	m := NewMachine()
	if err := m.Restore(ksReadCloser(ksSnapshotBytes(n.t, n.m))); err != nil {
		n.t.Fatalf("restore: %v", err)
	}
	if exp, got := n.digest(), func() string { var d string; m.View(func(s *State) { d = s.Digest() }); return d }(); exp != got {
		n.t.Fatalf("restore changed the digest: exp %s, got %s", exp, got)
	}
	n.m = m
}

func TestLogClockNeverGoesBack(t *testing.T) {
	n := exNewNode(t)
	for _, step := range []struct{ entry, clock int64 }{
		{1000, 1000},
		{900, 1000}, // a new leader whose clock is behind
		{1000, 1000},
		{1500, 1500},
		{0, 1500},
	} {
		n.at(step.entry, "del", "x")
		if exp, got := step.clock, n.clock(); exp != got {
			t.Fatalf("after an entry at %d: exp clock %d, got %d", step.entry, exp, got)
		}
	}
	n.restart()
	if exp, got := int64(1500), n.clock(); exp != got {
		t.Fatalf("after restore: exp clock %d, got %d", exp, got)
	}
	n.at(1200, "del", "x")
	if exp, got := int64(1500), n.clock(); exp != got {
		t.Fatalf("after restore and a late entry: exp clock %d, got %d", exp, got)
	}
}

func TestLogClockMovesOnEveryKindOfEntry(t *testing.T) {
	n := exNewNode(t)
	n.entry(&Entry{Kind: KindTermStart, TimeMs: 42, Node: NodeMeta{ID: "a", RespAddr: "x"}})
	if exp, got := int64(42), n.clock(); exp != got {
		t.Fatalf("exp clock %d, got %d", exp, got)
	}
}

func TestVersion2SnapshotRestoresWithClockZero(t *testing.T) {
	b := []byte(snapshotMagic)
	b = append(b, 2, recMeta, 1, 7)
	b = append(b, ksRecord(recString, 0, "k", "v")...)
	b = append(b, recEnd)
	st, err := ReadSnapshot(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("read version 2 snapshot: %v", err)
	}
	if st.clock != 0 || st.applied != 7 || st.DB(0).Get([]byte("k")) == nil {
		t.Fatalf("exp clock 0, applied 7 and key k, got clock %d, applied %d", st.clock, st.applied)
	}
}

// exAt is one step of an expiry case: a command at a time, and its reply.
type exAt struct {
	ms   int64
	args []string
	exp  resp.Reply
}

func ex(ms int64, exp resp.Reply, args ...string) exAt { return exAt{ms: ms, args: args, exp: exp} }

// exRestart in a case's steps restores the node from its snapshot there.
var exRestart = exAt{ms: -1}

func exRun(t *testing.T, cases map[string][]exAt) {
	for name, steps := range cases {
		t.Run(name, func(t *testing.T) {
			n := exNewNode(t)
			for i, st := range steps {
				if st.ms == -1 {
					n.restart()
					continue
				}
				if exp, got := ksRESP(st.exp), ksRESP(n.at(st.ms, st.args...)); exp != got {
					t.Fatalf("step %d %q at %d: exp %q, got %q", i, st.args, st.ms, exp, got)
				}
			}
		})
	}
}

func TestExpiryBoundaries(t *testing.T) {
	exRun(t, map[string][]exAt{
		"a key lives until the ms before its deadline and is gone at it": {
			ex(1000, resp.OK, "SET", "k", "v", "PX", "100"),
			ex(1099, resp.BulkString("v"), "GET", "k"),
			ex(1099, resp.Int(1), "PTTL", "k"),
			ex(1099, resp.Int(0), "DEL", "x"), // the log clock is now 1099
			ex(1100, resp.NullBulk, "GET", "k"),
			ex(1100, resp.Int(-2), "PTTL", "k"),
		},
		"the same through the log: a write at the deadline sees nothing": {
			ex(1000, resp.Int(1), "RPUSH", "l", "a"),
			ex(1000, resp.Int(1), "PEXPIRE", "l", "100"),
			ex(1099, resp.Int(2), "RPUSH", "l", "b"),
			ex(1100, resp.Int(1), "RPUSH", "l", "c"),
			ex(1100, resp.Int(-1), "PTTL", "l"),
		},
		"an entry from a leader whose clock is behind does not bring a key back": {
			ex(1000, resp.OK, "SET", "k", "v", "PX", "100"),
			ex(1200, resp.Int(0), "DEL", "x"),
			ex(1050, resp.Int(0), "EXISTS", "k"),
			ex(1050, resp.NullBulk, "SET", "k", "w", "XX"),
			ex(1050, resp.Int(0), "DEL", "k"),
		},
		"a read at a wall clock behind the log clock still sees the key expired": {
			ex(1000, resp.OK, "SET", "k", "v", "PX", "100"),
			ex(1200, resp.Int(0), "DEL", "x"),
			ex(900, resp.NullBulk, "GET", "k"),
			ex(900, resp.Int(1), "DBSIZE"), // expired, not yet deleted
			ex(900, resp.Array{}, "KEYS", "*"),
		},
		"a deadline and the clock survive a restore in the middle": {
			ex(1000, resp.OK, "SET", "k", "v", "PX", "100"),
			ex(1050, resp.Int(1), "RPUSH", "l", "a"),
			ex(1050, resp.Int(1), "EXPIRE", "l", "1"),
			exRestart,
			ex(1050, resp.Int(50), "PTTL", "k"),
			ex(1050, resp.Int(1000), "PTTL", "l"),
			ex(1100, resp.Int(0), "DEL", "k"), // expired: deleted, and not counted
			exRestart,
			ex(1000, resp.Int(0), "EXISTS", "k"),
			ex(1000, resp.Int(1), "DBSIZE"),
			ex(2049, resp.Int(1), "EXISTS", "l"),
			ex(2050, resp.Int(0), "EXISTS", "l"),
		},
		"EXPIRE with a time already passed deletes at once": {
			ex(1000, resp.OK, "SET", "k", "v"),
			ex(1000, resp.Int(1), "PEXPIREAT", "k", "1000"),
			ex(1000, resp.Int(0), "DBSIZE"),
			ex(1000, resp.OK, "SET", "k", "v"),
			ex(1000, resp.Int(1), "EXPIRE", "k", "-1"),
			ex(1000, resp.Int(0), "DBSIZE"),
			ex(1000, resp.Int(0), "EXPIRE", "k", "10"),
		},
		"SET with a deadline already passed stores a key that is expired": {
			ex(5000, resp.OK, "SET", "k", "v", "PXAT", "10"),
			ex(5000, resp.Int(1), "DBSIZE"),
			ex(5000, resp.Int(0), "EXISTS", "k"),
			ex(5000, resp.Int(0), "DEL", "k"),
			ex(5000, resp.Int(0), "DBSIZE"),
		},
		"NX XX GT LT": {
			ex(1000, resp.OK, "SET", "k", "v"),
			ex(1000, resp.Int(0), "EXPIRE", "k", "100", "XX"),
			ex(1000, resp.Int(0), "EXPIRE", "k", "100", "GT"),
			ex(1000, resp.Int(1), "EXPIRE", "k", "100", "LT"),
			ex(1000, resp.Int(0), "EXPIRE", "k", "50", "NX"),
			ex(1000, resp.Int(0), "EXPIRE", "k", "100", "GT"),
			ex(1000, resp.Int(1), "EXPIRE", "k", "101", "gt"),
			ex(1000, resp.Int(0), "EXPIRE", "k", "101", "LT"),
			ex(1000, resp.Int(1), "EXPIRE", "k", "5", "xx"),
			ex(1000, resp.Int(5), "TTL", "k"),
			ex(1000, resp.Error("ERR NX and XX, GT or LT options at the same time are not compatible"), "EXPIRE", "k", "1", "NX", "LT"),
			ex(1000, resp.Error("ERR GT and LT options at the same time are not compatible"), "EXPIRE", "k", "1", "GT", "LT"),
			ex(1000, resp.Error("ERR Unsupported option foo"), "EXPIRE", "k", "abc", "foo\x00bar"),
			ex(1000, resp.Error("ERR invalid expire time in 'expire' command"), "EXPIRE", "k", "9223372036854776"),
			ex(1000, resp.Error("ERR invalid expire time in 'pexpire' command"), "PEXPIRE", "k", "9223372036854775807"),
			ex(1000, resp.Error("ERR invalid expire time in 'expireat' command"), "EXPIREAT", "k", "-9223372036854776"),
			ex(1000, resp.Int(1), "PEXPIREAT", "k", "9223372036854775807"),
			ex(1000, resp.Int(9223372036854776), "EXPIRETIME", "k"),
			ex(1000, resp.Int(1), "PERSIST", "k"),
			ex(1000, resp.Int(0), "PERSIST", "k"),
			ex(1000, resp.Int(-1), "EXPIRETIME", "k"),
			ex(1000, resp.Int(-2), "EXPIRETIME", "nokey"),
		},
		"TTL rounds to the nearest second": {
			ex(1000, resp.OK, "SETEX", "k", "10", "v"),
			ex(1499, resp.Int(10), "TTL", "k"),
			ex(1500, resp.Int(10), "TTL", "k"),
			ex(1501, resp.Int(9), "TTL", "k"),
			ex(1000, resp.OK, "PSETEX", "k", "1", "v"),
			ex(1000, resp.Error("ERR invalid expire time in 'setex' command"), "SETEX", "k", "0", "v"),
			ex(1000, resp.Error("ERR invalid expire time in 'psetex' command"), "PSETEX", "k", "-5", "v"),
			ex(1000, resp.Error("ERR value is not an integer or out of range"), "SETEX", "k", "x", "v"),
		},
		"RENAME carries the time to live; LPUSH keeps it; LMOVE to a new key has none": {
			ex(1000, resp.Int(1), "RPUSH", "a", "x"),
			ex(1000, resp.Int(1), "PEXPIRE", "a", "500"),
			ex(1000, resp.OK, "SET", "b", "v", "PX", "100"),
			ex(1000, resp.OK, "RENAME", "a", "b"),
			ex(1000, resp.Int(500), "PTTL", "b"),
			ex(1000, resp.Int(2), "LPUSH", "b", "y"),
			ex(1000, resp.Int(500), "PTTL", "b"),
			ex(1000, resp.BulkString("x"), "LMOVE", "b", "c", "RIGHT", "LEFT"),
			ex(1000, resp.Int(-1), "PTTL", "c"),
			ex(1000, resp.Int(500), "PTTL", "b"),
			ex(1000, resp.OK, "RENAME", "c", "b"),
			ex(1000, resp.Int(-1), "PTTL", "b"),
			ex(1000, resp.Int(1), "PEXPIRE", "b", "10"),
			ex(1010, resp.Error("ERR no such key"), "RENAME", "b", "d"),
		},
		"GETEX and GETDEL": {
			ex(1000, resp.OK, "SET", "k", "v"),
			ex(1000, resp.BulkString("v"), "GETEX", "k", "PX", "100"),
			ex(1000, resp.Int(100), "PTTL", "k"),
			ex(1000, resp.BulkString("v"), "GETEX", "k"),
			ex(1000, resp.Int(100), "PTTL", "k"),
			ex(1000, resp.BulkString("v"), "GETEX", "k", "PERSIST"),
			ex(1000, resp.Int(-1), "PTTL", "k"),
			ex(1000, resp.Error("ERR syntax error"), "GETEX", "k", "PX", "10", "PERSIST"),
			ex(1000, resp.Error("ERR syntax error"), "GETEX", "k", "KEEPTTL"),
			ex(1000, resp.Error("ERR syntax error"), "GETEX", "k", "EX"),
			ex(1000, resp.Error("ERR invalid expire time in 'getex' command"), "GETEX", "k", "EXAT", "0"),
			ex(1000, resp.BulkString("v"), "GETEX", "k", "PXAT", "1000"),
			ex(1000, resp.Int(0), "EXISTS", "k"),
			ex(1000, resp.NullBulk, "GETEX", "k", "EX", "1"),
			ex(1000, resp.Int(1), "RPUSH", "l", "a"),
			ex(1000, resp.ErrWrongType, "GETEX", "l", "EX", "1"),
			ex(1000, resp.ErrWrongType, "GETDEL", "l"),
			ex(1000, resp.OK, "SET", "k", "v", "EX", "1"),
			ex(1000, resp.BulkString("v"), "GETDEL", "k"),
			ex(1000, resp.NullBulk, "GETDEL", "k"),
		},
		"a plain SET drops the time to live, SET KEEPTTL keeps it": {
			ex(1000, resp.OK, "SET", "k", "v", "EX", "10"),
			ex(1000, resp.OK, "SET", "k", "w", "KEEPTTL"),
			ex(1000, resp.Int(10000), "PTTL", "k"),
			ex(1000, resp.OK, "SET", "k", "x"),
			ex(1000, resp.Int(-1), "PTTL", "k"),
		},
		"SCAN, KEYS, EXISTS and TYPE see an expired key as absent": {
			ex(1000, resp.OK, "SET", "k", "v", "PX", "10"),
			ex(1000, resp.OK, "SET", "m", "v"),
			ex(1010, resp.Array{resp.BulkString("m")}, "KEYS", "*"),
			ex(1010, resp.Array{resp.BulkString("0"), resp.Array{resp.BulkString("m")}}, "SCAN", "0", "COUNT", "100"),
			ex(1010, resp.Int(1), "EXISTS", "k", "m"),
			ex(1010, resp.Status("none"), "TYPE", "k"),
			ex(1010, resp.Int(2), "DBSIZE"),
		},
	})
}

func TestExpireInThePastServesNoWaiter(t *testing.T) {
	n := exNewNode(t)
	if exp, got := ksRESP(resp.Blocked), ksRESP(n.at(1000, "BLPOP", "k", "0")); exp != got {
		t.Fatalf("BLPOP: exp %q, got %q", exp, got)
	}
	res := n.entry(&Entry{Kind: KindCommands, TimeMs: 1000, Cmds: []Cmd{{Owner: "ex", Seq: 99, Args: ksArgv([]string{
		"EVAL", "redis.call('rpush', KEYS[1], 'a'); return redis.call('pexpire', KEYS[1], -1)", "1", "k"})}}})
	if exp, got := ksRESP(resp.Int(1)), ksRESP(res.Replies[0]); exp != got {
		t.Fatalf("EVAL: exp %q, got %q", exp, got)
	}
	if len(res.Served) != 0 {
		t.Fatalf("exp no waiter served from a key that expired in the same entry, got %+v", res.Served)
	}
	if exp, got := 1, n.m.BlockedWaiters(); exp != got {
		t.Fatalf("exp %d waiter still blocked, got %d", exp, got)
	}
	if exp, got := ksRESP(resp.Int(0)), ksRESP(n.at(1000, "DBSIZE")); exp != got {
		t.Fatalf("DBSIZE: exp %q, got %q", exp, got)
	}
}

func TestTimeStandsStillInsideAScript(t *testing.T) {
	n := exNewNode(t)
	n.at(1000, "SET", "k", "v", "PX", "1")
	got := n.at(1000, "EVAL", "return {redis.call('pttl', KEYS[1]), redis.call('set', KEYS[1], 'w', 'px', 5), redis.call('pttl', KEYS[1])}", "1", "k")
	exp := resp.Array{resp.Int(1), resp.Status("OK"), resp.Int(5)}
	if ksRESP(exp) != ksRESP(got) {
		t.Fatalf("exp %q, got %q", ksRESP(exp), ksRESP(got))
	}
}

func TestReadsOutsideTheLogDecideAtTheReadClockWithoutDeleting(t *testing.T) {
	n := exNewNode(t)
	wall := int64(1000)
	n.m.SetReadClock(func() int64 { return wall })
	n.at(1000, "SET", "k", "v", "PX", "100")
	read := func(args ...string) string {
		var r resp.Reply
		n.m.View(func(s *State) { r = s.Read(0, ksArgv(args)) })
		return ksRESP(r)
	}
	wall = 1040
	if exp, got := ksRESP(resp.Int(60)), read("PTTL", "k"); exp != got {
		t.Fatalf("PTTL between entries: exp %q, got %q", exp, got)
	}
	wall = 1100
	before := n.digest()
	if exp, got := ksRESP(resp.NullBulk), read("GET", "k"); exp != got {
		t.Fatalf("GET at the deadline by the wall clock: exp %q, got %q", exp, got)
	}
	if exp, got := ksRESP(resp.Int(1)), read("DBSIZE"); exp != got || n.digest() != before {
		t.Fatalf("a read deleted: exp DBSIZE %q and digest %s, got %q and %s", exp, before, got, n.digest())
	}
	wall = 500 // a wall clock behind the log clock
	n.at(1100, "DEL", "x")
	if exp, got := ksRESP(resp.Int(0)), read("EXISTS", "k"); exp != got {
		t.Fatalf("read with the wall clock behind: exp %q, got %q", exp, got)
	}
	n.restart()
	n.m.SetReadClock(func() int64 { return 0 })
	if exp, got := ksRESP(resp.Int(0)), read("EXISTS", "k"); exp != got {
		t.Fatalf("after a restore: exp %q, got %q", exp, got)
	}
}

// exKeys lists every key of database db with its deadline, raw: expired
// keys not yet deleted included.
func (n *exNode) rawKeys(db int) []string {
	var out []string
	n.m.View(func(s *State) {
		out = append(out, s.DB(db).SortedKeys()...)
	})
	return out
}

func (n *exNode) expire(ms int64, limit uint64) *Result {
	return n.entry(&Entry{Kind: KindExpire, TimeMs: ms, Expire: ExpireCycle{Limit: limit}})
}

func TestActiveExpiryDeletesInDeadlineDBKeyOrderWithinItsBound(t *testing.T) {
	n := exNewNode(t)
	// Deadlines 1100 (b, then c in db 0; a in db 1), 1200 (a), 5000 (z).
	for _, c := range []struct {
		db   int
		args []string
	}{
		{0, []string{"SET", "c", "v", "PXAT", "1100"}},
		{1, []string{"SET", "a", "v", "PXAT", "1100"}},
		{0, []string{"SET", "b", "v", "PXAT", "1100"}},
		{0, []string{"SET", "a", "v", "PXAT", "1200"}},
		{0, []string{"SET", "z", "v", "PXAT", "5000"}},
		{0, []string{"SET", "p", "v", "PXAT", "1050"}},
		{0, []string{"PERSIST", "p"}}, // leaves a stale index entry first in line
	} {
		n.entry(&Entry{Kind: KindCommands, TimeMs: 1000, Cmds: []Cmd{{DB: c.db, Owner: "ex", Args: ksArgv(c.args)}}})
	}
	steps := []struct {
		at      int64
		limit   uint64
		deleted int
		more    bool
		db0     string
		db1     string
	}{
		{1099, 10, 0, false, "[a b c p z]", "[a]"},
		{1100, 1, 1, true, "[a c p z]", "[a]"},
		{1100, 1, 1, true, "[a p z]", "[a]"},
		{1300, 1, 1, true, "[a p z]", "[]"},
		{1300, 5, 1, false, "[p z]", "[]"},
		{1000, 5, 0, false, "[p z]", "[]"}, // a leader behind: nothing comes back, nothing goes
	}
	for i, st := range steps {
		res := n.expire(st.at, st.limit)
		if res.Expired != st.deleted || res.MoreDue != st.more {
			t.Fatalf("step %d: exp %d deleted, more %v; got %d, %v", i, st.deleted, st.more, res.Expired, res.MoreDue)
		}
		if got := fmt.Sprint(n.rawKeys(0)); got != st.db0 {
			t.Fatalf("step %d: exp db 0 %s, got %s", i, st.db0, got)
		}
		if got := fmt.Sprint(n.rawKeys(1)); got != st.db1 {
			t.Fatalf("step %d: exp db 1 %s, got %s", i, st.db1, got)
		}
		if i == 2 {
			n.restart() // a restored index holds no stale entry: the same keys must go
		}
	}
}

func TestActiveExpiryServesNoWaiterAndBreaksAWatch(t *testing.T) {
	n := exNewNode(t)
	n.at(1000, "RPUSH", "l", "a")
	n.at(1000, "PEXPIRE", "l", "10")
	var since uint64
	n.m.View(func(s *State) { since = s.Applied() })
	n.expire(1010, 10)
	if exp, got := ksRESP(resp.Blocked), ksRESP(n.at(1010, "BLPOP", "l", "0")); exp != got {
		t.Fatalf("BLPOP after the list expired: exp %q, got %q", exp, got)
	}
	res := n.entry(&Entry{Kind: KindExec, TimeMs: 1010, Tx: Transaction{Owner: "ex", Seq: 500,
		Watches: []Watch{{Key: []byte("l"), Since: since}}, Cmds: [][][]byte{ksArgv([]string{"PING"})}}})
	if exp, got := ksRESP(resp.NullArray), ksRESP(res.Replies[0]); exp != got {
		t.Fatalf("EXEC watching a key active expiry deleted: exp %q, got %q", exp, got)
	}
}

func TestExecAbortsWhenAWatchedKeyExpiredBeforeIt(t *testing.T) {
	n := exNewNode(t)
	n.at(1000, "SET", "k", "v", "PX", "100")
	var since uint64
	n.m.View(func(s *State) { since = s.Applied() })
	exec := func(ms int64) resp.Reply {
		return n.entry(&Entry{Kind: KindExec, TimeMs: ms, Tx: Transaction{Owner: "ex", Seq: 500,
			Watches: []Watch{{Key: []byte("k"), Since: since}}, Cmds: [][][]byte{ksArgv([]string{"PING"})}}}).Replies[0]
	}
	if exp, got := ksRESP(resp.Array{resp.Status("PONG")}), ksRESP(exec(1099)); exp != got {
		t.Fatalf("EXEC before the deadline: exp %q, got %q", exp, got)
	}
	if exp, got := ksRESP(resp.NullArray), ksRESP(exec(1100)); exp != got {
		t.Fatalf("EXEC at the deadline: exp %q, got %q", exp, got)
	}
}

func TestGetexReadsTheKeyBeforeTheTime(t *testing.T) {
	exRun(t, map[string][]exAt{
		"as redis-server 7.0.15 orders them": {
			ex(1000, resp.NullBulk, "GETEX", "nokey", "EX", "abc"),
			ex(1000, resp.Int(1), "RPUSH", "l", "a"),
			ex(1000, resp.ErrWrongType, "GETEX", "l", "EX", "abc"),
			ex(1000, resp.Error("ERR syntax error"), "GETEX", "l", "FOO"),
			ex(1000, resp.OK, "SET", "s", "v"),
			ex(1000, resp.Error("ERR value is not an integer or out of range"), "GETEX", "s", "EX", "abc"),
			ex(1000, resp.Error("ERR invalid expire time in 'getex' command"), "GETEX", "s", "PX", "9223372036854775807"),
			ex(1000, resp.Error("ERR value is not an integer or out of range"), "SETEX", "s", "", "v"),
		},
	})
}

func TestExpiryEntriesEndBlockedClientsWhoseTimeoutPassed(t *testing.T) {
	n := exNewNode(t)
	n.at(1000, "BLPOP", "k", "1")                  // deadline 2000
	n.at(1000, "BRPOPLPUSH", "a", "b", "0")        // never
	n.at(1500, "BLMPOP", "0.25", "1", "c", "LEFT") // deadline 1750
	if res := n.expire(1749, 10); len(res.Served) != 0 {
		t.Fatalf("before any deadline: exp none ended, got %+v", res.Served)
	}
	n.restart() // deadlines travel in snapshots
	res := n.expire(2000, 10)
	if exp, got := "[{{ex 1} *-1\r\n} {{ex 3} *-1\r\n}]", fmt.Sprint(exServed(res.Served)); exp != got {
		t.Fatalf("at 2000: exp %s, got %s", exp, got)
	}
	if exp, got := 1, n.m.BlockedWaiters(); exp != got {
		t.Fatalf("exp %d waiter left (no timeout), got %d", exp, got)
	}
}

// exServed renders served waiters with their replies on the wire.
func exServed(served []Served) []any {
	var out []any
	for _, s := range served {
		out = append(out, struct {
			WaiterID
			string
		}{s.WaiterID, ksRESP(s.Reply)})
	}
	return out
}

func TestPersistAndTTLsInsideATransaction(t *testing.T) {
	n := exNewNode(t)
	n.at(1000, "SET", "k", "v", "EX", "10")
	res := n.entry(&Entry{Kind: KindExec, TimeMs: 2000, Tx: Transaction{Owner: "ex", Seq: 700, Cmds: [][][]byte{
		ksArgv([]string{"PTTL", "k"}), ksArgv([]string{"PERSIST", "k"}), ksArgv([]string{"PTTL", "k"}),
		ksArgv([]string{"PEXPIRE", "k", "5"}), ksArgv([]string{"PTTL", "k"}), ksArgv([]string{"PEXPIRE", "k", "0"}),
		ksArgv([]string{"EXISTS", "k"})}}})
	exp := resp.Array{resp.Int(9000), resp.Int(1), resp.Int(-1), resp.Int(1), resp.Int(5), resp.Int(1), resp.Int(0)}
	if ksRESP(exp) != ksRESP(res.Replies[0]) {
		t.Fatalf("exp %q, got %q", ksRESP(exp), ksRESP(res.Replies[0]))
	}
}

func TestFormat2EntriesStillDecode(t *testing.T) {
	// Logs written before expiry: the same layout, version 2.
	e := ksCommandsEntry(0, "RPUSH", "l", "x")
	b := e.Encode()
	v2 := append([]byte{formatV2}, b[1:len(b)-checksumLen]...)
	v2 = binary.LittleEndian.AppendUint32(v2, crc32.Checksum(v2, castagnoli))
	got, err := DecodeEntry(v2)
	if err != nil || VerifyEntry(v2) != nil {
		t.Fatalf("exp a format 2 entry to decode and verify, got %v / %v", err, VerifyEntry(v2))
	}
	if exp := FormatVersion; b[0] != byte(exp) {
		t.Fatalf("exp the encoder to write format %d, got %d", exp, b[0])
	}
	if string(got.Cmds[0].Args[0]) != "RPUSH" {
		t.Fatalf("exp RPUSH, got %q", got.Cmds[0].Args[0])
	}
	v2[len(v2)-1] ^= 1
	if _, err := DecodeEntry(v2); !errors.Is(err, ErrEntryChecksum) {
		t.Fatalf("exp a damaged format 2 entry to fail its checksum, got %v", err)
	}
}

func TestAWaiterFromAFormat2EntryHasNoDeadline(t *testing.T) {
	// A node that applied it with a binary before expiry recorded none; one
	// replaying it now must agree, or their digests and timeouts differ.
	n := exNewNode(t)
	e := &Entry{Kind: KindCommands, TimeMs: 1000, Cmds: []Cmd{{Owner: "ex", Seq: 1, Args: ksArgv([]string{"BLPOP", "k", "1"})}}}
	b := e.Encode()
	v2 := append([]byte{formatV2}, b[1:len(b)-checksumLen]...)
	v2 = binary.LittleEndian.AppendUint32(v2, crc32.Checksum(v2, castagnoli))
	n.index++
	n.m.Apply(&raft.Log{Index: n.index, Term: 1, Type: raft.LogCommand, Data: v2})
	if res := n.expire(5000, 10); len(res.Served) != 0 {
		t.Fatalf("exp the format 2 waiter left to its owner's UNBLOCK, got %+v", res.Served)
	}
	n.at(5000, "BLPOP", "j", "1")
	if res := n.expire(6000, 10); len(res.Served) != 1 {
		t.Fatalf("exp the format 3 waiter timed out, got %+v", res.Served)
	}
}

func TestAFormat2EntryAnswersAsABinaryBeforeExpiry(t *testing.T) {
	// A node that applied it before the upgrade answered so; one replaying
	// it after must agree, transactions included (scripts: the test
	// below).
	n := exNewNode(t)
	apply := func(e *Entry) *Result {
		b := e.Encode()
		v2 := append([]byte{formatV2}, b[1:len(b)-checksumLen]...)
		v2 = binary.LittleEndian.AppendUint32(v2, crc32.Checksum(v2, castagnoli))
		n.index++
		return n.m.Apply(&raft.Log{Index: n.index, Term: 1, Type: raft.LogCommand, Data: v2}).(*Result)
	}
	cmd := func(args ...string) Cmd { return Cmd{Owner: "ex", Args: ksArgv(args)} }
	res := apply(&Entry{Kind: KindCommands, TimeMs: 1000, Cmds: []Cmd{
		cmd("SET", "k", "v", "EX", "10"),
		cmd("SET", "k", "v", "NX", "XX"),
		cmd("SET", "k", "v"),
		cmd("EXPIRE", "k"),
		cmd("TTL", "k"),
	}})
	exp := []string{"-ERR raftlist does not support key expiry\r\n", "-ERR syntax error\r\n", "+OK\r\n",
		"-ERR unknown command 'EXPIRE', with args beginning with: 'k' \r\n",
		"-ERR unknown command 'TTL', with args beginning with: 'k' \r\n"}
	for i, r := range res.Replies {
		if got := ksRESP(r); got != exp[i] {
			t.Errorf("reply %d: exp %q, got %q", i, exp[i], got)
		}
	}
	tx := apply(&Entry{Kind: KindExec, TimeMs: 1000, Tx: Transaction{Owner: "ex", Seq: 9, Cmds: [][][]byte{ksArgv([]string{"PERSIST", "k"})}}})
	if exp, got := "*1\r\n-ERR unknown command 'PERSIST', with args beginning with: 'k' \r\n", ksRESP(tx.Replies[0]); exp != got {
		t.Errorf("EXEC: exp %q, got %q", exp, got)
	}
	if exp, got := ksRESP(resp.Int(-1)), ksRESP(n.at(1000, "PTTL", "k")); exp != got {
		t.Errorf("exp no TTL, got %q", got)
	}
}

func TestAFormat2ScriptCallsOnlyTheCommandsOfItsBinary(t *testing.T) {
	// A script in an entry written before this format ran on a binary
	// without INCR, EXPIRE or SET's EX: redis.call refused them. A node
	// replaying the entry now must refuse them too, or it would hold a
	// counter and a TTL the nodes that applied it then do not.
	n := exNewNode(t)
	e := &Entry{Kind: KindCommands, TimeMs: 1000, Cmds: []Cmd{{Owner: "ex", Seq: 1, Args: ksArgv([]string{"EVAL",
		"local a = redis.pcall('incr', 'n'); local b = redis.pcall('expire', 'l', '5'); " +
			"local c = redis.pcall('set', 's', 'v', 'EX', '5'); redis.call('rpush', 'l', 'x'); " +
			"return {a['err'], b['err'], c['err']}", "0"})}}}
	b := e.Encode()
	v2 := append([]byte{formatV2}, b[1:len(b)-checksumLen]...)
	v2 = binary.LittleEndian.AppendUint32(v2, crc32.Checksum(v2, castagnoli))
	n.index++
	res := n.m.Apply(&raft.Log{Index: n.index, Term: 1, Type: raft.LogCommand, Data: v2}).(*Result)
	got := ksRESP(res.Replies[0])
	for _, want := range []string{"Unknown Redis command called from script", "raftlist does not support key expiry"} {
		if !strings.Contains(got, want) {
			t.Errorf("exp the reply to contain %q, got %q", want, got)
		}
	}
	if strings.Count(got, "Unknown Redis command called from script") != 2 {
		t.Errorf("exp INCR and EXPIRE refused as unknown, got %q", got)
	}
	for _, k := range []string{"n", "s"} {
		if r := ksRESP(n.at(1000, "EXISTS", k)); r != ":0\r\n" {
			t.Errorf("EXISTS %s: exp 0 (the old binary never made it), got %q", k, r)
		}
	}
	if r := ksRESP(n.at(1000, "PTTL", "l")); r != ":-1\r\n" {
		t.Errorf("PTTL l: exp -1 (no TTL), got %q", r)
	}
}

func TestAFormat3ScriptCallsOnlyTheCommandsOfItsBinary(t *testing.T) {
	// Format 3's binary had INCR but not DUMP, RESTORE or SORT: a script
	// in a format 3 entry got "unknown command" for them then, and must
	// now.
	n := exNewNode(t)
	n.at(1000, "RPUSH", "l", "a")
	e := &Entry{Kind: KindCommands, TimeMs: 1000, Cmds: []Cmd{{Owner: "ex", Seq: 1, Args: ksArgv([]string{"EVAL",
		"local a = redis.pcall('incr', 'n'); local d = redis.pcall('dump', 'l'); " +
			"local r = redis.pcall('restore', 'c', '0', 'x'); local s = redis.pcall('sort', 'l', 'store', 'd'); " +
			"return {a, d['err'], r['err'], s['err']}", "0"})}}}
	b := e.Encode()
	v3 := append([]byte{formatExpiry}, b[1:len(b)-checksumLen]...)
	v3 = binary.LittleEndian.AppendUint32(v3, crc32.Checksum(v3, castagnoli))
	n.index++
	res := n.m.Apply(&raft.Log{Index: n.index, Term: 1, Type: raft.LogCommand, Data: v3}).(*Result)
	got := ksRESP(res.Replies[0])
	if !strings.HasPrefix(got, "*4\r\n:1\r\n") || strings.Count(got, "Unknown Redis command called from script") != 3 {
		t.Fatalf("exp INCR to run and DUMP, RESTORE and SORT refused as unknown, got %q", got)
	}
}

func TestAFormat3ScriptRunsWithTheLuaOfItsBinary(t *testing.T) {
	// Format 3's binary had no cjson, cmsgpack, bit or struct, and its
	// math.random always started unseeded: a format 3 entry's script must
	// find the same on replay, or a script that stored what it found
	// would now store something else.
	n := exNewNode(t)
	script := "local found = {} " +
		"for _, name in ipairs({'cjson', 'cmsgpack', 'bit', 'struct'}) do " +
		"  local ok = pcall(function() return _G[name] end) " +
		"  if ok then found[#found+1] = name end end " +
		"return {#found, math.random(1000000)}"
	apply := func(format byte) string {
		e := &Entry{Kind: KindCommands, TimeMs: 1000, Cmds: []Cmd{{Owner: "ex", Seq: n.index + 1, Args: ksArgv([]string{"EVAL", script, "0"})}}}
		b := e.Encode()
		if format != FormatVersion {
			b = append([]byte{format}, b[1:len(b)-checksumLen]...)
			b = binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
		}
		n.index++
		return ksRESP(n.m.Apply(&raft.Log{Index: n.index, Term: 1, Type: raft.LogCommand, Data: b}).(*Result).Replies[0])
	}
	old1, old2 := apply(formatExpiry), apply(formatExpiry)
	if !strings.HasPrefix(old1, "*2\r\n:0\r\n") {
		t.Fatalf("a format 3 script: exp no library found, got %q", old1)
	}
	if old1 != old2 {
		t.Fatalf("a format 3 script: exp math.random to start unseeded every run, as then, got %q then %q", old1, old2)
	}
	new1, new2 := apply(FormatVersion), apply(FormatVersion)
	if !strings.HasPrefix(new1, "*2\r\n:4\r\n") || new1 == new2 {
		t.Fatalf("a current script: exp the four libraries and a new math.random sequence per entry, got %q then %q", new1, new2)
	}
}

func TestCommandsThatReplaceAValueDropItsTTL(t *testing.T) {
	// Redis's setKey without KEEPTTL: MSET and GETSET write a new value and
	// its deadline goes; INCR, APPEND and SETRANGE change the value in place
	// and keep it, and MSETNX and SETNX leave an existing key alone (checked
	// against redis-server 7.0.15).
	n := exNewNode(t)
	for _, c := range []struct {
		cmd  []string
		want string
	}{
		{[]string{"MSET", "k", "v2"}, ":-1\r\n"},
		{[]string{"MSETNX", "k", "v2"}, ":100000\r\n"},
		{[]string{"SETNX", "k", "v2"}, ":100000\r\n"},
		{[]string{"GETSET", "k", "v2"}, ":-1\r\n"},
		{[]string{"SET", "k", "v2"}, ":-1\r\n"},
		{[]string{"INCR", "k"}, ":100000\r\n"},
		{[]string{"APPEND", "k", "x"}, ":100000\r\n"},
		{[]string{"SETRANGE", "k", "0", "x"}, ":100000\r\n"},
	} {
		n.at(1000, "DEL", "k")
		n.at(1000, "SET", "k", "1", "PX", "100000")
		n.at(1000, c.cmd...)
		if got := ksRESP(n.at(1000, "PTTL", "k")); got != c.want {
			t.Errorf("%v on a key with a TTL: PTTL exp %q, got %q", c.cmd, c.want, got)
		}
	}
}

// Keys that expire give their memory back: Go maps keep the room of
// deleted entries, so the state rebuilds them (keys, deadlines, WATCH
// versions) once sparse. What stays is WATCH's tombstones of the last
// maxTombstones deleted keys: a fixed bound (about 1.5 MB at most with the
// map's room), whatever the number of keys that expired — 100,000 here,
// which took about 25 MB.
func TestMemoryComesBackAfterKeysExpire(t *testing.T) {
	heapNow := func() float64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return float64(m.HeapAlloc)
	}
	st := NewState()
	base := heapNow()
	now, idx := int64(1_700_000_000_000), uint64(1)
	for b := 0; b < 100; b++ {
		var cmds []Cmd
		for j := 0; j < 1000; j++ {
			k := strconv.Itoa(b*1000 + j)
			cmds = append(cmds, Cmd{Args: replayArgv([]string{"SET", "ttl:" + k, "0123456789abcdef", "PX", "1000"}), Owner: "o", Seq: uint64(b*1000 + j + 1)})
		}
		st.Apply(idx, 1, &Entry{Kind: KindCommands, TimeMs: now, Cmds: cmds})
		idx++
	}
	loaded := heapNow()
	for res := (&Result{MoreDue: true}); res.MoreDue; idx++ {
		res = st.Apply(idx, 1, &Entry{Kind: KindExpire, TimeMs: now + 2000, Expire: ExpireCycle{Limit: MaxExpirePerEntry}})
	}
	if n := st.dbs[0].Len(); n != 0 {
		t.Fatalf("exp every key expired, got %d left", n)
	}
	kept, took := heapNow()-base, loaded-base
	runtime.KeepAlive(st)
	t.Logf("keys took %.1f MB, kept %.1f MB", took/1e6, kept/1e6)
	if kept > 2e6 || kept > took/10 {
		t.Errorf("exp at most 2 MB and a tenth of the keys' %.1f MB kept after they expired, got %.1f MB", took/1e6, kept/1e6)
	}
}

func TestAFormat3ScriptGetsUnknownForFrontDoorCommands(t *testing.T) {
	// Before format 4's binaries knew the front door's commands, a script
	// calling INFO or SCRIPT BOGUS got "Unknown Redis command" and "not
	// allowed from script": a format 3 entry must still, a format 4 one
	// gets Redis's words.
	old := FrontDoorCommand
	FrontDoorCommand = func(args [][]byte) (bool, bool) { return strings.EqualFold(string(args[0]), "info"), true }
	defer func() { FrontDoorCommand = old }()
	script := ksArgv([]string{"EVAL", "return {redis.pcall('info')['err'], redis.pcall('script', 'bogus')['err']}", "0"})
	for _, tc := range []struct {
		format byte
		want   string
	}{
		{formatExpiry, "*2\r\n$44\r\nERR Unknown Redis command called from script\r\n$49\r\nERR This Redis command is not allowed from script\r\n"},
		{FormatVersion, "*2\r\n$49\r\nERR This Redis command is not allowed from script\r\n$44\r\nERR Unknown Redis command called from script\r\n"},
	} {
		n := exNewNode(t)
		e := &Entry{Kind: KindCommands, TimeMs: 1000, Cmds: []Cmd{{Owner: "ex", Seq: 1, Args: script}}}
		b := e.Encode()
		data := append([]byte{tc.format}, b[1:len(b)-checksumLen]...)
		data = binary.LittleEndian.AppendUint32(data, crc32.Checksum(data, castagnoli))
		n.index++
		res := n.m.Apply(&raft.Log{Index: n.index, Term: 1, Type: raft.LogCommand, Data: data}).(*Result)
		if got := ksRESP(res.Replies[0]); got != tc.want {
			t.Errorf("format %d: exp %q, got %q", tc.format, tc.want, got)
		}
	}
}
