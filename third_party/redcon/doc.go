// Package redcon implements a Redis compatible server framework.
//
// This is raftlist's fork of github.com/tidwall/redcon v1.6.4, wired in
// with a replace directive in the main module's go.mod. The upstream
// reader trusted its peer: one request could panic the whole process,
// burn seconds of CPU, or make it allocate without bound. Upstream's
// PubSub, unused by raftlist, is removed with the two modules only it
// needed. See NOTICE.
//
// What it owns: accepting connections, turning client bytes into
// Commands (RESP multibulk or inline), and buffering replies. Every
// request is bounded by Limits (Server.SetLimits, Reader.SetLimits);
// malformed input is answered with Redis 7.0's exact protocol error text
// and the connection is closed, as Redis does.
//
// What it must never do: panic or exit on anything a client sends;
// allocate in proportion to a length or count a client declares rather
// than to bytes that actually arrived; let one connection's failure (even
// a panicking handler) affect another; or know anything about raftlist
// (commands, Raft, the keyspace). Changes here stay minimal and listed in
// NOTICE so that upstream fixes can still be merged.
package redcon
