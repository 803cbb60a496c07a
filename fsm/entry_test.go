package fsm

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
)

// ksEntries are well-formed entries of every kind, for round trips and
// as fuzz seeds.
var ksEntries = []struct {
	name string
	e    *Entry
}{
	{"a command entry with one command", ksCommandsEntry(0, "SET", "a", "1")},
	{"a command entry with several commands in several databases", &Entry{Kind: KindCommands, TimeMs: 1_700_000_000_123, Cmds: []Cmd{
		{DB: 0, Owner: "n1:7", Seq: 1, Args: ksArgv([]string{"RPUSH", "l", "a", "b"})},
		{DB: 15, Owner: "n2:8", Seq: math.MaxUint64, Args: ksArgv([]string{"LPOP", "l"})},
		{DB: 3, Owner: "", Seq: 0, Args: ksArgv([]string{"DEL", "x", "y", "z"})},
	}}},
	{"a command entry with binary, empty and large arguments", &Entry{Kind: KindCommands, TimeMs: -1, Cmds: []Cmd{
		{DB: 1, Owner: "own\x00er", Seq: 42, Args: [][]byte{[]byte("RPUSH"), []byte("k\r\n"), []byte("\x00\xff"), nil, []byte(strings.Repeat("v", 70000))}},
	}}},
	{"a command entry with no command", &Entry{Kind: KindCommands, TimeMs: math.MaxInt64}},
	{"a term-start entry", &Entry{Kind: KindTermStart, TimeMs: math.MinInt64, Node: NodeMeta{ID: "n1", RespAddr: "127.0.0.1:6379"}}},
	{"a node entry that records a member", &Entry{Kind: KindNodeMeta, TimeMs: 5, Node: NodeMeta{ID: "n2", RespAddr: "127.0.0.2:6379"}}},
	{"a node entry that forgets a member", &Entry{Kind: KindNodeMeta, Node: NodeMeta{ID: "n3", Remove: true}}},
	{"an ack entry", &Entry{Kind: KindAck, TimeMs: 9, Ack: Ack{Owner: "n1/7", Seqs: []uint64{1, 300, math.MaxUint64}}}},
	{"an ack entry with no seq", &Entry{Kind: KindAck, Ack: Ack{Owner: "n1/7", Seqs: []uint64{}}}},
	{"an expiry entry", &Entry{Kind: KindExpire, TimeMs: -3, Expire: ExpireCycle{Limit: math.MaxUint64}}},
}

func TestEntryRoundTrip(t *testing.T) {
	for _, tc := range ksEntries {
		t.Run(tc.name+" decodes to itself", func(t *testing.T) {
			got, err := DecodeEntry(tc.e.Encode())
			if err != nil {
				t.Fatalf("exp nil error, got %v", err)
			}
			exp := ksNormalize(tc.e)
			if !reflect.DeepEqual(exp, got) {
				t.Fatalf("exp %+v, got %+v", exp, got)
			}
		})
	}
}

// ksNormalize returns e as the decoder builds it: empty arguments nil and
// command lists non-nil.
func ksNormalize(e *Entry) *Entry {
	c := *e
	if c.Kind == KindCommands {
		c.Cmds = []Cmd{}
		for _, cmd := range e.Cmds {
			args := [][]byte{}
			for _, a := range cmd.Args {
				if len(a) == 0 {
					a = nil
				}
				args = append(args, a)
			}
			cmd.Args = args
			c.Cmds = append(c.Cmds, cmd)
		}
	}
	return &c
}

