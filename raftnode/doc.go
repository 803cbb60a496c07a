// Package raftnode wires hashicorp/raft into a raftlist node: the TCP
// transport, the log and stable store (raft-boltdb/v2, or hashicorp/raft-wal
// with --log-store wal), the snapshot store, proposing entries and waiting
// for their result, the linearizable read barrier, the leader gate and
// membership changes.
//
// It owns the translation of raft's errors into the two kinds a client can
// act on (not applied, safe to retry; outcome unknown). It must never
// interpret commands (that is fsm's job), never speak RESP to clients (that is
// cluster's), and never wait on proposing from the apply path (the one
// proposal the apply path starts, the follower nudge in nudge.go, runs in
// its own goroutine).
//
// It is also where the node's clock is read for the log: entry timestamps,
// the read clock (fsm.Machine.SetReadClock) and active expiry all go
// through nowMs, so Config.ClockOffset (the fault test's skewed node)
// shifts them together.
package raftnode
