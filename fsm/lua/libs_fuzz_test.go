package lua

import (
	"strings"
	"testing"
)

// fuzzDecoder runs body with the fuzzer's bytes as ARGV[1] on a machine
// reused across inputs and on a fresh one: both must answer the same,
// the run must end (on the budget at worst) without breaking the
// machine, and no shared table may change (TestMain counts taints).
func fuzzDecoder(f *testing.F, body string, seeds ...string) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	s, err := Load([]byte(body))
	if err != nil {
		f.Fatal(err)
	}
	warm := &Pool{}
	small := Budget{Instructions: 200_000, Bytes: 16 << 20}
	f.Fuzz(func(t *testing.T, data []byte) {
		argv := [][]byte{data}
		a := wire(warm.Run(s, nil, argv, newFakeHost(), small))
		b := wire((&Pool{}).Run(s, nil, argv, newFakeHost(), small))
		if a != b {
			t.Fatalf("input %q: a reused machine answered %q, a fresh one %q", data, clip(a), clip(b))
		}
		if strings.Contains(a, "the Lua engine failed") {
			t.Fatalf("input %q: a Go panic escaped: %q", data, clip(a))
		}
	})
}

func FuzzCmsgpackUnpack(f *testing.F) {
	fuzzDecoder(f, `local r = {pcall(cmsgpack.unpack, ARGV[1])}
		local ok, packed = pcall(cmsgpack.pack, unpack(r))
		return {r[1], #r, ok and packed or 'unpackable', {pcall(cmsgpack.unpack_limit, ARGV[1], 3, 1)}}`,
		"\x93\x01\xc0\x03", "\xdd\xff\xff\xff\xff\x90", "\x81\xc0\x01", "\xdf\x00\x00\x00\x02\xa1a\x01\xa1b\xcb\x3f\xb9\x99\x99\x99\x99\x99\x9a",
		"\xcf\xff\xff\xff\xff\xff\xff\xff\xff", "\xdb\x7f\xff\xff\xff", "\xc1", strings.Repeat("\x91", 4100)+"\x01")
}

func FuzzCjsonDecode(f *testing.F) {
	fuzzDecoder(f, `local ok, v = pcall(cjson.decode, ARGV[1])
		if not ok then return {0, v} end
		local ok2, s = pcall(cjson.encode, v)
		return {1, ok2 and s or 'unencodable: ' .. s}`,
		`[1,2,{"a":null}]`, `"\ud83d\ude00"`, `{"a":[1e500,-0,0.1]}`, `nan`, `0x1p4`, strings.Repeat("[", 1001), `"\u0000"`, "[1]\x00x", `{"a":1,}`)
}
