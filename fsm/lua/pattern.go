package lua

// Lua 5.1 patterns (lstrlib.c's matcher, ported): string.find, match,
// gmatch and gsub. Every step of the backtracking matcher is charged to the
// run's instruction budget, so a pattern built to backtrack forever stops
// like a loop does; recursion is bounded as in Lua 5.2 ("pattern too
// complex") because Go's stack, unlike C's in Redis, must not overflow.

import (
	"strings"

	lua "github.com/yuin/gopher-lua"
)

const (
	maxCaptures   = 32  // LUA_MAXCAPTURES
	maxMatchCall  = 200 // MAXCCALLS of Lua 5.2's matcher
	capUnfinished = -1
	capPosition   = -2
	patSpecials   = "^$*+?.([%-"
)

type matcher struct {
	L     *lua.LState
	run   *runState
	src   string
	pat   string
	level int
	depth int
	steps int64
	cap   [maxCaptures]struct{ init, len int }
}

// step counts one unit of matching work, charging the budget in batches.
func (m *matcher) step() {
	m.steps++
	if m.steps&1023 == 0 {
		m.run.budget.charge(m.L, 1024, 0)
	}
}

func (m *matcher) flush() { m.run.budget.charge(m.L, m.steps&1023, 0) }

// p returns the pattern byte at i, 0 past the end (C's terminator).
func (m *matcher) p(i int) byte {
	if i < len(m.pat) {
		return m.pat[i]
	}
	return 0
}

func isClass(c byte, cl byte) bool {
	var res bool
	lower := cl
	if 'A' <= lower && lower <= 'Z' {
		lower += 'a' - 'A'
	}
	switch lower {
	case 'a':
		res = ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
	case 'c':
		res = c < 32 || c == 127
	case 'd':
		res = '0' <= c && c <= '9'
	case 'l':
		res = 'a' <= c && c <= 'z'
	case 'p':
		res = (33 <= c && c <= 47) || (58 <= c && c <= 64) || (91 <= c && c <= 96) || (123 <= c && c <= 126)
	case 's':
		res = c == ' ' || (9 <= c && c <= 13)
	case 'u':
		res = 'A' <= c && c <= 'Z'
	case 'w':
		res = ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9')
	case 'x':
		res = ('0' <= c && c <= '9') || ('a' <= c && c <= 'f') || ('A' <= c && c <= 'F')
	case 'z':
		res = c == 0
	default:
		return cl == c
	}
	if 'A' <= cl && cl <= 'Z' {
		return !res
	}
	return res
}

func (m *matcher) classEnd(p int) int {
	c := m.p(p)
	p++
	switch c {
	case '%':
		if p >= len(m.pat) {
			m.L.RaiseError("%s", "malformed pattern (ends with '%')")
		}
		return p + 1
	case '[':
		if m.p(p) == '^' {
			p++
		}
		for {
			if p >= len(m.pat) {
				m.L.RaiseError("%s", "malformed pattern (missing ']')")
			}
			c := m.pat[p]
			p++
			if c == '%' && p < len(m.pat) {
				p++
			}
			if m.p(p) == ']' {
				return p + 1
			}
		}
	}
	return p
}

func (m *matcher) bracketClass(c byte, p, ec int) bool {
	sig := true
	if m.p(p+1) == '^' {
		sig = false
		p++
	}
	for p++; p < ec; p++ {
		switch {
		case m.pat[p] == '%':
			p++
			if isClass(c, m.p(p)) {
				return sig
			}
		case m.p(p+1) == '-' && p+2 < ec:
			p += 2
			if m.pat[p-2] <= c && c <= m.pat[p] {
				return sig
			}
		case m.pat[p] == c:
			return sig
		}
	}
	return !sig
}

func (m *matcher) single(s, p, ep int) bool {
	if s >= len(m.src) {
		return false
	}
	c := m.src[s]
	switch m.p(p) {
	case '.':
		return true
	case '%':
		return isClass(c, m.p(p+1))
	case '[':
		return m.bracketClass(c, p, ep-1)
	}
	return m.p(p) == c
}

