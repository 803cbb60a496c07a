// Package raftnode wires hashicorp/raft into a raftlist node: the TCP
// transport, the raft-boltdb/v2 log and stable store, the snapshot store,
// proposing entries and waiting for their result, the linearizable read
// barrier, the leader gate and membership changes.
//
// It owns the translation of raft's errors into the two kinds a client can
// act on (not applied, safe to retry; outcome unknown). It must never
// interpret commands (that is fsm's job), never speak RESP to clients (that is
// cluster's), and never call back into proposing from the apply path.
package raftnode
