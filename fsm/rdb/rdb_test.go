package rdb

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"strconv"
	"testing"
)

// Payloads redis-server 7.0.15 wrote (DUMP) or loads (RESTORE answers OK):
// SET hello; SET -12345; SET of 40 x's (LZF); SET 123456789012 (too wide
// for the integer encoding); RPUSH a b 1 2 300 70000 -5; RPUSH a 1 30 x's
// -70000 (an LZF-compressed listpack); a plain node; a linked list, a
// ziplist and a quicklist of ziplists holding a and 5.
var redisPayloads = []struct {
	name, payload string
	want          []string // the list's elements, or the string alone
	isList        bool
}{
	{"raw string", "\x00\x05hello\n\x00cr\xdfve4 \n", []string{"hello"}, false},
	{"int16 string", "\x00\xc1\xc7\xcf\x0a\x00\x67\xed\xa2\x36\xb4\xdb\x26\xd0", []string{"-12345"}, false},
	{"LZF string", "\x00\xc3\x09\x28\x01\x78\x78\xe0\x1b\x00\x01\x78\x78\x0a\x00\x7a\x1d\x6c\xce\xa5\x40\x13\x33", []string{string(bytes.Repeat([]byte("x"), 40))}, false},
	{"wide integer string", "\x00\x0c\x31\x32\x33\x34\x35\x36\x37\x38\x39\x30\x31\x32\x0a\x00\x91\x10\x01\xb1\xd1\x16\xe7\xac", []string{"123456789012"}, false},
	{"listpack node", "\x12\x01\x02\x1c\x1c\x00\x00\x00\a\x00\x81a\x02\x81b\x02\x01\x01\x02\x01\xc1,\x02\xf2p\x11\x01\x04\xdf\xfb\x02\xff\n\x00\x05\xa3/\x89\xef\xae\xffn",
		[]string{"a", "b", "1", "2", "300", "70000", "-5"}, true},
	{"LZF listpack node", "\x12\x01\x02\xc3\x19\x31\x0c\x31\x00\x00\x00\x04\x00\x81\x61\x02\x01\x01\x9e\x78\xe0\x14\x00\x06\x1f\xf2\x90\xee\xfe\x04\xff\x0a\x00\xe0\xa0\xd5\xe2\x83\x40\x2d\x24",
		[]string{"a", "1", string(bytes.Repeat([]byte("x"), 30)), "-70000"}, true},
	{"plain node", "\x12\x01\x01\x03\x61\x62\x63\x0a\x00\x0c\x37\x68\xde\x93\x60\x19\x5a", []string{"abc"}, true},
	{"linked list", "\x01\x02\x01\x61\xc0\x05\x0a\x00\x47\xa3\x77\x89\xf0\xcf\xbb\x97", []string{"a", "5"}, true},
	{"ziplist", "\x0a\x10\x10\x00\x00\x00\x0d\x00\x00\x00\x02\x00\x00\x01\x61\x03\xf6\xff\x0a\x00\x67\x82\x9e\x1e\x77\x56\xf8\x51", []string{"a", "5"}, true},
	{"quicklist of ziplists", "\x0e\x01\x10\x10\x00\x00\x00\x0d\x00\x00\x00\x02\x00\x00\x01\x61\x03\xf6\xff\x0a\x00\x14\x03\x37\x12\xc4\xbc\x9d\xfd", []string{"a", "5"}, true},
}

func TestCRC64IsRedisJones(t *testing.T) {
	if exp, got := uint64(0xe9c6d914c4b8d9ca), crc64(0, []byte("123456789")); exp != got {
		t.Fatalf("exp %#x, got %#x", exp, got)
	}
}

func TestDecodeReadsWhatRedisWrites(t *testing.T) {
	for _, p := range redisPayloads {
		t.Run(p.name, func(t *testing.T) {
			v, err := Decode([]byte(p.payload), 1<<20)
			if err != nil {
				t.Fatalf("exp no error, got %v", err)
			}
			got := []string{string(v.String)}
			if v.IsList {
				got = got[:0]
				for _, e := range v.List {
					got = append(got, string(e))
				}
			}
			if v.IsList != p.isList || strconv.Quote(string(bytes.Join(toBytes(p.want), []byte{0}))) != strconv.Quote(string(bytes.Join(toBytes(got), []byte{0}))) {
				t.Fatalf("exp list=%v %q, got list=%v %q", p.isList, p.want, v.IsList, got)
			}
		})
	}
}

