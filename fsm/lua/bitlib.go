package lua

// bit, LuaBitOp 1.0.2 as Redis ships it: 32-bit operations on numbers
// converted as LuaBitOp converts them (adding 2^52+2^51 and keeping the
// low 32 bits of the double, so fractions round to even and large values
// wrap), results signed.

import (
	"math"

	lua "github.com/yuin/gopher-lua"
)

func (vm *machine) bitLib() *lua.LTable {
	t := vm.L.CreateTable(0, 12)
	fold := func(name string, op func(a, b uint32) uint32) lua.LGFunction {
		return func(L *lua.LState) int {
			b := bitArg(L, 1, name)
			n := L.GetTop()
			runOf(L).budget.charge(L, int64(n)/8, 0)
			for i := 2; i <= n; i++ {
				b = op(b, bitArg(L, i, name))
			}
			return bitPush(L, b)
		}
	}
	shift := func(name string, op func(b uint32, n uint) uint32) lua.LGFunction {
		return func(L *lua.LState) int {
			b := bitArg(L, 1, name)
			n := uint(bitArg(L, 2, name) & 31)
			return bitPush(L, op(b, n))
		}
	}
	setFuncs(vm.L, t, map[string]lua.LGFunction{
		"tobit":  func(L *lua.LState) int { return bitPush(L, bitArg(L, 1, "tobit")) },
		"bnot":   func(L *lua.LState) int { return bitPush(L, ^bitArg(L, 1, "bnot")) },
		"band":   fold("band", func(a, b uint32) uint32 { return a & b }),
		"bor":    fold("bor", func(a, b uint32) uint32 { return a | b }),
		"bxor":   fold("bxor", func(a, b uint32) uint32 { return a ^ b }),
		"lshift": shift("lshift", func(b uint32, n uint) uint32 { return b << n }),
		"rshift": shift("rshift", func(b uint32, n uint) uint32 { return b >> n }),
		"arshift": shift("arshift", func(b uint32, n uint) uint32 {
			return uint32(int32(b) >> n)
		}),
		"rol": shift("rol", func(b uint32, n uint) uint32 { return b<<n | b>>(32-n) }),
		"ror": shift("ror", func(b uint32, n uint) uint32 { return b>>n | b<<(32-n) }),
		"bswap": func(L *lua.LState) int {
			b := bitArg(L, 1, "bswap")
			return bitPush(L, b>>24|b>>8&0xff00|b&0xff00<<8|b<<24)
		},
		"tohex": bitToHex,
	})
	return t
}

// bitArg is LuaBitOp's barg.
func bitArg(L *lua.LState, n int, fname string) uint32 {
	f := checkNumber(L, n, fname)
	return uint32(math.Float64bits(f + 6755399441055744.0))
}

func bitPush(L *lua.LState, b uint32) int {
	L.Push(lua.LNumber(int32(b)))
	return 1
}

// bit.tohex (x [, n]): n hex digits (8 by default; negative for upper
// case; at most 8).
func bitToHex(L *lua.LState) int {
	b := bitArg(L, 1, "tohex")
	n := int32(8)
	if L.GetTop() >= 2 {
		n = int32(bitArg(L, 2, "tohex"))
	}
	digits := "0123456789abcdef"
	if n < 0 {
		n = -n
		digits = "0123456789ABCDEF"
	}
	if n > 8 {
		n = 8
	}
	buf := make([]byte, n)
	for i := n - 1; i >= 0; i-- {
		buf[i] = digits[b&15]
		b >>= 4
	}
	L.Push(lua.LString(buf))
	return 1
}
