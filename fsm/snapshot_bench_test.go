package fsm

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
	"testing"
	"time"
)

// BenchmarkSnapshot measures the state machine's share of a snapshot of one
// list of n distinct 16-byte elements: the clone taken under the lock,
// writing the stream, and reading it back into fresh state (Restore). Raft's
// file snapshot store adds its fsync on top; `go run ./tests/bench` measures
// that end to end with RAFT SNAPSHOT.
//
//	go test ./fsm -run '^$' -bench Snapshot -benchtime 1x
func BenchmarkSnapshot(b *testing.B) {
	for _, n := range []int{1_000_000, 10_000_000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			st := benchListState(n)
			var buf bytes.Buffer
			var clone, write, read time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				buf.Reset()
				t0 := time.Now()
				c := st.Clone()
				t1 := time.Now()
				if err := WriteSnapshot(&buf, c); err != nil {
					b.Fatal(err)
				}
				t2 := time.Now()
				if _, err := ReadSnapshot(io.NopCloser(bytes.NewReader(buf.Bytes()))); err != nil {
					b.Fatal(err)
				}
				clone, write, read = clone+t1.Sub(t0), write+t2.Sub(t1), read+time.Since(t2)
			}
			b.StopTimer()
			per := func(d time.Duration) float64 { return float64(d.Milliseconds()) / float64(b.N) }
			b.ReportMetric(per(clone), "clone-ms")
			b.ReportMetric(per(write), "write-ms")
			b.ReportMetric(per(read), "restore-ms")
			b.ReportMetric(float64(buf.Len()), "bytes")
			b.ReportMetric(float64(buf.Len())/float64(n), "bytes/element")
		})
	}
}

// benchListState is a state holding one list of n distinct 16-byte
// elements, built through Apply as the log would build it.
func benchListState(n int) *State {
	st := NewState()
	index := uint64(0)
	for left := n; left > 0; {
		args := [][]byte{[]byte("RPUSH"), []byte("big")}
		for i := 0; i < 1000 && left > 0; i, left = i+1, left-1 {
			args = append(args, []byte(fmt.Sprintf("v%015d", n-left)))
		}
		index++
		st.Apply(index, 1, &Entry{Kind: KindCommands, Cmds: []Cmd{{Args: args}}})
	}
	return st
}
