package fsm

import (
	"bytes"
	"math/big"
)

// INCRBYFLOAT's arithmetic: C long double as redis-server 7.0 computes it
// on amd64, where long double is the x87 80-bit extended format (64-bit
// significand, 15-bit exponent, gradual underflow to subnormals).
//
// Why not float64: Redis parses both operands with strtold, adds them in
// long double and prints the sum with "%.17Lf". float64 has 53 bits where
// x87 has 64, so the sum would round differently (INCRBYFLOAT k 0.1 twice
// answers "0.2" in Redis, and 0.1+0.1 in float64 prints with a different
// 17th decimal for many inputs) and the range would end at 1.8e308 where
// Redis goes to 1.19e4932. Why not the CPU's long double through cgo:
// arm64 long double is IEEE quad (113 bits), so two nodes on two
// architectures would store different strings and diverge. Here every step
// is exact integer arithmetic (math/big) followed by one correctly rounded
// step to the x87 format, the same on every CPU: glibc's strtold rounds
// correctly (to nearest, ties to even), x87 addition rounds the exact sum
// the same way, and glibc's printf prints the exact binary value's decimal
// expansion rounded half to even.
//
// Cost: a few microseconds for everyday numbers; about 0.3 ms at worst
// (a 5 KB argument, or a value near either end of the range), measured
// here. Printing a value under 2^-58 is cut short: it is "0".

const (
	// ldPrec is the x87 extended significand, in bits.
	ldPrec = 64
	// ldMaxExp is the math/big exponent (x = m × 2^exp, 0.5 <= m < 1) of
	// the largest finite long double, (2 - 2^-63) × 2^16383.
	ldMaxExp = 16384
	// ldMinBit is the weight of the last bit of the smallest subnormal,
	// 2^-16445: no long double has a bit below it.
	ldMinBit = -16445
	// ldMaxChars is Redis's MAX_LONG_DOUBLE_CHARS: string2ld refuses
	// strings of this length or longer.
	ldMaxChars = 5 * 1024
)

// longDouble is a finite x87 long double value, or an infinity.
type longDouble struct {
	f   *big.Float // finite value, at most ldPrec bits; nil when inf
	neg bool       // sign of an infinity
}

func (x longDouble) isInf() bool { return x.f == nil }

// parseLongDouble is Redis's string2ld: strtold over the whole string,
// refusing an empty or too long string, a leading space, trailing junk,
// NaN, and a finite number that overflows or underflows to zero. strtold
// must read every byte, so a NUL anywhere makes it not a float.
func parseLongDouble(s []byte) (longDouble, bool) {
	if len(s) == 0 || len(s) >= ldMaxChars || isCSpace(s[0]) {
		return longDouble{}, false
	}
	neg := false
	if s[0] == '+' || s[0] == '-' {
		neg = s[0] == '-'
		s = s[1:]
	}
	if bytes.EqualFold(s, []byte("inf")) || bytes.EqualFold(s, []byte("infinity")) {
		return longDouble{neg: neg}, true
	}
	var f *big.Float
	var ok bool
	if len(s) > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		f, ok = parseHexLD(s[2:])
	} else {
		f, ok = parseDecLD(s)
	}
	if !ok {
		return longDouble{}, false
	}
	if neg {
		f.Neg(f)
	}
	return longDouble{f: f}, true
}

// isCSpace is C's isspace in the C locale.
func isCSpace(c byte) bool { return c == ' ' || (c >= '\t' && c <= '\r') }

// scanDigits returns the leading run of s that are digits in base 10 or
// 16.
func scanDigits(s []byte, hex bool) int {
	i := 0
	for i < len(s) && (s[i] >= '0' && s[i] <= '9' || hex && (s[i]|0x20 >= 'a' && s[i]|0x20 <= 'f')) {
		i++
	}
	return i
}

// scanMantissa splits "int[.frac]" at the start of s and returns the
// digits (point removed), how many came after the point and the rest of
// s. ok is false without at least one digit.
func scanMantissa(s []byte, hex bool) (digits []byte, frac int, rest []byte, ok bool) {
	n := scanDigits(s, hex)
	digits, s = append([]byte(nil), s[:n]...), s[n:]
	if len(s) > 0 && s[0] == '.' {
		m := scanDigits(s[1:], hex)
		digits, frac, s = append(digits, s[1:1+m]...), m, s[1+m:]
	}
	return digits, frac, s, len(digits) > 0
}

// scanExponent reads "[+-]digits" as the whole of s, saturating at a
// magnitude far beyond any long double so that a thousand-digit exponent
// costs nothing.
func scanExponent(s []byte) (int64, bool) {
	neg := false
	if len(s) > 0 && (s[0] == '+' || s[0] == '-') {
		neg, s = s[0] == '-', s[1:]
	}
	if len(s) == 0 || scanDigits(s, false) != len(s) {
		return 0, false
	}
	var e int64
	for _, c := range s {
		if e < 1<<40 {
			e = e*10 + int64(c-'0')
		}
	}
	if neg {
		e = -e
	}
	return e, true
}

