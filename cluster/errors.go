package cluster

import (
	"errors"

	"github.com/raftlist/raftlist/fsm/resp"
	"github.com/raftlist/raftlist/raftnode"
)

// The replies raftlist adds to Redis's vocabulary. TRYAGAIN means nothing
// was applied and the client may retry (go-redis retries it by itself);
// UNCERTAIN means the command may or may not have been applied, so the
// server never retries it and the client must decide.
const (
	errTryAgainPrefix  = "TRYAGAIN "
	errUncertainPrefix = "UNCERTAIN "
)

var (
	errNoLeader = resp.Error(errTryAgainPrefix + "no leader is known right now; the command was not applied, retry")
	errNotReady = resp.Error(errTryAgainPrefix + "the new leader is catching up; the command was not applied, retry")
)

// errorReply turns an error from proposing, reading or forwarding into the
// RESP error a client sees.
func errorReply(err error) resp.Error {
	var e resp.Error
	switch {
	case errors.As(err, &e):
		return e
	case errors.Is(err, raftnode.ErrNotReady):
		return errNotReady
	case raftnode.IsRetryable(err):
		return resp.Error(errTryAgainPrefix + "the command was not applied (" + oneLine(err) + "), retry")
	case errors.Is(err, raftnode.ErrUnknownOutcome):
		return resp.Error(errUncertainPrefix + "the command may or may not have been applied (" + oneLine(err) + ")")
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
