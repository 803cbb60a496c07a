package resp

import "fmt"

// The error replies a client can cause, worded exactly as redis-server 7.0
// words them. Keeping them in one place keeps the wording consistent.
var (
	ErrSyntax         = Error("ERR syntax error")
	ErrWrongType      = Error("WRONGTYPE Operation against a key holding the wrong kind of value")
	ErrNotInteger     = Error("ERR value is not an integer or out of range")
	ErrOutOfRange     = Error("ERR index out of range")
	ErrNoSuchKey      = Error("ERR no such key")
	ErrPositive       = Error("ERR value is out of range, must be positive")
	ErrInvalidDB      = Error("ERR DB index is out of range")
	ErrInvalidCursor  = Error("ERR invalid cursor")
	ErrNumKeys        = Error("ERR numkeys should be greater than 0")
	ErrRankZero       = Error("ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list")
	ErrCountNegative  = Error("ERR COUNT can't be negative")
	ErrMaxLenNegative = Error("ERR MAXLEN can't be negative")
	ErrCountPositive  = Error("ERR count should be greater than 0") // LMPOP COUNT

	// RESTORE's (Redis's cluster.c restoreCommand and verifyDumpPayload).
	ErrBusyKey          = Error("BUSYKEY Target key name already exists.")
	ErrDumpPayload      = Error("ERR DUMP payload version or checksum are wrong")
	ErrBadDataFormat    = Error("ERR Bad data format")
	ErrInvalidTTL       = Error("ERR Invalid TTL value, must be >= 0")
	ErrInvalidIdleTime  = Error("ERR Invalid IDLETIME value, must be >= 0")
	ErrInvalidFrequency = Error("ERR Invalid FREQ value, must be >= 0 and <= 255")
	ErrSortScore        = Error("ERR One or more scores can't be converted into double")
	// ErrSortTooMuchWork is raftlist's own: a SORT whose BY and GET
	// lookups, or whose GET results, would pass the state machine's bound
	// (fsm sort_cmds.go). Redis has no such bound.
	ErrSortTooMuchWork = Error("ERR SORT would look up too many keys or return too many bytes")
	ErrObjectNoLFU     = Error("ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.")
	ErrSameObject      = Error("ERR source and destination objects are the same")
)

// ErrWrongArity is Redis's arity error for the named command.
func ErrWrongArity(name string) Error {
	return Error(fmt.Sprintf("ERR wrong number of arguments for '%s' command", name))
}

// ErrUnknownCommand is Redis's reply to a command it does not know; args
// starts with the command name. Like Redis it quotes at most 128 bytes of
// arguments, stops each at a NUL (Redis formats them as C strings) and turns
// CR and LF into spaces so the reply stays one protocol line.
func ErrUnknownCommand(args [][]byte) Error {
	quoted := ""
	for _, a := range args[1:] {
		if len(quoted) >= 128 {
			break
		}
		quoted += "'" + clip(a, 128-len(quoted)) + "' "
	}
	return Sanitize("ERR unknown command '" + clip(args[0], 128) + "', with args beginning with: " + quoted)
}

// ErrUnknownSubcommand is Redis's reply to an unknown subcommand of a
// container command such as CLIENT or COMMAND.
func ErrUnknownSubcommand(cmd, sub []byte) Error {
	return Sanitize(fmt.Sprintf("ERR unknown subcommand '%s'. Try %s HELP.", clip(sub, 128), upper(cmd)))
}

// clip renders a as C's "%.*s" would: up to the first NUL, at most n bytes.
func clip(a []byte, n int) string {
	for i, c := range a {
		if c == 0 {
			a = a[:i]
			break
		}
	}
	if len(a) > n {
		a = a[:n]
	}
	return string(a)
}

// ErrLeaderNoRESP3 answers a RESP3 client of a follower whose leader runs
// a version without RESP3 (a rolling upgrade): nothing was applied.
var ErrLeaderNoRESP3 = Error("ERR the leader runs a raftlist without RESP3 (a rolling upgrade?); nothing was applied: retry after the upgrade, or use HELLO 2")

// Sanitize turns CR and LF into spaces so an error text stays one
// protocol line, as Redis does for texts that quote client input.
func Sanitize(s string) Error {
	b := []byte(s)
	for i, c := range b {
		if c == '\r' || c == '\n' {
			b[i] = ' '
		}
	}
	return Error(b)
}

func upper(b []byte) string {
	out := make([]byte, len(b))
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			c -= 'a' - 'A'
		}
		out[i] = c
	}
	return string(out)
}

