package fsm

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// FormatVersion is the newest log entry format this binary writes and
// understands. Raise it only together with a decoder for the new format.
//
//   - Format 1: version, kind, time, then the kind's fields.
//   - Format 2: format 1's layout followed by a CRC-32C (Castagnoli,
//     little-endian) of every byte before it. Neither bolt, raft-boltdb nor
//     raft-wal checks an entry's bytes when they are read back, so without
//     it a bit flipped on disk in a committed entry would be applied as if
//     the leader had proposed it, and the node would diverge for good.
//   - Format 3: format 2's layout; the entry may be an expiry entry
//     (KindExpire) and its commands may set times to live. A binary that
//     knows only format 2 would answer those with errors and diverge, so
//     it must stop on them with "newer than this binary; upgrade".
//   - Format 4: format 3's layout; the entry may be an ACL change
//     (KindACL), which a format 3 binary cannot apply, and its commands
//     (scripts' too) may be those added with it (commandsSince,
//     expiry_cmds.go: TIME, DUMP, RESTORE, SORT...), which a format 3
//     binary answered "unknown command".
//
// Format 1 and 2 entries still decode (logs written before the upgrade,
// and entries proposed by older members during a rolling upgrade); format
// 1 carries no checksum, so only its structure is checked.
const FormatVersion = 4

// formatV1 is the format without a checksum, formatV2 the first with, and
// formatExpiry the first whose commands may set times to live and whose
// waiters carry their timeout, formatV4 the first with ACL changes and
// the commands of commandsSince's row 4.
const (
	formatV1     = 1
	formatV2     = 2
	formatExpiry = 3
	formatV4     = 4
)

// checksumLen is the size of format 2's trailing CRC-32C.
const checksumLen = 4

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Kind says what a log entry is. This is the closed list of every kind; Apply
// dispatches on it.
type Kind uint8

const (
	// KindCommands carries client commands, applied in order exactly as if
	// they had arrived one by one.
	KindCommands Kind = 1
	// KindTermStart is the first entry a new leader proposes in its term. It
	// opens the leader gate and records the leader's client address.
	KindTermStart Kind = 2
	// KindNodeMeta records (or forgets) a member's client address so every
	// node can tell clients where the leader is.
	KindNodeMeta Kind = 3
	// KindUnblock ends a waiter: its timeout fired, its client went away,
	// or CLIENT UNBLOCK. A no-op if the waiter already ended.
	KindUnblock Kind = 4
	// KindExec carries one MULTI/EXEC transaction (multi.go): the client's
	// WATCHed keys and queued commands, applied as one unit.
	KindExec Kind = 5
	// KindPurgeOwner ends the waiters of a node's processes that can no
	// longer answer them: its earlier incarnations (proposed by the node as
	// it starts) or, when the leader has not heard from it for long, all of
	// them.
	KindPurgeOwner Kind = 6
	// KindAck says that an owner process has answered the clients of some
	// of its ended waiters, so the state may forget their outcomes
	// (blocking_ended.go). Proposed in batches by the owner.
	KindAck Kind = 7
	// KindACL changes the ACL users (acl.go): ACL SETUSER or DELUSER.
	KindACL Kind = 9
	// KindExpire is the leader's active expiry (expiry.go): it deletes, in
	// (deadline, db, key) order, up to a bound of keys whose deadline the
	// log clock has reached, so keys nobody touches go too.
	KindExpire Kind = 8
)

// Entry is one Raft log entry as the state machine sees it.
type Entry struct {
	// OldFormat is the older format the entry was decoded from, 0 for the
	// current one: an older format's commands keep the meaning its
	// binaries gave them, and Encode writes it back in that format.
	OldFormat byte
	Kind      Kind
	// TimeMs is the leader's wall clock at proposal, the only clock the state
	// machine may read.
	TimeMs  int64
	Cmds    []Cmd       // KindCommands
	Node    NodeMeta    // KindTermStart, KindNodeMeta
	Unblock Unblock     // KindUnblock
	Tx      Transaction // KindExec
	Purge   PurgeOwner  // KindPurgeOwner
	Ack     Ack         // KindAck
	Expire  ExpireCycle // KindExpire
	ACL     ACLChange   // KindACL
}

// ExpireCycle is one step of active expiry.
type ExpireCycle struct {
	// Limit bounds how many keys the entry deletes (at most
	// MaxExpirePerEntry whatever it says).
	Limit uint64
}

// Cmd is one client command inside an entry.
type Cmd struct {
	DB int
	// Owner names the node process that proposed the command (node id and
	// incarnation); Seq is that owner's counter. Together they route replies
	// and name any waiter the command creates.
	Owner string
	Seq   uint64
	Args  [][]byte
}

// NodeMeta describes a member as clients reach it.
type NodeMeta struct {
	ID       string
	RespAddr string
	Remove   bool
}

