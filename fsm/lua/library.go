package lua

// Redis 7 function libraries (FUNCTION LOAD, FCALL), as redis-server
// 7.0.15's function_lua.c runs them, with one difference that keeps every
// node equal: Redis runs a library's code once, at FUNCTION LOAD, and keeps
// the registered callbacks — and their upvalues — alive in its one Lua VM
// for as long as the library exists, so `local n = 0` in a library is a
// counter every FCALL may change. Here the library is immutable compiled
// code: every FCALL runs the library's code afresh (its load phase, in the
// load-time environment, with redis.log silenced), then calls the callback
// it registered. Nothing a callback does outlives its FCALL except through
// the keyspace, so warm and cold machines, and nodes restored from
// snapshots, answer the same.

import (
	"strings"
	"sync"

	lua "github.com/yuin/gopher-lua"

	"github.com/raftlist/raftlist/fsm/resp"
)

// libChunkName is the name error positions show for a library's code
// ("user_function:3: ..."); Redis loads libraries as "@user_function".
const libChunkName = "user_function"

// Library is a library's code, its name from the "#!lua name=..." line,
// and (once compiled) the code to run. It is immutable.
type Library struct {
	name  string
	code  string
	body  string // the code after the shebang line, newline included
	once  sync.Once
	proto *lua.FunctionProto
	err   error
}

// Name is the library's name.
func (l *Library) Name() string { return l.name }

// Code is the library's code as loaded, shebang line included.
func (l *Library) Code() string { return l.code }

// Function is one function a library registered.
type Function struct {
	Name        string
	Description string
	HasDesc     bool
	Flags       FunctionFlags
}

// FunctionFlags are the flags redis.register_function accepts.
type FunctionFlags uint8

// FunctionNoWrites is "no-writes": the function may not write.
const FunctionNoWrites FunctionFlags = 1

// FunctionFlagNames are the flags' names in Redis's order
// (scripts_flags_def): bit i is FunctionFlagNames[i].
var FunctionFlagNames = []string{"no-writes", "allow-oom", "allow-stale", "no-cluster", "allow-cross-slot-keys"}

// ValidName reports whether a library or function name is made of
// letters, digits and underscores only, and is not empty (Redis's
// functionsVerifyName).
func ValidName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// Errors of FUNCTION LOAD's metadata, as redis-server 7.0.15 words them.
var (
	errLibMissingMeta = resp.Error("ERR Missing library metadata")
	errLibInvalidMeta = resp.Error("ERR Invalid library metadata")
	errLibNameTwice   = resp.Error("ERR Invalid metadata value, name argument was given multiple times")
	errLibNoName      = resp.Error("ERR Library name was not given")
	// ErrLibraryName is Redis's text for a bad library or function name.
	ErrLibraryName = resp.Error("ERR Library names can only contain letters, numbers, or underscores(_) and must be at least one character long")
)

// ParseLibrary reads a library's "#!<engine> name=<name>" line as
// Redis's functionExtractLibMetaData does, then checks the name and the
// engine. The code is not compiled yet (Compile): Redis refuses an
// existing library's name before it compiles.
func ParseLibrary(code []byte) (*Library, error) {
	s := string(code)
	if !strings.HasPrefix(s, "#!") {
		return nil, errLibMissingMeta
	}
	end := strings.IndexByte(s, '\n')
	if end < 0 {
		return nil, errLibInvalidMeta
	}
	// Redis works on C strings here: the line ends at a NUL.
	parts, ok := resp.SplitArgs(string(resp.CString([]byte(s[:end]))))
	if !ok || len(parts) == 0 {
		return nil, errLibInvalidMeta
	}
	engine, name, named := strings.TrimPrefix(parts[0], "#!"), "", false
	if len(parts[0]) < 2 {
		engine = ""
	}
	for _, part := range parts[1:] {
		if len(part) >= 5 && strings.EqualFold(part[:5], "name=") {
			if named {
				return nil, errLibNameTwice
			}
			name, named = part[5:], true
			continue
		}
		return nil, resp.Error("ERR Invalid metadata value given: " + string(resp.CString([]byte(part))))
	}
	if !named {
		return nil, errLibNoName
	}
	if !ValidName(name) {
		return nil, ErrLibraryName
	}
	if !strings.EqualFold(engine, "lua") {
		return nil, resp.Error("ERR Engine '" + engine + "' not found")
	}
	return &Library{name: name, code: s, body: s[end:]}, nil
}