// Dump writes the same bytes Redis wrote for the payloads above that a
// DUMP gives back (a plain node and the older encodings Redis converts).
func TestDumpWritesWhatRedisWrites(t *testing.T) {
	for _, p := range redisPayloads[:6] {
		var got []byte
		if p.isList {
			got = DumpList(toBytes(p.want))
		} else {
			got = DumpString([]byte(p.want[0]))
		}
		if exp := p.payload; exp != string(got) {
			t.Errorf("%s: exp %q, got %q", p.name, exp, got)
		}
	}
}

// Round trips over many shapes: integers of every listpack width and at
// the 32-bit edge of RDB's, strings either side of 20 bytes (LZF) and of
// the listpack string-length classes, lists spanning many nodes.
func TestDumpDecodeRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	edges := []string{"0", "-0", "127", "128", "-4096", "4095", "-4097", "32767", "-32768", "8388607", "-8388608",
		"2147483647", "-2147483648", "2147483648", "9223372036854775807", "-9223372036854775808",
		"9223372036854775808", "007", "+1", "", " 1", string(bytes.Repeat([]byte("a"), 63)), string(bytes.Repeat([]byte("a"), 64)),
		string(bytes.Repeat([]byte("ab"), 2048)), string(bytes.Repeat([]byte("z"), 21)), string(bytes.Repeat([]byte("q"), 9000))}
	for _, e := range edges {
		roundTrip(t, [][]byte{[]byte(e)})
	}
	for i := 0; i < 200; i++ {
		var l [][]byte
		for n := rng.IntN(2000) + 1; n > 0; n-- {
			e := []byte(edges[rng.IntN(len(edges))])
			if rng.IntN(2) == 0 {
				e = []byte(strconv.FormatInt(rng.Int64()>>rng.IntN(64), 10))
			}
			l = append(l, e)
		}
		roundTrip(t, l)
	}
}

func roundTrip(t *testing.T, l [][]byte) {
	t.Helper()
	v, err := Decode(DumpList(l), 1<<30)
	if err != nil || !v.IsList || len(v.List) != len(l) {
		t.Fatalf("list of %d: got %d elements, %v", len(l), len(v.List), err)
	}
	for i := range l {
		if !bytes.Equal(l[i], v.List[i]) {
			t.Fatalf("element %d: exp %q, got %q", i, l[i], v.List[i])
		}
	}
	s, err := Decode(DumpString(l[0]), 1<<30)
	if err != nil || s.IsList || !bytes.Equal(s.String, l[0]) {
		t.Fatalf("string %q: got %q, %v", l[0], s.String, err)
	}
}