var (
	// ErrNewerFormat means a committed entry was written by a newer binary.
	// Applying must stop: skipping it would silently diverge.
	ErrNewerFormat = errors.New("log entry format is newer than this binary; upgrade")
	// ErrCorruptEntry means an entry's bytes do not decode.
	ErrCorruptEntry = errors.New("corrupt log entry")
	// ErrEntryChecksum means an entry's bytes are not what its writer
	// wrote: damaged on disk or on the way. Errors that match it match
	// ErrCorruptEntry too.
	ErrEntryChecksum = errors.New("checksum mismatch")
)

// Encode returns the entry's wire form, in format FormatVersion (or the
// older one it was decoded from).
func (e *Entry) Encode() []byte {
	version := byte(FormatVersion)
	if e.OldFormat != 0 {
		version = e.OldFormat
	}
	b := make([]byte, 0, 64)
	b = append(b, version, byte(e.Kind))
	b = binary.AppendVarint(b, e.TimeMs)
	switch e.Kind {
	case KindCommands:
		b = binary.AppendUvarint(b, uint64(len(e.Cmds)))
		for _, c := range e.Cmds {
			b = binary.AppendUvarint(b, uint64(c.DB))
			b = appendBytes(b, []byte(c.Owner))
			b = binary.AppendUvarint(b, c.Seq)
			b = binary.AppendUvarint(b, uint64(len(c.Args)))
			for _, a := range c.Args {
				b = appendBytes(b, a)
			}
		}
	case KindTermStart, KindNodeMeta:
		b = appendBytes(b, []byte(e.Node.ID))
		b = appendBytes(b, []byte(e.Node.RespAddr))
		if e.Node.Remove {
			b = append(b, 1)
		} else {
			b = append(b, 0)
		}
	case KindUnblock:
		b = appendBytes(b, []byte(e.Unblock.Owner))
		b = binary.AppendUvarint(b, e.Unblock.Seq)
		b = append(b, byte(e.Unblock.Reason))
	case KindExec:
		b = appendTransaction(b, &e.Tx)
	case KindPurgeOwner:
		b = appendBytes(b, []byte(e.Purge.NodeID))
		b = appendBytes(b, []byte(e.Purge.KeepOwner))
	case KindAck:
		b = appendBytes(b, []byte(e.Ack.Owner))
		b = binary.AppendUvarint(b, uint64(len(e.Ack.Seqs)))
		for _, seq := range e.Ack.Seqs {
			b = binary.AppendUvarint(b, seq)
		}
	case KindExpire:
		b = binary.AppendUvarint(b, e.Expire.Limit)
	case KindACL:
		b = append(b, byte(e.ACL.Op))
		b = binary.AppendUvarint(b, uint64(len(e.ACL.Args)))
		for _, a := range e.ACL.Args {
			b = appendBytes(b, a)
		}
	}
	if version == formatV1 {
		return b
	}
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

// checkSum verifies format 2's trailing checksum and returns the bytes it
// covers without it.
func checkSum(data []byte) ([]byte, error) {
	if len(data) < 1+checksumLen {
		return nil, fmt.Errorf("%w: short", ErrCorruptEntry)
	}
	body := data[:len(data)-checksumLen]
	stored := binary.LittleEndian.Uint32(data[len(body):])
	if got := crc32.Checksum(body, castagnoli); got != stored {
		return nil, fmt.Errorf("%w: %w (stored %08x, computed %08x)", ErrCorruptEntry, ErrEntryChecksum, stored, got)
	}
	return body, nil
}

// VerifyEntry checks an entry's bytes without building it: the checksum
// of a format 2 entry, the whole decoding of a format 1 entry (which has
// none). It accepts an entry of a newer format, which only a newer binary
// can judge (applying it halts this one, DESIGN.md). Errors match
// ErrCorruptEntry, and ErrEntryChecksum when the checksum differs.
func VerifyEntry(data []byte) error {
	switch {
	case len(data) > 0 && data[0] >= formatV2 && data[0] <= FormatVersion:
		_, err := checkSum(data)
		return err
	case len(data) > 0 && data[0] > FormatVersion:
		return nil
	}
	_, err := DecodeEntry(data)
	return err
}

// DecodeEntry parses an entry. It never panics and never allocates more
// than the input's size, whatever the bytes say.
func DecodeEntry(data []byte) (*Entry, error) {
	d := decoder{buf: data}
	version := d.byte()
	if d.err == nil && version > FormatVersion {
		return nil, newerFormatError(version)
	}
	if d.err == nil && version == 0 {
		d.fail("format 0") // no binary ever wrote it
	}
	if d.err == nil && version >= formatV2 {
		// Nothing of a damaged entry is read: its lengths may lie.
		body, err := checkSum(data)
		if err != nil {
			return nil, err
		}
		d.buf = body[1:]
	}
	e := &Entry{Kind: Kind(d.byte()), TimeMs: d.varint()}
	if version < FormatVersion {
		e.OldFormat = version
	}
	switch e.Kind {
	case KindCommands:
		n := d.count()
		e.Cmds = make([]Cmd, 0, n)
		// The commands of an entry nearly always share one owner (the node
		// that batched them) and have a few arguments each: one owner
		// string while it repeats, and the argument lists carved from
		// shared arrays (each capped, so appending to one copies it),
		// instead of two allocations per owner and one per argument list.
		var owner string
		var slab [][]byte
		for i := 0; i < n && d.err == nil; i++ {
			// Check the database number before it becomes an int: a huge
			// one would turn negative and pass the range check.
			db := d.uvarint()
			if raw := d.raw(); i == 0 || string(raw) != owner {
				owner = string(raw)
			}
			c := Cmd{DB: int(db), Owner: owner, Seq: d.uvarint()}
			nargs := d.count()
			if cap(slab)-len(slab) < nargs {
				slab = make([][]byte, 0, max(nargs, min(nargs*(n-i), len(d.buf))))
			}
			c.Args = slab[len(slab) : len(slab) : len(slab)+nargs]
			for j := 0; j < nargs && d.err == nil; j++ {
				c.Args = append(c.Args, d.bytes())
			}
			slab = slab[:len(slab)+len(c.Args)]
			if db >= NumDBs || len(c.Args) == 0 {
				d.fail("bad command")
			}
			e.Cmds = append(e.Cmds, c)
		}
	case KindTermStart, KindNodeMeta:
		e.Node = NodeMeta{ID: string(d.bytes()), RespAddr: string(d.bytes()), Remove: d.byte() == 1}
	case KindUnblock:
		e.Unblock = Unblock{WaiterID: WaiterID{Owner: string(d.bytes()), Seq: d.uvarint()}, Reason: UnblockReason(d.byte())}
		if r := e.Unblock.Reason; d.err == nil && (r < UnblockTimeout || r > UnblockError) {
			d.fail("bad unblock reason")
		}
	case KindExec:
		e.Tx = d.transaction()
	case KindPurgeOwner:
		e.Purge = PurgeOwner{NodeID: string(d.bytes()), KeepOwner: string(d.bytes())}
	case KindAck:
		e.Ack = Ack{Owner: string(d.bytes())}
		n := d.count()
		e.Ack.Seqs = make([]uint64, 0, n)
		for i := 0; i < n && d.err == nil; i++ {
			e.Ack.Seqs = append(e.Ack.Seqs, d.uvarint())
		}
	case KindExpire:
		e.Expire = ExpireCycle{Limit: d.uvarint()}
		if d.err == nil && e.Expire.Limit == 0 {
			d.fail("expiry with no limit")
		}
	case KindACL:
		if version < formatV4 {
			d.fail("ACL change in an older format")
		}
		e.ACL = ACLChange{Op: ACLOp(d.byte())}
		n := d.count()
		e.ACL.Args = make([][]byte, 0, n)
		for i := 0; i < n && d.err == nil; i++ {
			e.ACL.Args = append(e.ACL.Args, d.bytes())
		}
		if op := e.ACL.Op; d.err == nil && op != ACLSetUser && op != ACLDelUser {
			d.fail("bad ACL change")
		}
	default:
		d.fail(fmt.Sprintf("unknown kind %d", e.Kind))
	}
	if d.err == nil && len(d.buf) != 0 {
		d.fail("trailing bytes")
	}
	if d.err != nil {
		return nil, d.err
	}
	return e, nil
}

// newerFormatError names the format a newer binary wrote; it matches
// ErrNewerFormat with errors.Is.
type newerFormatError byte

func (v newerFormatError) Error() string {
	return fmt.Sprintf("log entry format %d is newer than this binary; upgrade", byte(v))
}

func (v newerFormatError) Is(target error) bool { return target == ErrNewerFormat }

func appendBytes(b, s []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// decoder reads the entry format, remembering the first error so callers can
// read a whole record and check once.
type decoder struct {
	buf []byte
	err error
}

func (d *decoder) fail(why string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s", ErrCorruptEntry, why)
	}
	d.buf = nil
}

func (d *decoder) byte() byte {
	if d.err != nil || len(d.buf) == 0 {
		d.fail("short")
		return 0
	}
	c := d.buf[0]
	d.buf = d.buf[1:]
	return c
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.buf)
	if d.err != nil || n <= 0 {
		d.fail("bad uvarint")
		return 0
	}
	d.buf = d.buf[n:]
	return v
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.buf)
	if d.err != nil || n <= 0 {
		d.fail("bad varint")
		return 0
	}
	d.buf = d.buf[n:]
	return v
}

// count reads an element count, refusing counts that the remaining bytes
// could not possibly hold (each element takes at least one byte).
func (d *decoder) count() int {
	v := d.uvarint()
	if v > uint64(len(d.buf)) {
		d.fail("count exceeds data")
		return 0
	}
	return int(v)
}

func (d *decoder) bytes() []byte {
	raw := d.raw()
	if raw == nil {
		return nil
	}
	// A copy, so state built from an entry never pins the log's buffer.
	return append([]byte(nil), raw...)
}

// raw reads a length-prefixed byte string without copying it: the result
// aliases the entry's data and must not be kept (copy or convert it).
func (d *decoder) raw() []byte {
	n := d.uvarint()
	if n > uint64(len(d.buf)) {
		d.fail("length exceeds data")
		return nil
	}
	s := d.buf[:n:n]
	d.buf = d.buf[n:]
	return s
}
