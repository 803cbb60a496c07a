package lua

// Compiling scripts. A body is checked the way redis-server 7.0.15 checks
// it (shebang line, then Lua source), parsed by gopher-lua, rewritten so
// that the operations gopher-lua performs unmetered in one instruction go
// through metered helpers, and compiled once per SHA1:
//
//   - a .. b .. c          becomes  \x00concat(a, b, c)  (one string may not
//     double in size per instruction without limit);
//   - t[k] = v             becomes  \x00set(t, k, v) unless k is a constant
//     string (gopher-lua pads a table's array with nils up to any integer
//     key below 2^26);
//   - {[k] = v, ...}       becomes  \x00table(...) when a key could pad;
//   - #t                   becomes  \x00len(t) (gopher-lua scans trailing
//     nils).
//
// The helper names start with a NUL byte, so no identifier in a script can
// name or shadow them, and they live only in the environment compiled code
// runs in (machine.codeEnv), never in _G, so no string key reaches them. Compilation is a pure function of the body, so caching it
// outside the replicated state changes nothing.

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"sync"

	lua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/ast"
	"github.com/yuin/gopher-lua/parse"

	"github.com/raftlist/raftlist/fsm/resp"
)

// Script is a compiled script. It is immutable, and shared by every
// state machine in the process.
type Script struct {
	sha   string
	body  string
	flags flagSet
	proto *lua.FunctionProto
}

// SHA is the script's name in the cache.
func (s *Script) SHA() string { return s.sha }

// Body is the script's source as given, shebang included.
func (s *Script) Body() string { return s.body }

// Shebang reports whether the script starts with a "#!lua" line.
func (s *Script) Shebang() bool { return s.flags&hasShebang != 0 }

// NoWrites reports whether the script declares "flags=no-writes".
func (s *Script) NoWrites() bool { return s.flags&noWrites != 0 }

// flagSet are what a "#!lua flags=..." line declares.
type flagSet uint8

const (
	// hasShebang: the script starts with "#!lua" (not Redis's
	// compatibility mode for EVAL scripts).
	hasShebang flagSet = 1 << iota
	// noWrites: "flags=no-writes".
	noWrites
)

// flagNames are the flags Redis 7.0 accepts; only no-writes changes
// anything here (there is no OOM, staleness or cluster slot to allow).
var flagNames = map[string]flagSet{
	"no-writes": noWrites, "allow-oom": 0, "allow-stale": 0, "no-cluster": 0, "allow-cross-slot-keys": 0,
}

// SHA returns the lowercase hex SHA1 of a script body, its name in the
// script cache.
func SHA(body []byte) string {
	sum := sha1.Sum(body)
	return hex.EncodeToString(sum[:])
}

// compiled caches compiled scripts by SHA1 for every state in the
// process. Bounded: when full it is emptied and refilled on demand.
var compiled = struct {
	sync.Mutex
	m     map[string]*Script
	bytes int
}{m: make(map[string]*Script)}

const (
	compiledMax      = 4096
	compiledMaxBytes = 64 << 20
)

// Load returns the compiled script for body, or the error reply Redis
// gives for its shebang or source.
func Load(body []byte) (*Script, error) {
	sha := SHA(body)
	compiled.Lock()
	s := compiled.m[sha]
	compiled.Unlock()
	if s != nil {
		return s, nil
	}
	flags, code, err := parseShebang(body)
	if err != nil {
		return nil, err
	}
	proto, err := compile(code, chunkName)
	if err != nil {
		return nil, resp.Error("ERR Error compiling script (new function): " + err.Error())
	}
	s = &Script{sha: sha, body: string(body), flags: flags, proto: proto}
	compiled.Lock()
	defer compiled.Unlock()
	if len(compiled.m) >= compiledMax || compiled.bytes+len(body) > compiledMaxBytes {
		compiled.m, compiled.bytes = make(map[string]*Script), 0
	}
	compiled.m[sha] = s
	compiled.bytes += len(body)
	return s, nil
}

// chunkName is the name error positions show for a script's own code
// ("user_script:3: ..."); Redis loads scripts as "@user_script".
const chunkName = "user_script"

