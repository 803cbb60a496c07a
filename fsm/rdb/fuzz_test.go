package rdb

import (
	"bytes"
	"testing"
)

// FuzzDecode feeds Decode arbitrary payloads, from a seed corpus of
// redis-server's own DUMPs and of raftlist's; with seal, the fuzzed bytes
// are a value given a right footer, so that mutations reach the decoder
// past the checksum. Whatever the bytes, Decode
// returns (never panics), keeps within its limit, answers the same twice,
// and what it accepts DUMPs again to a payload that decodes to the same
// value.
func FuzzDecode(f *testing.F) {
	seeds := [][]byte{
		DumpList([][]byte{[]byte("a"), []byte("-70000"), bytes.Repeat([]byte("xy"), 5000), []byte("9223372036854775807")}),
		DumpString(bytes.Repeat([]byte("abc"), 30)),
	}
	for _, p := range redisPayloads {
		seeds = append(seeds, []byte(p.payload))
	}
	addPayloadSeeds(f, seeds)
	const limit = 1 << 20
	f.Fuzz(func(t *testing.T, payload []byte, seal bool) {
		if seal {
			payload = Seal(payload)
		}
		v, err := Decode(payload, limit)
		v2, err2 := Decode(payload, limit)
		if err != err2 || !sameValue(v, v2) {
			t.Fatalf("two decodes differ: %v / %v", err, err2)
		}
		if err != nil {
			return
		}
		size := len(v.String)
		for _, e := range v.List {
			size += len(e) + elemOverhead
		}
		if size > limit {
			t.Fatalf("decoded %d bytes, over the limit %d", size, limit)
		}
		again := DumpString(v.String)
		if v.IsList {
			again = DumpList(v.List)
		}
		v3, err := Decode(again, 4*limit)
		if err != nil || !sameValue(v, v3) {
			t.Fatalf("re-DUMPed value does not decode back: %v", err)
		}
	})
}

func sameValue(a, b Value) bool {
	if a.IsList != b.IsList || !bytes.Equal(a.String, b.String) || len(a.List) != len(b.List) {
		return false
	}
	for i := range a.List {
		if !bytes.Equal(a.List[i], b.List[i]) {
			return false
		}
	}
	return true
}

// addPayloadSeeds seeds a payload fuzz target with each payload whole, and
// with its footer cut off for the target to seal again (so that mutations
// reach the records behind a right checksum).
func addPayloadSeeds(f *testing.F, seeds [][]byte) {
	for _, p := range seeds {
		f.Add(p, false)
		f.Add(p[:len(p)-10], true)
	}
}
