package lua

// cjson, Redis's lua_cjson 2.1.0: encode and decode with its number
// formatting ("%.14g"), sparse-array rule, nesting limits and error texts.
// Two things differ, both for determinism: an object's keys come out in
// the order pairs shows them (a table's insertion order here, Lua's hash
// order in Redis), and the settings (encode_max_depth and the like) last
// for one run, where Redis keeps them until the server restarts.

import (
	"math"
	"strconv"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// cjsonCfg is one cjson instance's settings (lua_cjson's json_config_t).
type cjsonCfg struct {
	sparseConvert   bool
	sparseRatio     int
	sparseSafe      int
	encodeMaxDepth  int
	decodeMaxDepth  int
	encodeInvalid   int // 0 off, 1 on, 2 null
	decodeInvalid   bool
	keepBuffer      bool
	numberPrecision int
}

func defaultCjson() cjsonCfg {
	return cjsonCfg{sparseRatio: 2, sparseSafe: 10, encodeMaxDepth: 1000, decodeMaxDepth: 1000,
		decodeInvalid: true, keepBuffer: true, numberPrecision: 14}
}

// cjsonLib builds the cjson table. Its functions find their settings
// through cfg: the run's for the shared table, a table's own for one
// cjson.new made.
func (vm *machine) cjsonLib(cfg func(L *lua.LState) *cjsonCfg) *lua.LTable {
	L := vm.L
	t := L.CreateTable(0, 16)
	vm.fillCjson(L, t, cfg)
	return t
}

func (vm *machine) fillCjson(L *lua.LState, t *lua.LTable, cfg func(L *lua.LState) *cjsonCfg) {
	setFuncs(L, t, map[string]lua.LGFunction{
		"encode": func(L *lua.LState) int { return vm.cjsonEncode(L, cfg(L)) },
		"decode": func(L *lua.LState) int { return vm.cjsonDecode(L, cfg(L)) },
		"encode_sparse_array": func(L *lua.LState) int {
			c := cfgArgs(L, 3, "encode_sparse_array", cfg)
			boolOption(L, 1, "encode_sparse_array", &c.sparseConvert)
			intOption(L, 2, "encode_sparse_array", &c.sparseRatio, 0, math.MaxInt32)
			intOption(L, 3, "encode_sparse_array", &c.sparseSafe, 0, math.MaxInt32)
			return 3
		},
		"encode_max_depth": func(L *lua.LState) int {
			intOption(L, 1, "encode_max_depth", &cfgArgs(L, 1, "encode_max_depth", cfg).encodeMaxDepth, 1, math.MaxInt32)
			return 1
		},
		"decode_max_depth": func(L *lua.LState) int {
			intOption(L, 1, "decode_max_depth", &cfgArgs(L, 1, "decode_max_depth", cfg).decodeMaxDepth, 1, math.MaxInt32)
			return 1
		},
		"encode_number_precision": func(L *lua.LState) int {
			intOption(L, 1, "encode_number_precision", &cfgArgs(L, 1, "encode_number_precision", cfg).numberPrecision, 1, 14)
			return 1
		},
		"encode_keep_buffer": func(L *lua.LState) int {
			boolOption(L, 1, "encode_keep_buffer", &cfgArgs(L, 1, "encode_keep_buffer", cfg).keepBuffer)
			return 1
		},
		"decode_invalid_numbers": func(L *lua.LState) int {
			boolOption(L, 1, "decode_invalid_numbers", &cfgArgs(L, 1, "decode_invalid_numbers", cfg).decodeInvalid)
			return 1
		},
		"encode_invalid_numbers": func(L *lua.LState) int {
			c := cfgArgs(L, 1, "encode_invalid_numbers", cfg)
			if v := L.Get(1); v != lua.LNil {
				if b, ok := v.(lua.LBool); ok {
					c.encodeInvalid = 0
					if b {
						c.encodeInvalid = 1
					}
				} else {
					c.encodeInvalid = checkOption(L, 1, "encode_invalid_numbers", []string{"off", "on", "null"})
				}
			}
			if c.encodeInvalid == 2 {
				L.Push(lua.LString("null"))
			} else {
				L.Push(lua.LBool(c.encodeInvalid == 1))
			}
			return 1
		},
		"new": func(L *lua.LState) int {
			own := defaultCjson()
			runOf(L).budget.charge(L, 4*callCost, 1024)
			nt := L.CreateTable(0, 16)
			vm.fillCjson(L, nt, func(*lua.LState) *cjsonCfg { return &own })
			L.Push(nt)
			return 1
		},
	})
	t.RawSetString("null", vm.null)
	t.RawSetString("_NAME", lua.LString("cjson"))
	t.RawSetString("_VERSION", lua.LString("2.1.0"))
}

// cfgArgs is lua_cjson's json_arg_init: at most n arguments.
func cfgArgs(L *lua.LState, n int, fname string, cfg func(L *lua.LState) *cjsonCfg) *cjsonCfg {
	if L.GetTop() > n {
		argError(L, n+1, fname, "found too many arguments")
	}
	return cfg(L)
}

func intOption(L *lua.LState, n int, fname string, setting *int, lo, hi int) {
	if L.Get(n) != lua.LNil {
		v := int(int32(checkInt(L, n, fname)))
		if v < lo || v > hi {
			argError(L, 1, fname, "expected integer between "+strconv.Itoa(lo)+" and "+strconv.Itoa(hi))
		}
		*setting = v
	}
	L.Push(lua.LNumber(*setting))
}

func boolOption(L *lua.LState, n int, fname string, setting *bool) {
	if v := L.Get(n); v != lua.LNil {
		if b, ok := v.(lua.LBool); ok {
			*setting = bool(b)
		} else {
			*setting = checkOption(L, n, fname, []string{"off", "on"}) == 1
		}
	}
	L.Push(lua.LBool(*setting))
}

// checkOption is luaL_checkoption without a default.
func checkOption(L *lua.LState, n int, fname string, options []string) int {
	s := checkString(L, n, fname)
	for i, o := range options {
		if o == s {
			return i
		}
	}
	argError(L, n, fname, "invalid option '"+s+"'")
	return 0
}

// runCjson is the settings of the shared cjson table for the running
// script: fresh at every run, so none survives it.
func runCjson(L *lua.LState) *cjsonCfg {
	r := runOf(L)
	if r.cjson == nil {
		c := defaultCjson()
		r.cjson = &c
	}
	return r.cjson
}

// cjson.encode (value)
func (vm *machine) cjsonEncode(L *lua.LState, cfg *cjsonCfg) int {
	if L.GetTop() != 1 {
		argError(L, 1, "encode", "expected 1 argument")
	}
	e := jsonEncoder{vm: vm, L: L, cfg: cfg, out: builder{run: vm.run}}
	e.value(L.Get(1), 0, 1)
	L.Push(lua.LString(e.out.b.String()))
	return 1
}

type jsonEncoder struct {
	vm  *machine
	L   *lua.LState
	cfg *cjsonCfg
	out builder
}

func (e *jsonEncoder) fail(v lua.LValue, reason string) {
	libError(e.L, "Cannot serialise %s: %s", v.Type().String(), reason)
}

// value appends v at nesting depth; top is how many Lua stack slots
// lua_cjson would be using there, since it also stops (with the same
// error) when the C API's stack of LUAI_MAXCSTACK slots would overflow.
func (e *jsonEncoder) value(v lua.LValue, depth, top int) {
	e.vm.run.budget.charge(e.L, 1, 0)
	switch v := v.(type) {
	case lua.LString:
		e.str(string(v))
	case lua.LNumber:
		e.number(v)
	case lua.LBool:
		if v {
			e.out.add(e.L, "true")
		} else {
			e.out.add(e.L, "false")
		}
	case *lua.LNilType:
		e.out.add(e.L, "null")
	case *lua.LTable:
		depth++
		if depth > e.cfg.encodeMaxDepth || top+3 > maxStack {
			libError(e.L, "Cannot serialise, excessive nesting (%d)", depth)
		}
		t := e.vm.show(v)
		if n := e.arrayLength(t); n > 0 {
			e.out.add(e.L, "[")
			for i := 1; i <= n; i++ {
				if i > 1 {
					e.out.add(e.L, ",")
				}
				e.value(t.RawGetInt(i), depth, top+1)
			}
			e.out.add(e.L, "]")
			return
		}
		e.out.add(e.L, "{")
		first := true
		for k, val := e.vm.nextOf(e.L, t, lua.LNil); k != lua.LNil; k, val = e.vm.nextOf(e.L, t, k) {
			if !first {
				e.out.add(e.L, ",")
			}
			first = false
			switch k := k.(type) {
			case lua.LNumber:
				e.out.add(e.L, `"`)
				e.number(k)
				e.out.add(e.L, `":`)
			case lua.LString:
				e.str(string(k))
				e.out.add(e.L, ":")
			default:
				e.fail(k, "table key must be a number or string")
			}
			e.value(val, depth, top+2)
		}
		e.out.add(e.L, "}")
	default:
		if v == e.vm.null {
			e.out.add(e.L, "null")
			return
		}
		e.fail(v, "type not supported")
	}
}

// arrayLength is lua_array_length: the largest key when every key is a
// positive integer and the array is not excessively sparse, else -1
// (an object). Its counters are C ints, as there.
func (e *jsonEncoder) arrayLength(t *lua.LTable) int {
	max, items := int32(0), int32(0)
	for k, _ := e.vm.nextOf(e.L, t, lua.LNil); k != lua.LNil; k, _ = e.vm.nextOf(e.L, t, k) {
		e.vm.run.budget.charge(e.L, 1, 0)
		n, ok := k.(lua.LNumber)
		if !ok || n == 0 || math.Floor(float64(n)) != float64(n) || n < 1 {
			return -1
		}
		if float64(n) > float64(max) {
			max = cInt(float64(n))
		}
		items++
	}
	c := e.cfg
	if c.sparseRatio > 0 && int64(max) > int64(items)*int64(c.sparseRatio) && int(max) > c.sparseSafe {
		if !c.sparseConvert {
			e.fail(t, "excessively sparse array")
		}
		return -1
	}
	return int(max)
}

// cInt is C's (int) cast of a double on x86-64: out of range is INT_MIN.
func cInt(f float64) int32 {
	if math.IsNaN(f) || f >= 2147483648.0 || f <= -2147483649.0 {
		return math.MinInt32
	}
	return int32(f)
}

func (e *jsonEncoder) number(n lua.LNumber) {
	f := float64(n)
	switch e.cfg.encodeInvalid {
	case 0:
		if math.IsInf(f, 0) || math.IsNaN(f) {
			e.fail(n, "must not be NaN or Inf")
		}
	case 1:
		if math.IsNaN(f) {
			e.out.add(e.L, "nan")
			return
		}
	default:
		if math.IsInf(f, 0) || math.IsNaN(f) {
			e.out.add(e.L, "null")
			return
		}
	}
	e.out.add(e.L, numberString(f, e.cfg.numberPrecision))
}

// jsonEscapes is lua_cjson's char2escape: control characters, DEL, '"',
// '\\' and '/'.
var jsonEscapes = func() (t [256]string) {
	for c := 0; c < 0x20; c++ {
		t[c] = `\u00` + strconv.FormatInt(int64(c>>4), 16) + strconv.FormatInt(int64(c&15), 16)
	}
	t['\b'], t['\t'], t['\n'], t['\f'], t['\r'] = `\b`, `\t`, `\n`, `\f`, `\r`
	t['"'], t['\\'], t['/'], t[0x7f] = `\"`, `\\`, `\/`, `\u007f`
	return t
}()

func (e *jsonEncoder) str(s string) {
	var b strings.Builder
	e.vm.run.budget.charge(e.L, 1+int64(len(s))/16, int64(len(s)))
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if esc := jsonEscapes[s[i]]; esc != "" {
			b.WriteString(esc)
		} else {
			b.WriteByte(s[i])
		}
	}
	b.WriteByte('"')
	e.out.add(e.L, b.String())
}