// parseShebang reads an optional "#!lua [flags=f1,f2]" first line as
// redis-server 7.0.15 does and returns the flags and the code to compile:
// the body after the shebang, newline included so line numbers stay.
func parseShebang(body []byte) (flagSet, string, error) {
	if !strings.HasPrefix(string(body), "#!") {
		return 0, string(body), nil
	}
	end := strings.IndexByte(string(body), '\n')
	if end < 0 {
		return 0, "", resp.ErrShebang
	}
	parts, ok := resp.SplitArgs(string(body[:end]))
	if !ok || len(parts) == 0 {
		return 0, "", resp.ErrShebangEngine
	}
	if parts[0] != "#!lua" {
		return 0, "", resp.Error("ERR Unexpected engine in script shebang: " + parts[0])
	}
	flags := hasShebang
	for _, part := range parts[1:] {
		list, ok := strings.CutPrefix(part, "flags=")
		if !ok {
			return 0, "", resp.Error("ERR Unknown lua shebang option: " + part)
		}
		if list == "" {
			continue
		}
		for _, name := range strings.Split(list, ",") {
			f, ok := flagNames[name]
			if !ok {
				return 0, "", resp.Error("ERR Unexpected flag in script shebang: " + name)
			}
			flags |= f
		}
	}
	return flags, string(body[end:]), nil
}

// compile parses, rewrites and compiles Lua source. Errors read as Lua
// 5.1's "chunk:line: message near 'token'" (the message itself may differ
// from PUC Lua's wording).
func compile(src, chunk string) (proto *lua.FunctionProto, err error) {
	defer func() {
		if r := recover(); r != nil {
			proto, err = nil, fmt.Errorf("%s:1: cannot compile: %v", chunk, r)
		}
	}()
	stmts, err := parse.Parse(strings.NewReader(src), chunk)
	if err != nil {
		return nil, parseError(err, chunk, src)
	}
	rw := rewriter{}
	stmts = rw.stmts(stmts)
	if rw.err != nil {
		return nil, rw.err
	}
	proto, err = lua.Compile(stmts, chunk)
	if ce, ok := err.(*lua.CompileError); ok {
		return nil, fmt.Errorf("%s:%d: %s", chunk, ce.Line, ce.Message)
	}
	return proto, err
}

func parseError(err error, chunk, src string) error {
	pe, ok := err.(*parse.Error)
	if !ok {
		return fmt.Errorf("%s:1: %s", chunk, strings.TrimSpace(err.Error()))
	}
	msg := map[string]string{
		"syntax error": "unexpected symbol", "parse error": "unexpected symbol",
		"unterminated string": "unfinished string", "unterminated multiline string": "unfinished long string",
		"invalid multiline comment": "unfinished long comment", "illegal hexadecimal number": "malformed number",
	}[pe.Message]
	if msg == "" {
		msg = pe.Message
	}
	line, tok := pe.Pos.Line, pe.Token
	if line == parse.EOF {
		line, tok = 1+strings.Count(src, "\n"), "<eof>"
	}
	return fmt.Errorf("%s:%d: %s near '%s'", chunk, line, msg, tok)
}

