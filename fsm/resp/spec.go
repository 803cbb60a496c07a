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
}

// CheckArity returns Redis's arity error when args (name included) has the
// wrong count.
func (s *Spec) CheckArity(args [][]byte) error {
	n := len(args)
	if (s.Arity > 0 && n != s.Arity) || (s.Arity < 0 && n < -s.Arity) {
		return ErrWrongArity(s.Name)
	}
	return nil
}
