// Package resp reads and writes the RESP2 replies and commands that one
// raftlist node exchanges with another: a follower forwards a client's
// command to the leader with AppendCommand, reads the leader's answer with
// Reader.ReadReply and writes those bytes to its client unchanged.
//
// It owns the framing of one reply: where it ends, and that it is well
// formed RESP2 (simple string, error, integer, bulk string, array, and the
// null bulk and null array) within Limits. Its default nesting limit is
// the deepest reply the state machine gives (fsm/resp.MaxReplyDepth), so that a
// follower relays whatever its leader answers; a well-formed reply over a
// size limit is read to its end and dropped (ErrDropped), so that on a
// connection many clients share, it fails only the request it answers. ParseReply and Value give the
// same bytes a structure, for tests and the few internal calls that look
// inside a reply.
//
// It must never panic or hang on garbage, allocate in proportion to a
// length or count the peer declares rather than to bytes that arrived,
// recurse once per nesting level, or alter a reply it relays. It knows
// nothing of commands, Raft or the keyspace: the only raftlist package it
// imports is fsm/resp, the protocol vocabulary (for ParseInt and
// MaxReplyDepth), never fsm's state machine.
package resp
