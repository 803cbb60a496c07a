// Package rdb is Redis 7.0's serialization of one value, as DUMP writes it
// and RESTORE reads it: the value's RDB type and encoding, then the RDB
// version (10) in two bytes and a CRC64 (Jones) of everything before it.
//
// It knows strings and lists only, because those are all raftlist holds:
//
//   - Dump writes what redis-server 7.0.15 writes for the same value with
//     its default settings (rdbcompression yes, list-max-listpack-size -2,
//     list-compress-depth 0): a string with the integer or LZF encodings
//     when they apply, a list as RDB_TYPE_LIST_QUICKLIST_2 whose listpack
//     nodes are split as Redis splits a list built by RPUSH. The LZF
//     compressor is liblzf's, as Redis builds it, with its hash table
//     cleared before each call (Redis leaves it uninitialised, so Redis's
//     own output may differ in rare cases; both decompress to the same).
//   - Decode reads every encoding redis-server 7.0 can load for a string
//     or a list: raw, integer and LZF strings; lists as quicklist 2
//     (listpack and plain nodes), quicklist 1 (ziplist nodes), a ziplist
//     and the old linked list.
//
// Decode is pure and bounded, because every node of a raftlist cluster runs
// it on what a client sent: it never trusts a length it reads (each is
// checked against the bytes left, or against Limit before anything is
// allocated for it), checks listpacks and ziplists completely (Redis's deep
// sanitization), and answers ErrFormat or ErrChecksum for anything else —
// the same error for the same bytes on every node.
package rdb
