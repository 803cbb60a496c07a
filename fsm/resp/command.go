package resp

import "strconv"

// AppendCommand appends args encoded as a RESP array of bulk strings, the
// form every Redis server accepts, to dst.
func AppendCommand(dst []byte, args ...[]byte) []byte {
	n := 1 + decLen(len(args)) + 2
	for _, a := range args {
		n += 1 + decLen(len(a)) + 2 + len(a) + 2
	}
	if cap(dst)-len(dst) < n {
		grown := make([]byte, len(dst), len(dst)+n)
		copy(grown, dst)
		dst = grown
	}
	dst = append(strconv.AppendInt(append(dst, '*'), int64(len(args)), 10), '\r', '\n')
	for _, a := range args {
		dst = append(strconv.AppendInt(append(dst, '$'), int64(len(a)), 10), '\r', '\n')
		dst = append(append(dst, a...), '\r', '\n')
	}
	return dst
}

func decLen(n int) int {
	l := 1
	for n >= 10 {
		n /= 10
		l++
	}
	return l
}