// chunkID is Lua 5.1's luaO_chunkid: how a chunk name shows in error
// positions ("user_script", `[string "x = 1"]`).
func chunkID(source string) string {
	source = cString(source)
	switch {
	case strings.HasPrefix(source, "="):
		return truncate(source[1:], 59)
	case strings.HasPrefix(source, "@"):
		name := source[1:]
		if max := 60 - len(" '...' ") - 1; len(name) > max {
			return "..." + name[len(name)-max:]
		}
		return name
	}
	line, max := source, 60-len(" [string \"...\"] ")-1
	cut := strings.IndexAny(line, "\n\r")
	if cut >= 0 {
		line = line[:cut]
	}
	if len(line) > max {
		line = line[:max]
	}
	if len(line) < len(source) {
		return `[string "` + line + `..."]`
	}
	return `[string "` + line + `"]`
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// maxSyntaxDepth bounds how deeply statements and expressions nest, so
// that compiling (recursive in gopher-lua) cannot exhaust Go's stack.
const maxSyntaxDepth = 1000

// maxCallArgs is how many arguments a rewritten call takes at most;
// longer concatenations and constructors are split (gopher-lua has 255
// registers per function).
const maxCallArgs = 50

// rewriter rewrites a chunk in place (see the file comment).
type rewriter struct {
	depth int
	err   error
}

func (r *rewriter) enter(line int) bool {
	r.depth++
	if r.depth > maxSyntaxDepth && r.err == nil {
		r.err = fmt.Errorf("%s:%d: chunk has too many syntax levels", chunkName, line)
	}
	return r.err == nil
}

func (r *rewriter) stmts(list []ast.Stmt) []ast.Stmt {
	for i, s := range list {
		list[i] = r.stmt(s)
	}
	return list
}

func (r *rewriter) exprs(list []ast.Expr) []ast.Expr {
	for i, e := range list {
		list[i] = r.expr(e)
	}
	return list
}

func (r *rewriter) stmt(s ast.Stmt) ast.Stmt {
	defer func() { r.depth-- }()
	if !r.enter(s.Line()) {
		return s
	}
	switch s := s.(type) {
	case *ast.AssignStmt:
		r.exprs(s.Lhs)
		r.exprs(s.Rhs)
		return r.assign(s)
	case *ast.LocalAssignStmt:
		r.exprs(s.Exprs)
	case *ast.FuncCallStmt:
		s.Expr = r.expr(s.Expr)
	case *ast.DoBlockStmt:
		r.stmts(s.Stmts)
	case *ast.WhileStmt:
		s.Condition = r.expr(s.Condition)
		r.stmts(s.Stmts)
	case *ast.RepeatStmt:
		s.Condition = r.expr(s.Condition)
		r.stmts(s.Stmts)
	case *ast.IfStmt:
		s.Condition = r.expr(s.Condition)
		r.stmts(s.Then)
		r.stmts(s.Else)
	case *ast.NumberForStmt:
		s.Init, s.Limit = r.expr(s.Init), r.expr(s.Limit)
		if s.Step != nil {
			s.Step = r.expr(s.Step)
		}
		r.stmts(s.Stmts)
	case *ast.GenericForStmt:
		r.exprs(s.Exprs)
		r.stmts(s.Stmts)
	case *ast.FuncDefStmt:
		r.expr(s.Func)
	case *ast.ReturnStmt:
		r.exprs(s.Exprs)
	}
	return s
}

func (r *rewriter) expr(e ast.Expr) ast.Expr {
	defer func() { r.depth-- }()
	if !r.enter(e.Line()) {
		return e
	}
	switch e := e.(type) {
	case *ast.AttrGetExpr:
		e.Object, e.Key = r.expr(e.Object), r.expr(e.Key)
	case *ast.TableExpr:
		for _, f := range e.Fields {
			if f.Key != nil {
				f.Key = r.expr(f.Key)
			}
			f.Value = r.expr(f.Value)
		}
		return r.table(e)
	case *ast.FuncCallExpr:
		if e.Func != nil {
			e.Func = r.expr(e.Func)
		}
		if e.Receiver != nil {
			e.Receiver = r.expr(e.Receiver)
		}
		r.exprs(e.Args)
	case *ast.LogicalOpExpr:
		e.Lhs, e.Rhs = r.expr(e.Lhs), r.expr(e.Rhs)
	case *ast.RelationalOpExpr:
		e.Lhs, e.Rhs = r.expr(e.Lhs), r.expr(e.Rhs)
	case *ast.ArithmeticOpExpr:
		e.Lhs, e.Rhs = r.expr(e.Lhs), r.expr(e.Rhs)
	case *ast.UnaryMinusOpExpr:
		e.Expr = r.expr(e.Expr)
	case *ast.UnaryNotOpExpr:
		e.Expr = r.expr(e.Expr)
	case *ast.UnaryLenOpExpr:
		return callExpr(e, "\x00len", r.expr(e.Expr))
	case *ast.StringConcatOpExpr:
		return r.concat(e)
	case *ast.FunctionExpr:
		r.stmts(e.Stmts)
	}
	return e
}

// concat flattens a chain a .. b .. c (right-associative) into one call,
// or for a long chain calls of at most maxCallArgs operands, each taking
// the previous one's result first (operands are still evaluated left to
// right; only __concat metamethods could see the grouping).
func (r *rewriter) concat(e *ast.StringConcatOpExpr) ast.Expr {
	var ops []ast.Expr
	var rest ast.Expr = e
	for {
		c, ok := rest.(*ast.StringConcatOpExpr)
		if !ok {
			ops = append(ops, r.expr(rest))
			break
		}
		ops = append(ops, r.expr(c.Lhs))
		rest = c.Rhs
	}
	call := callExpr(e, "\x00concat", ops[:min(len(ops), maxCallArgs)]...)
	for rest := ops[len(call.Args):]; len(rest) > 0; rest = rest[min(len(rest), maxCallArgs-1):] {
		call = callExpr(e, "\x00concat", append([]ast.Expr{call}, rest[:min(len(rest), maxCallArgs-1)]...)...)
	}
	return call
}

// assign rewrites an assignment whose targets include t[k] with a key that
// is not a constant string.
func (r *rewriter) assign(s *ast.AssignStmt) ast.Stmt {
	risky := false
	for _, target := range s.Lhs {
		if a, ok := target.(*ast.AttrGetExpr); ok && !isStringConst(a.Key) {
			risky = true
		}
	}
	if !risky {
		return s
	}
	if len(s.Lhs) == 1 {
		a := s.Lhs[0].(*ast.AttrGetExpr)
		return callStmt(s, "\x00set", append([]ast.Expr{a.Object, a.Key}, s.Rhs...)...)
	}
	return r.multiAssign(s)
}

// assignTarget is one target of a multiple assignment: a table and key
// held in locals, or a plain variable.
type assignTarget struct{ obj, key, ident ast.Expr }

// multiAssign rewrites a[i], b = x, y: the targets' tables and keys, then
// the values, are evaluated into fresh locals; then the targets are
// assigned right to left, as Lua 5.1 does.
func (r *rewriter) multiAssign(s *ast.AssignStmt) ast.Stmt {
	var names []string
	var exprs []ast.Expr
	tmp := func(e ast.Expr) *ast.IdentExpr {
		name := "\x00v" + strconv.Itoa(len(names))
		names, exprs = append(names, name), append(exprs, e)
		return ident(s, name)
	}
	targets := make([]assignTarget, len(s.Lhs))
	for i, t := range s.Lhs {
		if a, ok := t.(*ast.AttrGetExpr); ok {
			targets[i] = assignTarget{obj: tmp(a.Object), key: a.Key}
			if !isStringConst(a.Key) {
				targets[i].key = tmp(a.Key)
			}
		} else {
			targets[i] = assignTarget{ident: t}
		}
	}
	values := make([]ast.Expr, 0, len(s.Lhs))
	for i := 0; i < max(len(s.Lhs), len(s.Rhs)); i++ {
		name := "\x00v" + strconv.Itoa(len(names))
		names = append(names, name)
		if i < len(s.Rhs) {
			exprs = append(exprs, s.Rhs[i])
		}
		values = append(values, ident(s, name))
	}
	block := &ast.DoBlockStmt{Stmts: []ast.Stmt{&ast.LocalAssignStmt{Names: names, Exprs: exprs}}}
	block.SetLine(s.Line())
	block.SetLastLine(s.LastLine())
	for i := len(targets) - 1; i >= 0; i-- {
		block.Stmts = append(block.Stmts, assignOne(s, targets[i], values[i]))
	}
	block.Stmts[0].SetLine(s.Line())
	block.Stmts[0].SetLastLine(s.LastLine())
	return block
}

// assignOne assigns v to t, at the position of the statement s.
func assignOne(s *ast.AssignStmt, t assignTarget, v ast.Expr) ast.Stmt {
	var st ast.Stmt
	switch {
	case t.ident != nil:
		st = &ast.AssignStmt{Lhs: []ast.Expr{t.ident}, Rhs: []ast.Expr{v}}
	case isStringConst(t.key):
		get := &ast.AttrGetExpr{Object: t.obj, Key: t.key}
		get.SetLine(s.Line())
		st = &ast.AssignStmt{Lhs: []ast.Expr{get}, Rhs: []ast.Expr{v}}
	default:
		st = callStmt(s, "\x00set", t.obj, t.key, v)
	}
	st.SetLine(s.Line())
	st.SetLastLine(s.LastLine())
	return st
}

// table rewrites a constructor with a key that could pad the array part:
// any key but a constant string or a constant integer no larger than the
// number of fields. The fields become calls of at most maxCallArgs
// arguments, in source order; a shape string says how to read them ('p' a
// positional value, 'k' a key and a value, 'm' the last positional field's
// many values).
func (r *rewriter) table(e *ast.TableExpr) ast.Expr {
	risky := false
	for _, f := range e.Fields {
		if f.Key != nil && !isStringConst(f.Key) && !isSmallIndex(f.Key, len(e.Fields)) {
			risky = true
		}
	}
	if !risky {
		return e
	}
	var call ast.Expr
	pos := 1
	for start := 0; start < len(e.Fields); {
		var shape strings.Builder
		var args []ast.Expr
		i := start
		for ; i < len(e.Fields) && len(args) < maxCallArgs-3; i++ {
			f := e.Fields[i]
			switch {
			case f.Key != nil:
				shape.WriteByte('k')
				args = append(args, f.Key, f.Value)
			case i == len(e.Fields)-1 && isMulti(f.Value):
				shape.WriteByte('m')
				args = append(args, f.Value)
			default:
				shape.WriteByte('p')
				args = append(args, f.Value)
			}
		}
		head := []ast.Expr{numberExpr(e, pos), stringExpr(e, shape.String())}
		if call != nil {
			head = append([]ast.Expr{call}, head...)
			call = callExpr(e, "\x00tmore", append(head, args...)...)
		} else {
			call = callExpr(e, "\x00table", append(head, args...)...)
		}
		pos += strings.Count(shape.String(), "p")
		start = i
	}
	return call
}

func isStringConst(e ast.Expr) bool {
	_, ok := e.(*ast.StringExpr)
	return ok
}

// isSmallIndex reports whether e is a constant integer in [1, n].
func isSmallIndex(e ast.Expr, n int) bool {
	num, ok := e.(*ast.NumberExpr)
	if !ok {
		return false
	}
	f, ok := toNumber(lua.LString(num.Value))
	return ok && f >= 1 && f <= float64(n) && f == float64(int(f))
}

// isMulti reports whether e can produce many values (an unparenthesized
// call or ...).
func isMulti(e ast.Expr) bool {
	switch e := e.(type) {
	case *ast.FuncCallExpr:
		return !e.AdjustRet
	case *ast.Comma3Expr:
		return !e.AdjustRet
	}
	return false
}

func ident(at ast.PositionHolder, name string) *ast.IdentExpr {
	id := &ast.IdentExpr{Value: name}
	id.SetLine(at.Line())
	id.SetLastLine(at.LastLine())
	return id
}

func numberExpr(at ast.PositionHolder, n int) ast.Expr {
	e := &ast.NumberExpr{Value: strconv.Itoa(n)}
	e.SetLine(at.Line())
	return e
}

func stringExpr(at ast.PositionHolder, s string) ast.Expr {
	e := &ast.StringExpr{Value: s}
	e.SetLine(at.Line())
	return e
}

func callExpr(at ast.PositionHolder, helper string, args ...ast.Expr) *ast.FuncCallExpr {
	call := &ast.FuncCallExpr{Func: ident(at, helper), Args: args, AdjustRet: true}
	call.SetLine(at.Line())
	call.SetLastLine(at.LastLine())
	return call
}

func callStmt(at ast.PositionHolder, helper string, args ...ast.Expr) ast.Stmt {
	st := &ast.FuncCallStmt{Expr: callExpr(at, helper, args...)}
	st.SetLine(at.Line())
	st.SetLastLine(at.LastLine())
	return st
}
