package cluster

import (
	"errors"

	"github.com/raftlist/raftlist/fsm/resp"
	"github.com/raftlist/raftlist/raftnode"
)

// errorReply turns an error from proposing, reading or forwarding into the
// RESP error a client sees.
func errorReply(err error) resp.Error {
	var e resp.Error
	switch {
	case errors.As(err, &e):
		return e
	case errors.Is(err, raftnode.ErrNotReady):
		return resp.ErrNotReady
	case raftnode.IsRetryable(err):
		return resp.Error(resp.TryAgainPrefix + "the command was not applied (" + oneLine(err) + "), retry")
	case errors.Is(err, raftnode.ErrUnknownOutcome):
		return resp.Error(resp.UncertainPrefix + "the command may or may not have been applied (" + oneLine(err) + ")")
	default:
		return resp.Error("ERR " + oneLine(err))
	}
}

// oneLine keeps an error on one protocol line.
func oneLine(err error) string {
	b := []byte(err.Error())
	for i, c := range b {
		if c == '\r' || c == '\n' {
			b[i] = ' '
		}
	}
	return string(b)
}