// match returns the end of the match of pattern[p:] at src[s:], or -1.
func (m *matcher) match(s, p int) int {
	m.depth++
	if m.depth > maxMatchCall {
		m.L.RaiseError("pattern too complex")
	}
	defer func() { m.depth-- }()
	for {
		m.step()
		switch m.p(p) {
		case '(':
			if m.p(p+1) == ')' {
				return m.startCapture(s, p+2, capPosition)
			}
			return m.startCapture(s, p+1, capUnfinished)
		case ')':
			return m.endCapture(s, p+1)
		case 0: // the end of the pattern
			return s
		case '$':
			if p+1 == len(m.pat) {
				if s == len(m.src) {
					return s
				}
				return -1
			}
		case '%':
			switch c := m.p(p + 1); {
			case c == 'b':
				if s = m.balance(s, p+2); s < 0 {
					return -1
				}
				p += 4
				continue
			case c == 'f':
				p += 2
				if m.p(p) != '[' {
					m.L.RaiseError("%s", "missing '[' after '%f' in pattern")
				}
				ep := m.classEnd(p)
				var prev, cur byte
				if s > 0 {
					prev = m.src[s-1]
				}
				if s < len(m.src) {
					cur = m.src[s]
				}
				if m.bracketClass(prev, p, ep-1) || !m.bracketClass(cur, p, ep-1) {
					return -1
				}
				p = ep
				continue
			case '0' <= c && c <= '9':
				if s = m.matchCapture(s, c); s < 0 {
					return -1
				}
				p += 2
				continue
			}
		}
		ep := m.classEnd(p)
		ok := m.single(s, p, ep)
		switch m.p(ep) {
		case '?':
			if ok {
				if res := m.match(s+1, ep+1); res >= 0 {
					return res
				}
			}
			p = ep + 1
			continue
		case '*':
			return m.maxExpand(s, p, ep)
		case '+':
			if !ok {
				return -1
			}
			return m.maxExpand(s+1, p, ep)
		case '-':
			return m.minExpand(s, p, ep)
		}
		if !ok {
			return -1
		}
		s++
		p = ep
	}
}

func (m *matcher) balance(s, p int) int {
	if p+1 >= len(m.pat) {
		m.L.RaiseError("unbalanced pattern")
	}
	if s >= len(m.src) || m.src[s] != m.pat[p] {
		return -1
	}
	b, e, cont := m.pat[p], m.pat[p+1], 1
	for s++; s < len(m.src); s++ {
		m.step()
		if m.src[s] == e {
			if cont--; cont == 0 {
				return s + 1
			}
		} else if m.src[s] == b {
			cont++
		}
	}
	return -1
}

func (m *matcher) maxExpand(s, p, ep int) int {
	i := 0
	for m.single(s+i, p, ep) {
		m.step()
		i++
	}
	for ; i >= 0; i-- {
		if res := m.match(s+i, ep+1); res >= 0 {
			return res
		}
	}
	return -1
}

func (m *matcher) minExpand(s, p, ep int) int {
	for {
		if res := m.match(s, ep+1); res >= 0 {
			return res
		}
		if !m.single(s, p, ep) {
			return -1
		}
		s++
	}
}

func (m *matcher) startCapture(s, p, what int) int {
	if m.level >= maxCaptures {
		m.L.RaiseError("too many captures")
	}
	m.cap[m.level].init, m.cap[m.level].len = s, what
	m.level++
	res := m.match(s, p)
	if res < 0 {
		m.level--
	}
	return res
}

func (m *matcher) endCapture(s, p int) int {
	l := -1
	for i := m.level - 1; i >= 0; i-- {
		if m.cap[i].len == capUnfinished {
			l = i
			break
		}
	}
	if l < 0 {
		m.L.RaiseError("invalid pattern capture")
	}
	m.cap[l].len = s - m.cap[l].init
	res := m.match(s, p)
	if res < 0 {
		m.cap[l].len = capUnfinished
	}
	return res
}

func (m *matcher) matchCapture(s int, c byte) int {
	l := int(c) - '1'
	if l < 0 || l >= m.level || m.cap[l].len == capUnfinished {
		m.L.RaiseError("invalid capture index")
	}
	n := m.cap[l].len
	if len(m.src)-s >= n && m.src[m.cap[l].init:m.cap[l].init+n] == m.src[s:s+n] {
		return s + n
	}
	return -1
}

// capture returns capture i of the match src[s:e] (the whole match when
// there are no captures).
func (m *matcher) capture(i, s, e int) lua.LValue {
	if i >= m.level {
		if i != 0 {
			m.L.RaiseError("invalid capture index")
		}
		return lua.LString(m.src[s:e])
	}
	switch n := m.cap[i].len; n {
	case capUnfinished:
		m.L.RaiseError("unfinished capture")
	case capPosition:
		return lua.LNumber(m.cap[i].init + 1)
	}
	return lua.LString(m.src[m.cap[i].init : m.cap[i].init+m.cap[i].len])
}

// pushCaptures pushes the captures (or the whole match when wholeIfNone)
// and returns how many.
func (m *matcher) pushCaptures(s, e int, wholeIfNone bool) int {
	n := m.level
	if n == 0 && wholeIfNone {
		n = 1
	}
	for i := 0; i < n; i++ {
		m.L.Push(m.capture(i, s, e))
	}
	return n
}

func (vm *machine) newMatch(L *lua.LState, src, pat string) *matcher {
	return &matcher{L: L, run: vm.run, src: src, pat: cString(pat)}
}

// string.find (s, pattern [, init [, plain]])
func (vm *machine) strFind(L *lua.LState) int { return vm.findAux(L, true) }

