// Package fsm is raftlist's replicated state machine: the keyspace of lists in
// sixteen databases, the command table, the log entry format, snapshots and
// the state digest.
//
// It owns every decision about what a command does to the data. Given the
// same state and the same entry it produces the same new state and the same
// reply on every node, so it must never read a clock (the only time it sees is
// the leader's stamp in the entry), start a goroutine, use randomness, touch
// the network or the disk, or let Go's map iteration order reach a reply, a
// snapshot or a digest. What looks random to a client (RANDOMKEY, a
// script's math.random) is derived from the entry or its log index.
//
// The invariant every other guarantee here rests on: nothing that outlives
// an entry lives outside the replicated state, or it is rebuilt identically
// on every node before anything reads it. The state (keyspace, waiters,
// WATCH versions, script cache, ACL users) is in snapshots and in the digest. What is
// cached beside it is either immutable (compiled scripts, keyed by SHA1 of
// their body) or a pool of Lua machines that a run can never change: a
// script is a pure function of (the state, its arguments), nothing it does
// survives it except through the keyspace (package fsm/lua).
// A new cache must come with the same argument and a test that attacks it.
//
// Redis's wire vocabulary is not here: reply values and their encoding,
// error texts, the command Spec with its flags and arity check, ParseInt
// and SplitArgs live in fsm/resp, a leaf package that the state machine,
// the front door, the reply reader and the tests all import. fsm builds its
// replies from it and declares its command table with it; a new error text
// goes in fsm/resp/errors.go, not in a handler.
//
// The Lua runtime is not here either: fsm/lua compiles and runs scripts on
// pooled sandboxed machines and states their determinism contract. fsm
// keeps what is state or command: EVAL, EVALSHA and SCRIPT, the replicated
// script cache, the redis.log buffer, and scriptHost, the lua.Host through
// which a script's redis.call runs a command of this table.
//
// Nor is Redis's serialization of a value: fsm/rdb writes and reads DUMP
// payloads, purely and within a limit; DUMP and RESTORE (dump_cmds.go) are
// the commands around it.
package fsm
