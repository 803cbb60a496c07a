package fsm

import (
	"crypto/sha1"
	"encoding/binary"
	"encoding/hex"
	"strings"
)

// Digest returns a 40-hex-digit digest of the whole replicated dataset: every
// database, key, type and element, every blocked client, every ended
// waiter's outcome its owner has not acknowledged, every key's deadline, every cached script
// (by SHA1), and the ACL users. Two states that applied the same entries
// have the same digest. Like Redis, an empty dataset digests to 40 zeros.
// Membership and term are left out: they are not data. So are WATCH's key
// versions (watch.go): like Redis's DEBUG DIGEST, this digests what clients
// can read, and versions are bookkeeping derived from the log indexes that
// touched each key. Leaving them out keeps equal data digesting equal even
// when the history differs (a node restored from an older binary's snapshot
// holds conservative versions); snapshot and determinism tests compare
// versions directly.
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
			// A key's deadline decides when every node deletes it. The
			// log clock itself is left out: it reaches clients only
			// through deadlines, and equal histories give equal clocks.
			if t, ok := d.expires[k]; ok {
				h.Write(binary.AppendVarint(append(b[:0], 't'), t))
			}
		}
	}
	for _, w := range s.waitersInOrder() {
		empty = false
		h.Write(appendWaiterDeadline(appendWaiter(b[:0], w), w))
	}
	// Unacknowledged outcomes are replicated state like waiters: a node
	// missing one would leave its client hanging after a restore.
	for _, sv := range s.EndedOutcomes() {
		empty = false
		h.Write(appendEnded(b[:0], sv))
	}
	for _, sha := range s.sortedScripts() {
		empty = false
		h.Write(appendBytes(append(b[:0], recScript), []byte(sha)))
	}
	for _, name := range s.sortedLibraries() {
		empty = false
		h.Write(appendLibrary(b[:0], s.libraries[name]))
	}
	// The ACL users decide what every node lets clients do. Untouched
	// (only the default user as it starts) they are left out, so a state
	// without ACL changes digests as before ACLs existed.
	if !s.aclIsInitial() {
		empty = false
		for _, u := range s.Users() {
			h.Write(appendUser(b[:0], u))
		}
	}
	if empty {
		return strings.Repeat("0", 40)
	}
	return hex.EncodeToString(h.Sum(nil))
}
