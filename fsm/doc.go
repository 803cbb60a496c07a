// Package fsm is raftlist's replicated state machine: the keyspace of lists in
// sixteen databases, the command table, the log entry format, snapshots and
// the state digest.
//
// It owns every decision about what a command does to the data. Given the
// same state and the same entry it produces the same new state and the same
// reply on every node, so it must never read a clock (the only time it sees is
// the leader's stamp in the entry), start a goroutine, use randomness, touch
// the network or the disk, or let Go's map iteration order reach a reply, a
// snapshot or a digest.
package fsm
