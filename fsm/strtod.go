package fsm

import (
	"math"
	"strconv"
)

// strtod is how Redis's SORT reads a score: glibc's strtod over the value
// as a C string (up to its first NUL), which must read all of it, refusing
// NaN and a result out of range (ERANGE: an overflow, or an underflow to
// zero or to a subnormal). It takes what strtod takes and Go's ParseFloat
// does not (leading white space, hexadecimal without an exponent) and
// refuses what ParseFloat takes and strtod does not (underscores).
func strtod(b []byte) (float64, bool) {
	s := b
	for i, c := range b {
		if c == 0 {
			s = b[:i]
			break
		}
	}
	if len(s) == 0 {
		return 0, true // strtod reads nothing: 0, and the end is the NUL
	}
	for len(s) > 0 && isCSpace(s[0]) {
		s = s[1:]
	}
	if len(s) == 0 {
		return 0, false // white space alone: no number, the end is its start
	}
	body := s
	if body[0] == '+' || body[0] == '-' {
		body = body[1:]
	}
	hex := len(body) > 2 && body[0] == '0' && (body[1] == 'x' || body[1] == 'X')
	hasExp, nonZero := false, false
	for i, c := range body {
		switch {
		case c == '_':
			return 0, false
		case hex && i > 1 && (c == 'p' || c == 'P'):
			hasExp = true
		case !hasExp && !hex && (c == 'e' || c == 'E'):
			hasExp = true
		case !hasExp && c >= '1' && c <= '9', !hasExp && hex && i > 1 && isHexLetter(c):
			nonZero = true
		}
	}
	text := string(s)
	if hex && !hasExp {
		text += "p0"
	}
	f, err := strconv.ParseFloat(text, 64)
	switch {
	case err != nil, math.IsNaN(f):
		return 0, false
	case f == 0 && nonZero, f != 0 && math.Abs(f) < 0x1p-1022:
		return 0, false // underflow: ERANGE
	}
	return f, true
}

func isHexLetter(c byte) bool { return (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') }