// cjson.decode (text)
func (vm *machine) cjsonDecode(L *lua.LState, cfg *cjsonCfg) int {
	if L.GetTop() != 1 {
		argError(L, 1, "decode", "expected 1 argument")
	}
	s := checkString(L, 1, "decode")
	if len(s) >= 2 && (s[0] == 0 || s[1] == 0) {
		libError(L, "JSON parser does not support UTF-16 or UTF-32")
	}
	vm.run.budget.charge(L, 1+int64(len(s))/64, 0)
	// C reads the text up to its terminating NUL; so does the parser.
	d := jsonDecoder{vm: vm, L: L, cfg: cfg, s: s, top: 1}
	tok := d.next()
	v := d.value(tok)
	if tok = d.next(); tok.kind != tEnd {
		d.fail("the end", tok)
	}
	L.Push(v)
	return 1
}

// JSON token kinds, named as lua_cjson's json_token_type_name.
const (
	tObjBegin = iota
	tObjEnd
	tArrBegin
	tArrEnd
	tString
	tNumber
	tBoolean
	tNull
	tColon
	tComma
	tEnd
	tWhitespace
	tError
	tUnknown
)

var jsonTokenNames = []string{"T_OBJ_BEGIN", "T_OBJ_END", "T_ARR_BEGIN", "T_ARR_END", "T_STRING",
	"T_NUMBER", "T_BOOLEAN", "T_NULL", "T_COLON", "T_COMMA", "T_END", "T_WHITESPACE", "T_ERROR", "T_UNKNOWN"}

