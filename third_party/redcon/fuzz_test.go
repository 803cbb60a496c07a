package redcon

import (
	"errors"
	"io"
	"runtime/metrics"
	"testing"
)

// tinyLimits lets short fuzz inputs reach every limit.
var tinyLimits = Limits{MaxBulkLen: 16, MaxArgs: 8, MaxInlineLen: 32, MaxQueryBuffer: 128}

var allocSample = []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}

// heapAllocs is cheaper than ReadMemStats (no stop-the-world) and counts
// large allocations, the ones a preallocation bug makes, at once.
func heapAllocs() uint64 {
	metrics.Read(allocSample)
	return allocSample[0].Value.Uint64()
}

// FuzzReader feeds arbitrary bytes to the command reader. It must never
// panic, must allocate in proportion to the input rather than to any
// length or count the input declares, must give the same commands and the
// same final error however the bytes are split into reads, and every
// command's Raw must parse back to its Args.
func FuzzReader(f *testing.F) {
	for _, seed := range []string{
		"*1\r\n$4\r\nPING\r\n",
		"PING\r\n",
		"*1\r\n$9223372036854775806\r\n",
		"*2000000000\r\n",
		"SET \"a b\" 'c' \"\\n\"\r\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		before := heapAllocs()
		whole, werr := readAllCommands(data, Limits{}, 0)
		// Generous per-byte factor (a pipeline of "a\n" commands really
		// costs ~100 bytes per input byte); a declared 1M-argument or
		// 64 MiB request is orders of magnitude above it.
		if used, bound := heapAllocs()-before, uint64(256*len(data)+1<<20); used > bound {
			t.Fatalf("allocated %d bytes for %d input bytes (bound %d)", used, len(data), bound)
		}
		checkStream(t, whole, werr)
		for _, lim := range []Limits{{}, tinyLimits} {
			ref, rerr := readAllCommands(data, lim, 0)
			checkStream(t, ref, rerr)
			for _, chunk := range []int{1, 3} {
				got, err := readAllCommands(data, lim, chunk)
				if !sameCommands(got, ref) || err.Error() != rerr.Error() {
					t.Fatalf("limits %+v, chunk %d: %d commands, %v; all at once: %d commands, %v",
						lim, chunk, len(got), err, len(ref), rerr)
				}
			}
		}
	})
}

func checkStream(t *testing.T, cmds []Command, err error) {
	t.Helper()
	var perr *errProtocol
	if err != io.EOF && !errors.Is(err, ErrQueryBufferLimit) && !errors.As(err, &perr) {
		t.Fatalf("unexpected error %v", err)
	}
	for _, cmd := range cmds {
		if len(cmd.Args) == 0 {
			t.Fatalf("command without arguments: %q", cmd.Raw)
		}
		back, err := Parse(cmd.Raw)
		if err != nil || !sameCommands([]Command{back}, []Command{cmd}) {
			t.Fatalf("Raw %q does not parse back: %v", cmd.Raw, err)
		}
	}
}

// FuzzReadNext covers the standalone parsers in resp.go, which take
// caller-supplied bytes.
func FuzzReadNext(f *testing.F) {
	for _, seed := range []string{
		"*2\r\n$1\r\na\r\n:1\r\n",
		"$9223372036854775806\r\nabc",
		"*1\r\n$-2\r\nab\r\n",
		"$5 SET a\r\n",
		"*1\r\n*1\r\n*1\r\n+x\r\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if n, resp := ReadNextRESP(data); n < 0 || n > len(data) {
			t.Fatalf("ReadNextRESP n=%d of %d", n, len(data))
		} else if n > 0 {
			resp.ForEach(func(RESP) bool { return true })
		}
		complete, _, _, leftover, _ := ReadNextCommand(data, nil)
		if complete && len(leftover) > len(data) {
			t.Fatalf("leftover %d of %d", len(leftover), len(data))
		}
	})
}
