package fsm

import (
	"bytes"
	"math/big"
	"testing"
)

// FuzzLongDouble checks INCRBYFLOAT's arithmetic on any input: it never
// panics (a panic in the state machine stops every node at the same
// entry), a parsed value fits the x87 format, and what INCRBYFLOAT
// stores reads back as itself: parsing the printed sum and printing it
// again gives the same string, so a value that goes through the log,
// a snapshot or a later INCRBYFLOAT never drifts.
func FuzzLongDouble(f *testing.F) {
	for _, s := range []string{"1", "-1.5", "0.1", "1e5", " 1", "0x10", "inf", "5.0e3", "-0", "1e4932",
		"1.19e4932", "1e-4950", "0x1p-16445", "0x1.fffffffffffffffep16383", "3.0000000000000000001", "nan", ""} {
		f.Add([]byte(s), []byte("0.1"))
	}
	f.Fuzz(func(t *testing.T, a, b []byte) {
		x, okA := parseLongDouble(a)
		y, okB := parseLongDouble(b)
		for _, v := range []longDouble{x, y} {
			if v.f != nil && v.f.MinPrec() > ldPrec {
				t.Fatalf("%q: %d significant bits, exp at most %d", a, v.f.MinPrec(), ldPrec)
			}
		}
		if !okA || !okB {
			return
		}
		sum, inf := addLongDouble(x, y)
		if inf {
			return
		}
		out := formatLongDouble(sum)
		again, ok := parseLongDouble(out)
		if !ok || again.isInf() {
			t.Fatalf("%q + %q printed %q, which does not parse", a, b, out)
		}
		if back := formatLongDouble(again.f); !bytes.Equal(out, back) {
			t.Fatalf("%q + %q printed %q, which reads back as %q", a, b, out, back)
		}
		if exp, got := new(big.Float).Add(x.f, y.f).Sign(), sum.Sign(); exp != got && got != 0 {
			t.Fatalf("%q + %q: sign %d, exp %d", a, b, got, exp)
		}
	})
}
