package lua

import (
	"strings"
	"testing"
	"time"
)

// Hostile library calls stop on the budget or on one of Redis's limits,
// on every node at the same point, and in bounded time.
func TestLibrariesStopOnTheBudget(t *testing.T) {
	instr := "ERR Script stopped: it ran more than"
	bytes := "ERR Script stopped: it created more than"
	for _, tc := range []struct{ name, body, want string }{
		{"cmsgpack packs a table that holds itself three times (3^16 values)",
			"local t = {} t[1] = t t[2] = t t[3] = t return #cmsgpack.pack(t)", instr},
		{"cjson encodes 300 MB of one string repeated",
			"local s = string.rep('x', 1000000) local t = {} for i = 1, 300 do t[i] = s end return #cjson.encode(t)", bytes},
		{"cjson encodes a wide table many times",
			"local t = {} for i = 1, 1000 do t[i] = {1, 2, 3, 4, 5, 6, 7, 8} end for i = 1, 10000 do cjson.encode(t) end", instr},
		{"cjson decodes a long array many times",
			"local s = '[' .. string.rep('1,', 100000) .. '1]' for i = 1, 1000 do cjson.decode(s) end", instr},
		{"cmsgpack unpacks an array claiming 2^32-1 elements of empty arrays",
			"local s = string.char(0xdd, 255, 255, 255, 255) .. string.rep(string.char(0x90), 2000000) for i = 1, 100 do pcall(cmsgpack.unpack, s) end", instr},
		{"cmsgpack packs 300 MB", "local s = string.rep('x', 1000000) local t = {} for i = 1, 300 do t[i] = s end return #cmsgpack.pack(unpack(t))", bytes},
		{"struct packs 300 MB", "local s = string.rep('x', 1000000) local t = {} for i = 1, 300 do t[i] = s end return #struct.pack(string.rep('c0', 300), unpack(t))", bytes},
		{"struct unpacks a long format many times", "local f = string.rep('b', 7000) local s = string.rep('x', 7000) for i = 1, 10000 do struct.unpack(f, s) end", instr},
		{"bit folds long argument lists many times", "local t = {} for i = 1, 7000 do t[i] = i end for i = 1, 100000 do bit.bxor(unpack(t)) end", instr},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			got := run(t, &Pool{}, newFakeHost(), tc.body, nil, nil)
			if !strings.HasPrefix(got, "-"+tc.want) {
				t.Fatalf("exp %q..., got %q", tc.want, clip(got))
			}
			// Generous: the budget is counted, not timed; this only catches
			// work that escaped the count (minutes, not seconds).
			if d := time.Since(start); d > 20*time.Second {
				t.Fatalf("exp the budget to stop it in bounded time, took %v", d)
			}
		})
	}
}

// Each library function charges for its work: a script that builds its
// input within a budget is stopped once it also runs the function on it,
// with the same budget.
func TestLibrariesChargeTheirWork(t *testing.T) {
	b := Budget{Instructions: 600_000, Bytes: MaxBytes}
	for _, tc := range []struct{ name, build, work string }{
		{"cjson.encode", "local t = {} for i = 1, 20000 do t[i] = i end", "cjson.encode(t)"},
		{"cjson.decode", "local t = '[' .. string.rep('1,', 100000) .. '1]'", "cjson.decode(t)"},
		{"cmsgpack.pack", "local t = {} for i = 1, 20000 do t[i] = i end", "cmsgpack.pack(t)"},
		{"cmsgpack.unpack", "local t = string.rep(string.char(1), 7000)", "cmsgpack.unpack(t)"},
		{"struct.unpack", "local t = string.rep('b', 7000)", "struct.unpack(t, t)"},
		{"redis.sha1hex", "local t = string.rep('x', 10000000)", "redis.sha1hex(t)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, c := range []struct {
				body string
				ok   bool
			}{{tc.build + " return 1", true}, {tc.build + " for i = 1, 100 do " + tc.work + " end return 1", false}} {
				s, err := Load([]byte(c.body))
				if err != nil {
					t.Fatal(err)
				}
				got := wire((&Pool{}).Run(s, nil, nil, newFakeHost(), b))
				if stopped := strings.Contains(got, "Script stopped"); stopped == c.ok {
					t.Fatalf("%q: exp stopped %v, got %q", c.body, !c.ok, clip(got))
				}
			}
		})
	}
}
