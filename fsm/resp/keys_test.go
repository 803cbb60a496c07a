package resp

import (
	"strings"
	"testing"
)

// FindKeys is fed by COMMAND GETKEYS, which takes any arguments a client
// sends: a numkeys that claims billions of keys, or a number C's atoi
// reads differently from Redis's string2ll, must cost no more than the
// arguments given and find what redis-server 7.0.15 finds (each case here
// was checked against it).
func TestFindKeysHostileNumkeys(t *testing.T) {
	eval := Spec{Name: "eval", Arity: -3, Flags: Write | NoMandatoryKeys | MovableKeys,
		Keys: []KeySpec{KeysCounted(2, KeyRW|KeyAccess|KeyUpdate)}}
	lmpop := Spec{Name: "lmpop", Arity: -4, Flags: Write | MovableKeys,
		Keys: []KeySpec{KeysCounted(1, KeyRW|KeyAccess|KeyDelete)}}
	cases := []struct {
		sp   *Spec
		args string
		want string // positions, each with f (the spec's flags) or 0 (none), "" for no key
	}{
		{&eval, "eval s 0", ""},
		{&eval, "eval s 0 a", ""},
		{&eval, "eval s 1 a", "3:f"},
		{&eval, "eval s 2 a b c", "3:f 4:f"},
		{&eval, "eval s 5 a", ""},
		{&eval, "eval s -1 a", ""},
		{&eval, "eval s x a", ""},
		{&eval, "eval s 1abc a", "3:0"},         // string2ll refuses, atoi reads 1
		{&eval, "eval s +1 a", "3:0"},           // likewise
		{&eval, "eval s 01 a", "3:0"},           // likewise
		{&eval, "eval s 4294967297 a b", "3:f"}, // C int cast: 1
		{&eval, "eval s -4294967295 a", "3:0"},  // spec refuses, atoi's int: 1
		{&eval, "eval s 2147483647 a", ""},
		{&eval, "eval s 2147483648 a", ""},
		{&eval, "eval s 9223372036854775807 a", ""},
		{&eval, "eval s -9223372036854775808 a", ""},
		{&eval, "eval s 99999999999999999999 a", ""},
		{&lmpop, "lmpop 0 a left", ""},
		{&lmpop, "lmpop 5 a b left", ""},
		{&lmpop, "lmpop 2 a b left", "2:f 3:f"},
		{&lmpop, "lmpop -0 a left", ""},
	}
	for _, c := range cases {
		args := [][]byte{}
		for _, a := range strings.Fields(c.args) {
			args = append(args, []byte(a))
		}
		var got []string
		for _, k := range c.sp.FindKeys(args) {
			f := "0" // genericGetKeys's keys have no flags
			if k.Flags != 0 {
				f = "f"
			}
			got = append(got, itoa(k.Pos)+":"+f)
		}
		if g := strings.Join(got, " "); g != c.want {
			t.Errorf("%s: exp keys %q, got %q", c.args, c.want, g)
		}
	}
	huge := [][]byte{[]byte("eval"), []byte("s"), []byte("2147483647"), []byte("a")}
	if allocs := testing.AllocsPerRun(100, func() { eval.FindKeys(huge) }); allocs > 2 {
		t.Errorf("numkeys 2147483647: exp at most 2 allocations, got %v", allocs)
	}
}

func TestAtoiIsGlibcs(t *testing.T) {
	for in, want := range map[string]int32{
		"1": 1, " \t1": 1, "+1": 1, "-1": -1, "1abc": 1, "abc": 0, "": 0, "-": 0,
		"4294967297": 1, "2147483648": -2147483648, "99999999999999999999": -1,
		"-99999999999999999999": 0, "9223372036854775808": -1, "-9223372036854775808": 0,
	} {
		if got := atoi([]byte(in)); got != want {
			t.Errorf("atoi(%q): exp %d, got %d", in, want, got)
		}
	}
}

func itoa(n int) string {
	if n < 0 {
		return "-" + itoa(-n)
	}
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}
