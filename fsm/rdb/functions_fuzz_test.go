package rdb

import (
	"bytes"
	"slices"
	"testing"
)

// redisFunctionDump is redis-server 7.0.15's FUNCTION DUMP of one library
// (redis-cli FUNCTION DUMP | xxd): RDB_OPCODE_FUNCTION2, the code, RDB
// version 10, CRC64.
var redisFunctionDump = []byte("\xf5\x40\x42#!lua name=r\nredis.register_function('r', function() return 1 end)\n\x00\xaf\x10\x4f\x23\xa1\xb2\x97\x08")

func TestDumpFunctionsIsRedisBytes(t *testing.T) {
	code := "#!lua name=r\nredis.register_function('r', function() return 1 end)"
	if got := DumpFunctions([]string{code}); !bytes.Equal(got, redisFunctionDump) {
		t.Fatalf("exp %q, got %q", redisFunctionDump, got)
	}
	codes, err := DecodeFunctions(redisFunctionDump, 1<<20)
	if err != nil || !slices.Equal(codes, []string{code}) {
		t.Fatalf("decode: %q %v", codes, err)
	}
	old := Seal(append(appendString(appendString([]byte{opFunction}, []byte("lib"), nil), []byte("LUA"), nil), append([]byte{1}, appendString(appendString(nil, []byte("desc"), nil), []byte("return 1"), nil)...)...))
	if codes, err := DecodeFunctions(old, 1<<20); err != nil || !slices.Equal(codes, []string{"#!LUA name=lib\nreturn 1"}) {
		t.Fatalf("old format: %q %v", codes, err)
	}
}

// FuzzDecodeFunctions feeds DecodeFunctions arbitrary payloads (with
// seal, given a right footer so that mutations reach the records). It
// returns, never panics, keeps within its limit, answers the same twice,
// and what it accepts as new-format records dumps again to a payload that
// decodes to the same codes.
func FuzzDecodeFunctions(f *testing.F) {
	seeds := [][]byte{redisFunctionDump, DumpFunctions([]string{"#!lua name=a\n" + string(bytes.Repeat([]byte("x = 1 "), 40)), "#!lua name=b\n"})}
	addPayloadSeeds(f, seeds)
	const limit = 1 << 20
	f.Fuzz(func(t *testing.T, payload []byte, seal bool) {
		if seal {
			payload = Seal(payload)
		}
		codes, err := DecodeFunctions(payload, limit)
		codes2, err2 := DecodeFunctions(payload, limit)
		if (err == nil) != (err2 == nil) || (err != nil && err.Error() != err2.Error()) || !slices.Equal(codes, codes2) {
			t.Fatalf("two decodes differ: %v / %v", err, err2)
		}
		if err != nil {
			return
		}
		size := 0
		for _, c := range codes {
			size += len(c)
		}
		if size > limit+64*len(codes) {
			t.Fatalf("decoded %d bytes, over the limit %d", size, limit)
		}
		again, err := DecodeFunctions(DumpFunctions(codes), limit+64*len(codes))
		if err != nil || !slices.Equal(again, codes) {
			t.Fatalf("round trip: %v", err)
		}
	})
}
