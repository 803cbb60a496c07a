//go:build jepsen_break_restore_forgets_blocked

package fsm

// A deliberately broken build for tests/jepsen; it never ships. A node that
// installs a snapshot swaps its state in and says nothing of the waiters
// the snapshot ended: their clients are never answered and the elements
// popped for them are lost.

func init() { breakRestoreForgetsBlocked = true }
