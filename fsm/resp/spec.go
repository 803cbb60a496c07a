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
	// queued: MULTI, EXEC, DISCARD, WATCH and QUIT (Redis's processCommand
	// exceptions).
	LocalAtOnce
)

// FlagNames lists every flag with the name COMMAND INFO reports for it.
var FlagNames = []struct {
	Flag Flags
	Name string
}{
	{Write, "write"}, {ReadOnly, "readonly"}, {DenyOOM, "denyoom"}, {Admin, "admin"},
	{NoScript, "noscript"}, {Blocking, "blocking"}, {Loading, "loading"},
	{Stale, "stale"}, {Fast, "fast"}, {NoMulti, "no_multi"}, {NoAuth, "no_auth"}, {AllowBusy, "allow_busy"}, {MovableKeys, "movablekeys"},
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
