package resp

import (
	"bytes"
	"math"
)

// ParseInt parses a signed 64-bit integer exactly as Redis's string2ll:
// no spaces, no '+', no leading zeros, nothing after the digits.
func ParseInt(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 20 {
		return 0, false
	}
	if len(b) == 1 && b[0] == '0' {
		return 0, true
	}
	neg := b[0] == '-'
	if neg {
		b = b[1:]
		if len(b) == 0 {
			return 0, false
		}
	}
	if b[0] < '1' || b[0] > '9' {
		return 0, false
	}
	var v uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		if v > (math.MaxUint64-uint64(c-'0'))/10 {
			return 0, false
		}
		v = v*10 + uint64(c-'0')
	}
	if neg {
		if v > uint64(math.MaxInt64)+1 {
			return 0, false
		}
		return int64(-v), true
	}
	if v > math.MaxInt64 {
		return 0, false
	}
	return int64(v), true
}

// IsOption reports whether arg is the option word as Redis's strcasecmp
// decides: ASCII case ignored, and the argument read only up to a NUL byte
// (Redis compares C strings), so "sync\x00junk" is SYNC. Command and
// subcommand names are not options: Redis looks them up whole in a table
// ("client\x00" is an unknown command).
func IsOption(arg []byte, word string) bool {
	arg = CString(arg)
	return len(arg) == len(word) && bytes.EqualFold(arg, []byte(word))
}

// CString cuts arg at its first NUL, as C sees a string.
func CString(arg []byte) []byte {
	if i := bytes.IndexByte(arg, 0); i >= 0 {
		return arg[:i]
	}
	return arg
}
