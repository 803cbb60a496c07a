package fsm

import "encoding/binary"

// Sizes of encoded entries, so that whoever builds an entry can keep it
// under a size limit before encoding it (raftnode's max-entry-size).

// EntryHeaderMax bounds what a KindCommands entry's encoding adds around its
// commands: format version, kind, time and command count before them, and
// the checksum after them (entry.go).
const EntryHeaderMax = 2 + 2*binary.MaxVarintLen64 + checksumLen

// CmdSize returns exactly the bytes Encode writes for c inside a
// KindCommands entry.
func CmdSize(c *Cmd) int {
	n := uvarintLen(uint64(c.DB)) + bytesLen(len(c.Owner)) + uvarintLen(c.Seq) + uvarintLen(uint64(len(c.Args)))
	for _, a := range c.Args {
		n += bytesLen(len(a))
	}
	return n
}

func bytesLen(n int) int { return uvarintLen(uint64(n)) + n }

func uvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}
