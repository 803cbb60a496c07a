package lua

// struct, Roberto Ierusalimschy's struct library as Redis ships it:
// pack, unpack and size over a format of x86-64 sizes (short 2, int 4,
// long and size_t 8), with Redis's checks on sizes and counts. Every byte
// packed or unpacked is charged, so "c2000000000" stops on the budget.

import (
	"encoding/binary"
	"math"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

func (vm *machine) structLib() *lua.LTable {
	t := vm.L.CreateTable(0, 3)
	setFuncs(vm.L, t, map[string]lua.LGFunction{
		"pack": structPack, "unpack": structUnpack, "size": structSize,
	})
	return t
}

const (
	structMaxIntSize = 32
	structMaxAlign   = 8 // PADDING of struct {char; double} on x86-64
)

type structFmt struct {
	L      *lua.LState
	fmt    string
	pos    int
	little bool
	align  int
}

func newStructFmt(L *lua.LState, f string) *structFmt {
	return &structFmt{L: L, fmt: f, little: true, align: 1}
}

// getnum reads a count, Redis's overflow check included.
func (f *structFmt) getnum(def int) int {
	if f.pos >= len(f.fmt) || !isDigit(f.fmt[f.pos]) {
		return def
	}
	a := 0
	for f.pos < len(f.fmt) && isDigit(f.fmt[f.pos]) {
		d := int(f.fmt[f.pos] - '0')
		if a > math.MaxInt32/10 || a*10 > math.MaxInt32-d {
			libError(f.L, "integral size overflow")
		}
		a = a*10 + d
		f.pos++
	}
	return a
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func (f *structFmt) optsize(opt byte) int {
	switch opt {
	case 'B', 'b':
		return 1
	case 'H', 'h':
		return 2
	case 'L', 'l', 'T', 'd':
		return 8
	case 'f':
		return 4
	case 'x':
		return 1
	case 'c':
		return f.getnum(1)
	case 'i', 'I':
		sz := f.getnum(4)
		if sz > structMaxIntSize {
			libError(f.L, "integral size %d is larger than limit of %d", sz, structMaxIntSize)
		}
		return sz
	}
	return 0
}

func (f *structFmt) toAlign(at, size int, opt byte) int {
	if size == 0 || opt == 'c' {
		return 0
	}
	if size > f.align {
		size = f.align
	}
	return (size - (at & (size - 1))) & (size - 1)
}

func (f *structFmt) control(opt byte, fname string) {
	switch opt {
	case ' ':
	case '>':
		f.little = false
	case '<':
		f.little = true
	case '!':
		a := f.getnum(structMaxAlign)
		if a <= 0 || a&(a-1) != 0 {
			libError(f.L, "alignment %d is not a power of 2", a)
		}
		f.align = a
	default:
		argError(f.L, 1, fname, "invalid format option '"+string(opt)+"'")
	}
}

// struct.pack (fmt, v1, ...)
func structPack(L *lua.LState) int {
	f := newStructFmt(L, checkString(L, 1, "pack"))
	run := runOf(L)
	out := builder{run: run}
	arg := 2
	total := 0
	for f.pos < len(f.fmt) {
		opt := f.fmt[f.pos]
		f.pos++
		size := f.optsize(opt)
		pad := f.toAlign(total, size, opt)
		total += pad
		out.add(L, strings.Repeat("\x00", pad))
		switch opt {
		case 'b', 'B', 'h', 'H', 'l', 'L', 'T', 'i', 'I':
			n := checkNumber(L, arg, "pack")
			arg++
			var v uint64
			if n < 0 {
				v = uint64(toInt64(n))
			} else {
				v = toUint64(n)
			}
			buf := make([]byte, size)
			for i := 0; i < size && i < 8; i++ {
				at := size - 1 - i
				if f.little {
					at = i
				}
				buf[at] = byte(v)
				v >>= 8
			}
			out.add(L, string(buf))
		case 'x':
			out.add(L, "\x00")
		case 'f':
			bits := math.Float32bits(float32(checkNumber(L, arg, "pack")))
			arg++
			out.add(L, string(order(f.little).AppendUint32(nil, bits)))
		case 'd':
			bits := math.Float64bits(checkNumber(L, arg, "pack"))
			arg++
			out.add(L, string(order(f.little).AppendUint64(nil, bits)))
		case 'c', 's':
			s := checkString(L, arg, "pack")
			arg++
			if size == 0 {
				size = len(s)
			}
			if len(s) < size {
				argError(L, arg, "pack", "string too short")
			}
			out.add(L, s[:size])
			if opt == 's' {
				out.add(L, "\x00")
				size++
			}
		default:
			f.control(opt, "pack")
		}
		total += size
	}
	L.Push(lua.LString(out.b.String()))
	return 1
}

type byteOrder interface {
	binary.ByteOrder
	binary.AppendByteOrder
}

func order(little bool) byteOrder {
	if little {
		return binary.LittleEndian
	}
	return binary.BigEndian
}

// toUint64 is C's (unsigned long) cast of a non-negative double on
// x86-64.
func toUint64(f float64) uint64 {
	switch {
	case f < 9223372036854775808.0:
		return uint64(toInt64(f))
	case f < 18446744073709551616.0:
		return uint64(int64(f-9223372036854775808.0)) ^ 1<<63
	}
	return 0 // NaN and 2^64 up: the conversion's sentinel, xored away
}

// struct.unpack (fmt, s [, init])
func structUnpack(L *lua.LState) int {
	f := newStructFmt(L, checkString(L, 1, "unpack"))
	data := checkString(L, 2, "unpack")
	pos := int64(optInt(L, 3, "unpack", 1)) - 1
	L.SetTop(2)
	run := runOf(L)
	ld := int64(len(data))
	tooShort := func(size int64) {
		if pos < 0 || pos+size > ld || size < 0 {
			argError(L, 2, "unpack", "data string too short")
		}
	}
	for f.pos < len(f.fmt) {
		opt := f.fmt[f.pos]
		f.pos++
		size := int64(f.optsize(opt))
		pos += int64(f.toAlign(int(pos), int(size), opt))
		tooShort(size)
		if L.GetTop() >= maxStack {
			libError(L, "stack overflow (too many results)")
		}
		run.budget.charge(L, 1, 0)
		switch opt {
		case 'b', 'B', 'h', 'H', 'l', 'L', 'T', 'i', 'I':
			var v uint64
			for i := int64(0); i < size; i++ {
				at := pos + i
				if f.little {
					at = pos + size - 1 - i
				}
				v = v<<8 | uint64(data[at])
			}
			if opt >= 'a' { // signed
				// The mask's shift is C's, which x86-64 takes modulo 64.
				if mask := ^uint64(0) << (uint64(8*size-1) & 63); v&mask != 0 {
					v |= mask
				}
				L.Push(lua.LNumber(int64(v)))
			} else {
				L.Push(lua.LNumber(v))
			}
		case 'x':
		case 'f':
			b := []byte(data[pos : pos+4])
			L.Push(lua.LNumber(math.Float32frombits(order(f.little).Uint32(b))))
		case 'd':
			b := []byte(data[pos : pos+8])
			L.Push(lua.LNumber(math.Float64frombits(order(f.little).Uint64(b))))
		case 'c':
			if size == 0 {
				prev, ok := toNumber(L.Get(-1))
				if !ok {
					libError(L, "format 'c0' needs a previous size")
				}
				size = int64(toUint64(prev))
				L.Pop(1)
				tooShort(size)
			}
			run.budget.charge(L, size/64, size)
			L.Push(lua.LString(data[pos : pos+size]))
		case 's':
			e := strings.IndexByte(data[pos:], 0)
			if e < 0 {
				libError(L, "unfinished string in data")
			}
			run.budget.charge(L, int64(e)/64, int64(e))
			L.Push(lua.LString(data[pos : pos+int64(e)]))
			size = int64(e) + 1
		default:
			f.control(opt, "unpack")
		}
		pos += size
	}
	L.Push(lua.LNumber(pos + 1))
	return L.GetTop() - 2
}

// struct.size (fmt)
func structSize(L *lua.LState) int {
	f := newStructFmt(L, checkString(L, 1, "size"))
	pos := 0
	for f.pos < len(f.fmt) {
		opt := f.fmt[f.pos]
		f.pos++
		size := f.optsize(opt)
		pos += f.toAlign(pos, size, opt)
		if opt == 's' {
			argError(L, 1, "size", "option 's' has no fixed size")
		} else if opt == 'c' && size == 0 {
			argError(L, 1, "size", "option 'c0' has no fixed size")
		}
		if !isAlnum(opt) {
			f.control(opt, "size")
		}
		pos += size
	}
	L.Push(lua.LNumber(pos))
	return 1
}
