package fsm

import (
	"crypto/sha1"
	"encoding/binary"
	"encoding/hex"
	"strings"
)

// Digest returns a 40-hex-digit digest of the whole replicated dataset: every
// database, key, type and element, and every blocked client. Two states that applied the same entries
// have the same digest. Like Redis, an empty dataset digests to 40 zeros.
// Membership and term are left out: they are not data.
func (s *State) Digest() string {
	h := sha1.New()
	empty := true
	var b []byte
	for db, d := range s.dbs {
		for _, k := range d.SortedKeys() {
			empty = false
			b = binary.AppendUvarint(b[:0], uint64(db))
			b = appendBytes(b, []byte(k))
			switch v := d.keys[k].(type) {
			case *List:
				b = append(b, 'l')
				b = binary.AppendUvarint(b, uint64(v.Len()))
				h.Write(b)
				for i := 0; i < v.Len(); i++ {
					h.Write(appendBytes(b[:0], v.At(i)))
				}
			case *String:
				b = append(b, 's')
				h.Write(appendBytes(b, v.B))
			}
		}
	}
	for _, w := range s.waitersInOrder() {
		empty = false
		h.Write(appendWaiter(b[:0], w))
	}
	if empty {
		return strings.Repeat("0", 40)
	}
	return hex.EncodeToString(h.Sum(nil))
}
