// Package resp is Redis's wire vocabulary as raftlist speaks it, in one
// place:
//
//   - reply.go: the reply values a command gives (Status, Error, Int, Bulk,
//     Array, Map, Set, Double, Bool, BigNumber, Verbatim, NullBulk,
//     NullArray; Raw, bytes already in the client's protocol; RESP2Wire, a
//     kept RESP2 outcome; and Blocked for the forwarding hop) and their
//     encoding in either protocol (AppendReply; AppendRESP is RESP2): a
//     reply is protocol-free until the front door encodes it for its
//     client, so a new command gets RESP3 by choosing the right kind (a
//     map is a Map, never a flat Array). MaxReplyDepth, the nesting of the
//     deepest reply.
//   - errors.go: the error texts a client can be answered with, worded as
//     redis-server 7.0 words them, and raftlist's own (the TRYAGAIN and
//     UNCERTAIN replies). A new error text goes here; the few still
//     formatted beside their handlers (from arguments or local limits)
//     move here as those handlers are touched.
//   - spec.go: what a command declares (Spec: name, arity, Flags, keys,
//     and its Door: how the front door routes it) and the one arity check,
//     for the state machine's command table and the front door's alike.
//   - parse.go, splitargs.go: Redis's parsers of protocol words (ParseInt
//     as string2ll, SplitArgs as sdssplitargs).
//   - names.go: names raftlist adds to the protocol (ClusterUser).
//   - reader.go, value.go, command.go: the reply reader and the command
//     encoder one node uses to talk to another (and tests and tools to
//     talk to nodes): a follower forwards a client's command with
//     AppendCommand, reads the leader's answer with Reader.ReadReply and
//     writes those bytes to its client unchanged. The reader owns the
//     framing of one reply (where it ends, that it is well-formed RESP2
//     or RESP3)
//     within Limits; its default nesting limit is MaxReplyDepth, so a
//     follower relays whatever its leader answers, and a well-formed reply
//     over a size limit is read to its end and dropped (ErrDropped), so on
//     a connection many clients share it fails only the request it
//     answers. ParseReply and Value give the same bytes a structure (Kind
//     names a reply's type), for tests and the few internal calls that
//     look inside a reply. The reader must never panic or hang on garbage,
//     allocate in proportion to a length or count the peer declares rather
//     than to bytes that arrived, recurse once per nesting level, or alter
//     a reply it relays.
//
// Everyone speaks it: the state machine builds its replies and declares
// its commands with it, the front door encodes, checks and forwards with
// it, and the tools that talk to nodes from outside (cluster/local,
// tests/jepsen, tests/bench) take their codec and names from it: the
// module has one RESP codec besides redcon's server side. So it is a
// leaf: it imports only the standard library and must never import fsm,
// raftnode, cluster or anything that knows what a command does, Raft, the
// keyspace, a connection or a clock. Its values are plain data: encoding a
// reply never fails and gives the same bytes on every node. The set of
// reply types is closed (Reply's method is unexported): a reply is always
// one of the types above.
package resp
