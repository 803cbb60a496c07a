package lua

// cmsgpack, Redis's lua-cmsgpack 0.4.0: pack, unpack, unpack_one and
// unpack_limit, byte for byte (integers in the smallest encoding, floats
// as float 32 when exact, tables nested past 16 packed as nil) with the
// same errors, including the Lua stack overflows Redis's C stack limit
// produces for deep or long input. A map's keys come out in the order
// pairs shows them (insertion order here, Lua's hash order in Redis).

import (
	"encoding/binary"
	"math"

	lua "github.com/yuin/gopher-lua"
)

func (vm *machine) cmsgpackLib() *lua.LTable {
	t := vm.L.CreateTable(0, 8)
	setFuncs(vm.L, t, map[string]lua.LGFunction{
		"pack":   vm.mpPack,
		"unpack": func(L *lua.LState) int { return vm.mpUnpack(L, 0, 0) },
		"unpack_one": func(L *lua.LState) int {
			offset := optInt(L, 2, "unpack_one", 0)
			return vm.mpUnpack(L, 1, offset)
		},
		"unpack_limit": func(L *lua.LState) int {
			limit := checkInt(L, 2, "unpack_limit")
			offset := optInt(L, 3, "unpack_limit", 0)
			return vm.mpUnpack(L, limit, offset)
		},
	})
	// In a fixed order: pairs shows a table's keys in the order they were
	// set, and every machine must show the same (never a Go map's order).
	for _, kv := range [][2]string{{"_COPYRIGHT", "Copyright (C) 2012, Salvatore Sanfilippo"},
		{"_DESCRIPTION", "MessagePack C implementation for Lua"}, {"_NAME", "cmsgpack"}, {"_VERSION", "lua-cmsgpack 0.4.0"}} {
		t.RawSetString(kv[0], lua.LString(kv[1]))
	}
	return t
}

// mpMaxNesting is LUACMSGPACK_MAX_NESTING: a table deeper packs as nil
// (so a table that contains itself packs in bounded time).
const mpMaxNesting = 16

// cmsgpack.pack (v, ...)
func (vm *machine) mpPack(L *lua.LState) int {
	n := L.GetTop()
	if n == 0 {
		argError(L, 0, "pack", "MessagePack pack needs input.")
	}
	p := mpPacker{vm: vm, L: L}
	for i := 1; i <= n; i++ {
		p.value(L.Get(i), 0)
	}
	vm.run.budget.charge(L, 1+int64(len(p.buf))/64, int64(len(p.buf)))
	L.Push(lua.LString(p.buf))
	return 1
}

type mpPacker struct {
	vm  *machine
	L   *lua.LState
	buf []byte
}

// grow charges room for n more bytes as the buffer really grows.
func (p *mpPacker) grow(n int) {
	if cap(p.buf)-len(p.buf) < n {
		p.vm.run.budget.charge(p.L, 1+int64(len(p.buf))/64, int64(2*cap(p.buf)+n))
		nb := make([]byte, len(p.buf), 2*cap(p.buf)+n)
		copy(nb, p.buf)
		p.buf = nb
	}
}

func (p *mpPacker) bytes(b ...byte) {
	p.grow(len(b))
	p.buf = append(p.buf, b...)
}

func (p *mpPacker) value(v lua.LValue, level int) {
	p.vm.run.budget.charge(p.L, 1, 0)
	if _, ok := v.(*lua.LTable); ok && level == mpMaxNesting {
		v = lua.LNil
	}
	switch v := v.(type) {
	case lua.LString:
		p.str(string(v))
	case lua.LBool:
		if v {
			p.bytes(0xc3)
		} else {
			p.bytes(0xc2)
		}
	case lua.LNumber:
		f := float64(v)
		if i := toInt64(f); !math.IsInf(f, 0) && float64(i) == f {
			p.int(i)
		} else if float64(float32(f)) == f {
			p.bytes(0xca)
			p.bytes(binary.BigEndian.AppendUint32(nil, math.Float32bits(float32(f)))...)
		} else {
			p.bytes(0xcb)
			p.bytes(binary.BigEndian.AppendUint64(nil, math.Float64bits(f))...)
		}
	case *lua.LTable:
		p.table(p.vm.show(v), level)
	default:
		p.bytes(0xc0)
	}
}

