package raftnode

import (
	"errors"

	"github.com/hashicorp/raft"
)

var (
	// ErrNotLeader means this node cannot take the request because it is not
	// the leader. Nothing was applied; the client may retry elsewhere.
	ErrNotLeader = errors.New("not the leader")
	// ErrNotReady means this node is leader but has not yet applied an entry
	// of its own term, so it cannot yet answer for the whole log. Nothing was
	// applied; retry shortly.
	ErrNotReady = errors.New("leader has not yet applied an entry of its term")
	// ErrUnknownOutcome means the entry may or may not have been committed:
	// leadership was lost, the node shut down or a timeout hit after the
	// entry was queued. The server never retries such a request.
	ErrUnknownOutcome = errors.New("outcome unknown")
	// ErrNotApplied means the entry was refused before it was queued (for
	// example an enqueue timeout or a leadership transfer). Safe to retry.
	ErrNotApplied = errors.New("not applied")
	// ErrTLSWithoutSecret refuses a Raft transport with TLS and no cluster
	// secret: the CA that signs the members' certificates may sign other
	// certificates too, so only the secret proves membership.
	ErrTLSWithoutSecret = errors.New("raft transport TLS needs a cluster secret: a certificate of the cluster CA proves only that the CA signed it (client certificates included), the secret proves membership")
)

// IsRetryable reports whether err guarantees the request was not applied.
func IsRetryable(err error) bool {
	return errors.Is(err, ErrNotLeader) || errors.Is(err, ErrNotReady) || errors.Is(err, ErrNotApplied)
}

// classify turns an error from a raft future into one of the package's
// sentinel errors, keeping the original in the chain.
func classify(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, raft.ErrNotLeader):
		return errors.Join(ErrNotLeader, err)
	case errors.Is(err, raft.ErrEnqueueTimeout), errors.Is(err, raft.ErrLeadershipTransferInProgress):
		return errors.Join(ErrNotApplied, err)
	default:
		// ErrLeadershipLost, ErrRaftShutdown and anything unforeseen: the
		// entry may be in the log, so the only honest answer is "unknown".
		return errors.Join(ErrUnknownOutcome, err)
	}
}
