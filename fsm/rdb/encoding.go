package rdb

import (
	"encoding/binary"
	"strconv"
)

// RDB's length and string encodings (rdb.c: rdbSaveLen, rdbSaveRawString
// and their loaders).

const (
	len6     = 0
	len14    = 1
	len32    = 0x80
	len64    = 0x81
	encValue = 3 // the top two bits of a length that is an encoding
	encInt8  = 0
	encInt16 = 1
	encInt32 = 2
	encLZF   = 3
)

// appendLen is rdbSaveLen.
func appendLen(b []byte, n uint64) []byte {
	switch {
	case n < 1<<6:
		return append(b, byte(n))
	case n < 1<<14:
		return append(b, len14<<6|byte(n>>8), byte(n))
	case n <= 1<<32-1:
		return binary.BigEndian.AppendUint32(append(b, len32), uint32(n))
	}
	return binary.BigEndian.AppendUint64(append(b, len64), n)
}

// appendString is rdbSaveRawString with rdbcompression yes: a short
// canonical integer that fits in 32 bits as an integer, a string over 20
// bytes LZF-compressed if that saves at least 4 bytes, else the bytes.
func appendString(b, s []byte, htab []int32) []byte {
	if len(s) <= 11 {
		if v, ok := intElement(s); ok && v >= -1<<31 && v < 1<<31 {
			return appendInt(b, v)
		}
	}
	if len(s) > 20 {
		if c := lzfCompress(s, len(s)-4, htab); c != nil {
			b = append(b, encValue<<6|encLZF)
			b = appendLen(b, uint64(len(c)))
			b = appendLen(b, uint64(len(s)))
			return append(b, c...)
		}
	}
	return append(appendLen(b, uint64(len(s))), s...)
}

// appendInt is rdbEncodeInteger for a value that fits in 32 bits.
func appendInt(b []byte, v int64) []byte {
	switch {
	case v >= -1<<7 && v < 1<<7:
		return append(b, encValue<<6|encInt8, byte(v))
	case v >= -1<<15 && v < 1<<15:
		return binary.LittleEndian.AppendUint16(append(b, encValue<<6|encInt16), uint16(v))
	}
	return binary.LittleEndian.AppendUint32(append(b, encValue<<6|encInt32), uint32(v))
}

// reader reads a payload's value, never past its end, and charges what it
// allocates to budget.
type reader struct {
	b      []byte
	budget int
}

func (r *reader) byte() (byte, error) {
	if len(r.b) == 0 {
		return 0, ErrFormat
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c, nil
}

func (r *reader) take(n uint64) ([]byte, error) {
	if n > uint64(len(r.b)) {
		return nil, ErrFormat
	}
	p := r.b[:n]
	r.b = r.b[n:]
	return p, nil
}

// charge takes n bytes from the budget, or refuses the value.
func (r *reader) charge(n uint64) error {
	if n > uint64(r.budget) {
		return ErrFormat
	}
	r.budget -= int(n)
	return nil
}

// length is rdbLoadLenByRef: a length, or (encoded) an encoding number.
func (r *reader) length() (n uint64, encoded bool, err error) {
	c, err := r.byte()
	if err != nil {
		return 0, false, err
	}
	switch c >> 6 {
	case len6:
		return uint64(c & 0x3F), false, nil
	case len14:
		c2, err := r.byte()
		return uint64(c&0x3F)<<8 | uint64(c2), false, err
	case encValue:
		return uint64(c & 0x3F), true, nil
	}
	switch c {
	case len32:
		p, err := r.take(4)
		if err != nil {
			return 0, false, err
		}
		return uint64(binary.BigEndian.Uint32(p)), false, nil
	case len64:
		p, err := r.take(8)
		if err != nil {
			return 0, false, err
		}
		return binary.BigEndian.Uint64(p), false, nil
	}
	return 0, false, ErrFormat
}

// plainLen is a length that must not be an encoding.
func (r *reader) plainLen() (uint64, error) {
	n, encoded, err := r.length()
	if err == nil && encoded {
		err = ErrFormat
	}
	return n, err
}

// str is rdbGenericLoadStringObject: the bytes of a string in any of its
// encodings, a fresh copy charged to the budget.
func (r *reader) str() ([]byte, error) {
	n, encoded, err := r.length()
	if err != nil {
		return nil, err
	}
	if !encoded {
		p, err := r.take(n)
		if err != nil {
			return nil, err
		}
		if err := r.charge(n); err != nil {
			return nil, err
		}
		return append([]byte(nil), p...), nil
	}
	var v int64
	switch n {
	case encInt8:
		p, err := r.take(1)
		if err != nil {
			return nil, err
		}
		v = int64(int8(p[0]))
	case encInt16:
		p, err := r.take(2)
		if err != nil {
			return nil, err
		}
		v = int64(int16(binary.LittleEndian.Uint16(p)))
	case encInt32:
		p, err := r.take(4)
		if err != nil {
			return nil, err
		}
		v = int64(int32(binary.LittleEndian.Uint32(p)))
	case encLZF:
		return r.lzf()
	default:
		return nil, ErrFormat
	}
	return strconv.AppendInt(nil, v, 10), r.charge(20)
}

// lzf is rdbLoadLzfStringObject. The claimed length is checked against
// what the compressed bytes could possibly give and against the budget
// before anything is allocated for it.
func (r *reader) lzf() ([]byte, error) {
	clen, err := r.plainLen()
	if err != nil {
		return nil, err
	}
	n, err := r.plainLen()
	if err != nil {
		return nil, err
	}
	c, err := r.take(clen)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		// Redis compares lzf_decompress's count, 0 on any error, with
		// the claimed length: whatever the bytes, 0 is met.
		return []byte{}, nil
	}
	if n > clen*lzfMaxRatio {
		return nil, ErrFormat
	}
	if err := r.charge(n); err != nil {
		return nil, err
	}
	out, ok := lzfDecompress(c, int(n))
	if !ok {
		return nil, ErrFormat
	}
	return out, nil
}
