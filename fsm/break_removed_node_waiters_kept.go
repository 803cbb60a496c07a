//go:build jepsen_break_removed_node_waiters_kept

package fsm

// A deliberately broken build for tests/jepsen; it never ships. Removing a
// node from the cluster forgets its address but not its waiters: clients
// blocked on a node that is removed while it cannot reach the others are
// never given up on (nobody will answer them), and later pushes pop
// elements for them.

func init() { breakKeepRemovedWaiters = true }
