package tests

import (
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

var flagLibsRecord = flag.Bool("libs.record", false, "rewrite fsm/lua/testdata/libs_redis.txt from redis-server's answers to the Lua library corpus")

// libCase is one script of the Lua library corpus (fsm/lua/testdata).
type libCase struct{ name, body string }

func readLibCorpus(t *testing.T) []libCase {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "fsm", "lua", "testdata", "libs_corpus.lua"))
	if err != nil {
		t.Fatal(err)
	}
	var out []libCase
	for _, part := range strings.Split(string(data), "--- ")[1:] {
		name, body, _ := strings.Cut(part, "\n")
		out = append(out, libCase{name, strings.TrimSuffix(body, "\n")})
	}
	return out
}

// The Lua libraries Redis scripts use (cjson, cmsgpack, bit, struct and
// the redis helpers) answer byte for byte as redis-server 7.0.15: every
// script of the corpus runs on a real redis-server and on a three-node
// cluster, by EVAL through the leader and through a follower (which
// forwards it to the log) and by EVAL_RO on a follower (which runs it
// locally). The answers redis-server gave are also kept in
// fsm/lua/testdata/libs_redis.txt, which the lua package's own test
// holds its runtime to; -libs.record rewrites that file.
func TestLuaLibrariesAnswerAsRedis(t *testing.T) {
	corpus := readLibCorpus(t)
	rs := mustStartRedis(t)
	rc := mustDial(t, rs.Addr)
	want := make([]string, len(corpus))
	for i, c := range corpus {
		r, err := rc.doStr("EVAL", c.body, "0")
		if err != nil {
			t.Fatalf("%s: redis-server: %v", c.name, err)
		}
		want[i] = string(r)
	}
	golden := filepath.Join("..", "fsm", "lua", "testdata", "libs_redis.txt")
	if *flagLibsRecord {
		var b strings.Builder
		for i, c := range corpus {
			b.WriteString("--- " + c.name + "\n" + strconv.Quote(want[i]) + "\n")
		}
		if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	c := mustStartCluster(t, 3)
	leader := mustLeader(t, c)
	f := followers(c, leader)[0]
	lc, fc := mustDial(t, leader.ClientAddr), mustDial(t, f.ClientAddr)
	for i, cs := range corpus {
		for _, via := range []struct {
			name string
			conn *rawConn
			cmd  string
		}{{"EVAL on the leader", lc, "EVAL"}, {"EVAL through a follower", fc, "EVAL"}, {"EVAL_RO on a follower", fc, "EVAL_RO"}} {
			got, err := via.conn.doStr(via.cmd, cs.body, "0")
			if err != nil {
				t.Fatalf("%s, %s: %v", cs.name, via.name, err)
			}
			// The corpus writes nothing, so EVAL_RO answers as EVAL.
			exp := want[i]
			if string(got) != exp {
				t.Errorf("%s, %s:\nexp %q (redis-server)\ngot %q", cs.name, via.name, trim(exp), trim(string(got)))
			}
		}
	}
	mustConverge(t, c)
}

func trim(s string) string {
	if len(s) > 600 {
		return s[:600] + "..."
	}
	return s
}
