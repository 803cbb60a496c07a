package tests

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/raftlist/raftlist/fsm/resp"
)

// ttlDiffSide is one server of the short-TTL differential test: a
// connection for commands and one that blocks.
type ttlDiffSide struct {
	name         string
	conn, waiter *rawConn
}

// Keys with TTLs short enough to expire during the run, against
// redis-server 7.0.15, byte for byte. A command on a key whose deadline
// is near would race (each server decides with its own clock), so each
// round gives keys either a short TTL (150 to 400 ms) or a long one (at
// least 4 s), waits until the short ones are a second past their
// deadlines, by when active expiry has deleted them on both sides, and
// the long ones still more than two seconds from theirs, then sends every
// command of the round's second half: reads of each kind (KEYS, SCAN
// TYPE, DBSIZE, EXISTS, TTL in seconds), writes that find the key
// expired, WATCH on a key that expired before EXEC, PERSIST inside MULTI,
// a script that sets and reads TTLs, and a blocked client whose key a
// transaction pushes to and expires at once (EXPIRE in the past deletes,
// and serves no waiter).
func TestShortTTLsExpireAsOnRedis(t *testing.T) {
	rs := mustStartRedis(t)
	c := mustStartCluster(t, 3)
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0x74746c)) // "ttl"
	sides := []*ttlDiffSide{{name: "redis-server", conn: mustDial(t, rs.Addr), waiter: mustDial(t, rs.Addr)}}
	for _, n := range c.Nodes {
		sides = append(sides, &ttlDiffSide{name: n.ID, conn: mustDial(t, n.ClientAddr), waiter: mustDial(t, n.ClientAddr)})
	}
	for _, s := range sides {
		defer s.conn.Close()
		defer s.waiter.Close()
	}
	// compare sends cmds to redis-server and to the round's node (all
	// nodes apply the same log).
	var s *ttlDiffSide
	compare := func(round int, cmds [][][]byte) {
		t.Helper()
		want, err := sides[0].conn.pipeline(cmds)
		if err != nil {
			t.Fatalf("redis-server: %v", err)
		}
		got, err := s.conn.pipeline(cmds)
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		for i := range cmds {
			if !bytes.Equal(want[i], got[i]) {
				t.Errorf("round %d, %s on %s: exp %s (redis-server), got %s", round, quoteCommand(cmds[i]), s.name, quoteRaw(want[i]), quoteRaw(got[i]))
			}
		}
	}
	rounds := scale(3, 8)
	for round := 0; round < rounds; round++ {
		p := fmt.Sprintf("r%d:", round)
		s = sides[1+rng.IntN(len(sides)-1)]
		compare(round, [][][]byte{bargs("FLUSHALL")})
		// The blocked client: pushed to and expired inside one
		// transaction, so nothing is served.
		for _, s := range sides {
			if err := s.waiter.writeRaw(resp.AppendCommand(nil, bargs("BLPOP", p+"q", "1")...)); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(100 * time.Millisecond) // blocked on every side
		compare(round, [][][]byte{bargs("MULTI"), bargs("RPUSH", p+"q", "x"), bargs("PEXPIRE", p+"q", "-1"), bargs("EXEC"), bargs("EXISTS", p+"q")})
		var setup [][][]byte
		var keys []string
		for i := 0; i < 12; i++ {
			k := p + strconv.Itoa(i)
			keys = append(keys, k)
			short := rng.IntN(2) == 0
			ms := 4000 + rng.IntN(4000)
			if short {
				ms = 150 + rng.IntN(250)
			}
			at := strconv.FormatInt(time.Now().UnixMilli()+int64(ms), 10)
			switch rng.IntN(5) {
			case 0:
				setup = append(setup, bargs("SET", k, "v", "PX", strconv.Itoa(ms)))
			case 1:
				setup = append(setup, bargs("SET", k, "7"), bargs("PEXPIRE", k, strconv.Itoa(ms)))
			case 2:
				setup = append(setup, bargs("RPUSH", k, "a", "b"), bargs("PEXPIREAT", k, at))
			case 3:
				setup = append(setup, bargs("SET", k, "v", "PXAT", at))
			default:
				setup = append(setup, bargs("PSETEX", k, strconv.Itoa(ms), "5"))
			}
		}
		// WATCH last: the key (r:0) expires before the EXEC below.
		setup = append(setup, bargs("SET", p+"plain", "1"), bargs("WATCH", p+"0"))
		compare(round, setup)
		time.Sleep(1400 * time.Millisecond) // short deadlines a second gone, long ones over 2 s away
		cmds := [][][]byte{
			bargs("MULTI"), bargs("SET", p+"plain", "2"), bargs("EXEC"), // WATCH on r:0
			// KEYS and SCAN answer in an order of each server's own:
			// sorted, they must hold the same keys.
			bargs("DBSIZE"), bargs("EVAL", sortedKeys, "0", "KEYS", p+"*"),
			bargs("EVAL", sortedKeys, "0", "SCAN", "0", "COUNT", "1000", "TYPE", "list"),
			bargs("EVAL", sortedKeys, "0", "SCAN", "0", "COUNT", "1000", "TYPE", "string"),
			bargs("EVAL", "redis.call('SET', KEYS[1], 'x', 'PX', 5000); return {redis.call('TTL', KEYS[1]), redis.call('PERSIST', KEYS[1]), redis.call('TTL', KEYS[1])}", "1", p+"script"),
			bargs("MULTI"), bargs("SET", p+"m", "1", "EX", "100"), bargs("PERSIST", p+"m"), bargs("TTL", p+"m"), bargs("EXEC"),
		}
		for _, k := range keys {
			cmds = append(cmds, bargs("EXISTS", k), bargs("TYPE", k), bargs("EVAL", ttlState, "1", k))
			switch rng.IntN(4) {
			case 0:
				cmds = append(cmds, bargs("APPEND", k, "z"))
			case 1:
				cmds = append(cmds, bargs("RPUSHX", k, "z"))
			case 2:
				cmds = append(cmds, bargs("EXPIRE", k, "100", "NX"))
			default:
				cmds = append(cmds, bargs("GETDEL", k))
			}
		}
		cmds = append(cmds, bargs("DBSIZE"))
		compare(round, cmds)
		// The waiter timed out on every side, unserved.
		for _, s := range sides {
			r, err := s.waiter.readReply()
			if err != nil || string(r) != "*-1\r\n" {
				t.Errorf("round %d: the client blocked on %sq at %s: exp a timeout (*-1), got %q (%v)", round, p, s.name, r, err)
			}
		}
		keyspace := func(s *ttlDiffSide) string {
			r, err := s.conn.doStr("INFO", "keyspace")
			if err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
			return string(keyspaceCounts.Find(r))
		}
		// expires= counts keys with a TTL: both deleted the expired ones.
		if want, got := keyspace(sides[0]), keyspace(s); want != got {
			t.Errorf("round %d: INFO keyspace: exp %q (redis-server), got %q", round, want, got)
		}
	}
}

// sortedKeys runs KEYS or SCAN (its arguments) and returns the keys
// sorted.
const sortedKeys = "local r = redis.call(unpack(ARGV)); if ARGV[1] == 'SCAN' then r = r[2] end; table.sort(r); return r"

// ttlState is a key's PTTL with any positive time as "alive": the two
// servers' clocks differ by a few milliseconds, which TTL's rounding to
// seconds may show.
const ttlState = "local t = redis.call('PTTL', KEYS[1]); if t > 0 then return 'alive' end; return t"

// keyspaceCounts is INFO keyspace's db0 line up to its avg_ttl, which
// raftlist does not keep.
var keyspaceCounts = regexp.MustCompile(`db0:keys=\d+,expires=\d+`)