// Errors of the expiry commands (EXPIRE, SET EX, GETEX, ...), as
// redis-server 7.0.15 words them.
var (
	ErrExpireNXAndOthers = Error("ERR NX and XX, GT or LT options at the same time are not compatible")
	ErrExpireGTAndLT     = Error("ERR GT and LT options at the same time are not compatible")
)

// ErrInvalidExpire is Redis's addReplyErrorExpireTime for command name
// (lower case, as Redis's fullname).
func ErrInvalidExpire(name string) Error {
	return Error("ERR invalid expire time in '" + name + "' command")
}

// ErrUnsupportedOption is EXPIRE's answer to an option it does not know,
// named as sent (up to a NUL byte, as Redis formats a C string).
func ErrUnsupportedOption(opt []byte) Error {
	return Sanitize("ERR Unsupported option " + string(opt))
}

// Errors of scripts (EVAL, EVALSHA, SCRIPT and redis.call), worded as
// redis-server 7.0.15 words them, then raftlist's own.
var (
	ErrNoScript           = Error("NOSCRIPT No matching script. Please use EVAL.")
	ErrNotBusy            = Error("NOTBUSY No scripts in execution right now.")
	ErrScriptTooManyKeys  = Error("ERR Number of keys can't be greater than number of args")
	ErrScriptNegativeKeys = Error("ERR Number of keys can't be negative")
	ErrScriptWriteFlag    = Error("ERR Can not execute a script with write flag using *_ro command.")
	ErrScriptFlushOption  = Error("ERR SCRIPT FLUSH only support SYNC|ASYNC option")
	ErrScriptDebugMode    = Error("ERR Use SCRIPT DEBUG YES/SYNC/NO")
	ErrScriptUnknownCmd   = Error("ERR Unknown Redis command called from script")
	ErrScriptArity        = Error("ERR Wrong number of args calling Redis command from script")
	ErrScriptNoScript     = Error("ERR This Redis command is not allowed from script")
	ErrScriptWrite        = Error("ERR Write commands are not allowed from read-only scripts.")
	ErrScriptNoArgs       = Error("ERR Please specify at least one argument for this redis lib call")
	ErrScriptArgType      = Error("ERR Lua redis lib command arguments must be strings or integers")
	// ErrScriptDebug answers SCRIPT DEBUG YES and SYNC: raftlist has no
	// Lua debugger.
	ErrScriptDebug = Error("ERR raftlist does not support the Lua debugger (SCRIPT DEBUG YES|SYNC)")
)

// Errors that end a blocked client's wait (fsm/blocking.go).
var (
	// ErrUnblocked is Redis's reply to CLIENT UNBLOCK id ERROR.
	ErrUnblocked = Error("UNBLOCKED client unblocked via CLIENT UNBLOCK")
	// ErrOwnerGone ends the waiters of a node process that restarted, was
	// removed, or lost the cluster: nothing was popped for the client.
	ErrOwnerGone = Error("TRYAGAIN the node holding this client restarted, left or lost the cluster; nothing was popped for it, retry")
	// ErrLeaderChanged ends waiters purged at a leader change: nothing was
	// popped for the client, so it may retry.
	ErrLeaderChanged = Error("TRYAGAIN the leader changed while the client was blocked; nothing was popped for it, retry")
)

// Errors of the blocking commands' timeout argument.
var (
	ErrTimeoutNotFloat = Error("ERR timeout is not a float or out of range")
	ErrTimeoutNegative = Error("ERR timeout is negative")
)

// Errors of MULTI, EXEC, DISCARD and WATCH, answered by the front door
// (cluster/multi.go).
var (
	ErrMultiNested    = Error("ERR MULTI calls can not be nested")
	ErrExecNoMulti    = Error("ERR EXEC without MULTI")
	ErrDiscardNoMulti = Error("ERR DISCARD without MULTI")
	ErrWatchInMulti   = Error("ERR WATCH inside MULTI is not allowed")
	ErrExecAbort      = Error("EXECABORT Transaction discarded because of previous errors.")
	ErrNotInMulti     = Error("ERR Command not allowed inside a transaction")
	ErrBadTx          = Error("ERR malformed forwarded transaction")
)

// Errors of authentication (cluster/auth.go), as Redis words them with
// requirepass.
var (
	ErrNoAuth    = Error("NOAUTH Authentication required.")
	ErrWrongPass = Error("WRONGPASS invalid username-password pair or user is disabled.")
	// ACL (fsm/acl.go, cluster/acl.go).
	ErrACLUserName   = Error("ERR Usernames can't contain spaces or null characters")
	ErrACLDelDefault = Error("ERR The 'default' user cannot be removed")
	ErrNoPermKey     = Error("NOPERM this user has no permissions to access one of the keys used as arguments")
	ErrAuthNoPass    = Error("ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?")
	ErrHelloNoAuth   = Error("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time")
)

