package fsm

// globMaxNesting is how many '*' deep a match may recurse before it gives
// up and reports no match, Redis's protection against abusive patterns.
const globMaxNesting = 1000

// globMatch reports whether str matches the glob pattern exactly as Redis
// 7.0's stringmatchlen (util.c) decides, for KEYS and SCAN MATCH. A star
// matches any run of bytes, "?" any one byte, "[abc]" one byte of the set,
// "[^abc]" one byte not in it, "[a-z]" a range (ends in either order), and
// a backslash takes the next byte literally, inside brackets too.
//
// It is a faithful port, quirks included, because clients see them:
//   - A pattern is walked only while the string has bytes left, so "*" (or
//     "**") does not match the empty string; KEYS and SCAN special-case the
//     exact pattern "*".
//   - An unclosed "[" takes the rest of the pattern as its set; "[^" at the
//     end matches any one byte.
//   - A range whose end is "]" (as in "[a-]") does not close the set: the
//     set goes on to the next "]" or the end of the pattern.
//   - Range ends compare as C's signed char, so bytes 0x80-0xff sort below
//     '\x00' ("[a-\xff]" is the range -1..'a').
//   - nocase folds ASCII letters only, and not for \x inside brackets.
//   - More than globMaxNesting non-adjacent '*' never match.
//
// Redis reads its patterns as NUL-terminated C strings but passes their
// length, so any read past the end sees a zero byte; globAt does the same.
func globMatch(pattern, str []byte, nocase bool) bool {
	skipLonger := false
	return globMatchFrom(pattern, str, nocase, &skipLonger, 0)
}

// globMatchFrom is stringmatchlen_impl. pat and str always run to the end
// of the caller's pattern and string; pi and si are Redis's pointers.
func globMatchFrom(pat, str []byte, nocase bool, skipLonger *bool, nesting int) bool {
	if nesting > globMaxNesting {
		return false
	}
	pi, si := 0, 0
	for pi < len(pat) && si < len(str) {
		switch pat[pi] {
		case '*':
			for pi < len(pat) && globAt(pat, pi+1) == '*' {
				pi++
			}
			if len(pat)-pi == 1 {
				return true
			}
			for si < len(str) {
				if globMatchFrom(pat[pi+1:], str[si:], nocase, skipLonger, nesting+1) {
					return true
				}
				if *skipLonger {
					return false
				}
				si++
			}
			// Nothing after this '*' matches anywhere in the rest of the
			// string, so no longer match for an earlier '*' can help.
			*skipLonger = true
			return false
		case '?':
			si++
		case '[':
			var ok bool
			if pi, ok = globClass(pat, pi+1, str[si], nocase); !ok {
				return false
			}
			si++
		case '\\':
			if len(pat)-pi >= 2 {
				pi++
			}
			fallthrough
		default:
			if !globEqual(pat[pi], str[si], nocase) {
				return false
			}
			si++
		}
		pi++
		if si == len(str) {
			for globAt(pat, pi) == '*' {
				pi++
			}
			break
		}
	}
	return pi == len(pat) && si == len(str)
}

// globClass matches c against the bracket set starting at pat[pi] (just
// past the '['). It returns the index of the set's last byte (its ']', or
// where Redis stops when there is none) and whether c matched.
func globClass(pat []byte, pi int, c byte, nocase bool) (int, bool) {
	not := globAt(pat, pi) == '^'
	if not {
		pi++
	}
	match := false
	for {
		left := len(pat) - pi
		if globAt(pat, pi) == '\\' && left >= 2 {
			pi++
			if pat[pi] == c {
				match = true
			}
		} else if globAt(pat, pi) == ']' {
			break
		} else if left == 0 {
			pi--
			break
		} else if left >= 3 && pat[pi+1] == '-' {
			// C's char is signed here: compare as int8.
			start, end, v := int(int8(pat[pi])), int(int8(pat[pi+2])), int(int8(c))
			if start > end {
				start, end = end, start
			}
			if nocase {
				start, end, v = globLower(start), globLower(end), globLower(v)
			}
			pi += 2
			if v >= start && v <= end {
				match = true
			}
		} else if globEqual(pat[pi], c, nocase) {
			match = true
		}
		pi++
	}
	return pi, match != not
}

// globAt reads pat[i], or the C string terminator past the end.
func globAt(pat []byte, i int) byte {
	if i < len(pat) {
		return pat[i]
	}
	return 0
}

func globEqual(a, b byte, nocase bool) bool {
	if nocase {
		return globLower(int(a)) == globLower(int(b))
	}
	return a == b
}

// globLower is C's tolower in the "C" locale: ASCII letters only.
func globLower(c int) int {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// GlobMatch is globMatch for the front door's patterns (CONFIG GET).
func GlobMatch(pattern, str []byte, nocase bool) bool { return globMatch(pattern, str, nocase) }