func (p *mpPacker) int(n int64) {
	be := binary.BigEndian
	switch {
	case n >= 0 && n <= 127:
		p.bytes(byte(n))
	case n >= 0 && n <= 0xff:
		p.bytes(0xcc, byte(n))
	case n >= 0 && n <= 0xffff:
		p.bytes(be.AppendUint16([]byte{0xcd}, uint16(n))...)
	case n >= 0 && n <= 0xffffffff:
		p.bytes(be.AppendUint32([]byte{0xce}, uint32(n))...)
	case n >= 0:
		p.bytes(be.AppendUint64([]byte{0xcf}, uint64(n))...)
	case n >= -32:
		p.bytes(byte(n))
	case n >= -128:
		p.bytes(0xd0, byte(n))
	case n >= -32768:
		p.bytes(be.AppendUint16([]byte{0xd1}, uint16(n))...)
	case n >= -2147483648:
		p.bytes(be.AppendUint32([]byte{0xd2}, uint32(n))...)
	default:
		p.bytes(be.AppendUint64([]byte{0xd3}, uint64(n))...)
	}
}

func (p *mpPacker) str(s string) {
	be := binary.BigEndian
	switch n := len(s); {
	case n < 32:
		p.bytes(0xa0 | byte(n))
	case n <= 0xff:
		p.bytes(0xd9, byte(n))
	case n <= 0xffff:
		p.bytes(be.AppendUint16([]byte{0xda}, uint16(n))...)
	default:
		p.bytes(be.AppendUint32([]byte{0xdb}, uint32(n))...)
	}
	p.grow(len(s))
	p.vm.run.budget.charge(p.L, int64(len(s))/64, 0)
	p.buf = append(p.buf, s...)
}

// header is an array's or a map's: fix (up to 15), 16 or 32 bits.
func (p *mpPacker) header(n int, fix, b16, b32 byte) {
	be := binary.BigEndian
	switch {
	case n <= 15:
		p.bytes(fix | byte(n))
	case n <= 0xffff:
		p.bytes(be.AppendUint16([]byte{b16}, uint16(n))...)
	default:
		p.bytes(be.AppendUint32([]byte{b32}, uint32(n))...)
	}
}

// table packs an array when the keys are exactly 1..n
// (table_is_an_array), else a map.
func (p *mpPacker) table(t *lua.LTable, level int) {
	count, max := int32(0), int32(0)
	array := true
	vm, L := p.vm, p.L
	for k, _ := vm.nextOf(L, t, lua.LNil); k != lua.LNil; k, _ = vm.nextOf(L, t, k) {
		vm.run.budget.charge(L, 1, 0)
		n, ok := k.(lua.LNumber)
		if !ok || n <= 0 || float64(cInt(float64(n))) != float64(n) {
			array = false
			break
		}
		if float64(n) > float64(max) {
			max = int32(n)
		}
		count++
	}
	if array && max == count {
		p.header(int(count), 0x90, 0xdc, 0xdd)
		for i := 1; i <= int(count); i++ {
			p.value(t.RawGetInt(i), level+1)
		}
		return
	}
	n := 0
	for k, _ := vm.nextOf(L, t, lua.LNil); k != lua.LNil; k, _ = vm.nextOf(L, t, k) {
		vm.run.budget.charge(L, 1, 0)
		n++
	}
	p.header(n, 0x80, 0xde, 0xdf)
	for k, v := vm.nextOf(L, t, lua.LNil); k != lua.LNil; k, v = vm.nextOf(L, t, k) {
		p.value(k, level+1)
		p.value(v, level+1)
	}
}

// mpUnpack is mp_unpack_full: limit values from offset (all of them
// when both are 0), with the next offset first unless all were asked.
func (vm *machine) mpUnpack(L *lua.LState, limit, offset int64) int {
	s := checkString(L, 1, "unpack")
	decodeAll := limit == 0 && offset == 0
	switch {
	case offset < 0 || limit < 0:
		libError(L, "Invalid request to unpack with offset of %d and limit of %d.", int32(offset), int32(len(s)))
	case offset > int64(len(s)):
		libError(L, "Start offset %d greater than input length %d.", int32(offset), int32(len(s)))
	}
	if decodeAll {
		limit = math.MaxInt32
	}
	u := mpUnpacker{vm: vm, L: L, s: s, pos: int(offset), top: 1}
	var out []lua.LValue
	for cnt := int64(0); u.pos < len(s) && cnt < limit; cnt++ {
		out = append(out, u.value())
		u.top++
	}
	vm.run.budget.charge(L, int64(len(out)), 16*int64(len(out)))
	if !decodeAll {
		u.checkStack("in function mp_unpack_full")
		next := lua.LNumber(u.pos)
		if u.pos == len(s) {
			next = -1
		}
		L.Push(next)
	}
	for _, v := range out {
		L.Push(v)
	}
	if decodeAll {
		return len(out)
	}
	return len(out) + 1
}

type mpUnpacker struct {
	vm  *machine
	L   *lua.LState
	s   string
	pos int
	// top is how many Lua stack slots lua-cmsgpack would use: it checks
	// for one more before every value and every array, and Lua refuses
	// past LUAI_MAXCSTACK, which bounds nesting and values per call.
	top int
}

func (u *mpUnpacker) checkStack(where string) {
	if u.top+1 > maxStack {
		libError(u.L, "stack overflow (%s)", where)
	}
}