// string.match (s, pattern [, init])
func (vm *machine) strMatch(L *lua.LState) int { return vm.findAux(L, false) }

func (vm *machine) findAux(L *lua.LState, find bool) int {
	fname := "match"
	if find {
		fname = "find"
	}
	s := checkString(L, 1, fname)
	p := checkString(L, 2, fname)
	init := posRelat(optInt(L, 3, fname, 1), len(s)) - 1
	if init < 0 {
		init = 0
	} else if init > int64(len(s)) {
		init = int64(len(s))
	}
	if find && (lua.LVAsBool(L.Get(4)) || !strings.ContainsAny(cString(p), patSpecials)) {
		vm.run.budget.charge(L, int64(len(s))/64, 0)
		if i := strings.Index(s[init:], p); i >= 0 {
			L.Push(lua.LNumber(int(init) + i + 1))
			L.Push(lua.LNumber(int(init) + i + len(p)))
			return 2
		}
		L.Push(lua.LNil)
		return 1
	}
	m := vm.newMatch(L, s, p)
	anchor := m.p(0) == '^'
	if anchor {
		m.pat = m.pat[1:]
	}
	for s1 := int(init); ; s1++ {
		m.level = 0
		if e := m.match(s1, 0); e >= 0 {
			m.flush()
			if find {
				L.Push(lua.LNumber(s1 + 1))
				L.Push(lua.LNumber(e))
				return m.pushCaptures(s1, e, false) + 2
			}
			return m.pushCaptures(s1, e, true)
		}
		if s1 >= len(s) || anchor {
			break
		}
	}
	m.flush()
	L.Push(lua.LNil)
	return 1
}

// string.gmatch (s, pattern)
func (vm *machine) strGmatch(L *lua.LState) int {
	s := checkString(L, 1, "gmatch")
	p := checkString(L, 2, "gmatch")
	next := 0
	L.Push(L.NewFunction(func(L *lua.LState) int {
		m := vm.newMatch(L, s, p)
		for src := next; src <= len(s); src++ {
			m.level = 0
			if e := m.match(src, 0); e >= 0 {
				m.flush()
				next = e
				if e == src {
					next++
				}
				return m.pushCaptures(src, e, true)
			}
		}
		m.flush()
		next = len(s) + 1
		return 0
	}))
	return 1
}

// string.gsub (s, pattern, repl [, n])
func (vm *machine) strGsub(L *lua.LState) int {
	src := checkString(L, 1, "gsub")
	p := checkString(L, 2, "gsub")
	repl := L.Get(3)
	switch repl.Type() {
	case lua.LTNumber, lua.LTString, lua.LTFunction, lua.LTTable:
	default:
		argError(L, 3, "gsub", "string/function/table expected")
	}
	maxN := optInt(L, 4, "gsub", int64(len(src))+1)
	m := vm.newMatch(L, src, p)
	anchor := m.p(0) == '^'
	if anchor {
		m.pat = m.pat[1:]
	}
	b := builder{run: vm.run}
	add := func(s string) { b.add(L, s) }
	n, s := int64(0), 0
loop:
	for n < maxN {
		m.level = 0
		e := m.match(s, 0)
		if e >= 0 {
			n++
			add(vm.gsubValue(L, m, repl, s, e))
		}
		switch {
		case e > s:
			s = e
		case s < len(src):
			add(src[s : s+1])
			s++
		default:
			break loop
		}
		if anchor {
			break
		}
	}
	m.flush()
	add(src[min(s, len(src)):])
	L.Push(lua.LString(b.b.String()))
	L.Push(lua.LNumber(n))
	return 2
}

// gsubValue is what replaces the match src[s:e].
func (vm *machine) gsubValue(L *lua.LState, m *matcher, repl lua.LValue, s, e int) string {
	var v lua.LValue
	switch r := repl.(type) {
	case lua.LString, lua.LNumber:
		news, _ := stringOf(r)
		var b strings.Builder
		for i := 0; i < len(news); i++ {
			c := news[i]
			if c != '%' {
				b.WriteByte(c)
				continue
			}
			i++
			var d byte
			if i < len(news) {
				d = news[i]
			}
			switch {
			case d < '0' || d > '9':
				b.WriteByte(d)
			case d == '0':
				b.WriteString(m.src[s:e])
			default:
				cv, _ := stringOf(m.capture(int(d-'1'), s, e))
				b.WriteString(cv)
			}
		}
		return b.String()
	case *lua.LFunction:
		L.Push(r)
		L.Call(m.pushCaptures(s, e, true), 1)
		v = L.Get(-1)
		L.Pop(1)
	case *lua.LTable:
		v = L.GetTable(r, m.capture(0, s, e))
	}
	if !lua.LVAsBool(v) {
		return m.src[s:e]
	}
	str, ok := stringOf(v)
	if !ok {
		L.RaiseError("invalid replacement value (a %s)", v.Type().String())
	}
	return str
}
