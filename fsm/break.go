package fsm

// breakSkipServing is a switch for the fault test's deliberately broken
// builds (tests/jepsen); every shipped build leaves it nil. Only
// break_leader_only_waiters.go, behind the build tag
// jepsen_break_leader_only_waiters that never ships, sets it: when it
// returns true, (*State).serveReady drops a ready key without serving its
// waiters. Consulted once, in serveReady.
var breakSkipServing func() bool

// breakKeepRemovedWaiters (jepsen_break_removed_node_waiters_kept, set by
// break_removed_node_waiters_kept.go only) keeps a removed node's waiters
// when the entry that removes it is applied. Consulted once, in
// (*State).Apply.
var breakKeepRemovedWaiters bool

// breakRestoreForgetsBlocked (jepsen_break_restore_forgets_blocked, set by
// break_restore_forgets_blocked.go only) makes Restore swap the state in
// without telling the front door how the waiters the snapshot ended came
// out: issue 14's hole 2, where a follower that installed a snapshot never
// answered the clients blocked on it and their elements were lost.
// Consulted once, in (*Machine).Restore.
var breakRestoreForgetsBlocked bool

// breakClockBackward (jepsen_break_log_clock_not_monotonic, set by
// break_log_clock_not_monotonic.go only) sets the log clock to every
// entry's timestamp, even an earlier one: a leader whose clock is behind
// moves time back. Consulted once, in (*State).advanceClock.
var breakClockBackward bool