// The replies raftlist adds to Redis's vocabulary. TRYAGAIN means nothing
// was applied and the client may retry (go-redis retries it by itself);
// UNCERTAIN means the command may or may not have been applied, so the
// server never retries it and the client must decide.
const (
	TryAgainPrefix  = "TRYAGAIN "
	UncertainPrefix = "UNCERTAIN "
)

var (
	// ErrNoLeader: no node is known to lead; nothing was applied.
	ErrNoLeader = Error(TryAgainPrefix + "no leader is known right now; the command was not applied, retry")
	// ErrNotReady: a new leader has not yet applied an entry of its term.
	ErrNotReady = Error(TryAgainPrefix + "the new leader is catching up; the command was not applied, retry")
)

// Errors of scripts' shape and of the front door's own commands, given
// where the handler formats nothing from its arguments.
var (
	// ErrLuaStackLimit: a script's reply nests deeper than Redis converts.
	ErrLuaStackLimit = Error("ERR reached lua stack limit")
	// ErrShebang: a script's #! line never ends (no newline).
	ErrShebang = Error("ERR Invalid script shebang")
	// ErrShebangEngine: a shebang line is empty or badly quoted.
	ErrShebangEngine = Error("ERR Invalid engine in script shebang")
	// ErrNotInt32: SELECT's index does not fit in a C int (Redis's
	// getIntFromObjectOrReply).
	ErrNotInt32 = Error("ERR value is out of range, value must between -2147483648 and 2147483647")
	// ErrProtoVersion: HELLO's protocol version is not a number.
	ErrProtoVersion = Error("ERR Protocol version is not an integer or out of range")
	// ErrNoProto: HELLO asked for a protocol other than 2 and 3.
	ErrNoProto = Error("NOPROTO unsupported protocol version")
	// ErrNotForwardable: the forwarding hop carried a command that is never
	// forwarded (a connection-local one, or another forward).
	ErrNotForwardable = Error("ERR command cannot be forwarded")
	// ErrBlockedContactLost: a blocked client's node could not learn in time
	// whether it was served.
	ErrBlockedContactLost = Error(UncertainPrefix + "lost contact with the cluster while blocked; an element may have been popped for this client")
	// ErrUnblockReason: CLIENT UNBLOCK's reason is neither TIMEOUT nor ERROR.
	ErrUnblockReason = Error("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR")
	// ErrInvalidClientID: a CLIENT subcommand's id is not a number.
	ErrInvalidClientID = Error("ERR Invalid client ID")
	// ErrClientName: a client name has a space, newline or special
	// character.
	ErrClientName = Error("ERR Client names cannot contain spaces, newlines or special characters.")
)

// Errors of the string commands (counters, ranges), worded as
// redis-server 7.0.15 words them.
var (
	ErrIncrOverflow = Error("ERR increment or decrement would overflow")
	ErrDecrOverflow = Error("ERR decrement would overflow")
	ErrNotFloat     = Error("ERR value is not a valid float")
	ErrNaNOrInf     = Error("ERR increment would produce NaN or Infinity")
	ErrOffsetRange  = Error("ERR offset is out of range")
	// ErrStringTooLong answers APPEND and SETRANGE past the longest string
	// the state machine keeps (fsm.MaxStringLen).
	ErrStringTooLong = Error("ERR string exceeds maximum allowed size (proto-max-bulk-len)")
)

// COMMAND GETKEYS and GETKEYSANDFLAGS.
var (
	ErrGetKeysUnknown = Error("ERR Invalid command specified")
	ErrGetKeysNoKeys  = Error("ERR The command has no key arguments")
	ErrGetKeysArity   = Error("ERR Invalid number of arguments specified for command")
	ErrGetKeysInvalid = Error("ERR Invalid arguments specified for command")
)

// ErrNoPermCommand is ACL's refusal of a command (name, or
// container|subcommand) the user may not run.
func ErrNoPermCommand(name string) Error {
	return Error("NOPERM this user has no permissions to run the '" + name + "' command")
}

// ErrACLUnknownCategory is ACL CAT's answer to a category it does not know.
func ErrACLUnknownCategory(name []byte) Error {
	return Error("ERR Unknown category '" + string(name) + "'")
}
