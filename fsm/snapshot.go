package fsm

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// A snapshot is a header, then a stream of typed records, then an end
// record. Records are written in a fixed order (databases ascending, keys in
// byte order, nodes by id) so equal states give equal snapshots.
const snapshotMagic = "RAFTLIST-SNAP"

// snapshotVersion 2 added recEnded, 3 the log clock (recClock) and key
// deadlines (recTTL), 4 the ACL users (recUser), 5 the function libraries
// (recLibrary). Older snapshots read unchanged: they hold no ended
// outcomes and no deadlines (their binaries kept none), and their clock
// starts at zero, which the next entry moves forward.
const snapshotVersion = 5

// snapshotVersionNeeded is the oldest version that holds st: a state
// without function libraries is written as version 4, which a binary from
// before them reads (a rolling upgrade's old followers take the new
// leader's snapshots until a library is loaded).
func (st *State) snapshotVersionNeeded() byte {
	if len(st.libraries) == 0 {
		return 4
	}
	return snapshotVersion
}

// oldestSnapshotVersion is the oldest version ReadSnapshot still reads.
const oldestSnapshotVersion = 1

const (
	recMeta   byte = 1 // term, applied index
	recNode   byte = 2 // member id, client address
	recList   byte = 3 // db, key, elements
	recString byte = 4 // db, key, value
	recWaiter byte = 5 // owner, seq, db, term, order, args, keys
	recOrder  byte = 6 // the waiter registration counter
	recEnded  byte = 7 // owner, seq, reply (RESP): an unacknowledged outcome
	recClock  byte = 8 // the log clock (ms, signed)
	recTTL    byte = 9 // db, key, deadline (ms, signed): after the key's record
	// A waiter's timeout deadline (ms, signed), after its recWaiter.
	recWaiterDeadline byte = 10 // owner, seq, deadline
	// WATCH versions (watch.go): every key's last modification index,
	// deleted keys included, and the newest version pruned. A snapshot
	// without them (an older binary's) restores every key at the snapshot's
	// index: a WATCH from before it then aborts, never misses a change.
	recVersion      byte = 0x10 // db, key, version
	recVersionFloor byte = 0x11 // floor
	// The script cache (script_cmds.go): one record per script, in SHA1
	// order; the SHA1 is computed from the body when read.
	recScript byte = 0x20 // body
	// The ACL users (acl.go), in name order: name, then the rules that
	// build the user from a fresh one. A snapshot without them (older than
	// version 4) holds only the default user as it starts.
	recUser byte = 0x30 // name, rules
	// The function libraries (function_cmds.go), in name order: the code,
	// then what its loading registered (so a restore never reruns it):
	// per function its name, whether it has a description, the
	// description and its flags.
	recLibrary byte = 0x21 // code, count, (name, hasDesc, desc, flags)...
	recEnd     byte = 0xff
)

// maxSnapshotString bounds any single length read from a snapshot so a
// corrupt file cannot make Restore allocate without limit.
const maxSnapshotString = 1 << 30

