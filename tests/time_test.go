package tests

import (
	"bytes"
	"regexp"
	"strconv"
	"testing"
	"time"
)

// timeReply is TIME's shape: seconds and microseconds as bulk strings.
var timeReply = regexp.MustCompile(`\*2\r\n\$\d+\r\n(\d+)\r\n\$\d+\r\n(\d+)\r\n`)

// maskTimes replaces every TIME reply in raw by its shape, after checking
// its seconds are within 3 s of the test's clock and its microseconds
// below a second; it returns the TIME replies as microseconds.
func maskTimes(t *testing.T, where string, raw []byte) ([]byte, []int64) {
	t.Helper()
	var got []int64
	masked := timeReply.ReplaceAllFunc(raw, func(m []byte) []byte {
		sub := timeReply.FindSubmatch(m)
		sec, _ := strconv.ParseInt(string(sub[1]), 10, 64)
		usec, _ := strconv.ParseInt(string(sub[2]), 10, 64)
		if d := time.Since(time.Unix(sec, 0)); d < -3*time.Second || d > 3*time.Second || usec > 999999 {
			t.Errorf("%s: TIME %d %d is not the time (%v off)", where, sec, usec, d)
		}
		got = append(got, sec*1_000_000+usec)
		return []byte("<TIME>")
	})
	return masked, got
}

// TIME as redis-server 7.0.15 answers it, at the front door, inside MULTI
// and inside a script; inside the last two, time stands still at the
// entry's time on raftlist (Redis 7.0's TIME there reads its clock again),
// so two TIMEs in one transaction or script agree and every node applying
// the entry sees the same.
func TestTimeAnswersAsRedisAndStandsStillInsideAnEntry(t *testing.T) {
	rs := mustStartRedis(t)
	c := mustStartCluster(t, 3)
	redis := mustDial(t, rs.Addr)
	defer redis.Close()
	cmds := [][][]byte{
		bargs("TIME"), bargs("time", "x"),
		bargs("MULTI"), bargs("TIME"), bargs("TIME"), bargs("TIME", "x"), bargs("EXEC"),
		bargs("MULTI"), bargs("TIME"), bargs("TIME"), bargs("EXEC"),
		bargs("EVAL", "return redis.call('TIME')", "0"),
		bargs("EVAL", "return redis.pcall('TIME', 'x')", "0"),
		bargs("EVAL", "local a, b = redis.call('TIME'), redis.call('TIME') return {a[1], a[2], b[1], b[2]}", "0"),
		bargs("EVAL_RO", "return redis.call('TIME')", "0"),
		bargs("COMMAND", "INFO", "time"),
	}
	want, err := redis.pipeline(cmds)
	if err != nil {
		t.Fatalf("redis-server: %v", err)
	}
	for _, n := range c.Nodes {
		conn := mustDial(t, n.ClientAddr)
		defer conn.Close()
		got, err := conn.pipeline(cmds)
		if err != nil {
			t.Fatalf("%s: %v", n.ID, err)
		}
		for i := range cmds {
			if i == 13 {
				continue // four strings, not TIME-shaped: below
			}
			w, _ := maskTimes(t, "redis-server", want[i])
			g, times := maskTimes(t, n.ID, got[i])
			if !bytes.Equal(w, g) {
				t.Errorf("%s on %s: exp %q (redis-server), got %q", quoteCommand(cmds[i]), n.ID, w, g)
			}
			if i != 0 && len(times) == 2 && times[0] != times[1] {
				t.Errorf("%s on %s: exp one time inside the entry, got %d and %d", quoteCommand(cmds[i]), n.ID, times[0], times[1])
			}
		}
		// The script's four strings are not an array of two: compare them
		// as the two times they are (redis-server's differ).
		if parsed, err := parseRaw(got[13]); err != nil || len(parsed.elems) != 4 ||
			!bytes.Equal(parsed.elems[0].str, parsed.elems[2].str) || !bytes.Equal(parsed.elems[1].str, parsed.elems[3].str) {
			t.Errorf("two TIMEs in one script on %s: exp equal, got %q", n.ID, got[13])
		}
	}
}
