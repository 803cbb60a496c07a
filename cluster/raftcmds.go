package cluster

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"time"

	"github.com/raftlist/raftlist/fsm/resp"
	"github.com/raftlist/raftlist/raftnode"
)

var raftSubcommands = []subcommand{
	{"nodes", 2, func(s *Server, _ *request) resp.Reply { return raftNodes(s) }, 0},
	{"addnode", 5, raftAddNode, resp.Internal},
	{"removenode", 3, raftRemoveNode, resp.Internal},
	{"forward", -6, raftForward, resp.Internal},
	{"forward3", -6, raftForward, resp.Internal},
	{"unblock", 5, raftUnblock, resp.Internal},
	{"purgeowner", 4, raftPurgeOwner, resp.Internal},
	{"ack", -4, raftAck, resp.Internal},
	{"outcome", 4, raftOutcome, resp.Internal},
	{"exec", -7, raftExec, resp.Internal},
	{"exec3", -7, raftExec, resp.Internal},
	{"readindex", 2, raftReadIndex, resp.Internal},
	{"snapshot", 2, raftSnapshot, resp.Internal},
	{"acl", -4, raftACL, resp.Internal},
}

// RAFT ADDNODE id raft-addr resp-addr | RAFT REMOVENODE id | RAFT NODES |
// RAFT SNAPSHOT |
// RAFT FORWARD db owner seq command [arg ...] (internal: a follower's
// forwarding hop; FORWARD3 for a RESP3 client) |
// RAFT EXEC[3] ... and RAFT READINDEX (internal: MULTI/EXEC and WATCH, multi.go)
func raftCommand(s *Server, r *request) resp.Reply {
	return runSubcommand("raft", raftSubcommands, s, r)
}

// RAFT ADDNODE id raft-addr resp-addr
func raftAddNode(s *Server, r *request) resp.Reply {
	return s.onLeader(r, func(ctx context.Context) error {
		return s.node.AddNode(ctx, string(r.args[2]), string(r.args[3]), string(r.args[4]))
	})
}

// RAFT REMOVENODE id
func raftRemoveNode(s *Server, r *request) resp.Reply {
	return s.onLeader(r, func(ctx context.Context) error {
		return s.node.RemoveNode(ctx, string(r.args[2]))
	})
}

// onLeader runs a change (membership, unblock) on the leader, forwarding it
// there from a follower.
func (s *Server) onLeader(r *request, change func(ctx context.Context) error) resp.Reply {
	ctx, cancel := s.requestContext()
	defer cancel()
	err := change(ctx)
	if errors.Is(err, raftnode.ErrNotLeader) {
		return s.toLeader(ctx, r, true)
	}
	if err != nil {
		return errorReply(err)
	}
	return resp.OK
}

// RAFT SNAPSHOT
//
// Takes a snapshot of this node's state now (any member, as SAVE works on a
// Redis replica) and answers [last-index, size-in-bytes, milliseconds].
func raftSnapshot(s *Server, _ *request) resp.Reply {
	info, err := s.node.Snapshot()
	if err != nil {
		return resp.Error("ERR " + oneLine(err))
	}
	return resp.Array{resp.Int(info.Index), resp.Int(info.Size), resp.Int(info.Took.Milliseconds())}
}

// raftNodes lists members as [id, raft-addr, resp-addr, role, link,
// last-contact-ms, match-index]: role is leader, voter or nonvoter (the
// Raft configuration); link is this node's view of the member (self,
// online, unreachable, or unknown on a follower, which talks only to the
// leader); last-contact-ms is how long ago the two last talked (-1: never
// or unknown); match-index is the last log index the member reported to
// the leader (on the leader; this node's own last index in its own row,
// 0 where unknown).
func raftNodes(s *Server) resp.Reply {
	peers, err := s.node.Peers()
	if err != nil {
		return errorReply(err)
	}
	out := make(resp.Array, 0, len(peers))
	for _, p := range peers {
		role := "nonvoter"
		switch {
		case p.Leader:
			role = "leader"
		case p.Voter:
			role = "voter"
		}
		contact := int64(-1)
		if !p.LastContact.IsZero() {
			contact = time.Since(p.LastContact).Milliseconds()
		}
		out = append(out, resp.Array{
			resp.BulkString(p.ID), resp.BulkString(p.RaftAddr), resp.BulkString(p.RespAddr), resp.BulkString(role),
			resp.BulkString(p.Link), resp.Int(contact), resp.Int(int64(p.MatchIndex)),
		})
	}
	return out
}

// JoinOptions says how a joining node reaches the member it joins through:
// the same way it will reach the leader when forwarding (Config.PeerTLS,
// Config.ClusterSecret).
type JoinOptions struct {
	// Secret is the cluster secret; empty means the member wants no AUTH.
	Secret string
	// PeerTLS is the node-to-node TLS configuration; nil means plain TCP.
	PeerTLS *tls.Config
}

// Join asks the member at memberAddr (any member's RESP address) to add this
// node, retrying until it succeeds or ctx ends. Adding a node that is
// already a member with the same address succeeds, so joining again after a
// restart is harmless. With a cluster secret (opts.Secret) the request is
// sent logged in as ClusterUser; a member refusing those credentials ends
// the join at once with an *AuthError, since retrying cannot help. With
// opts.PeerTLS, memberAddr is a TLS address.
func Join(ctx context.Context, memberAddr, id, raftAddr, respAddr string, opts JoinOptions) error {
	var last error
	for {
		last = joinOnce(ctx, memberAddr, id, raftAddr, respAddr, opts)
		if last == nil {
			return nil
		}
		var ae *AuthError
		if errors.As(last, &ae) {
			return fmt.Errorf("join through %s: %w", memberAddr, last)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("join through %s: %w (last error: %v)", memberAddr, ctx.Err(), last)
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// JoinOnce is one attempt of Join: it asks the member at memberAddr once and
// returns its answer, so a caller holding several addresses can move on
// from a dead one at once.
func JoinOnce(ctx context.Context, memberAddr, id, raftAddr, respAddr string, opts JoinOptions) error {
	return joinOnce(ctx, memberAddr, id, raftAddr, respAddr, opts)
}

func joinOnce(ctx context.Context, memberAddr, id, raftAddr, respAddr string, opts JoinOptions) error {
	conn, err := dialNode(ctx, opts.PeerTLS, opts.Secret, memberAddr, 15*time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(15 * time.Second))
	cmd := resp.AppendCommand(nil, []byte("RAFT"), []byte("ADDNODE"), []byte(id), []byte(raftAddr), []byte(respAddr))
	if _, err := conn.Write(cmd); err != nil {
		return err
	}
	raw, err := resp.NewReader(conn, 1<<20).ReadReply()
	if err != nil {
		return err
	}
	v, err := resp.ParseReply(raw)
	if err != nil {
		return err
	}
	if v.Kind == resp.KindError {
		if isAuthRefusal(string(v.Str)) {
			return &AuthError{Addr: memberAddr, Reply: string(v.Str)}
		}
		return errors.New(string(v.Str))
	}
	return nil
}
