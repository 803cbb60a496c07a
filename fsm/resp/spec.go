package resp

// Flags declare how a command may be run; the front door and the state
// machine decide from them, never from the command's name.
type Flags uint32

const (
	// Write commands change state and go through the log.
	Write Flags = 1 << iota
	// ReadOnly commands only read state.
	ReadOnly
	// DenyOOM commands may grow memory.
	DenyOOM
	// Fast commands run in O(1) or O(log N).
	Fast
	// Blocking commands may park the client as a waiter.
	Blocking
	// NoScript commands may not be called from a script.
	NoScript
	// Admin commands are for operators.
	Admin
	// Loading commands are allowed while a node loads data.
	Loading
	// Stale commands may run on a node whose data is stale.
	Stale
	// NoMulti commands may not be queued in MULTI.
	NoMulti
	// MovableKeys commands find their keys through an argument (numkeys).
	MovableKeys
	// NoAuth commands run before authentication.
	NoAuth
	// AllowBusy commands run while a script is busy.
	AllowBusy
	// Internal commands are the cluster's own (a forwarding hop,
	// membership, unblocking): only a fellow node may run them; a client
	// gets NOPERM. Never reported by COMMAND: Redis has no such flag.
	Internal
	// SkipMonitor commands are not shown to MONITOR (Redis: scripts).
	SkipMonitor
	// SkipSlowlog commands are not logged in the slow log (Redis: EXEC).
	SkipSlowlog
	// NoMandatoryKeys commands may be given no key at all (EVAL with
	// numkeys 0): COMMAND GETKEYS answers them an empty list, not an
	// error.
	NoMandatoryKeys
)

// Door says where the front door serves a command. Together with Flags it
// is the command's whole route: nothing routes by name.
type Door uint8

const (
	// ByFlags, the zero value, is the state machine's commands' door: the
	// front door routes them by their flags alone. Blocking: proposed by
	// itself, since it may park the client. Write: proposed; consecutive
	// writes share one entry. Otherwise a read: behind the read barrier
	// (consecutive reads share one), or from local state on a READONLY
	// connection. NoMulti: refused inside MULTI, else queued for EXEC.
	// NoAuth: runs before AUTH. Internal: cluster rights only. A command
	// added to the state machine's table needs no more than its flags.
	ByFlags Door = iota
	// Local commands concern the connection or the node (SELECT, CLIENT,
	// INFO): the front door runs them itself, never through the log or a
	// barrier, and never for a forwarding hop. Inside MULTI they are
	// queued; at EXEC the state machine runs those in its own table
	// (SELECT, PING, ECHO) in their places in the entry, and the front
	// door the rest.
	Local
	// LocalAtOnce is Local, run at once even inside MULTI rather than
	// queued: MULTI, EXEC, DISCARD, WATCH, QUIT and RESET (Redis's processCommand
	// exceptions).
	LocalAtOnce
)

// FlagNames lists every flag with the name COMMAND INFO reports for it.
// The order is redis-server 7.0's (addReplyCommandFlags), so the flags
// array is byte-identical.
var FlagNames = []struct {
	Flag Flags
	Name string
}{
	{Write, "write"}, {ReadOnly, "readonly"}, {DenyOOM, "denyoom"}, {Admin, "admin"},
	{NoScript, "noscript"}, {Blocking, "blocking"}, {Loading, "loading"},
	{Stale, "stale"}, {SkipMonitor, "skip_monitor"}, {SkipSlowlog, "skip_slowlog"},
	{Fast, "fast"}, {NoAuth, "no_auth"}, {NoMandatoryKeys, "no_mandatory_keys"},
	{NoMulti, "no_multi"}, {MovableKeys, "movablekeys"}, {AllowBusy, "allow_busy"},
}

// Spec is what every command declares, in the state machine's table or in
// the front door's: name, arity (negative: at least that many, counting the
// name), flags and key positions, as Redis's command table does.
type Spec struct {
	Name     string
	Arity    int
	Flags    Flags
	FirstKey int
	LastKey  int // -1: the last argument; -2: all but the last
	KeyStep  int
	Group    string
	Summary  string
	Since    string
	// Door is how the front door serves the command; the zero value
	// (ByFlags) routes it by its flags.
	Door Door
	// Keys are the command's key specs as Redis 7.0 declares them (COMMAND
	// INFO's key specs, COMMAND GETKEYS and GETKEYSANDFLAGS). Nil: one
	// range spec derived from FirstKey/LastKey/KeyStep (see KeySpecs).
	Keys []KeySpec
	// ACL are the ACL categories Redis declares for the command beyond
	// those it derives itself (from the flags and, here, from Group), e.g.
	// "dangerous" for KEYS; without the "@".
	ACL []string
	// NoGroupACL says the group adds no ACL category: Redis declares
	// categories per command, and SORT, in the generic group, is not in
	// @keyspace.
	NoGroupACL bool
	// Container marks a container of subcommands in Redis (SCRIPT, MEMORY)
	// whose subcommands have no rows here; one whose subcommands have rows
	// (CLIENT, COMMAND) is known as a container by them.
	Container bool
	// WritesWith, when set on a Write row, says whether the command writes
	// with these (valid) arguments; when it does not (SORT without
	// STORE), the front door serves it as a read, behind the read
	// barrier, instead of through the log. COMMAND INFO still shows the
	// row's flags, as Redis declares them.
	WritesWith func(args [][]byte) bool
	// KeysProc, when set, is the row's getkeys_proc: COMMAND GETKEYS finds
	// its keys by it instead of by the key specs (Redis's sortGetKeys).
	KeysProc func(args [][]byte) []KeyRef
	// Tips are COMMAND INFO's tips ("nondeterministic_output",
	// "request_policy:all_shards"...), as Redis 7.0 prints them.
	Tips []string
}