type jsonToken struct {
	kind  int
	index int
	str   string // a string's value, or an error's text
	num   float64
	b     bool
}

type jsonDecoder struct {
	vm    *machine
	L     *lua.LState
	cfg   *cjsonCfg
	s     string
	pos   int
	depth int
	top   int // the Lua stack slots lua_cjson would use (see jsonEncoder.value)
}

// at is the byte at i, NUL past the end, as in C.
func (d *jsonDecoder) at(i int) byte {
	if i < len(d.s) {
		return d.s[i]
	}
	return 0
}

func (d *jsonDecoder) fail(expected string, tok jsonToken) {
	found := jsonTokenNames[tok.kind]
	if tok.kind == tError {
		found = tok.str
	}
	libError(d.L, "Expected %s but found %s at character %d", expected, found, tok.index+1)
}

func (d *jsonDecoder) errorAt(msg string) jsonToken {
	return jsonToken{kind: tError, index: d.pos, str: msg}
}

func (d *jsonDecoder) next() jsonToken {
	d.vm.run.budget.charge(d.L, 1, 0)
	for {
		switch d.at(d.pos) {
		case ' ', '\t', '\n', '\r':
			d.pos++
			continue
		}
		break
	}
	ch := d.at(d.pos)
	tok := jsonToken{index: d.pos}
	switch ch {
	case 0:
		tok.kind = tEnd
		return tok
	case '{', '}', '[', ']', ',', ':':
		tok.kind = strings.IndexByte("{}[]", ch) // tObjBegin .. tArrEnd
		if ch == ',' {
			tok.kind = tComma
		} else if ch == ':' {
			tok.kind = tColon
		}
		d.pos++
		return tok
	case '"':
		return d.stringToken()
	}
	rest := d.s[d.pos:]
	switch {
	case ch == '-' || ch >= '0' && ch <= '9':
		if !d.cfg.decodeInvalid && d.invalidNumber() {
			return d.errorAt("invalid number")
		}
		return d.number()
	case strings.HasPrefix(rest, "true"):
		d.pos += 4
		return jsonToken{kind: tBoolean, index: tok.index, b: true}
	case strings.HasPrefix(rest, "false"):
		d.pos += 5
		return jsonToken{kind: tBoolean, index: tok.index}
	case strings.HasPrefix(rest, "null"):
		d.pos += 4
		return jsonToken{kind: tNull, index: tok.index}
	case strings.IndexByte("fiInNt+", ch) >= 0 && d.cfg.decodeInvalid && d.invalidNumber():
		return d.number()
	}
	return d.errorAt("invalid token")
}