// Hostile payloads: every lie a payload can tell is refused, with the
// same error, without allocating what it claims.
func TestDecodeRefusesHostilePayloads(t *testing.T) {
	lp := func(total uint32, count uint16, body string) string {
		b := binary.LittleEndian.AppendUint32(nil, total)
		b = binary.LittleEndian.AppendUint16(b, count)
		return string(append(append(b, body...), 0xFF))
	}
	node := func(blob string) string { return string(appendString(nil, []byte(blob), make([]int32, lzfHSize))) }
	good := "\x81a\x02"
	ok := "\x12\x01\x02" + node(lp(10, 1, good))
	if _, err := Decode(Seal([]byte(ok)), 1<<20); err != nil {
		t.Fatalf("the well-formed base case: %v", err)
	}
	cases := []struct {
		name, body string
		limit      int
	}{
		{"a hash", "\x04\x00", 1 << 20},
		{"an empty list", "\x01\x00", 1 << 20},
		{"a quicklist of no node", "\x12\x00", 1 << 20},
		{"a node count of 2^63 and no node", "\x12\x81\x80\x00\x00\x00\x00\x00\x00\x00", 1 << 20},
		{"a string claiming 4 GB", "\x00\x80\xff\xff\xff\xffab", 1 << 20},
		{"an LZF string claiming 2^60 bytes", "\x00\xc3\x02\x81\x10\x00\x00\x00\x00\x00\x00\x00\x00a", 1 << 20},
		{"an LZF string claiming more than its bytes can give", "\x00\xc3\x02\x80\x00\x01\x00\x00\x00a", 1 << 30},
		{"an LZF string whose back reference points before the start", "\x00\xc3\x02\x05\x20\x05", 1 << 20},
		{"an LZF string shorter than it claims", "\x00\xc3\x02\x05\x01ab", 1 << 20},
		{"a value over the limit", "\x00\x05hello", 4},
		{"a container that is neither plain nor packed", "\x12\x01\x03" + node(lp(10, 1, good)), 1 << 20},
		{"an empty plain node", "\x12\x01\x01\x00", 1 << 20},
		{"a listpack whose total size lies", "\x12\x01\x02" + node(lp(11, 1, good)), 1 << 20},
		{"a listpack whose count lies", "\x12\x01\x02" + node(lp(10, 2, good)), 1 << 20},
		{"a listpack entry running past the end", "\x12\x01\x02" + node(lp(10, 1, "\x85a\x02")), 1 << 20},
		{"a listpack entry with a wrong backlen", "\x12\x01\x02" + node(lp(10, 1, "\x81a\x03")), 1 << 20},
		{"a listpack 32-bit string claiming 4 GB", "\x12\x01\x02" + node(lp(14, 1, "\xf0\xff\xff\xff\xff\x05")), 1 << 20},
		{"a listpack with an unknown encoding", "\x12\x01\x02" + node(lp(9, 1, "\xf5\x01")), 1 << 20},
		{"a listpack without its end", "\x12\x01\x02" + node(lp(10, 1, good)[:9]+"\x00"), 1 << 20},
		{"a ziplist whose tail offset lies", "\x0a" + node("\x10\x00\x00\x00\x0c\x00\x00\x00\x02\x00\x00\x01a\x03\xf6\xff"), 1 << 20},
		{"a ziplist whose prevlen lies", "\x0a" + node("\x10\x00\x00\x00\x0d\x00\x00\x00\x02\x00\x00\x01a\x02\xf6\xff"), 1 << 20},
		{"a ziplist with an end marker inside", "\x0a" + node("\x10\x00\x00\x00\x0d\x00\x00\x00\x02\x00\x00\x01a\xff\xf6\xff"), 1 << 20},
		{"a ziplist string claiming 4 GB", "\x0a" + node("\x10\x00\x00\x00\x0a\x00\x00\x00\x01\x00\x00\x80\xff\xff\xff\xff"), 1 << 20},
		{"a ziplist of nothing", "\x0a" + node("\x0b\x00\x00\x00\x0a\x00\x00\x00\x00\x00\xff"), 1 << 20},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := Decode(Seal([]byte(c.body)), c.limit); !errors.Is(err, ErrFormat) {
				t.Fatalf("exp %v, got %v", ErrFormat, err)
			}
		})
	}
	for name, p := range map[string]string{
		"a wrong checksum":    ok + "\x0a\x00" + "12345678",
		"a newer RDB version": string(binary.LittleEndian.AppendUint64([]byte(ok+"\x0b\x00"), crc64(0, []byte(ok+"\x0b\x00")))),
		"no footer":           "\x00\x01a",
	} {
		if _, err := Decode([]byte(p), 1<<20); !errors.Is(err, ErrChecksum) {
			t.Errorf("%s: exp %v, got %v", name, ErrChecksum, err)
		}
	}
}

func toBytes(ss []string) [][]byte {
	out := make([][]byte, len(ss))
	for i, s := range ss {
		out[i] = []byte(s)
	}
	return out
}

// The limit counts what decoding allocates: a listpack's integers become
// digits longer than their entries (-4096 is 5 digits from 3 bytes), and
// each element a slice header.
func TestDecodeLimitCountsIntegerDigits(t *testing.T) {
	l := make([][]byte, 1000)
	for i := range l {
		l[i] = []byte("-4096")
	}
	need := (lpHeaderSize + 3*len(l) + 1) + len(l)*(elemOverhead+5)
	p := DumpList(l)
	if _, err := Decode(p, need); err != nil {
		t.Fatalf("limit %d: exp no error, got %v", need, err)
	}
	if _, err := Decode(p, need-1); !errors.Is(err, ErrFormat) {
		t.Fatalf("limit %d: exp %v, got %v", need-1, ErrFormat, err)
	}
}
