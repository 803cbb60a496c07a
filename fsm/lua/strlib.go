package lua

// The string library scripts see: Lua 5.1's, rewritten so that numbers turn
// into text as Lua's "%.14g" does (gopher-lua uses Go's shortest form),
// case mapping is ASCII as in the C locale, every function that makes a
// string charges its bytes, and patterns run on a metered matcher.

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

func (vm *machine) stringLib() *lua.LTable {
	t := vm.L.NewTable()
	setFuncs(vm.L, t, map[string]lua.LGFunction{
		"byte": strByte, "char": vm.strChar, "dump": strDump, "find": vm.strFind,
		"format": vm.strFormat, "gfind": vm.strGmatch, "gmatch": vm.strGmatch,
		"gsub": vm.strGsub, "len": strLen, "lower": vm.strLower, "match": vm.strMatch,
		"rep": vm.strRep, "reverse": vm.strReverse, "sub": strSub, "upper": vm.strUpper,
	})
	return t
}

// numberString formats a Lua number as Lua 5.1's tostring does (C's
// "%.14g"), prec being 14; redis.call arguments use 17.
func numberString(f float64, prec int) string {
	switch {
	case math.IsNaN(f):
		if math.Signbit(f) {
			return "-nan"
		}
		return "nan"
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	return strconv.FormatFloat(f, 'g', prec, 64)
}

// stringOf is lua_tolstring: strings and numbers have a string form.
func stringOf(v lua.LValue) (string, bool) {
	switch v := v.(type) {
	case lua.LString:
		return string(v), true
	case lua.LNumber:
		return numberString(float64(v), 14), true
	}
	return "", false
}

// toString is tostring without metamethods. Tables, functions and other
// references are named by the order in which the run first printed them,
// never by address, so the text is the same on every node.
func toString(L *lua.LState, v lua.LValue) string {
	if s, ok := stringOf(v); ok {
		return s
	}
	switch v := v.(type) {
	case *lua.LNilType:
		return "nil"
	case lua.LBool:
		if v {
			return "true"
		}
		return "false"
	}
	id := 0
	if run := runOf(L); run != nil && v == lua.LValue(run.vm.null) {
		return "userdata: (nil)" // Redis's NULL light userdata
	} else if run != nil {
		if run.ids == nil {
			run.ids = make(map[lua.LValue]int)
		}
		if id = run.ids[v]; id == 0 {
			id = len(run.ids) + 1
			run.ids[v] = id
			run.budget.charge(L, callCost, 64)
		}
	}
	return v.Type().String() + ": 0x" + strconv.FormatInt(int64(0x1000000+id), 16)
}

// spaces are C's isspace characters.
const spaces = " \t\n\v\f\r"

// toNumber is lua_tonumber: numbers, and strings that C's strtod reads
// whole (blanks around allowed; decimal, exponent, hex, inf, nan).
func toNumber(v lua.LValue) (float64, bool) {
	switch v := v.(type) {
	case lua.LNumber:
		return float64(v), true
	case lua.LString:
		s := strings.Trim(cString(string(v)), spaces)
		body := strings.TrimLeft(s, "+-")
		if s == "" || len(s)-len(body) > 1 || strings.ContainsRune(body, '_') {
			return 0, false
		}
		if len(body) > 2 && body[0] == '0' && (body[1] == 'x' || body[1] == 'X') && !strings.ContainsAny(body, "pP") {
			s += "p0" // a C hex float needs no exponent; Go's does
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			return 0, false
		}
		return f, true
	}
	return 0, false
}

// toInt64 converts as C's (long long) cast does on x86-64: NaN and
// values out of range become the smallest integer.
func toInt64(f float64) int64 {
	if math.IsNaN(f) || f >= 9223372036854775808.0 || f < -9223372036854775808.0 {
		return math.MinInt64
	}
	return int64(f)
}

// Argument checks with Lua 5.1's messages: "bad argument #n to 'f' (...)".

func argError(L *lua.LState, n int, fname, msg string) {
	if !calledFromLua(L) {
		fname = "?" // Lua names a function by how its caller called it
	}
	libError(L, "bad argument #%d to '%s' (%s)", n, fname, msg)
}

// calledFromLua reports whether the running builtin was called by Lua
// code, not by another builtin (pcall).
func calledFromLua(L *lua.LState) bool {
	dbg, ok := L.GetStack(1)
	if !ok {
		return false
	}
	_, err := L.GetInfo("S", dbg, lua.LNil)
	return err == nil && dbg.What != "G"
}

// libError is luaL_error: the message, after the position of the Lua
// code that called the builtin raising it, if Lua code did.
func libError(L *lua.LState, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if calledFromLua(L) {
		L.RaiseError("%s", msg)
	}
	L.Error(lua.LString(msg), 0)
}

func typeError(L *lua.LState, n int, fname, want string) {
	got := "no value"
	if n <= L.GetTop() {
		got = L.Get(n).Type().String()
	}
	argError(L, n, fname, want+" expected, got "+got)
}

func checkAny(L *lua.LState, n int, fname string) {
	if n > L.GetTop() {
		argError(L, n, fname, "value expected")
	}
}

func checkTable(L *lua.LState, n int, fname string) *lua.LTable {
	t, ok := L.Get(n).(*lua.LTable)
	if !ok {
		typeError(L, n, fname, "table")
	}
	return t
}

func checkFunction(L *lua.LState, n int, fname string) *lua.LFunction {
	f, ok := L.Get(n).(*lua.LFunction)
	if !ok {
		typeError(L, n, fname, "function")
	}
	return f
}

func checkString(L *lua.LState, n int, fname string) string {
	s, ok := stringOf(L.Get(n))
	if !ok {
		typeError(L, n, fname, "string")
	}
	return s
}

func optString(L *lua.LState, n int, fname, def string) string {
	if L.Get(n) == lua.LNil {
		return def
	}
	return checkString(L, n, fname)
}

func checkNumber(L *lua.LState, n int, fname string) float64 {
	f, ok := toNumber(L.Get(n))
	if !ok {
		typeError(L, n, fname, "number")
	}
	return f
}

// checkInt is luaL_checkinteger (a 64-bit lua_Integer).
func checkInt(L *lua.LState, n int, fname string) int64 {
	return toInt64(checkNumber(L, n, fname))
}

func optInt(L *lua.LState, n int, fname string, def int64) int64 {
	if L.Get(n) == lua.LNil {
		return def
	}
	return checkInt(L, n, fname)
}

// checkInt32 is luaL_checkint: the integer cut to a C int.
func checkInt32(L *lua.LState, n int, fname string) int32 {
	return int32(checkInt(L, n, fname))
}

// posRelat turns a negative string position into one from the start
// (Lua 5.1's posrelat).
func posRelat(pos int64, n int) int64 {
	if pos < 0 {
		pos += int64(n) + 1
	}
	if pos < 0 {
		return 0
	}
	return pos
}

// string.len (s)
func strLen(L *lua.LState) int {
	L.Push(lua.LNumber(len(checkString(L, 1, "len"))))
	return 1
}

// string.sub (s, i [, j]): a substring shares its bytes, nothing to charge.
func strSub(L *lua.LState) int {
	s := checkString(L, 1, "sub")
	start := posRelat(checkInt(L, 2, "sub"), len(s))
	end := posRelat(optInt(L, 3, "sub", -1), len(s))
	if start < 1 {
		start = 1
	}
	if end > int64(len(s)) {
		end = int64(len(s))
	}
	if start > end {
		L.Push(lua.LString(""))
	} else {
		L.Push(lua.LString(s[start-1 : end]))
	}
	return 1
}

// string.byte (s [, i [, j]])
func strByte(L *lua.LState) int {
	s := checkString(L, 1, "byte")
	i := posRelat(optInt(L, 2, "byte", 1), len(s))
	j := posRelat(optInt(L, 3, "byte", i), len(s))
	if i <= 0 {
		i = 1
	}
	if j > int64(len(s)) {
		j = int64(len(s))
	}
	if i > j {
		return 0
	}
	n := j - i + 1
	if n+int64(L.GetTop()) > maxStack {
		L.RaiseError("stack overflow (string slice too long)")
	}
	for k := i; k <= j; k++ {
		L.Push(lua.LNumber(s[k-1]))
	}
	return int(n)
}

// string.char (...)
func (vm *machine) strChar(L *lua.LState) int {
	n := L.GetTop()
	vm.run.budget.charge(L, int64(n)/16, int64(n))
	b := make([]byte, n)
	for i := range b {
		c := checkInt(L, i+1, "char")
		if c < 0 || c > 255 {
			argError(L, i+1, "char", "invalid value")
		}
		b[i] = byte(c)
	}
	L.Push(lua.LString(b))
	return 1
}

// string.dump (function): Redis's Lua can dump, but nothing here loads
// bytecode, so there is nothing useful to dump.
func strDump(L *lua.LState) int {
	checkFunction(L, 1, "dump")
	L.RaiseError("unable to dump given function")
	return 0
}

// mapBytes returns s with f applied to every byte, charged.
func (vm *machine) mapBytes(L *lua.LState, fname string, f func(b []byte)) int {
	s := checkString(L, 1, fname)
	vm.run.budget.charge(L, int64(len(s))/64, int64(len(s)))
	b := []byte(s)
	f(b)
	L.Push(lua.LString(b))
	return 1
}

// string.lower (s), in the C locale: ASCII only.
func (vm *machine) strLower(L *lua.LState) int {
	return vm.mapBytes(L, "lower", func(b []byte) {
		for i, c := range b {
			if 'A' <= c && c <= 'Z' {
				b[i] = c + 'a' - 'A'
			}
		}
	})
}

// string.upper (s), in the C locale: ASCII only.
func (vm *machine) strUpper(L *lua.LState) int {
	return vm.mapBytes(L, "upper", func(b []byte) {
		for i, c := range b {
			if 'a' <= c && c <= 'z' {
				b[i] = c - ('a' - 'A')
			}
		}
	})
}

// string.reverse (s)
func (vm *machine) strReverse(L *lua.LState) int {
	return vm.mapBytes(L, "reverse", func(b []byte) {
		for i, j := 0, len(b)-1; i < j; i, j = i+1, j-1 {
			b[i], b[j] = b[j], b[i]
		}
	})
}

// string.rep (s, n): the result is charged before it is made.
func (vm *machine) strRep(L *lua.LState) int {
	s := checkString(L, 1, "rep")
	n := int64(checkInt32(L, 2, "rep"))
	if n <= 0 || s == "" {
		L.Push(lua.LString(""))
		return 1
	}
	if int64(len(s)) > vm.run.budget.limit.Bytes/n+1 {
		vm.run.budget.charge(L, 0, vm.run.budget.limit.Bytes+1)
	}
	size := int64(len(s)) * n
	vm.run.budget.charge(L, size/64, size)
	L.Push(lua.LString(strings.Repeat(s, int(n))))
	return 1
}

// string.format (formatstring, ...) as Lua 5.1 formats: flags "-+ #0",
// width and precision of at most two digits, conversions cdiouxXeEfgGqs.
// Widths count bytes, as C does.
func (vm *machine) strFormat(L *lua.LState) int {
	format := checkString(L, 1, "format")
	b := builder{run: vm.run}
	arg := 1
	for i := 0; i < len(format); i++ {
		c := format[i]
		if c != '%' {
			b.b.WriteByte(c)
			continue
		}
		i++
		if i < len(format) && format[i] == '%' {
			b.b.WriteByte('%')
			continue
		}
		spec, next := parseFormatSpec(L, format, i)
		i = next
		arg++
		if arg > L.GetTop() {
			argError(L, arg, "format", "no value")
		}
		out := spec.format(L, arg)
		b.add(L, out)
	}
	L.Push(lua.LString(b.b.String()))
	return 1
}

// formatSpec is one "%[flags][width][.precision]conv" of string.format.
type formatSpec struct {
	flags string
	width int
	prec  int // -1: none
	conv  byte
}

func parseFormatSpec(L *lua.LState, format string, i int) (formatSpec, int) {
	start := i
	for i < len(format) && strings.IndexByte("-+ #0", format[i]) >= 0 {
		i++
	}
	if i-start > 5 {
		L.RaiseError("invalid format (repeated flags)")
	}
	spec := formatSpec{flags: format[start:i], prec: -1}
	digits := func() int {
		n, v := 0, 0
		for i < len(format) && format[i] >= '0' && format[i] <= '9' {
			v = v*10 + int(format[i]-'0')
			i++
			n++
		}
		if n > 2 {
			L.RaiseError("invalid format (width or precision too long)")
		}
		return v
	}
	spec.width = digits()
	if i < len(format) && format[i] == '.' {
		i++
		spec.prec = digits()
	}
	if i < len(format) {
		spec.conv = format[i]
	}
	return spec, i
}

// verb is the Go verb for a numeric conversion.
func (s formatSpec) verb(conv string) string {
	v := "%" + s.flags
	if s.width > 0 {
		v += strconv.Itoa(s.width)
	}
	if s.prec >= 0 {
		v += "." + strconv.Itoa(s.prec)
	}
	return v + conv
}

// pad pads text to the width in bytes, as C pads %s and %c.
func (s formatSpec) pad(text string) string {
	if len(text) >= s.width {
		return text
	}
	fill := strings.Repeat(" ", s.width-len(text))
	if strings.Contains(s.flags, "-") {
		return text + fill
	}
	return fill + text
}

func (s formatSpec) format(L *lua.LState, arg int) string {
	switch s.conv {
	case 'c':
		return s.pad(string([]byte{byte(toInt64(checkNumber(L, arg, "format")))}))
	case 'd', 'i':
		return fmt.Sprintf(s.verb("d"), toInt64(checkNumber(L, arg, "format")))
	case 'o', 'u', 'x', 'X':
		n := uint64(toInt64(checkNumber(L, arg, "format")))
		s.flags = strings.NewReplacer("+", "", " ", "").Replace(s.flags)
		if n == 0 {
			s.flags = strings.ReplaceAll(s.flags, "#", "")
		}
		return fmt.Sprintf(s.verb(map[byte]string{'o': "o", 'u': "d", 'x': "x", 'X': "X"}[s.conv]), n)
	case 'e', 'E', 'f', 'g', 'G':
		f := checkNumber(L, arg, "format")
		if math.IsNaN(f) || math.IsInf(f, 0) {
			text := numberString(f, 14)
			if !strings.HasPrefix(text, "-") && strings.Contains(s.flags, "+") {
				text = "+" + text
			} else if !strings.HasPrefix(text, "-") && strings.Contains(s.flags, " ") {
				text = " " + text
			}
			if s.conv == 'E' || s.conv == 'G' {
				text = strings.ToUpper(text)
			}
			return s.pad(text)
		}
		if s.prec < 0 {
			s.prec = 6
		}
		return fmt.Sprintf(s.verb(string(s.conv)), f)
	case 'q':
		return quote(checkString(L, arg, "format"))
	case 's':
		text := checkString(L, arg, "format")
		if s.prec < 0 && len(text) >= 100 {
			return text
		}
		if s.prec >= 0 && len(text) > s.prec {
			text = text[:s.prec]
		}
		return s.pad(text)
	}
	if s.conv == 0 { // C prints the terminating NUL as nothing
		L.RaiseError("%s", "invalid option '%' to 'format'")
	}
	L.RaiseError("invalid option '%%%c' to 'format'", s.conv)
	return ""
}

// quote is %q: a string Lua can read back.
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '"', '\\', '\n':
			b.WriteByte('\\')
			b.WriteByte(c)
		case '\r':
			b.WriteString("\\r")
		case 0:
			b.WriteString("\\000")
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// strFind, strMatch, strGmatch and strGsub live with the matcher in
// pattern.go.

// cString cuts s at its first NUL, as C (and so Redis's Lua) sees a string.
func cString(s string) string {
	if i := strings.IndexByte(s, 0); i >= 0 {
		return s[:i]
	}
	return s
}
