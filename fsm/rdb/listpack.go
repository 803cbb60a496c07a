package rdb

import (
	"encoding/binary"
	"strconv"
)

// Listpacks (Redis's listpack.c) as quicklist nodes hold them: a 4-byte
// total size and a 2-byte count, entries, and 0xFF. Each entry is its
// encoding and data, then the length of both written backwards.

const (
	lpHeaderSize = 6
	lpEOF        = 0xFF
	// lpCountUnknown in the header means "count the entries".
	lpCountUnknown = 0xFFFF
)

// intElement reports whether e is the canonical decimal form of an int64
// (Redis's string2ll and its round trip through ll2string), and its value.
func intElement(e []byte) (int64, bool) {
	if len(e) == 0 || len(e) > 20 {
		return 0, false
	}
	v, err := strconv.ParseInt(string(e), 10, 64)
	if err != nil || strconv.FormatInt(v, 10) != string(e) {
		return 0, false
	}
	return v, true
}

// lpAppendEntry appends e to the listpack body in b as lpAppend does:
// integers in the smallest integer encoding, anything else as a string.
func lpAppendEntry(b, e []byte) []byte {
	start := len(b)
	if v, ok := intElement(e); ok {
		b = lpAppendInt(b, v)
	} else {
		b = lpAppendString(b, e)
	}
	return lpAppendBacklen(b, len(b)-start)
}

func lpAppendInt(b []byte, v int64) []byte {
	switch {
	case v >= 0 && v <= 127:
		return append(b, byte(v))
	case v >= -4096 && v <= 4095:
		u := uint64(v) & (1<<13 - 1)
		return append(b, 0xC0|byte(u>>8), byte(u))
	case v >= -32768 && v <= 32767:
		return binary.LittleEndian.AppendUint16(append(b, 0xF1), uint16(v))
	case v >= -8388608 && v <= 8388607:
		u := uint32(v)
		return append(b, 0xF2, byte(u), byte(u>>8), byte(u>>16))
	case v >= -2147483648 && v <= 2147483647:
		return binary.LittleEndian.AppendUint32(append(b, 0xF3), uint32(v))
	}
	return binary.LittleEndian.AppendUint64(append(b, 0xF4), uint64(v))
}

func lpAppendString(b, e []byte) []byte {
	n := len(e)
	switch {
	case n < 64:
		b = append(b, 0x80|byte(n))
	case n < 4096:
		b = append(b, 0xE0|byte(n>>8), byte(n))
	default:
		b = binary.LittleEndian.AppendUint32(append(b, 0xF0), uint32(n))
	}
	return append(b, e...)
}

// lpAppendBacklen writes l, the entry's size so far, as lpEncodeBacklen:
// seven bits a byte, most significant first, every byte but the first
// with its top bit set.
func lpAppendBacklen(b []byte, l int) []byte {
	n := lpBacklenSize(l)
	for i := n - 1; i >= 0; i-- {
		c := byte(l>>(7*i)) & 127
		if i != n-1 {
			c |= 128
		}
		b = append(b, c)
	}
	return b
}

func lpBacklenSize(l int) int {
	switch {
	case l <= 127:
		return 1
	case l < 16383:
		return 2
	case l < 2097151:
		return 3
	case l < 268435455:
		return 4
	}
	return 5
}

// lpEntrySize is the bytes lpAppendEntry adds for e.
func lpEntrySize(e []byte) int {
	var n int
	if v, ok := intElement(e); ok {
		n = len(lpAppendInt(make([]byte, 0, 9), v))
	} else {
		switch {
		case len(e) < 64:
			n = 1 + len(e)
		case len(e) < 4096:
			n = 2 + len(e)
		default:
			n = 5 + len(e)
		}
	}
	return n + lpBacklenSize(n)
}

// lpFinish turns a body of count entries into a listpack.
func lpFinish(body []byte, count int) []byte {
	lp := make([]byte, 0, lpHeaderSize+len(body)+1)
	lp = binary.LittleEndian.AppendUint32(lp, uint32(lpHeaderSize+len(body)+1))
	if count >= lpCountUnknown {
		count = lpCountUnknown
	}
	lp = binary.LittleEndian.AppendUint16(lp, uint16(count))
	lp = append(lp, body...)
	return append(lp, lpEOF)
}

// lpDecode checks a whole listpack as lpValidateIntegrity does with deep
// sanitization and calls add with each element, in order.
func lpDecode(lp []byte, add func(e []byte, fresh bool) error) error {
	if len(lp) < lpHeaderSize+1 || int(binary.LittleEndian.Uint32(lp)) != len(lp) || lp[len(lp)-1] != lpEOF {
		return ErrFormat
	}
	declared := int(binary.LittleEndian.Uint16(lp[4:]))
	p, count := lpHeaderSize, 0
	for p < len(lp)-1 {
		e, size, fresh, err := lpEntry(lp[p : len(lp)-1])
		if err != nil {
			return err
		}
		if err := add(e, fresh); err != nil {
			return err
		}
		p += size
		count++
	}
	if declared != lpCountUnknown && declared != count {
		return ErrFormat
	}
	return nil
}

// lpEntry reads the entry at the start of b: its element (fresh when an
// integer's digits were allocated for it, else part of b) and its whole
// size, backlen included.
func lpEntry(b []byte) (elem []byte, size int, fresh bool, err error) {
	c := b[0]
	var hdr, n int // encoding bytes, then data bytes
	var v int64
	isInt := true
	switch {
	case c&0x80 == 0:
		hdr, v = 1, int64(c)
	case c&0xC0 == 0x80:
		hdr, n, isInt = 1, int(c&0x3F), false
	case c&0xE0 == 0xC0:
		if len(b) < 2 {
			return nil, 0, false, ErrFormat
		}
		u := int64(c&0x1F)<<8 | int64(b[1])
		hdr, v = 2, u<<51>>51 // sign-extend 13 bits
	case c&0xF0 == 0xE0:
		if len(b) < 2 {
			return nil, 0, false, ErrFormat
		}
		hdr, n, isInt = 2, int(c&0x0F)<<8|int(b[1]), false
	case c == 0xF0:
		if len(b) < 5 {
			return nil, 0, false, ErrFormat
		}
		hdr, n, isInt = 5, int(binary.LittleEndian.Uint32(b[1:])), false
	case c >= 0xF1 && c <= 0xF4:
		hdr = 1 + [...]int{2, 3, 4, 8}[c-0xF1]
		if len(b) < hdr {
			return nil, 0, false, ErrFormat
		}
		var u uint64
		for i := hdr - 1; i >= 1; i-- {
			u = u<<8 | uint64(b[i])
		}
		shift := 64 - 8*uint(hdr-1)
		v = int64(u<<shift) >> shift
	default:
		return nil, 0, false, ErrFormat
	}
	if n > len(b)-hdr {
		return nil, 0, false, ErrFormat
	}
	l := hdr + n
	bl := lpBacklenSize(l)
	if l+bl > len(b) || string(lpAppendBacklen(nil, l)) != string(b[l:l+bl]) {
		return nil, 0, false, ErrFormat
	}
	if isInt {
		return strconv.AppendInt(nil, v, 10), l + bl, true, nil
	}
	return b[hdr:l], l + bl, false, nil
}