// Compile compiles the library's code (once; the result is kept), or
// returns Redis's "Error compiling function" reply.
func (l *Library) Compile() error {
	l.once.Do(func() {
		proto, err := compile(l.body, libChunkName)
		if err != nil {
			l.err = resp.Error("ERR Error compiling function: " + err.Error())
			return
		}
		l.proto = proto
	})
	return l.err
}

// libLoad is a library's load phase in progress: what register_function
// collected.
type libLoad struct {
	funcs     []Function
	callbacks []*lua.LFunction
}

// errLoadTimeout is the load phase's budget running out: Redis stops a
// library's load after 500 ms with this text; here a counted budget
// stops it, at the same point on every node.
const errLoadTimeout = "ERR FUNCTION LOAD timeout"

// LoadLibrary runs the library's code as FUNCTION LOAD does, with host and
// budget, and returns the functions it registered, in order, or Redis's
// "Error registering functions: ..." reply.
func (p *Pool) LoadLibrary(l *Library, host Host, budget Budget) ([]Function, error) {
	if err := l.Compile(); err != nil {
		return nil, err
	}
	var funcs []Function
	err := p.withLibrary(l, host, budget, "", func(*machine, *runState, *libLoad) {}, &funcs)
	return funcs, err
}

// CallFunction is FCALL: it runs the library's code afresh, then calls
// the function it registered as name with keys and args, and returns the
// reply. readOnly is nothing to this package: the host refuses writes.
func (p *Pool) CallFunction(l *Library, name string, keys, args [][]byte, host Host, budget Budget) (reply resp.Reply) {
	if err := l.Compile(); err != nil {
		return asErrorReply(err)
	}
	err := p.withLibrary(l, host, budget, name, func(vm *machine, run *runState, load *libLoad) {
		cb := load.callback(name)
		if cb == nil {
			reply = resp.Error("ERR Function not found")
			return
		}
		L := vm.L
		vm.libMeta.RawSetString("__index", vm.globals)
		L.SetContext(run)
		L.Push(cb)
		L.Push(stringList(L, keys))
		L.Push(stringList(L, args))
		err := L.PCall(2, 1, vm.errHandler)
		L.RemoveContext()
		reply = run.result(err)
	}, nil)
	if err != nil {
		return asErrorReply(err)
	}
	return reply
}

func (l *libLoad) callback(name string) *lua.LFunction {
	for i, f := range l.funcs {
		if f.Name == name {
			return l.callbacks[i]
		}
	}
	return nil
}

func asErrorReply(err error) resp.Reply {
	if e, ok := err.(resp.Error); ok {
		return e
	}
	return resp.Error("ERR " + err.Error())
}

