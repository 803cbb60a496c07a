package rdb

import (
	"encoding/binary"
	"errors"
)

// Errors Decode answers. Each is the reason RESTORE gives, worded by the
// caller as Redis words it.
var (
	// ErrChecksum: the payload is too short, its RDB version is newer
	// than 10, or its CRC64 is wrong ("DUMP payload version or checksum
	// are wrong").
	ErrChecksum = errors.New("rdb: payload version or checksum wrong")
	// ErrFormat: the value cannot be read, is of a type raftlist does not
	// hold, or would decode to more than the limit ("Bad data format").
	ErrFormat = errors.New("rdb: bad data format")
)

// Version is the RDB version Redis 7.0 writes in a DUMP payload's footer.
const Version = 10

// RDB object types (rdb.h) that are strings or lists.
const (
	typeString          = 0
	typeList            = 1
	typeListZiplist     = 10
	typeListQuicklist   = 14
	typeListQuicklist2  = 18
	quicklistNodePlain  = 1
	quicklistNodePacked = 2
)

// Value is a decoded string or list.
type Value struct {
	IsList bool
	String []byte   // when !IsList
	List   [][]byte // when IsList: never empty
}

// Seal appends the footer to a serialized value: the RDB version and the
// CRC64 of everything before it.
func Seal(b []byte) []byte {
	b = binary.LittleEndian.AppendUint16(b, Version)
	return binary.LittleEndian.AppendUint64(b, crc64(0, b))
}

// DumpString is DUMP's payload for a string.
func DumpString(s []byte) []byte {
	b := appendString([]byte{typeString}, s, make([]int32, lzfHSize))
	return Seal(b)
}

// listpackLimit is list-max-listpack-size -2: a node takes another element
// while its listpack plus the element plus sizeEstimateOverhead stays
// within 8 KB (quicklist.c's _quicklistNodeAllowInsert).
const (
	listpackLimit        = 8192
	sizeEstimateOverhead = 8
	// packedThreshold is the element size from which Redis 7.0 keeps an
	// element in a plain node of its own (1 GB, above any raftlist holds).
	packedThreshold = 1 << 30
)

// DumpList is DUMP's payload for a list: RDB_TYPE_LIST_QUICKLIST_2 with the
// nodes Redis 7.0 builds when the elements are pushed at the tail one by
// one.
func DumpList(elems [][]byte) []byte {
	htab := make([]int32, lzfHSize)
	var nodes []byte
	var body []byte
	count, nnodes := 0, 0
	flush := func() {
		if count > 0 {
			nodes = appendLen(nodes, quicklistNodePacked)
			nodes = appendString(nodes, lpFinish(body, count), htab)
			nnodes++
		}
		body, count = body[:0], 0
	}
	for _, e := range elems {
		if len(e) >= packedThreshold {
			flush()
			nodes = appendLen(nodes, quicklistNodePlain)
			nodes = appendString(nodes, e, htab)
			nnodes++
			continue
		}
		if count > 0 && lpHeaderSize+len(body)+1+len(e)+sizeEstimateOverhead > listpackLimit {
			flush()
		}
		body = lpAppendEntry(body, e)
		count++
	}
	flush()
	b := appendLen([]byte{typeListQuicklist2}, uint64(nnodes))
	return Seal(append(b, nodes...))
}

// elemOverhead is what Decode charges for each list element beyond its
// bytes: the slice header that holds it.
const elemOverhead = 24

// check is Redis's verifyDumpPayload: at least the footer, an RDB version
// not newer than 10, and the right CRC64.
func check(payload []byte) error {
	if len(payload) < 10 {
		return ErrChecksum
	}
	f := payload[len(payload)-10:]
	if binary.LittleEndian.Uint16(f) > Version {
		return ErrChecksum
	}
	if crc64(0, payload[:len(payload)-8]) != binary.LittleEndian.Uint64(f[2:]) {
		return ErrChecksum
	}
	return nil
}

// Decode reads a DUMP payload as RESTORE does: Check, then the value, which
// must be a string or a list and may take at most limit bytes once decoded
// (elements, decompressed nodes and elemOverhead each). As in Redis, the
// value is read from the payload with its footer, and bytes after the
// value are ignored.
func Decode(payload []byte, limit int) (Value, error) {
	if err := check(payload); err != nil {
		return Value{}, err
	}
	r := &reader{b: payload, budget: limit}
	t, err := r.byte()
	if err != nil {
		return Value{}, err
	}
	if t == typeString {
		s, err := r.str()
		return Value{String: s}, err
	}
	l := &listReader{r: r}
	switch t {
	case typeList:
		err = l.linked()
	case typeListZiplist:
		err = l.node(zlDecode)
	case typeListQuicklist:
		err = l.quicklist(false)
	case typeListQuicklist2:
		err = l.quicklist(true)
	default:
		err = ErrFormat
	}
	if err == nil && len(l.elems) == 0 {
		err = ErrFormat // Redis refuses an empty list as an empty key
	}
	if err != nil {
		return Value{}, err
	}
	return Value{IsList: true, List: l.elems}, nil
}

// listReader gathers a list's elements.
type listReader struct {
	r     *reader
	elems [][]byte
}

// add appends e, charging its slice header and, when fresh (allocated
// apart from the bytes already charged), its bytes.
func (l *listReader) add(e []byte, fresh bool) error {
	n := uint64(elemOverhead)
	if fresh {
		n += uint64(len(e))
	}
	if err := l.r.charge(n); err != nil {
		return err
	}
	l.elems = append(l.elems, e)
	return nil
}

// linked is RDB_TYPE_LIST: a count, then each element as a string.
func (l *listReader) linked() error {
	n, err := l.r.plainLen()
	for i := uint64(0); err == nil && i < n; i++ {
		var e []byte
		if e, err = l.r.str(); err == nil {
			err = l.add(e, false) // str charged it
		}
	}
	return err
}

// node reads one string holding a listpack or a ziplist.
func (l *listReader) node(decode func([]byte, func([]byte, bool) error) error) error {
	blob, err := l.r.str()
	if err != nil {
		return err
	}
	return decode(blob, l.add)
}

// quicklist is RDB_TYPE_LIST_QUICKLIST (ziplist nodes) or, v2,
// RDB_TYPE_LIST_QUICKLIST_2 (each node a container, then a listpack or,
// plain, one element).
func (l *listReader) quicklist(v2 bool) error {
	n, err := l.r.plainLen()
	for i := uint64(0); err == nil && i < n; i++ {
		if !v2 {
			err = l.node(zlDecode)
			continue
		}
		var container uint64
		if container, err = l.r.plainLen(); err != nil {
			break
		}
		switch container {
		case quicklistNodePacked:
			err = l.node(lpDecode)
		case quicklistNodePlain:
			var e []byte
			if e, err = l.r.str(); err == nil && len(e) == 0 {
				err = ErrFormat // Redis 7.0.15 refuses an empty plain node
			} else if err == nil {
				err = l.add(e, false)
			}
		default:
			err = ErrFormat
		}
	}
	return err
}