func TestDecodeEntryRefusesBadInput(t *testing.T) {
	valid := ksCommandsEntry(0, "SET", "a", "1").Encode()
	cmd := func(db uint64, args ...string) []byte {
		b := []byte{formatV1, byte(KindCommands), 0, 1}
		b = binary.AppendUvarint(b, db)
		b = appendBytes(b, []byte("owner"))
		b = binary.AppendUvarint(b, 1)
		b = binary.AppendUvarint(b, uint64(len(args)))
		for _, a := range args {
			b = appendBytes(b, []byte(a))
		}
		return b
	}
	for _, tc := range []struct {
		name string
		data []byte
		is   error
	}{
		{"an empty entry is corrupt", nil, ErrCorruptEntry},
		{"format 0 never existed", append([]byte{0}, valid[1:]...), ErrCorruptEntry},
		{"a version alone is corrupt", []byte{formatV1}, ErrCorruptEntry},
		{"kind 0 is unknown", []byte{formatV1, 0, 0}, ErrCorruptEntry},
		{"kind 200 is unknown", []byte{formatV1, 200, 0}, ErrCorruptEntry},
		{"a trailing byte is corrupt", append(toV1(valid), 0), ErrCorruptEntry},
		{"a command count past the data is corrupt", []byte{formatV1, byte(KindCommands), 0, 100}, ErrCorruptEntry},
		{"an argument length past the data is corrupt", cmd(0, "GET")[:len(cmd(0, "GET"))-1], ErrCorruptEntry},
		{"an overlong varint time is corrupt", []byte{formatV1, byte(KindCommands), 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 0}, ErrCorruptEntry},
		{"database 16 does not exist", cmd(16, "GET", "a"), ErrCorruptEntry},
		{"a database number that overflows int does not exist", cmd(1<<63, "DBSIZE"), ErrCorruptEntry},
		{"the largest database number does not exist", cmd(math.MaxUint64, "DBSIZE"), ErrCorruptEntry},
		{"a command without arguments is corrupt", cmd(0), ErrCorruptEntry},
		{"a node entry cut short is corrupt", []byte{formatV1, byte(KindNodeMeta), 0, 2, 'n'}, ErrCorruptEntry},
		{"format 4 is newer", append([]byte{FormatVersion + 1}, valid[1:]...), ErrNewerFormat},
		{"format 255 is newer, whatever follows", []byte{255, 0xff, 0xff}, ErrNewerFormat},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, err := DecodeEntry(tc.data)
			if !errors.Is(err, tc.is) {
				t.Fatalf("exp an error wrapping %v, got %v (entry %+v)", tc.is, err, e)
			}
			if e != nil {
				t.Fatalf("exp no entry, got %+v", e)
			}
			if len(tc.data) == 0 || tc.data[0] != formatV1 {
				return
			}
			// The same structure in format 2, with a valid checksum: the
			// checksum vouches for the bytes, never for their meaning.
			e, err = DecodeEntry(withSum(tc.data))
			if !errors.Is(err, tc.is) || errors.Is(err, ErrEntryChecksum) || e != nil {
				t.Fatalf("format 2: exp an error wrapping %v (not a checksum mismatch), got %v (entry %+v)", tc.is, err, e)
			}
		})
	}
	t.Run("a newer format names its number", func(t *testing.T) {
		_, err := DecodeEntry([]byte{FormatVersion + 1})
		if exp, got := fmt.Sprintf("log entry format %d is newer than this binary; upgrade", FormatVersion+1), err.Error(); exp != got {
			t.Fatalf("exp %q, got %q", exp, got)
		}
	})
	t.Run("every cut of a valid entry is corrupt", func(t *testing.T) {
		for _, tc := range ksEntries {
			b := tc.e.Encode()
			for n := 0; n < len(b); n++ {
				if _, err := DecodeEntry(b[:n]); !errors.Is(err, ErrCorruptEntry) {
					t.Fatalf("%s cut at %d of %d: exp ErrCorruptEntry, got %v", tc.name, n, len(b), err)
				}
			}
		}
	})
}

// FuzzDecodeEntry checks that no input makes DecodeEntry panic, that what
// it accepts encodes back to an equal entry, and that applying an accepted
// entry never panics either: a committed entry is applied on every node.
func FuzzDecodeEntry(f *testing.F) {
	for _, tc := range ksEntries {
		f.Add(tc.e.Encode())
	}
	for _, tc := range txEntries { // multi_test.go
		f.Add(tc.e.Encode())
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := DecodeEntry(data)
		if err != nil {
			if !errors.Is(err, ErrCorruptEntry) && !errors.Is(err, ErrNewerFormat) {
				t.Fatalf("exp ErrCorruptEntry or ErrNewerFormat, got %v", err)
			}
			return
		}
		again, err := DecodeEntry(e.Encode())
		if err != nil {
			t.Fatalf("re-decode: exp nil error, got %v", err)
		}
		if !reflect.DeepEqual(e, again) {
			t.Fatalf("exp %+v, got %+v", e, again)
		}
		res := NewState().Apply(1, 1, e)
		if e.Kind == KindCommands && len(res.Replies) != len(e.Cmds) {
			t.Fatalf("exp %d replies, got %d", len(e.Cmds), len(res.Replies))
		}
	})
}
