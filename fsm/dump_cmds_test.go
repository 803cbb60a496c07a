package fsm

import (
	"testing"

	"github.com/raftlist/raftlist/fsm/rdb"
	"github.com/raftlist/raftlist/fsm/resp"
)

// Payloads redis-server 7.0.15 DUMPs: SET s hello, and RPUSH l a b 1 2 300
// 70000 -5 (one listpack node, every integer width up to 24 bits).
const (
	redisDumpHello = "\x00\x05hello\n\x00cr\xdfve4 \n"
	redisDumpList  = "\x12\x01\x02\x1c\x1c\x00\x00\x00\a\x00\x81a\x02\x81b\x02\x01\x01\x02\x01\xc1,\x02\xf2p\x11\x01\x04\xdf\xfb\x02\xff\n\x00\x05\xa3/\x89\xef\xae\xffn"
)

func TestDumpRestoreAnswersAsRedis(t *testing.T) {
	badCRC := redisDumpHello[:len(redisDumpHello)-1] + "x"
	hash := string(rdb.Seal([]byte{4, 0})) // an empty hash
	ksRun(t, []ksCase{
		{name: "DUMP writes Redis's bytes for a string and a list, nil for a missing key", steps: []ksStep{
			ks(resp.OK, "SET", "s", "hello"),
			ks(resp.Bulk(redisDumpHello), "DUMP", "s"),
			ks(resp.Int(7), "RPUSH", "l", "a", "b", "1", "2", "300", "70000", "-5"),
			ks(resp.Bulk(redisDumpList), "DUMP", "l"),
			ks(resp.NullBulk, "DUMP", "missing"),
		}},
		{name: "RESTORE brings back Redis's payloads", steps: []ksStep{
			ks(resp.OK, "RESTORE", "s", "0", redisDumpHello),
			ks(resp.Bulk("hello"), "GET", "s"),
			ks(resp.OK, "RESTORE", "l", "0", redisDumpList),
			ks(ksBulks("a", "b", "1", "2", "300", "70000", "-5"), "LRANGE", "l", "0", "-1"),
			ks(resp.OK, "RESTORE", "l", "0", redisDumpHello, "REPLACE"),
			ks(resp.Status("string"), "TYPE", "l"),
		}},
		{name: "BUSYKEY comes before the time to live and the payload are read, as in Redis", steps: []ksStep{
			ks(resp.OK, "SET", "s", "v"),
			ks(resp.ErrBusyKey, "RESTORE", "s", "-1", "junk"),
			ks(resp.ErrBusyKey, "RESTORE", "s", "x", "junk"),
			ks(resp.ErrBusyKey, "RESTORE", "s", "0", badCRC),
			ks(resp.ErrInvalidTTL, "RESTORE", "n", "-1", "junk"),
			ks(resp.ErrNotInteger, "RESTORE", "n", "x", "junk"),
			ks(resp.ErrDumpPayload, "RESTORE", "n", "0", badCRC),
			ks(resp.ErrDumpPayload, "RESTORE", "s", "0", "short", "REPLACE"),
			ks(resp.ErrBadDataFormat, "RESTORE", "s", "0", hash, "REPLACE"),
			ks(resp.ErrBadDataFormat, "RESTORE", "n", "0", hash),
			ks(resp.Int(0), "EXISTS", "n"),
		}},
		{name: "options are checked first, IDLETIME and FREQ exclude each other", steps: []ksStep{
			ks(resp.OK, "SET", "s", "v"),
			ks(resp.ErrSyntax, "RESTORE", "s", "0", "junk", "foo"),
			ks(resp.ErrSyntax, "RESTORE", "s", "0", "junk", "IDLETIME"),
			ks(resp.ErrSyntax, "RESTORE", "s", "0", "junk", "IDLETIME", "1", "FREQ", "1"),
			ks(resp.ErrNotInteger, "RESTORE", "s", "0", "junk", "FREQ", "x"),
			ks(resp.ErrInvalidFrequency, "RESTORE", "s", "0", "junk", "FREQ", "256"),
			ks(resp.ErrInvalidIdleTime, "RESTORE", "s", "0", "junk", "IDLETIME", "-1"),
			ks(resp.OK, "RESTORE", "n", "0", redisDumpHello, "replace", "absttl", "idletime", "5", "idletime", "6"),
			ks(resp.OK, "RESTORE", "m", "0", redisDumpHello, "FREQ", "5", "FREQ", "255"),
		}},
	})
}

func TestRestoreTimeToLiveIsOnTheLogClock(t *testing.T) {
	n := exNewNode(t)
	if exp, got := ksRESP(resp.OK), ksRESP(n.at(1000, "RESTORE", "k", "500", redisDumpHello)); exp != got {
		t.Fatalf("exp %q, got %q", exp, got)
	}
	if exp, got := ksRESP(resp.Int(1500)), ksRESP(n.at(1000, "PEXPIRETIME", "k")); exp != got {
		t.Fatalf("relative TTL: exp %q, got %q", exp, got)
	}
	n.at(1000, "RESTORE", "a", "5000", redisDumpHello, "ABSTTL")
	if exp, got := ksRESP(resp.Int(5000)), ksRESP(n.at(1000, "PEXPIRETIME", "a")); exp != got {
		t.Fatalf("ABSTTL: exp %q, got %q", exp, got)
	}
	// A deadline already passed stores nothing, but REPLACE still deletes.
	for _, args := range [][]string{
		{"RESTORE", "a", "999", redisDumpList, "ABSTTL", "REPLACE"},
		{"RESTORE", "k", "9223372036854775807", redisDumpList, "REPLACE"},
		{"RESTORE", "x", "1000", redisDumpList, "ABSTTL"},
	} {
		if exp, got := ksRESP(resp.OK), ksRESP(n.at(1000, args...)); exp != got {
			t.Fatalf("%q: exp %q, got %q", args[:3], exp, got)
		}
		if exp, got := ksRESP(resp.Int(0)), ksRESP(n.at(1000, "EXISTS", args[1])); exp != got {
			t.Fatalf("%q left the key: exp %q, got %q", args[:3], exp, got)
		}
	}
}

// RESTORE of a list signals the key as Redis's dbAdd does: a client
// blocked on it is served after the command, as after a push.
func TestRestoreServesBlockedClients(t *testing.T) {
	cmd := func(owner string, seq uint64, args ...string) Cmd {
		return Cmd{Owner: owner, Seq: seq, Args: ksArgv(args)}
	}
	blkRunCases(t, []blkCase{{
		name: "a waiter gets the restored list's first element",
		steps: []blkStep{
			blkDo(cmd("a", 1, "BLPOP", "l", "0")).answers(resp.Blocked),
			blkDo(cmd("b", 1, "RESTORE", "l", "0", redisDumpList)).answers(resp.OK).
				serves(blkGot("a", 1, blkPopped("l", "a"))),
		},
		after: "l=[b 1 2 300 70000 -5]",
	}})
}
