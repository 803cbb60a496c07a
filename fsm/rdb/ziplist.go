package rdb

import (
	"encoding/binary"
	"strconv"
)

// Ziplists (Redis's ziplist.c), which RDB files before version 10 and
// Redis 6's DUMP use for list nodes: 4-byte total size, 4-byte offset of
// the last entry, 2-byte count, entries, 0xFF. Each entry is the previous
// entry's size (1 byte, or 0xFE and 4 bytes), its encoding, its data.
// Only read here: raftlist writes listpacks.

const (
	zlHeaderSize = 10
	zlEnd        = 0xFF
	zlBigPrevLen = 0xFE
)

// zlDecode checks a whole ziplist as ziplistValidateIntegrity does with
// deep sanitization and calls add with each element, in order.
func zlDecode(zl []byte, add func(e []byte, fresh bool) error) error {
	if len(zl) < zlHeaderSize+1 || int(binary.LittleEndian.Uint32(zl)) != len(zl) || zl[len(zl)-1] != zlEnd {
		return ErrFormat
	}
	tail := int(binary.LittleEndian.Uint32(zl[4:]))
	declared := int(binary.LittleEndian.Uint16(zl[8:]))
	p, prev, last, count := zlHeaderSize, 0, zlHeaderSize, 0
	body := zl[:len(zl)-1]
	for p < len(body) {
		e, prevLen, size, fresh, err := zlEntry(body[p:])
		if err != nil || prevLen != prev {
			return ErrFormat
		}
		if err := add(e, fresh); err != nil {
			return err
		}
		last, prev = p, size
		p += size
		count++
	}
	if tail != last || (declared != 0xFFFF && declared != count) {
		return ErrFormat
	}
	return nil
}

// zlEntry reads the entry at the start of b: its element (fresh when an
// integer's digits were allocated for it, else part of b), the previous
// entry's size it records, and its own size.
func zlEntry(b []byte) (elem []byte, prevLen, size int, fresh bool, err error) {
	if b[0] == zlEnd { // the end marker before the end
		return nil, 0, 0, false, ErrFormat
	}
	p := 1
	prevLen = int(b[0])
	if b[0] == zlBigPrevLen {
		if len(b) < 5 {
			return nil, 0, 0, false, ErrFormat
		}
		prevLen, p = int(binary.LittleEndian.Uint32(b[1:])), 5
	}
	if p >= len(b) {
		return nil, 0, 0, false, ErrFormat
	}
	c := b[p]
	var n, hdr int // data bytes, encoding bytes
	isInt := true
	switch c >> 6 {
	case 0:
		hdr, n, isInt = 1, int(c&0x3F), false
	case 1:
		if p+2 > len(b) {
			return nil, 0, 0, false, ErrFormat
		}
		hdr, n, isInt = 2, int(c&0x3F)<<8|int(b[p+1]), false
	case 2:
		if c != 0x80 || p+5 > len(b) {
			return nil, 0, 0, false, ErrFormat
		}
		hdr, n, isInt = 5, int(binary.BigEndian.Uint32(b[p+1:])), false
	default:
		hdr = 1
		switch {
		case c == 0xC0:
			n = 2
		case c == 0xD0:
			n = 4
		case c == 0xE0:
			n = 8
		case c == 0xF0:
			n = 3
		case c == 0xFE:
			n = 1
		case c >= 0xF1 && c <= 0xFD:
			n = 0
		default:
			return nil, 0, 0, false, ErrFormat
		}
	}
	data := p + hdr
	if n > len(b)-data {
		return nil, 0, 0, false, ErrFormat
	}
	size = data + n
	if !isInt {
		return b[data:size], prevLen, size, false, nil
	}
	var v int64
	if n == 0 {
		v = int64(c&0x0F) - 1
	} else {
		var u uint64
		for i := n - 1; i >= 0; i-- {
			u = u<<8 | uint64(b[data+i])
		}
		shift := 64 - 8*uint(n)
		v = int64(u<<shift) >> shift
	}
	return strconv.AppendInt(nil, v, 10), prevLen, size, true, nil
}
