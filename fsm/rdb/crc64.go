package rdb

// crc64 is Redis's CRC-64 (Jones polynomial, reflected, initial value 0,
// no final xor): crc64(0, "123456789") = 0xe9c6d914c4b8d9ca. Go's
// hash/crc64 inverts before and after, so it cannot compute it.
func crc64(crc uint64, p []byte) uint64 {
	for _, b := range p {
		crc = crc64Table[byte(crc)^b] ^ (crc >> 8)
	}
	return crc
}

// crc64Poly is the Jones polynomial 0xad93d23594c935a9, bit-reversed.
const crc64Poly = 0x95ac9329ac4bc9b5

var crc64Table = func() (t [256]uint64) {
	for i := range t {
		c := uint64(i)
		for j := 0; j < 8; j++ {
			if c&1 != 0 {
				c = c>>1 ^ crc64Poly
			} else {
				c >>= 1
			}
		}
		t[i] = c
	}
	return t
}()