// invalidNumber is json_is_invalid_number: what strtod reads but JSON
// forbids (a leading +, hex, leading zeros, inf, nan).
func (d *jsonDecoder) invalidNumber() bool {
	p := d.pos
	if d.at(p) == '+' {
		return true
	}
	if d.at(p) == '-' {
		p++
	}
	if d.at(p) == '0' {
		c2 := d.at(p + 1)
		return c2|0x20 == 'x' || c2 >= '0' && c2 <= '9'
	} else if d.at(p) <= '9' {
		return false
	}
	rest := strings.ToLower(d.s[p:min(p+3, len(d.s))])
	return rest == "inf" || rest == "nan"
}

func (d *jsonDecoder) number() jsonToken {
	n, f := strtod(d.s[d.pos:])
	if n == 0 {
		return d.errorAt("invalid number")
	}
	tok := jsonToken{kind: tNumber, index: d.pos, num: f}
	d.pos += n
	return tok
}

func (d *jsonDecoder) stringToken() jsonToken {
	start := d.pos
	d.pos++
	var b strings.Builder
	for {
		ch := d.at(d.pos)
		if ch == '"' {
			break
		}
		if ch == 0 {
			return d.errorAt("unexpected end of string")
		}
		if ch == '\\' {
			switch esc := d.at(d.pos + 1); esc {
			case 'u':
				if !d.unicodeEscape(&b) {
					return d.errorAt("invalid unicode escape code")
				}
				continue
			case '"', '\\', '/':
				ch = esc
			case 'b':
				ch = '\b'
			case 't':
				ch = '\t'
			case 'n':
				ch = '\n'
			case 'f':
				ch = '\f'
			case 'r':
				ch = '\r'
			default:
				return d.errorAt("invalid escape code")
			}
			d.pos++
		}
		b.WriteByte(ch)
		d.pos++
	}
	d.pos++
	d.vm.run.budget.charge(d.L, int64(b.Len())/16, int64(b.Len()))
	return jsonToken{kind: tString, index: start, str: b.String()}
}

