package tests

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/raftlist/raftlist/fsm/resp"
)

// DUMP and RESTORE against a real redis-server 7.0.15: for lists and
// strings of every shape (integers of each width, LZF-compressible and
// incompressible, elements over 8 KB, lists of many listpack nodes)
// raftlist's DUMP is byte for byte Redis's; Redis's payloads RESTORE into
// raftlist through a follower and raftlist's into Redis, with the same
// value read back on both sides.
func TestDumpRestoreInterchangesWithRedis(t *testing.T) {
	rs := mustStartRedis(t)
	c := mustStartCluster(t, 3)
	leader := mustLeader(t, c)
	follower := followers(c, leader)[0]
	redis := mustDialRaw(t, rs.Addr)
	lead := mustDialRaw(t, leader.ClientAddr)
	fol := mustDialRaw(t, follower.ClientAddr)

	rng := rand.New(rand.NewPCG(17, 0))
	for i := 0; i < 150; i++ {
		key := "v" + strconv.Itoa(i)
		isList := i%4 != 0
		var value [][]byte
		if isList {
			for n := 1 + rng.IntN([]int{4, 60, 900, 5000}[i%4]); n > 0; n-- {
				value = append(value, dumpElement(rng))
			}
		} else {
			value = [][]byte{dumpElement(rng)}
		}
		write := append([][]byte{[]byte("RPUSH"), []byte(key)}, value...)
		if !isList {
			write = [][]byte{[]byte("SET"), []byte(key), value[0]}
		}
		mustDoRaw(t, redis, write...)
		mustDoRaw(t, lead, write...)

		want := mustBulk(t, redis, "DUMP", key)
		got := mustBulk(t, fol, "DUMP", key)
		if !bytes.Equal(want, got) {
			t.Fatalf("value %d (%d elements): DUMP differs from redis-server's:\nexp %q\ngot %q", i, len(value), quoteRaw(want), quoteRaw(got))
		}
		// Redis's payload into raftlist through the follower, raftlist's
		// (read on the follower) into Redis.
		if r := mustDoRaw(t, fol, []byte("RESTORE"), []byte(key+"r"), []byte("0"), want); string(r) != "+OK\r\n" {
			t.Fatalf("value %d: RESTORE of Redis's payload through a follower: got %q", i, r)
		}
		if r := mustDoRaw(t, redis, []byte("RESTORE"), []byte(key+"r"), []byte("0"), got); string(r) != "+OK\r\n" {
			t.Fatalf("value %d: Redis's RESTORE of raftlist's payload: got %q", i, r)
		}
		read := [][]byte{[]byte("LRANGE"), []byte(key + "r"), []byte("0"), []byte("-1")}
		if !isList {
			read = [][]byte{[]byte("GET"), []byte(key + "r")}
		}
		exp, got2 := mustDoRaw(t, redis, read...), mustDoRaw(t, lead, read...)
		if !bytes.Equal(exp, got2) {
			t.Fatalf("value %d: restored values differ: redis %q, raftlist %q", i, quoteRaw(exp), quoteRaw(got2))
		}
	}
	requireEqualDigests(t, t.Context(), c)
}

// Payloads only RESTORE reads: the encodings older Redis versions wrote
// and a plain quicklist node, and hostile ones, answered as Redis answers
// them, through a follower.
func TestRestoreReadsEveryListEncodingAndRefusesAsRedis(t *testing.T) {
	rs := mustStartRedis(t)
	c := mustStartCluster(t, 3)
	leader := mustLeader(t, c)
	redis := mustDialRaw(t, rs.Addr)
	fol := mustDialRaw(t, followers(c, leader)[0].ClientAddr)
	plain := "\x12\x01\x01\x03\x61\x62\x63\x0a\x00\x0c\x37\x68\xde\x93\x60\x19\x5a"
	payloads := append([]string{plain}, genPayloads...)
	for i, p := range payloads {
		bad := []byte(p)
		bad[len(bad)/2] ^= 0x40
		for j, args := range [][]string{
			{"RESTORE", "k", "0", p},
			{"LRANGE", "k", "0", "-1"},
			{"GET", "k"},
			{"RESTORE", "k", "0", p},
			{"RESTORE", "k", "0", string(bad), "REPLACE"},
			{"RESTORE", "n", "0", p[:len(p)-1]},
			{"RESTORE", "n", "0", p, "REPLACE", "FREQ", "300"},
			{"DEL", "k"},
		} {
			exp, got := mustDoRaw(t, redis, bargs(args...)...), mustDoRaw(t, fol, bargs(args...)...)
			if !bytes.Equal(exp, got) {
				t.Fatalf("payload %d, step %d %q: exp %q, got %q", i, j, args[0], exp, got)
			}
		}
	}
	// The refused RESTOREs without REPLACE went through the log: every
	// node decoded them to the same error and the same state.
	requireEqualDigests(t, t.Context(), c)
}

// dumpElement is an element of one of the shapes DUMP encodes apart.
func dumpElement(rng *rand.Rand) []byte {
	switch rng.IntN(7) {
	case 0:
		return []byte(strconv.FormatInt(rng.Int64N(1<<uint(1+rng.IntN(62)))-1<<uint(rng.IntN(40)), 10))
	case 1:
		return []byte(strconv.Itoa(rng.IntN(300) - 150))
	case 2: // compressible, up to past a listpack node
		b := make([]byte, rng.IntN(12000))
		for i := range b {
			b[i] = "abcab "[rng.IntN(6)]
		}
		return b
	case 3: // incompressible
		b := make([]byte, rng.IntN(200))
		for i := range b {
			b[i] = byte(rng.IntN(256))
		}
		return b
	case 4:
		return []byte(fmt.Sprintf("0%d", rng.IntN(100)))
	}
	b := make([]byte, rng.IntN(80))
	for i := range b {
		b[i] = byte('a' + rng.IntN(3))
	}
	return b
}

func mustDialRaw(t *testing.T, addr string) *rawConn {
	t.Helper()
	c, err := dialRaw(addr, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// mustDoRaw runs a command and returns its raw reply, sending it again
// on -TRYAGAIN (not applied: a node without a leader for a moment, as
// under load; Redis never answers it).
func mustDoRaw(t *testing.T, c *rawConn, args ...[]byte) []byte {
	t.Helper()
	for attempt := 0; ; attempt++ {
		r, err := c.do(args...)
		if err != nil {
			t.Fatalf("%q on %s: %v", args[0], c.addr, err)
		}
		if !isErrorPrefix(r, "TRYAGAIN") || attempt == 100 {
			return r
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// mustBulk runs a command that answers a bulk string and returns its bytes.
func mustBulk(t *testing.T, c *rawConn, args ...string) []byte {
	t.Helper()
	raw := mustDoRaw(t, c, bargs(args...)...)
	v, err := resp.ParseReply(raw)
	if err != nil || v.Kind != resp.KindBulk {
		t.Fatalf("%q on %s: exp a bulk string, got %q (%v)", args, c.addr, raw, err)
	}
	return v.Str
}
