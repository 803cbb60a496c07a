//go:build jepsen_break_restore_forgets_blocked

package cluster

// A deliberately broken build for tests/jepsen; it never ships. See
// fsm/break_restore_forgets_blocked.go: with it, the follower's own apply
// must be its blocked clients' only answer.

func init() { breakNoOutcomeRelay = true }
