package cluster

// breakNoOutcomeRelay is a switch for the fault test's deliberately broken
// builds (tests/jepsen); every shipped build leaves it false. Only
// break_restore_forgets_blocked.go, behind the build tag
// jepsen_break_restore_forgets_blocked that never ships, sets it: that
// build's follower must answer its blocked clients only from its own
// state machine, as before the leader relayed outcomes (blocking_relay.go),
// or the relay would answer the clients the broken Restore forgets and hide
// the hole the build exists to show. Consulted once, in blockingWrite.
var breakNoOutcomeRelay bool
