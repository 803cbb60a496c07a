package resp

import (
	"bytes"
	"errors"
	"io"
	"runtime/metrics"
	"testing"
	"testing/iotest"
)

var allocSample = []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}

// heapAllocs avoids ReadMemStats's stop-the-world on every fuzz input; it
// counts large allocations, the ones a preallocation bug makes, at once.
func heapAllocs() uint64 {
	metrics.Read(allocSample)
	return allocSample[0].Value.Uint64()
}

var tinyLimits = Limits{MaxBulk: 8, MaxArray: 4, MaxDepth: 3, MaxLine: 16, MaxReply: 96}

// readAll reads replies until the first error that ends the stream; a
// dropped reply (ErrDropped) is recorded as a nil reply.
func readAll(data []byte, lim Limits, oneByte bool) ([][]byte, error) {
	var src io.Reader = bytes.NewReader(data)
	if oneByte {
		src = iotest.OneByteReader(src)
	}
	rd := NewReader(src, 0)
	rd.SetLimits(lim)
	var out [][]byte
	for {
		raw, err := rd.ReadReply()
		if errors.Is(err, ErrDropped) {
			out = append(out, nil)
			continue
		}
		if err != nil {
			return out, err
		}
		out = append(out, raw)
	}
}

// FuzzReadReply feeds arbitrary bytes, RESP2 and RESP3, to the reply
// reader and to ParseReply. Neither may panic or allocate in proportion to a declared
// size; the replies read must be consecutive prefixes of the input, each
// accepted by ParseReply and re-encoded by AppendValue byte for byte; and
// how the bytes are split into reads must not change anything.
func FuzzReadReply(f *testing.F) {
	for _, seed := range []string{
		"+OK\r\n", "-ERR x\r\n", ":-12\r\n", "$3\r\nfoo\r\n", "$-1\r\n", "*-1\r\n",
		"*2\r\n*1\r\n:1\r\n$0\r\n\r\n",
		"$9223372036854775806\r\n",
		// Over tinyLimits: dropped, then the next reply.
		"$9\r\n123456789\r\n+OK\r\n", "*5\r\n:1\r\n:2\r\n:3\r\n:4\r\n:5\r\n+OK\r\n",
		"+" + string(bytes.Repeat([]byte("x"), 40)) + "\r\n:1\r\n",
		// RESP3, as a hostile leader could send it.
		"_\r\n", "#t\r\n", "#f\r\n", ",3.14\r\n", ",-inf\r\n", ",nan\r\n", "(-123456789012345678901234567890\r\n",
		"!5\r\nERR x\r\n", "=8\r\ntxt:abcd\r\n", "%1\r\n+k\r\n_\r\n", "~2\r\n:1\r\n#f\r\n",
		">2\r\n+message\r\n$1\r\nx\r\n", "|1\r\n+ttl\r\n:3\r\n$1\r\nv\r\n", "%0\r\n|0\r\n_\r\n",
		"%4611686018427387903\r\n", "|4611686018427387902\r\n", "%3\r\n:1\r\n:2\r\n:3\r\n:4\r\n:5\r\n:6\r\n+OK\r\n",
		"=3\r\nabc\r\n", "=4\r\nabcd\r\n", "%-1\r\n", "#x\r\n", ",\r\n", "(\r\n", "_x\r\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		before := heapAllocs()
		replies, err := readAll(data, Limits{}, false)
		if used, bound := heapAllocs()-before, uint64(64*len(data)+1<<20); used > bound {
			t.Fatalf("allocated %d bytes for %d input bytes", used, len(data))
		}
		checkReplies(t, data, replies, err)
		for _, lim := range []Limits{{}, tinyLimits} {
			ref, rerr := readAll(data, lim, false)
			checkReplies(t, data, ref, rerr)
			got, gerr := readAll(data, lim, true)
			if len(got) != len(ref) || (gerr == nil) != (rerr == nil) || gerr.Error() != rerr.Error() {
				t.Fatalf("one-byte reads: %d replies, %v; whole: %d, %v", len(got), gerr, len(ref), rerr)
			}
			for i := range got {
				if !bytes.Equal(got[i], ref[i]) || (got[i] == nil) != (ref[i] == nil) {
					t.Fatalf("reply %d differs with one-byte reads", i)
				}
			}
		}

		before = heapAllocs()
		v, perr := ParseReply(data)
		if used, bound := heapAllocs()-before, uint64(128*len(data)+1<<20); used > bound {
			t.Fatalf("ParseReply allocated %d bytes for %d input bytes", used, len(data))
		}
		if perr == nil {
			if back := AppendValue(nil, v); !bytes.Equal(back, data) {
				t.Fatalf("ParseReply/AppendValue round trip: %q -> %q", data, back)
			}
			if len(replies) != 1 || !bytes.Equal(replies[0], data) {
				t.Fatalf("ParseReply accepts %q but ReadReply read %q", data, replies)
			}
		} else if !errors.Is(perr, ErrProtocol) {
			t.Fatalf("ParseReply error %v does not wrap ErrProtocol", perr)
		}
	})
}

func checkReplies(t *testing.T, data []byte, replies [][]byte, err error) {
	t.Helper()
	if err != io.EOF && err != io.ErrUnexpectedEOF && !errors.Is(err, ErrProtocol) && !errors.Is(err, ErrTooLarge) {
		t.Fatalf("unexpected error %v", err)
	}
	rest := data
	dropped := false // after a dropped reply, where the next one starts is unknown
	for _, raw := range replies {
		if raw == nil {
			dropped = true
			continue
		}
		switch {
		case !dropped && (!bytes.HasPrefix(rest, raw) || len(raw) == 0):
			t.Fatalf("reply %q is not the next bytes of the input", raw)
		case dropped && !bytes.Contains(rest, raw):
			t.Fatalf("reply %q after a dropped one is not in the input", raw)
		case dropped:
			rest = rest[bytes.Index(rest, raw):]
		}
		rest = rest[len(raw):]
		v, perr := ParseReply(raw)
		if perr != nil {
			t.Fatalf("ParseReply(%q): %v", raw, perr)
		}
		if back := AppendValue(nil, v); !bytes.Equal(back, raw) {
			t.Fatalf("round trip: %q -> %q", raw, back)
		}
	}
	if err == io.EOF && !dropped && len(rest) != 0 {
		t.Fatalf("clean EOF with %d bytes unread", len(rest))
	}
}
