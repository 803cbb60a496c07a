//go:build jepsen_break_log_clock_not_monotonic

package fsm

// A deliberately broken build for tests/jepsen; it never ships. The log
// clock follows each entry's leader timestamp even backward, so after a
// leader change to a node whose clock is behind, keys already expired
// come back and TIME inside a script goes back.
func init() { breakClockBackward = true }