// KeyFlags are a key spec's flags: how the command uses that key.
type KeyFlags uint16

const (
	KeyRO            KeyFlags = 1 << iota // read only
	KeyRW                                 // read and modified
	KeyOW                                 // overwritten without being read
	KeyRM                                 // removed
	KeyAccess                             // the value is returned or read by the user
	KeyUpdate                             // the value is updated
	KeyInsert                             // elements are added
	KeyDelete                             // elements are removed
	KeyNotKey                             // not a key (a channel), yet sharded like one
	KeyIncomplete                         // the spec may miss keys
	KeyVariableFlags                      // the flags depend on the arguments
)

// KeyFlagNames are the key flags in the order and spelling of Redis 7.0's
// addReplyFlagsForKeyArgs.
var KeyFlagNames = []struct {
	Flag KeyFlags
	Name string
}{
	{KeyRO, "RO"}, {KeyRW, "RW"}, {KeyOW, "OW"}, {KeyRM, "RM"},
	{KeyAccess, "access"}, {KeyUpdate, "update"}, {KeyInsert, "insert"}, {KeyDelete, "delete"},
	{KeyNotKey, "not_key"}, {KeyIncomplete, "incomplete"}, {KeyVariableFlags, "variable_flags"},
}

// KeySpec is one of Redis 7's key specifications: where the search for
// keys begins (begin_search index Begin, an argument position counting the
// name as 0) and how they are found from there: a range (LastKey relative
// to Begin when >= 0, from the end when negative: -1 the last argument;
// KeyStep; Limit) or, with NumKeys, an argument that counts them (its
// position KeyNumIdx and the first key's FirstKey, both relative to Begin;
// KeyStep).
type KeySpec struct {
	// Unknown is Redis's "unknown" begin_search and find_keys: the keys
	// cannot be found from the arguments' positions (SORT's BY, GET and
	// STORE); GETKEYS skips the spec and a row's KeysProc finds them.
	Unknown   bool
	Flags     KeyFlags
	Notes     string
	Begin     int
	NumKeys   bool
	LastKey   int
	KeyStep   int
	Limit     int
	KeyNumIdx int
	FirstKey  int
}

// KeySpecs are the command's key specs: Keys, or when a row declares none,
// the one range its FirstKey/LastKey/KeyStep describe, flagged RW for a
// write and RO otherwise (a row that needs more says so in Keys).
func (s *Spec) KeySpecs() []KeySpec {
	if s.Keys != nil || s.FirstKey <= 0 {
		return s.Keys
	}
	ks := KeySpec{Flags: KeyRO, Begin: s.FirstKey, KeyStep: s.KeyStep}
	if s.Flags&Write != 0 {
		ks.Flags = KeyRW
	}
	switch {
	case s.LastKey < 0:
		ks.LastKey = s.LastKey
	default:
		ks.LastKey = s.LastKey - s.FirstKey
	}
	return []KeySpec{ks}
}

// IsLocal reports a command the front door runs itself.
func (s *Spec) IsLocal() bool { return s.Door == Local || s.Door == LocalAtOnce }

// CheckArity returns Redis's arity error when args (name included) has the
// wrong count.
func (s *Spec) CheckArity(args [][]byte) error {
	n := len(args)
	if (s.Arity > 0 && n != s.Arity) || (s.Arity < 0 && n < -s.Arity) {
		return ErrWrongArity(s.Name)
	}
	return nil
}

// OneKey is the key spec of a single key at argument pos.
func OneKey(pos int, flags KeyFlags) KeySpec {
	return KeySpec{Flags: flags, Begin: pos, KeyStep: 1}
}

// KeyRange is the key spec of the keys from argument first on to lastKey
// (negative: counted from the end, -1 the last argument).
func KeyRange(first, lastKey int, flags KeyFlags) KeySpec {
	return KeySpec{Flags: flags, Begin: first, LastKey: lastKey, KeyStep: 1}
}

// KeysCounted is the key spec of keys counted by the argument at pos and
// following it (EVAL's and LMPOP's numkeys).
func KeysCounted(pos int, flags KeyFlags) KeySpec {
	return KeySpec{Flags: flags, Begin: pos, NumKeys: true, FirstKey: 1, KeyStep: 1}
}
