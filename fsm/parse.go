package fsm

import (
	"bytes"
	"math"
)

// parseInt parses a signed 64-bit integer exactly as Redis's string2ll:
// no spaces, no '+', no leading zeros, nothing after the digits.
func parseInt(b []byte) (int64, bool) {
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

// intArg parses an integer argument or returns Redis's "not an integer"
// error.
func intArg(b []byte) (int64, error) {
	v, ok := parseInt(b)
	if !ok {
		return 0, ErrNotInteger
	}
	return v, nil
}

// isWord reports whether arg is the option word as Redis's strcasecmp
// decides: ASCII case ignored, and the argument read only up to a NUL byte
// (Redis compares C strings), so "sync\x00junk" is SYNC.
func isWord(arg []byte, word string) bool {
	arg = cString(arg)
	return len(arg) == len(word) && bytes.EqualFold(arg, []byte(word))
}

// cString cuts arg at its first NUL, as C sees a string.
func cString(arg []byte) []byte {
	if i := bytes.IndexByte(arg, 0); i >= 0 {
		return arg[:i]
	}
	return arg
}

// ParseInt parses an integer exactly as Redis does (string2ll), for
// arguments the front door checks itself.
func ParseInt(b []byte) (int64, bool) { return parseInt(b) }