func (d *jsonDecoder) hex4(at int) int {
	v := 0
	for i := 0; i < 4; i++ {
		c := d.at(at + i)
		switch {
		case c >= '0' && c <= '9':
			v = v<<4 | int(c-'0')
		case c|0x20 >= 'a' && c|0x20 <= 'f':
			v = v<<4 | int(c|0x20-'a'+10)
		default:
			return -1
		}
	}
	return v
}

// unicodeEscape is json_append_unicode_escape: \uXXXX, or a surrogate
// pair of two, as UTF-8.
func (d *jsonDecoder) unicodeEscape(b *strings.Builder) bool {
	cp := d.hex4(d.pos + 2)
	if cp < 0 {
		return false
	}
	n := 6
	if cp&0xF800 == 0xD800 {
		if cp&0x400 != 0 || d.at(d.pos+6) != '\\' || d.at(d.pos+7) != 'u' {
			return false
		}
		low := d.hex4(d.pos + 8)
		if low < 0 || low&0xFC00 != 0xDC00 {
			return false
		}
		cp = ((cp&0x3FF)<<10 | low&0x3FF) + 0x10000
		n = 12
	}
	switch {
	case cp <= 0x7F:
		b.WriteByte(byte(cp))
	case cp <= 0x7FF:
		b.WriteByte(byte(cp>>6 | 0xC0))
		b.WriteByte(byte(cp&0x3F | 0x80))
	case cp <= 0xFFFF:
		b.WriteByte(byte(cp>>12 | 0xE0))
		b.WriteByte(byte(cp>>6&0x3F | 0x80))
		b.WriteByte(byte(cp&0x3F | 0x80))
	default:
		b.WriteByte(byte(cp>>18 | 0xF0))
		b.WriteByte(byte(cp>>12&0x3F | 0x80))
		b.WriteByte(byte(cp>>6&0x3F | 0x80))
		b.WriteByte(byte(cp&0x3F | 0x80))
	}
	d.pos += n
	return true
}

func (d *jsonDecoder) descend(slots int) {
	d.depth++
	if d.depth > d.cfg.decodeMaxDepth || d.top+slots > maxStack {
		libError(d.L, "Found too many nested data structures (%d) at character %d", d.depth, d.pos)
	}
}

