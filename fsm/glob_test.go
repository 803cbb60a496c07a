package fsm

import (
	"fmt"
	"strings"
	"testing"
)

// ksGlobCase is a pattern, a string and whether Redis 7.0.15's
// stringmatchlen matches them (case-sensitive cases checked against a real
// redis-server with KEYS).
type ksGlobCase struct {
	pattern, str string
	nocase       bool
	exp          bool
}

var ksGlobCases = []ksGlobCase{
	// Literals.
	{"", "", false, true},
	{"", "a", false, false},
	{"a", "", false, false},
	{"abc", "abc", false, true},
	{"abc", "abd", false, false},
	{"abc", "ab", false, false},
	{"ab", "abc", false, false},
	{"a\x00b", "a\x00b", false, true},
	{"a\x00b", "a", false, false},
	// Stars.
	{"*", "anything", false, true},
	{"*", "", false, false}, // the loop never starts on an empty string
	{"**", "", false, false},
	{"a*", "a", false, true},
	{"a**", "a", false, true},
	{"*a", "a", false, true},
	{"*a", "ba", false, true},
	{"*a", "ab", false, false},
	{"a*b", "ab", false, true},
	{"a*b", "axxxb", false, true},
	{"a*b", "axxxbx", false, false},
	{"a*b*c", "abbbcbc", false, true},
	{"*x*y*z", "xyxyxyzz", false, true},
	{"*a*a*a*b", strings.Repeat("a", 50), false, false},
	{"h*llo", "hllo", false, true},
	{"h*llo", "heeeello", false, true},
	// Question marks.
	{"?", "a", false, true},
	{"?", "", false, false},
	{"?", "ab", false, false},
	{"h?llo", "hello", false, true},
	{"h?llo", "hllo", false, false},
	{"??*", "ab", false, true},
	{"??*", "a", false, false},
	{"?", "\x00", false, true},
	// Sets.
	{"h[ae]llo", "hello", false, true},
	{"h[ae]llo", "hallo", false, true},
	{"h[ae]llo", "hillo", false, false},
	{"h[^e]llo", "hallo", false, true},
	{"h[^e]llo", "hello", false, false},
	{"h[a-b]llo", "hbllo", false, true},
	{"h[a-b]llo", "hcllo", false, false},
	{"[b-a]", "a", false, true}, // ends in either order
	{"[z-a]", "m", false, true},
	{"[a-]", "-", false, false},
	{"[a-]", "a", false, true},
	{"[a-]", "]", false, true}, // the range is a..']' and the set stays open
	{"[a-]", "_", false, true},
	{"[a-]x", "a", false, true}, // ... and swallows the "x"
	{"[a-]x", "x", false, true},
	{"[a-]x", "ax", false, false},
	{"[-a]", "-", false, true},
	{"[]]", "]", false, false}, // the set is empty, then "]" is a literal
	{"[]]", "]]", false, false},
	{"[]", "a", false, false},
	{"[]a", "a", false, false},
	{"[\\]]", "]", false, true},
	{"[\\-]", "-", false, true},
	{"[a\\-z]", "b", false, false},
	{"[a\\-z]", "-", false, true},
	{"[\\", "\\", false, true}, // a trailing backslash is itself
	{"[abc", "b", false, true}, // an unclosed set runs to the end
	{"[abc", "d", false, false},
	{"[abc", "bc", false, false},
	{"[", "a", false, false},
	{"[", "[", false, false},
	{"[^", "a", false, true}, // a lone "[^" matches any one byte
	{"[^", "", false, false},
	{"[^", "ab", false, false},
	{"[^]", "a", false, true},
	{"[^]", "]", false, true},
	{"[^a]", "a", false, false},
	{"[!a]", "!", false, true}, // only ^ negates
	{"[a-c-e]", "d", false, false},
	{"[a-c-e]", "-", false, true},
	{"[a-c-e]", "e", false, true},
	{"[a-\xff]", "\xff", false, true}, // C's char is signed: \xff is -1
	{"[a-\xff]", "b", false, false},
	{"[a-\xff]", "\x00", false, true},
	{"[\x80-\xff]", "\x90", false, true},
	{"[\x80-\xff]", "a", false, false},
	{"[\x00-a]", "\x80", false, false},
	{"[?]", "?", false, true},
	{"[*]", "a", false, false},
	// Escapes.
	{"h\\*llo", "h*llo", false, true},
	{"h\\*llo", "hello", false, false},
	{"\\?", "?", false, true},
	{"\\?", "a", false, false},
	{"\\[a]", "[a]", false, true},
	{"\\a", "a", false, true},
	{"\\", "\\", false, true}, // a trailing backslash is itself
	{"a\\", "a\\", false, true},
	{"\\\\", "\\", false, true},
	// Case.
	{"ABC", "abc", false, false},
	{"ABC", "abc", true, true},
	{"a*C", "AxxC", true, true},
	{"[A-C]", "b", true, true},
	{"[a-c]", "B", true, true},
	{"[A]", "a", true, true},
	{"[^A]", "a", true, false},
	{"[\\A]", "a", true, false}, // escaped set members ignore nocase
	{"\\A", "a", true, true},    // escaped literals do not
	{"\xc4", "\xe4", true, false},
}

func TestGlobMatch(t *testing.T) {
	for _, tc := range ksGlobCases {
		t.Run(fmt.Sprintf("pattern %q against %q nocase %v", tc.pattern, tc.str, tc.nocase), func(t *testing.T) {
			if exp, got := tc.exp, globMatch([]byte(tc.pattern), []byte(tc.str), tc.nocase); exp != got {
				t.Fatalf("exp %v, got %v", exp, got)
			}
		})
	}
}

func TestGlobMatchLimits(t *testing.T) {
	t.Run("a thousand stars still match", func(t *testing.T) {
		p, s := strings.Repeat("*a", 1000), strings.Repeat("a", 1001)
		if !globMatch([]byte(p), []byte(s), false) {
			t.Fatalf("exp a match, got none")
		}
	})
	t.Run("more than a thousand stars never match", func(t *testing.T) {
		p, s := strings.Repeat("*a", 1001), strings.Repeat("a", 1001)
		if globMatch([]byte(p), []byte(s), false) {
			t.Fatalf("exp no match, got one")
		}
	})
	t.Run("a pattern built to backtrack answers at once", func(t *testing.T) {
		// Without the skip-longer-matches rule this takes exponential time.
		p := strings.Repeat("*a", 30) + "b"
		s := strings.Repeat("a", 5000)
		if globMatch([]byte(p), []byte(s), false) {
			t.Fatalf("exp no match, got one")
		}
	})
}
