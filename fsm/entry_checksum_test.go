package fsm

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"reflect"
	"strings"
	"testing"

	"github.com/hashicorp/raft"
)

// A digit flipped on disk inside a committed entry (the fault test's
// corrupt fault, issue 14) keeps the entry's structure valid: only a
// checksum can tell.

// flipDigit flips the low bit of the first ASCII digit at or after from
// ('0'↔'1', … '8'↔'9') in a copy of b.
func flipDigit(t *testing.T, b []byte, from int) []byte {
	t.Helper()
	out := append([]byte(nil), b...)
	for i := from; i < len(out); i++ {
		if '0' <= out[i] && out[i] <= '9' {
			out[i] ^= 1
			return out
		}
	}
	t.Fatalf("no digit in %q after %d", b, from)
	return nil
}

func canaryEntry() *Entry {
	return ksCommandsEntry(0, "SET", "jepsen:canary:3", "canary3-"+strings.Repeat("0123456789", 100))
}

func TestDecodeEntryRefusesAFlippedDigit(t *testing.T) {
	b := canaryEntry().Encode()
	damaged := flipDigit(t, b, bytes.Index(b, []byte("canary3-"))+len("canary3-")+500)
	e, err := DecodeEntry(damaged)
	if !errors.Is(err, ErrCorruptEntry) {
		t.Fatalf("exp ErrCorruptEntry for an entry with a flipped digit, got %v (entry decoded: %v)", err, e != nil)
	}
}

func TestMachineHaltsOnAFlippedDigit(t *testing.T) {
	m := NewMachine()
	ksApplyAll(t, m, []*raft.Log{ksMakeLog(1, 1, ksCommandsEntry(0, "SET", "a", "1"))})
	before := ksDigest(t, m)
	b := canaryEntry().Encode()
	damaged := flipDigit(t, b, bytes.Index(b, []byte("canary3-"))+len("canary3-"))
	res := m.Apply(&raft.Log{Index: 2, Term: 1, Type: raft.LogCommand, Data: damaged})
	err, ok := res.(error)
	if !ok || !errors.Is(err, ErrCorruptEntry) {
		t.Fatalf("exp the machine to refuse the damaged entry with ErrCorruptEntry, got %#v", res)
	}
	if m.Halted() == nil {
		t.Fatalf("exp the machine halted")
	}
	if m.AppliedIndex() != 1 {
		t.Fatalf("exp applied index 1, got %d", m.AppliedIndex())
	}
	if exp, got := before, m.st.Digest(); exp != got { // View refuses a halted machine
		t.Fatalf("exp the state untouched (digest %s), got %s", exp, got)
	}
}

func TestEntryChecksum(t *testing.T) {
	t.Run("every bit flipped after the version byte is a checksum mismatch", func(t *testing.T) {
		for _, tc := range ksEntries {
			b := tc.e.Encode()
			if b[0] != FormatVersion {
				t.Fatalf("exp the encoder to write format %d, got %d", FormatVersion, b[0])
			}
			for i := 1; i < len(b); i++ {
				if len(b) > 1000 && i%97 != 0 { // the 70 KB argument: a sample
					continue
				}
				for bit := 0; bit < 8; bit++ {
					d := append([]byte(nil), b...)
					d[i] ^= 1 << bit
					_, err := DecodeEntry(d)
					if !errors.Is(err, ErrEntryChecksum) || !errors.Is(err, ErrCorruptEntry) {
						t.Fatalf("%s, byte %d bit %d: exp ErrEntryChecksum and ErrCorruptEntry, got %v", tc.name, i, bit, err)
					}
					if VerifyEntry(d) == nil {
						t.Fatalf("%s, byte %d bit %d: VerifyEntry accepted it", tc.name, i, bit)
					}
				}
			}
			if err := VerifyEntry(b); err != nil {
				t.Fatalf("%s: VerifyEntry of the undamaged entry: %v", tc.name, err)
			}
		}
	})
	t.Run("the message names the checksums", func(t *testing.T) {
		b := canaryEntry().Encode()
		_, err := DecodeEntry(flipDigit(t, b, 20))
		if !strings.HasPrefix(err.Error(), "corrupt log entry: checksum mismatch (stored ") {
			t.Fatalf("got %q", err)
		}
	})
	t.Run("format 1 entries (no checksum) still decode, to the same entry", func(t *testing.T) {
		for _, tc := range ksEntries {
			v1 := toV1(tc.e.Encode())
			got, err := DecodeEntry(v1)
			if err != nil {
				t.Fatalf("%s: exp nil error, got %v", tc.name, err)
			}
			exp := ksNormalize(tc.e)
			exp.OldFormat = formatV1 // the only difference: its commands keep format 1's meaning
			if !reflect.DeepEqual(exp, got) {
				t.Fatalf("%s: exp %+v, got %+v", tc.name, exp, got)
			}
			if err := VerifyEntry(v1); err != nil {
				t.Fatalf("%s: VerifyEntry: %v", tc.name, err)
			}
			if _, err := DecodeEntry(append(v1, 0)); !errors.Is(err, ErrCorruptEntry) {
				t.Fatalf("%s: exp a trailing byte after format 1 corrupt, got %v", tc.name, err)
			}
		}
	})
	t.Run("VerifyEntry leaves a newer format to the apply path and refuses the rest", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			data []byte
			ok   bool
		}{
			{"newer", []byte{FormatVersion + 1, 1, 2, 3}, true},
			{"empty", nil, false},
			{"format 0", []byte{0, 1, 0, 0}, false},
			{"format 2 shorter than a checksum", []byte{FormatVersion, 1, 0}, false},
			{"format 1 undecodable", []byte{formatV1, 99, 0}, false},
		} {
			if err := VerifyEntry(tc.data); (err == nil) != tc.ok {
				t.Errorf("%s: exp ok=%v, got %v", tc.name, tc.ok, err)
			}
		}
	})
}

// toV1 turns a format 2 encoding into the format 1 encoding of the same
// entry: the same bytes without the checksum.
func toV1(b []byte) []byte {
	v1 := append([]byte(nil), b[:len(b)-checksumLen]...)
	v1[0] = formatV1
	return v1
}

// withSum turns a format 1 encoding into format 2, checksum included.
func withSum(b []byte) []byte {
	v2 := append([]byte(nil), b...)
	if len(v2) > 0 {
		v2[0] = FormatVersion
	}
	return binary.LittleEndian.AppendUint32(v2, crc32.Checksum(v2, castagnoli))
}