// need fails with Redis's error unless n more bytes are there.
func (u *mpUnpacker) need(n uint64) {
	if uint64(len(u.s)-u.pos) < n {
		libError(u.L, "Missing bytes in input.")
	}
}

func (u *mpUnpacker) uint(at, size int) uint64 {
	var v uint64
	for i := 0; i < size; i++ {
		v = v<<8 | uint64(u.s[at+i])
	}
	return v
}

// fixed reads a header byte and size more bytes, big-endian.
func (u *mpUnpacker) fixed(size int) uint64 {
	u.need(uint64(1 + size))
	v := u.uint(u.pos+1, size)
	u.pos += 1 + size
	return v
}

func (u *mpUnpacker) value() lua.LValue {
	u.need(1)
	u.checkStack("too many return values at once; use unpack_one or unpack_limit instead.")
	u.vm.run.budget.charge(u.L, 1, 0)
	c := u.s[u.pos]
	switch c {
	case 0xcc:
		return lua.LNumber(u.fixed(1))
	case 0xd0:
		return lua.LNumber(int8(u.fixed(1)))
	case 0xcd:
		return lua.LNumber(u.fixed(2))
	case 0xd1:
		return lua.LNumber(int16(u.fixed(2)))
	case 0xce:
		return lua.LNumber(u.fixed(4))
	case 0xd2:
		return lua.LNumber(int32(u.fixed(4)))
	case 0xcf, 0xd3:
		// lua_pushunsigned is lua_pushinteger in Lua 5.1: signed.
		return lua.LNumber(int64(u.fixed(8)))
	case 0xc0:
		u.pos++
		return lua.LNil
	case 0xc3, 0xc2:
		u.pos++
		return lua.LBool(c == 0xc3)
	case 0xca:
		return lua.LNumber(math.Float32frombits(uint32(u.fixed(4))))
	case 0xcb:
		return lua.LNumber(math.Float64frombits(u.fixed(8)))
	case 0xd9:
		return u.str(u.fixed(1))
	case 0xda:
		return u.str(u.fixed(2))
	case 0xdb:
		return u.str(u.fixed(4))
	case 0xdc:
		return u.array(u.fixed(2))
	case 0xdd:
		return u.array(u.fixed(4))
	case 0xde:
		return u.hash(u.fixed(2))
	case 0xdf:
		return u.hash(u.fixed(4))
	}
	switch {
	case c&0x80 == 0:
		u.pos++
		return lua.LNumber(c)
	case c&0xe0 == 0xe0:
		u.pos++
		return lua.LNumber(int8(c))
	case c&0xe0 == 0xa0:
		u.need(1 + uint64(c&0x1f))
		u.pos++
		return u.str(uint64(c & 0x1f))
	case c&0xf0 == 0x90:
		u.pos++
		return u.array(uint64(c & 0xf))
	case c&0xf0 == 0x80:
		u.pos++
		return u.hash(uint64(c & 0xf))
	}
	libError(u.L, "Bad data format in input.")
	return lua.LNil
}

func (u *mpUnpacker) str(n uint64) lua.LValue {
	u.need(n)
	u.vm.run.budget.charge(u.L, int64(n)/64, int64(n))
	s := u.s[u.pos : u.pos+int(n)]
	u.pos += int(n)
	return lua.LString(s)
}

// array reads n elements; a claimed length costs nothing until its
// elements are there to read.
func (u *mpUnpacker) array(n uint64) lua.LValue {
	// Sized for what the claim could hold in the bytes left (one each).
	t := u.L.CreateTable(int(min(n, uint64(len(u.s)-u.pos), 64)), 0)
	u.vm.run.budget.charge(u.L, 8, 64)
	u.top++
	u.checkStack("in function mp_decode_to_lua_array")
	for i := uint64(1); i <= n; i++ {
		u.top++ // the index
		v := u.value()
		u.top--
		u.vm.run.budget.charge(u.L, 1, 16)
		if v != lua.LNil {
			t.RawSet(lua.LNumber(i), v)
		}
	}
	u.top--
	return t
}

func (u *mpUnpacker) hash(n uint64) lua.LValue {
	t := u.L.CreateTable(0, int(min(n, uint64(len(u.s)-u.pos)/2, 64)))
	u.vm.run.budget.charge(u.L, 8, 64)
	u.top++
	for i := uint64(0); i < n; i++ {
		k := u.value()
		u.top++
		v := u.value()
		u.top--
		u.vm.run.budget.charge(u.L, 1, 32)
		switch {
		case k == lua.LNil:
			libError(u.L, "table index is nil")
		case k.Type() == lua.LTNumber && math.IsNaN(float64(k.(lua.LNumber))):
			libError(u.L, "table index is NaN")
		}
		t.RawSet(k, v)
	}
	u.top--
	return t
}