// parseDecLD reads an unsigned decimal ("12", "1.5e-3", ".5", "5.") and
// rounds it to a long double. ok is false for bad syntax or a result
// strtold reports as out of range.
func parseDecLD(s []byte) (*big.Float, bool) {
	digits, frac, rest, ok := scanMantissa(s, false)
	if !ok {
		return nil, false
	}
	var exp int64
	if len(rest) > 0 {
		if rest[0] != 'e' && rest[0] != 'E' {
			return nil, false
		}
		if exp, ok = scanExponent(rest[1:]); !ok {
			return nil, false
		}
	}
	digits = bytes.TrimLeft(digits, "0")
	if len(digits) == 0 {
		return new(big.Float), true // an exact zero, whatever the exponent
	}
	exp -= int64(frac)
	// The value is between 10^(mag-1) and 10^mag: far outside
	// [3.6e-4951, 1.19e4932] needs no arithmetic to overflow or vanish.
	switch mag := int64(len(digits)) + exp; {
	case mag > 4940:
		return nil, false
	case mag < -4960:
		return nil, false
	}
	num, _ := new(big.Int).SetString(string(digits), 10)
	den := big.NewInt(1)
	ten := big.NewInt(10)
	if exp >= 0 {
		num.Mul(num, new(big.Int).Exp(ten, big.NewInt(exp), nil))
	} else {
		den.Exp(ten, big.NewInt(-exp), nil)
	}
	return roundRatLD(num, den)
}

// parseHexLD reads the part of a hexadecimal float after "0x"
// ("1.8p3", ".8", "10") and rounds it to a long double.
func parseHexLD(s []byte) (*big.Float, bool) {
	digits, frac, rest, ok := scanMantissa(s, true)
	if !ok {
		return nil, false
	}
	var exp int64
	if len(rest) > 0 {
		if rest[0] != 'p' && rest[0] != 'P' {
			return nil, false
		}
		if exp, ok = scanExponent(rest[1:]); !ok {
			return nil, false
		}
	}
	num, _ := new(big.Int).SetString(string(digits), 16)
	if num.Sign() == 0 {
		return new(big.Float), true
	}
	exp -= 4 * int64(frac)
	switch top := int64(num.BitLen()) + exp; {
	case top > ldMaxExp+1:
		return nil, false
	case top < ldMinBit-2:
		return nil, false
	}
	den := big.NewInt(1)
	if exp >= 0 {
		num.Lsh(num, uint(exp))
	} else {
		den.Lsh(den, uint(-exp))
	}
	return roundRatLD(num, den)
}

// roundRatLD rounds num/den (both positive) to the nearest long double,
// ties to even, as strtold does; ok is false when strtold would set
// ERANGE with an infinite or zero result.
func roundRatLD(num, den *big.Int) (*big.Float, bool) {
	// The exact binary exponent e: 2^(e-1) <= num/den < 2^e.
	e := int64(num.BitLen() - den.BitLen())
	if cmpShifted(num, den, e) >= 0 {
		e++
	}
	p := min(int64(ldPrec), e-ldMinBit)
	if p <= 0 {
		// Below half the smallest subnormal, or at most it: zero (an exact
		// half rounds to even, which is zero), or the smallest subnormal.
		if p == 0 && cmpShifted(num, den, ldMinBit-1) > 0 {
			return new(big.Float).SetMantExp(big.NewFloat(0.5), ldMinBit+1), true
		}
		return nil, false
	}
	x := new(big.Float).SetInt(num)
	y := new(big.Float).SetInt(den)
	z := new(big.Float).SetPrec(uint(p)).SetMode(big.ToNearestEven).Quo(x, y)
	if z.MantExp(nil) > ldMaxExp {
		return nil, false
	}
	return z, true
}

// cmpShifted compares num with den × 2^e.
func cmpShifted(num, den *big.Int, e int64) int {
	if e >= 0 {
		return num.Cmp(new(big.Int).Lsh(den, uint(e)))
	}
	return new(big.Int).Lsh(num, uint(-e)).Cmp(den)
}

// addLongDouble is x87 long double addition: the exact sum rounded once to
// the extended format (subnormals included). inf reports an overflow, or
// an infinite operand.
func addLongDouble(a, b longDouble) (sum *big.Float, inf bool) {
	if a.isInf() || b.isInf() {
		return nil, true
	}
	// Exact: the sum of two 64-bit significands needs at most the span of
	// their exponents plus a carry bit.
	prec := uint(2*ldPrec + 2)
	if a.f.Sign() != 0 && b.f.Sign() != 0 {
		ea, eb := a.f.MantExp(nil), b.f.MantExp(nil)
		prec += uint(max(ea-eb, eb-ea))
	}
	exact := new(big.Float).SetPrec(prec).SetMode(big.ToNearestEven).Add(a.f, b.f)
	if exact.Sign() == 0 {
		return exact, false // +0, or -0 for -0 + -0, as IEEE addition rounding to nearest
	}
	// Both operands are multiples of the smallest subnormal, so is their
	// sum: a nonzero sum is never below it, and p is at least 1.
	e := int64(exact.MantExp(nil))
	p := max(1, min(int64(ldPrec), e-ldMinBit))
	z := new(big.Float).SetMode(big.ToNearestEven).SetPrec(uint(p)).Set(exact)
	if z.MantExp(nil) > ldMaxExp {
		return nil, true
	}
	return z, false
}

// formatLongDouble is Redis's ld2string in LD_STR_HUMAN mode: "%.17Lf",
// then trailing zeros and a trailing point dropped, and "-0" written "0".
func formatLongDouble(x *big.Float) []byte {
	if x.MantExp(nil) < -57 {
		// Below 2^-58, under half of 10^-17: it prints as zero, and the
		// exact expansion of a subnormal has thousands of digits.
		return []byte("0")
	}
	b := x.Append(nil, 'f', 17)
	if bytes.IndexByte(b, '.') >= 0 {
		b = bytes.TrimRight(b, "0")
		b = bytes.TrimSuffix(b, []byte("."))
	}
	if string(b) == "-0" {
		b = []byte("0")
	}
	return b
}
