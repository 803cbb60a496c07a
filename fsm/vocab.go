package fsm

import "github.com/raftlist/raftlist/fsm/resp"

// The protocol vocabulary lives in fsm/resp. These names keep fsm's own
// code and its callers compiling while they move over to fsm/resp; new
// code uses fsm/resp directly.

type (
	Reply  = resp.Reply
	Status = resp.Status
	Error  = resp.Error
	Int    = resp.Int
	Bulk   = resp.Bulk
	Array  = resp.Array
	Raw    = resp.Raw
)

const (
	BlockedWire   = resp.BlockedWire
	MaxReplyDepth = resp.MaxReplyDepth
)

var (
	ErrSyntax             = resp.ErrSyntax
	ErrWrongType          = resp.ErrWrongType
	ErrNotInteger         = resp.ErrNotInteger
	ErrOutOfRange         = resp.ErrOutOfRange
	ErrNoSuchKey          = resp.ErrNoSuchKey
	ErrPositive           = resp.ErrPositive
	ErrInvalidDB          = resp.ErrInvalidDB
	ErrInvalidCursor      = resp.ErrInvalidCursor
	ErrNumKeys            = resp.ErrNumKeys
	ErrRankZero           = resp.ErrRankZero
	ErrCountNegative      = resp.ErrCountNegative
	ErrMaxLenNegative     = resp.ErrMaxLenNegative
	ErrCountPositive      = resp.ErrCountPositive
	ErrNoExpiry           = resp.ErrNoExpiry
	ErrNoScript           = resp.ErrNoScript
	ErrNotBusy            = resp.ErrNotBusy
	ErrScriptTooManyKeys  = resp.ErrScriptTooManyKeys
	ErrScriptNegativeKeys = resp.ErrScriptNegativeKeys
	ErrScriptWriteFlag    = resp.ErrScriptWriteFlag
	ErrScriptFlushOption  = resp.ErrScriptFlushOption
	ErrScriptDebugMode    = resp.ErrScriptDebugMode
	ErrScriptUnknownCmd   = resp.ErrScriptUnknownCmd
	ErrScriptArity        = resp.ErrScriptArity
	ErrScriptNoScript     = resp.ErrScriptNoScript
	ErrScriptWrite        = resp.ErrScriptWrite
	ErrScriptNoArgs       = resp.ErrScriptNoArgs
	ErrScriptArgType      = resp.ErrScriptArgType
	ErrScriptDebug        = resp.ErrScriptDebug
	ErrUnblocked          = resp.ErrUnblocked
	ErrOwnerGone          = resp.ErrOwnerGone
	ErrLeaderChanged      = resp.ErrLeaderChanged
	NullBulk              = resp.NullBulk
	NullArray             = resp.NullArray
	OK                    = resp.OK
	Blocked               = resp.Blocked

	AppendRESP           = resp.AppendRESP
	BulkString           = resp.BulkString
	BulkArray            = resp.BulkArray
	ParseInt             = resp.ParseInt
	SplitArgs            = resp.SplitArgs
	ErrWrongArity        = resp.ErrWrongArity
	ErrUnknownCommand    = resp.ErrUnknownCommand
	ErrUnknownSubcommand = resp.ErrUnknownSubcommand
)

// A script's reply nests at most scrReplyDepth arrays and EXEC wraps it in
// one more: resp.MaxReplyDepth must say exactly that (both array lengths
// are non-negative only when the two are equal).
var (
	_ [resp.MaxReplyDepth - (scrReplyDepth + 1)]struct{}
	_ [(scrReplyDepth + 1) - resp.MaxReplyDepth]struct{}
)