// withLibrary runs the library's load phase on one of the pool's machines
// and, if it succeeds, then(vm, run, load) on the same machine and run
// (the call phase of FCALL). funcs, when not nil, receives the functions
// registered. The load phase of an FCALL (name != "") writes no log lines:
// Redis writes them once, at FUNCTION LOAD.
func (p *Pool) withLibrary(l *Library, host Host, budget Budget, name string, then func(*machine, *runState, *libLoad), funcs *[]Function) (err error) {
	vm, run := p.start(host, name, budget)
	run.quiet = name != ""
	L := vm.L
	defer func() {
		if r := recover(); r != nil {
			vm.broken = true
			err = resp.Error("ERR Error registering functions: the Lua engine failed")
		}
		vm.libMeta.RawSetString("__index", vm.libAPI)
		p.put(vm)
	}()
	load := &libLoad{}
	run.lib = load
	vm.libMeta.RawSetString("__index", vm.libAPI)
	fn := L.NewFunctionFromProto(l.proto)
	fn.Env = vm.libCode
	L.SetContext(run)
	L.Push(fn)
	perr := L.PCall(0, 0, nil)
	L.RemoveContext()
	run.budget.settle()
	run.lib = nil
	run.quiet = false
	if aerr, ok := perr.(*lua.ApiError); ok && aerr.Type == lua.ApiErrorPanic {
		vm.broken = true
	}
	switch {
	case run.budget.stop != nil:
		return resp.Error("ERR Error registering functions: " + errLoadTimeout)
	case perr != nil:
		msg := "ERR " + hideAddresses(perr.Error())
		if aerr, ok := perr.(*lua.ApiError); ok {
			run.errObj = aerr.Object
			msg = run.errMessage()
		}
		return resp.Sanitize("ERR Error registering functions: " + msg)
	}
	if funcs != nil {
		*funcs = load.funcs
	}
	then(vm, run, load)
	return nil
}

// registerFunction is redis.register_function, in the load-time redis
// table only: (name, callback) or ({function_name=, callback=, flags=,
// description=}).
func (vm *machine) registerFunction(L *lua.LState) int {
	run := vm.run
	if run == nil || run.lib == nil {
		L.Error(errorTable(L, "redis.register_function can only be called on FUNCTION LOAD command"), 0)
	}
	run.budget.charge(L, 1, 64)
	var f Function
	var cb *lua.LFunction
	switch L.GetTop() {
	case 1:
		f, cb = vm.namedArgs(L)
	case 2:
		name, ok := stringOf(L.Get(1))
		if !ok {
			L.Error(errorTable(L, "first argument to redis.register_function must be a string"), 0)
		}
		fn, ok := L.Get(2).(*lua.LFunction)
		if !ok {
			L.Error(errorTable(L, "second argument to redis.register_function must be a function"), 0)
		}
		f, cb = Function{Name: name}, fn
	default:
		L.Error(errorTable(L, "wrong number of arguments to redis.register_function"), 0)
	}
	if !ValidName(f.Name) { // a NUL is part of the name, as in Redis
		L.Error(errorTable(L, string(ErrLibraryName[len("ERR "):])), 0)
	}
	if run.lib.callback(f.Name) != nil {
		L.Error(errorTable(L, "Function already exists in the library"), 0)
	}
	run.lib.funcs = append(run.lib.funcs, f)
	run.lib.callbacks = append(run.lib.callbacks, cb)
	return 0
}

// namedArgs reads register_function's one table argument, in the
// table's order (Redis's in its hash order: with two bad arguments the
// error named may differ).
func (vm *machine) namedArgs(L *lua.LState) (Function, *lua.LFunction) {
	t, ok := L.Get(1).(*lua.LTable)
	if !ok {
		L.Error(errorTable(L, "calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments)."), 0)
	}
	var f Function
	var cb *lua.LFunction
	named := false
	for k, v := vm.nextOf(L, t, lua.LNil); k != lua.LNil; k, v = vm.nextOf(L, t, k) {
		run := vm.run
		run.budget.charge(L, 1, 0)
		key, ok := stringOf(k)
		if !ok {
			L.Error(errorTable(L, "named argument key given to redis.register_function is not a string"), 0)
		}
		switch strings.ToLower(string(resp.CString([]byte(key)))) {
		case "function_name":
			if f.Name, ok = stringOf(v); !ok {
				L.Error(errorTable(L, "function_name argument given to redis.register_function must be a string"), 0)
			}
			named = true
		case "description":
			if f.Description, ok = stringOf(v); !ok {
				L.Error(errorTable(L, "description argument given to redis.register_function must be a string"), 0)
			}
			f.HasDesc = true
		case "callback":
			if cb, ok = v.(*lua.LFunction); !ok {
				L.Error(errorTable(L, "callback argument given to redis.register_function must be a function"), 0)
			}
		case "flags":
			ft, ok := v.(*lua.LTable)
			if !ok {
				L.Error(errorTable(L, "flags argument to redis.register_function must be a table representing function flags"), 0)
			}
			f.Flags = vm.functionFlags(L, ft)
		default:
			L.Error(errorTable(L, "unknown argument given to redis.register_function"), 0)
		}
	}
	if !named {
		L.Error(errorTable(L, "redis.register_function must get a function name argument"), 0)
	}
	if cb == nil {
		L.Error(errorTable(L, "redis.register_function must get a callback argument"), 0)
	}
	return f, cb
}

