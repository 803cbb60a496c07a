package redcon

import (
	"strings"
	"testing"
)

// The unparsed count is Redis's qbuf: complete arguments of a request
// still arriving, and the header of the incomplete one, are not in it.
func TestQueuedCountsWhatRedisKeepsInItsQueryBuffer(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
	}{
		{"*3\r\n$5\r\nrpush\r\n$4\r\nqbuf\r\n$10\r\nabc", 3},
		{"*3\r\n$5\r\nrpush\r\n$4\r\nqb", 2},
		{"*3\r\n$5\r\nrpush\r\n$4", 2},
		{"*3\r", 3},
		{"rpush k", 7},
		{"*1\r\n$4\r\nping\r\n", 0},
		{"*1\r\n$4\r\nping\r\n*1\r\n$4", 2},
	} {
		rd := NewReader(strings.NewReader(tc.in))
		for {
			if _, err := rd.ReadCommands(); err != nil {
				break
			}
		}
		if got := rd.queued.Load(); got != tc.want {
			t.Errorf("%q: exp %d, got %d", tc.in, tc.want, got)
		}
	}
}
