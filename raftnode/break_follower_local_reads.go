//go:build jepsen_break_follower_local_reads

package raftnode

// A deliberately broken build for tests/jepsen; it never ships. A follower
// answers linearizable reads from its own state instead of going through
// the leader: stale whenever it lags or is cut off.

func init() { breakFollowerLocalReads = true }