// functionFlags reads a flags table: its elements 1, 2, ... up to the
// first nil, each a flag's name in any case.
func (vm *machine) functionFlags(L *lua.LState, t *lua.LTable) FunctionFlags {
	var flags FunctionFlags
	for i := 1; ; i++ {
		vm.run.budget.charge(L, 1, 0)
		v := L.GetTable(t, lua.LNumber(i))
		if v == lua.LNil {
			return flags
		}
		s, ok := stringOf(v)
		found := false
		for bit, name := range FunctionFlagNames {
			if ok && strings.EqualFold(string(resp.CString([]byte(s))), name) {
				flags |= 1 << bit
				found = true
				break
			}
		}
		if !found {
			L.Error(errorTable(L, "unknown flag given"), 0)
		}
	}
}

// libraryAPI builds what a library's code sees while it loads: only
// redis.register_function, redis.log and its levels, and the version;
// any other name is "nonexistent" (Redis's LIBRARY_API with its error
// metatable). It returns the read-only view.
func (vm *machine) libraryAPI() *lua.LTable {
	L := vm.L
	missing := L.NewTable()
	missing.RawSetString("__index", L.NewFunction(missingGlobal))
	redis := L.NewTable()
	setFuncs(L, redis, map[string]lua.LGFunction{
		"register_function": vm.registerFunction,
		"log":               func(L *lua.LState) int { return vm.run.log(L) },
	})
	for _, c := range []struct {
		name string
		v    lua.LValue
	}{
		{"LOG_DEBUG", lua.LNumber(LogDebug)}, {"LOG_VERBOSE", lua.LNumber(LogVerbose)},
		{"LOG_NOTICE", lua.LNumber(LogNotice)}, {"LOG_WARNING", lua.LNumber(LogWarning)},
		{"REDIS_VERSION_NUM", lua.LNumber(redisVersionNum)}, {"REDIS_VERSION", lua.LString(redisVersion)},
	} {
		redis.RawSetString(c.name, c.v)
	}
	L.SetMetatable(redis, missing)
	api := L.NewTable()
	api.RawSetString("redis", vm.readOnly(redis))
	L.SetMetatable(api, missing)
	return vm.readOnly(api)
}

// libraryEnv builds the environment a library's code runs in: the
// compiler's helpers, then (through libMeta's __index) the load-time API
// while it loads and the globals while a callback runs, as Redis swaps
// its globals' __index. Writes fail as writes to _G do.
func (vm *machine) libraryEnv() {
	L := vm.L
	vm.libAPI = vm.libraryAPI()
	vm.libCode = L.NewTable()
	setFuncs(L, vm.libCode, vm.helpers())
	vm.libMeta = L.NewTable()
	vm.libMeta.RawSetString("__index", vm.libAPI)
	vm.libMeta.RawSetString("__newindex", L.NewFunction(readOnlyWrite))
	L.SetMetatable(vm.libCode, vm.libMeta)
}
