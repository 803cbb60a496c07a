package lua

import (
	"os"
	"strconv"
	"strings"
	"testing"
)

// libCase is one script of the library corpus and what redis-server
// 7.0.15 answered to it (recorded by the tests package's
// TestLuaLibrariesAnswerAsRedis -libs.record, which also compares live).
type libCase struct{ name, body, redis string }

func libCorpus(t testing.TB) []libCase {
	t.Helper()
	src, err := os.ReadFile("testdata/libs_corpus.lua")
	if err != nil {
		t.Fatal(err)
	}
	rec, err := os.ReadFile("testdata/libs_redis.txt")
	if err != nil {
		t.Fatal(err)
	}
	recorded := make(map[string]string)
	for _, part := range strings.Split(string(rec), "--- ")[1:] {
		name, quoted, _ := strings.Cut(strings.TrimSuffix(part, "\n"), "\n")
		r, err := strconv.Unquote(quoted)
		if err != nil {
			t.Fatalf("libs_redis.txt, %s: %v", name, err)
		}
		recorded[name] = r
	}
	var out []libCase
	for _, part := range strings.Split(string(src), "--- ")[1:] {
		name, body, _ := strings.Cut(part, "\n")
		r, ok := recorded[name]
		if !ok {
			t.Fatalf("no answer of redis-server recorded for %q: run go test ./tests -run TestLuaLibrariesAnswerAsRedis -libs.record", name)
		}
		out = append(out, libCase{name, strings.TrimSuffix(body, "\n"), r})
	}
	return out
}

// Every script of the library corpus answers byte for byte what
// redis-server 7.0.15 answered, on a cold machine and again on a warm one
// (the pool's machines after every other script ran).
func TestLibrariesAnswerAsRedis(t *testing.T) {
	corpus := libCorpus(t)
	warm := &Pool{}
	for round, pool := range []func() *Pool{func() *Pool { return &Pool{} }, func() *Pool { return warm }, func() *Pool { return warm }} {
		for _, c := range corpus {
			if got := run(t, pool(), newFakeHost(), c.body, nil, nil); got != c.redis {
				t.Errorf("round %d, %s:\nexp %q (redis-server)\ngot %q", round, c.name, clip(c.redis), clip(got))
			}
		}
	}
}

func clip(s string) string {
	if len(s) > 400 {
		return s[:400] + "..."
	}
	return s
}
