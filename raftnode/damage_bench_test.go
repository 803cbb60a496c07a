package raftnode

import (
	"bytes"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"

	"github.com/raftlist/raftlist/fsm"
)

// BenchmarkCheckLog measures the startup scan of a log as large as the
// defaults let it grow: SnapshotThreshold (8192) + TrailingLogs (10240)
// entries, each an RPUSH of the given size; with raft-wal, the segment
// check too.
//
//	go test -run '^$' -bench BenchmarkCheckLog -benchtime 3x ./raftnode
func BenchmarkCheckLog(b *testing.B) {
	for _, size := range []int{100, 1 << 10, 16 << 10} {
		for _, store := range LogStores {
			b.Run(fmt.Sprintf("%s/%dB", store, size), func(b *testing.B) {
				dir := b.TempDir()
				s, err := openLogStore(store, dir, hclog.NewNullLogger())
				if err != nil {
					b.Fatal(err)
				}
				defer s.Close()
				const entries = 8192 + 10240
				val := bytes.Repeat([]byte("v"), size)
				batch := make([]*raft.Log, 0, 512)
				for i := uint64(1); i <= entries; i++ {
					e := fsm.Entry{Kind: fsm.KindCommands, TimeMs: time.Now().UnixMilli(), Cmds: []fsm.Cmd{
						{Owner: "n1/abc", Seq: i, Args: [][]byte{[]byte("rpush"), []byte("k"), val}},
					}}
					batch = append(batch, &raft.Log{Index: i, Term: 1, Type: raft.LogCommand, Data: e.Encode()})
					if len(batch) == cap(batch) || i == entries {
						if err := s.StoreLogs(batch); err != nil {
							b.Fatal(err)
						}
						batch = batch[:0]
					}
				}
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					n, err := checkLog(s, 0, dir)
					if err != nil || n != entries {
						b.Fatalf("checked %d: %v", n, err)
					}
					if store != LogStoreWAL {
						continue
					}
					// What raft-wal's segments add (checked before it opens them).
					if err := checkWALSegments(filepath.Join(dir, walDir), dir); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