// WriteSnapshot writes st to w.
func WriteSnapshot(w io.Writer, st *State) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	var b []byte
	flush := func() error {
		_, err := bw.Write(b)
		b = b[:0]
		return err
	}
	b = append(b, snapshotMagic...)
	b = append(b, st.snapshotVersionNeeded(), recMeta)
	b = binary.AppendUvarint(b, st.term)
	b = binary.AppendUvarint(b, st.applied)
	b = append(b, recClock)
	b = binary.AppendVarint(b, st.clock)
	for _, n := range st.Nodes() {
		b = append(b, recNode)
		b = appendBytes(b, []byte(n.ID))
		b = appendBytes(b, []byte(n.RespAddr))
	}
	for db, d := range st.dbs {
		for _, k := range d.SortedKeys() {
			switch v := d.keys[k].(type) {
			case *List:
				b = append(b, recList)
				b = binary.AppendUvarint(b, uint64(db))
				b = appendBytes(b, []byte(k))
				b = binary.AppendUvarint(b, uint64(v.Len()))
				for i := 0; i < v.Len(); i++ {
					b = appendBytes(b, v.At(i))
					if len(b) > 1<<16 {
						if err := flush(); err != nil {
							return err
						}
					}
				}
			case *String:
				b = append(b, recString)
				b = binary.AppendUvarint(b, uint64(db))
				b = appendBytes(b, []byte(k))
				b = appendBytes(b, v.B)
			}
			if t, ok := d.expires[k]; ok {
				b = append(b, recTTL)
				b = binary.AppendUvarint(b, uint64(db))
				b = appendBytes(b, []byte(k))
				b = binary.AppendVarint(b, t)
			}
			if err := flush(); err != nil {
				return err
			}
		}
	}
	b = append(b, recOrder)
	b = binary.AppendUvarint(b, st.blk.nextOrder)
	for _, w := range st.waitersInOrder() {
		b = appendWaiter(b, w)
		b = appendWaiterDeadline(b, w)
	}
	for _, sv := range st.EndedOutcomes() {
		b = appendEnded(b, sv)
	}
	for _, u := range st.Users() {
		b = appendUser(b, u)
	}
	b = append(b, recVersionFloor)
	b = binary.AppendUvarint(b, st.ver.floor)
	for _, v := range st.sortedVersions() {
		b = append(b, recVersion)
		b = binary.AppendUvarint(b, uint64(v.key.db))
		b = appendBytes(b, []byte(v.key.key))
		b = binary.AppendUvarint(b, v.version)
		if len(b) > 1<<16 {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	for _, sha := range st.sortedScripts() {
		b = append(b, recScript)
		b = appendBytes(b, []byte(st.scripts[sha]))
		if err := flush(); err != nil {
			return err
		}
	}
	for _, name := range st.sortedLibraries() {
		b = appendLibrary(b, st.libraries[name])
		if err := flush(); err != nil {
			return err
		}
	}
	b = append(b, recEnd)
	if err := flush(); err != nil {
		return err
	}
	return bw.Flush()
}

// ReadSnapshot reads a snapshot written by WriteSnapshot into a new state.
// It returns an error, never panics, on any malformed input.
func ReadSnapshot(r io.Reader) (*State, error) {
	sr := snapReader{r: bufio.NewReaderSize(r, 1<<16)}
	magic := sr.read(len(snapshotMagic))
	if sr.err == nil && string(magic) != snapshotMagic {
		return nil, errors.New("not a raftlist snapshot")
	}
	if v := sr.byte(); sr.err == nil && (v < oldestSnapshotVersion || v > snapshotVersion) {
		return nil, fmt.Errorf("snapshot version %d is not supported by this binary", v)
	}
	st := NewState()
	for sr.err == nil {
		switch rec := sr.byte(); rec {
		case recMeta:
			st.term, st.applied = sr.uvarint(), sr.uvarint()
		case recClock:
			st.clock = sr.varint()
		case recTTL:
			db, key := sr.db(), sr.bytes()
			t := sr.varint()
			if sr.err == nil && st.dbs[db].keys[string(key)] == nil {
				sr.fail(fmt.Errorf("snapshot deadline for missing key %q", key))
			}
			if sr.err == nil {
				st.dbs[db].expires[string(key)] = t
			}
		case recNode:
			id, addr := sr.bytes(), sr.bytes()
			st.nodes[string(id)] = string(addr)
		case recList:
			db, key := sr.db(), sr.bytes()
			n := sr.uvarint()
			l := &List{}
			for i := uint64(0); i < n && sr.err == nil; i++ {
				l.PushBack(sr.bytes())
			}
			if sr.err == nil && l.Len() > 0 {
				st.dbs[db].Set(key, l)
			}
		case recString:
			db, key := sr.db(), sr.bytes()
			st.dbs[db].Set(key, &String{B: sr.bytes()})
		case recOrder:
			st.blk.nextOrder = sr.uvarint()
		case recWaiter:
			w := &waiter{id: WaiterID{Owner: string(sr.bytes()), Seq: sr.uvarint()}, db: sr.db(),
				term: sr.uvarint(), order: sr.uvarint()}
			w.args, w.keys = sr.byteSlices(), sr.byteSlices()
			if sr.err == nil && (len(w.args) == 0 || len(w.keys) == 0) {
				sr.fail(fmt.Errorf("snapshot waiter %s/%d has no command or keys", w.id.Owner, w.id.Seq))
			}
			if sr.err == nil {
				st.addWaiter(w)
			}
		case recWaiterDeadline:
			id := WaiterID{Owner: string(sr.bytes()), Seq: sr.uvarint()}
			t := sr.varint()
			w := st.blk.waiters[id]
			if sr.err == nil && w == nil {
				sr.fail(fmt.Errorf("snapshot deadline for missing waiter %s/%d", id.Owner, id.Seq))
			}
			if sr.err == nil {
				w.deadline = t
			}
		case recEnded:
			id := WaiterID{Owner: string(sr.bytes()), Seq: sr.uvarint()}
			reply := sr.bytes()
			if sr.err == nil && len(reply) == 0 {
				sr.fail(fmt.Errorf("snapshot outcome of %s/%d has no reply", id.Owner, id.Seq))
			}
			if sr.err == nil {
				st.blk.ended[id] = reply
			}
		case recVersionFloor:
			st.ver.floor = sr.uvarint()
		case recVersion:
			db, key := sr.db(), sr.bytes()
			v := sr.uvarint()
			if sr.err == nil {
				st.ver.last[dbKey{db, string(key)}] = v
			}
		case recScript:
			if body := sr.bytes(); sr.err == nil {
				st.scripts[ScriptSHA(body)] = string(body)
			}
		case recLibrary:
			if l := sr.library(); sr.err == nil {
				st.linkLibrary(l)
			}
		case recUser:
			name, rules := sr.bytes(), sr.byteSlices()
			if sr.err != nil {
				break
			}
			u, err := userFromRules(string(name), rules)
			if err != "" {
				sr.fail(fmt.Errorf("ACL user %q: %s", name, err))
				break
			}
			st.users[u.Name] = u
		case recEnd:
			st.rebuildTombs()
			st.rebuildTTLs()
			return st, nil
		default:
			sr.fail(fmt.Errorf("unknown snapshot record %d", rec))
		}
	}
	return nil, sr.err
}

type snapReader struct {
	r   *bufio.Reader
	err error
}

func (s *snapReader) fail(err error) {
	if s.err == nil {
		s.err = err
	}
}

func (s *snapReader) byte() byte {
	if s.err != nil {
		return 0
	}
	c, err := s.r.ReadByte()
	if err != nil {
		s.fail(fmt.Errorf("read snapshot: %w", err))
	}
	return c
}

func (s *snapReader) uvarint() uint64 {
	if s.err != nil {
		return 0
	}
	v, err := binary.ReadUvarint(s.r)
	if err != nil {
		s.fail(fmt.Errorf("read snapshot: %w", err))
	}
	return v
}

func (s *snapReader) varint() int64 {
	if s.err != nil {
		return 0
	}
	v, err := binary.ReadVarint(s.r)
	if err != nil {
		s.fail(fmt.Errorf("read snapshot: %w", err))
	}
	return v
}

func (s *snapReader) db() int {
	db := s.uvarint()
	if db >= NumDBs {
		s.fail(fmt.Errorf("snapshot names database %d", db))
		return 0
	}
	return int(db)
}

// snapReadChunk is the most read allocates before the bytes it has read so
// far prove that the length it was given is real.
const snapReadChunk = 1 << 20

// read returns the next n bytes. A long string is read in chunks and joined
// only once all have arrived, so a corrupt length in a short snapshot costs
// what the snapshot holds, not up to maxSnapshotString.
func (s *snapReader) read(n int) []byte {
	if s.err != nil {
		return nil
	}
	var chunks [][]byte
	for left := n; left > 0 || chunks == nil; {
		buf := make([]byte, min(left, snapReadChunk))
		if _, err := io.ReadFull(s.r, buf); err != nil {
			s.fail(fmt.Errorf("read snapshot: %w", err))
			return nil
		}
		chunks = append(chunks, buf)
		left -= len(buf)
	}
	if len(chunks) == 1 {
		return chunks[0]
	}
	return bytes.Join(chunks, nil)
}

func (s *snapReader) bytes() []byte {
	n := s.uvarint()
	if n > maxSnapshotString {
		s.fail(fmt.Errorf("snapshot string of %d bytes is too large", n))
		return nil
	}
	return s.read(int(n))
}

// byteSlices reads a count and that many strings. Each string takes at
// least one byte, so a corrupt count fails on data, not on allocation.
func (s *snapReader) byteSlices() [][]byte {
	n := s.uvarint()
	var out [][]byte
	for i := uint64(0); i < n && s.err == nil; i++ {
		out = append(out, s.bytes())
	}
	return out
}

// appendWaiterDeadline encodes a waiter's deadline record, if it has one;
// the digest uses the same bytes.
func appendWaiterDeadline(b []byte, w *waiter) []byte {
	if w.deadline == 0 {
		return b
	}
	b = append(b, recWaiterDeadline)
	b = appendBytes(b, []byte(w.id.Owner))
	b = binary.AppendUvarint(b, w.id.Seq)
	return binary.AppendVarint(b, w.deadline)
}

// appendWaiter encodes one waiter record; the digest uses the same bytes.
func appendWaiter(b []byte, w *waiter) []byte {
	b = append(b, recWaiter)
	b = appendBytes(b, []byte(w.id.Owner))
	b = binary.AppendUvarint(b, w.id.Seq)
	b = binary.AppendUvarint(b, uint64(w.db))
	b = binary.AppendUvarint(b, w.term)
	b = binary.AppendUvarint(b, w.order)
	for _, list := range [][][]byte{w.args, w.keys} {
		b = binary.AppendUvarint(b, uint64(len(list)))
		for _, a := range list {
			b = appendBytes(b, a)
		}
	}
	return b
}