// container reads an object's or an array's elements, each with elem,
// up to the token end (lua_cjson's json_parse_*_context). slots is what
// lua_cjson checks the Lua stack for: the table, an object's key, a value.
func (d *jsonDecoder) container(slots, end int, sep string, elem func(tok jsonToken)) {
	d.descend(slots)
	d.vm.run.budget.charge(d.L, 8, 64)
	d.top += slots - 1
	defer func() { d.top -= slots - 1; d.depth-- }()
	tok := d.next()
	if tok.kind == end {
		return
	}
	for {
		elem(tok)
		if tok = d.next(); tok.kind == end {
			return
		}
		if tok.kind != tComma {
			d.fail(sep, tok)
		}
		tok = d.next()
	}
}

func (d *jsonDecoder) value(tok jsonToken) lua.LValue {
	switch tok.kind {
	case tString:
		return lua.LString(tok.str)
	case tNumber:
		return lua.LNumber(tok.num)
	case tBoolean:
		return lua.LBool(tok.b)
	case tNull:
		return d.vm.null
	case tObjBegin:
		t := d.L.CreateTable(0, 0)
		d.container(3, tObjEnd, "comma or object end", func(tok jsonToken) {
			if tok.kind != tString {
				d.fail("object key string", tok)
			}
			key := tok.str
			if tok = d.next(); tok.kind != tColon {
				d.fail("colon", tok)
			}
			v := d.value(d.next())
			d.vm.run.budget.charge(d.L, 1, 32)
			t.RawSetString(key, v)
		})
		return t
	case tArrBegin:
		t := d.L.CreateTable(0, 0)
		n := 0
		d.container(2, tArrEnd, "comma or array end", func(tok jsonToken) {
			v := d.value(tok)
			d.vm.run.budget.charge(d.L, 1, 16)
			n++
			t.RawSetInt(n, v)
		})
		return t
	}
	d.fail("value", tok)
	return lua.LNil
}

// strtod reads the longest prefix of s that C's strtod reads (after no
// blanks: the caller is at a token), returning its length (0 for none)
// and value: decimal and hex numbers, inf, infinity, nan and nan(...).
func strtod(s string) (int, float64) {
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	lower := strings.ToLower(s[i:min(len(s), i+8)])
	switch {
	case strings.HasPrefix(lower, "infinity"):
		return i + 8, signed(s, math.Inf(1))
	case strings.HasPrefix(lower, "inf"):
		return i + 3, signed(s, math.Inf(1))
	case strings.HasPrefix(lower, "nan"):
		n := i + 3
		if n < len(s) && s[n] == '(' {
			j := n + 1
			for j < len(s) && (isAlnum(s[j]) || s[j] == '_') {
				j++
			}
			if j < len(s) && s[j] == ')' {
				n = j + 1
			}
		}
		return n, signed(s, math.NaN())
	}
	digits := func(j int, hex bool) int {
		for j < len(s) && (s[j] >= '0' && s[j] <= '9' || hex && (s[j]|0x20 >= 'a' && s[j]|0x20 <= 'f')) {
			j++
		}
		return j
	}
	hex := i+1 < len(s) && s[i] == '0' && s[i+1]|0x20 == 'x'
	start := i
	if hex {
		start = i + 2
	}
	j := digits(start, hex)
	mant := j - start
	if j < len(s) && s[j] == '.' {
		k := digits(j+1, hex)
		mant += k - j - 1
		if mant > 0 {
			j = k
		}
	}
	if mant == 0 {
		if hex {
			return i + 1, signed(s, 0) // "0x" with no digits reads as 0
		}
		return 0, 0
	}
	exp := byte('e')
	if hex {
		exp = 'p'
	}
	if j < len(s) && s[j]|0x20 == exp {
		k := j + 1
		if k < len(s) && (s[k] == '+' || s[k] == '-') {
			k++
		}
		if e := digits(k, false); e > k {
			j = e
		}
	}
	text := s[:j]
	if hex && !strings.ContainsAny(text, "pP") {
		text += "p0"
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil && f == 0 && !strings.Contains(err.Error(), "range") {
		return 0, 0
	}
	return j, f
}

func signed(s string, f float64) float64 {
	if s[0] == '-' {
		return -f
	}
	return f
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c|0x20 >= 'a' && c|0x20 <= 'z'
}
