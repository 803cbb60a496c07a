// Package resp is Redis's wire vocabulary as raftlist speaks it: the reply
// values a command gives (Status, Error, Int, Bulk, Array, Raw, NullBulk,
// NullArray, and Blocked for the forwarding hop) and their RESP2 encoding
// (AppendRESP), the error texts a client can be answered with, worded as
// redis-server 7.0 words them (errors.go, the one place for them),
// Redis's own parsers of protocol words (ParseInt as string2ll, SplitArgs
// as sdssplitargs), and the nesting bound of the deepest reply
// (MaxReplyDepth).
//
// Everyone speaks it: the state machine builds its replies from it, the
// front door encodes them, the reply reader and the tests check against it.
// So it is a leaf: it imports only the standard library and must never
// import fsm, raftnode, cluster or anything that knows of commands' effects,
// Raft, the keyspace, a connection or a clock. Its values are plain data:
// encoding a reply never fails, never allocates beyond the bytes it
// appends, and gives the same bytes on every node. The set of reply types
// is closed (Reply's method is unexported): a reply is always one of the
// types above.
package resp
