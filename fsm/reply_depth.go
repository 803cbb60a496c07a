package fsm

import (
	"github.com/raftlist/raftlist/fsm/lua"
	"github.com/raftlist/raftlist/fsm/resp"
)

// A script's reply nests at most lua.ReplyDepth arrays and EXEC wraps it in
// one more: resp.MaxReplyDepth, which a relaying node's reply reader
// allows, must say exactly that (both array lengths are non-negative only
// when the two are equal).
var (
	_ [resp.MaxReplyDepth - (lua.ReplyDepth + 1)]struct{}
	_ [(lua.ReplyDepth + 1) - resp.MaxReplyDepth]struct{}
)
