package fsm

import (
	"strings"
	"testing"

	"github.com/raftlist/raftlist/fsm/resp"
)

var ksStringCases = []ksCase{
	{"GET returns the value, nil for a missing key", []ksStep{
		ks(resp.NullBulk, "GET", "s"),
		ks(resp.OK, "SET", "s", "v"),
		ks(resp.BulkString("v"), "GET", "s"),
		ks(resp.OK, "SET", "e", ""),
		ks(resp.BulkString(""), "GET", "e"),
	}},
	{"GET and SET are binary safe", []ksStep{
		ks(resp.OK, "SET", "k\x00\r\n", "a\x00b\r\nc"),
		ks(resp.BulkString("a\x00b\r\nc"), "GET", "k\x00\r\n"),
		ks(resp.NullBulk, "GET", "k"),
		ks(resp.OK, "SET", "big", strings.Repeat("x", 1<<20)),
		ks(resp.BulkString(strings.Repeat("x", 1<<20)), "GET", "big"),
	}},
	{"GET of a list is WRONGTYPE", []ksStep{
		ks(resp.Int(1), "RPUSH", "l", "a"),
		ks(ksWrongType, "GET", "l"),
	}},
	{"list commands on a string are WRONGTYPE", []ksStep{
		ks(resp.OK, "SET", "s", "v"),
		ks(ksWrongType, "RPUSH", "s", "a"),
		ks(ksWrongType, "LLEN", "s"),
		ks(resp.BulkString("v"), "GET", "s"),
	}},
	{"GET takes exactly one key", []ksStep{
		ks(resp.Error("ERR wrong number of arguments for 'get' command"), "GET"),
		ks(resp.Error("ERR wrong number of arguments for 'get' command"), "GET", "a", "b"),
	}},
	{"SET overwrites a value of any type", []ksStep{
		ks(resp.OK, "SET", "s", "v1"),
		ks(resp.OK, "SET", "s", "v2"),
		ks(resp.BulkString("v2"), "GET", "s"),
		ks(resp.Int(2), "RPUSH", "l", "a", "b"),
		ks(resp.OK, "SET", "l", "v"),
		ks(resp.Status("string"), "TYPE", "l"),
		ks(resp.BulkString("v"), "GET", "l"),
	}},
	{"SET NX sets only a missing key and answers nil otherwise", []ksStep{
		ks(resp.OK, "SET", "s", "v1", "NX"),
		ks(resp.NullBulk, "SET", "s", "v2", "NX"),
		ks(resp.BulkString("v1"), "GET", "s"),
		ks(resp.Int(1), "RPUSH", "l", "a"),
		ks(resp.NullBulk, "SET", "l", "v", "nx"),
		ks(resp.Status("list"), "TYPE", "l"),
	}},
	{"SET XX sets only an existing key and answers nil otherwise", []ksStep{
		ks(resp.NullBulk, "SET", "s", "v1", "XX"),
		ks(resp.Int(0), "EXISTS", "s"),
		ks(resp.OK, "SET", "s", "v1"),
		ks(resp.OK, "SET", "s", "v2", "xx"),
		ks(resp.BulkString("v2"), "GET", "s"),
		ks(resp.Int(1), "RPUSH", "l", "a"),
		ks(resp.OK, "SET", "l", "v", "XX"),
		ks(resp.BulkString("v"), "GET", "l"),
	}},
	{"SET GET answers the old value, or nil when there was none", []ksStep{
		ks(resp.NullBulk, "SET", "s", "v1", "GET"),
		ks(resp.BulkString("v1"), "SET", "s", "v2", "GET"),
		ks(resp.BulkString("v2"), "SET", "s", "v3", "get", "GET"),
		ks(resp.BulkString("v3"), "GET", "s"),
	}},
	{"SET GET on a list is WRONGTYPE and leaves the list alone", []ksStep{
		ks(resp.Int(2), "RPUSH", "l", "a", "b"),
		ks(ksWrongType, "SET", "l", "x", "GET"),
		ks(ksWrongType, "SET", "l", "x", "NX", "GET"),
		ks(ksWrongType, "SET", "l", "x", "XX", "GET"),
		ks(resp.Int(2), "LLEN", "l"),
	}},
	{"SET NX GET answers the old value and sets only a missing key", []ksStep{
		ks(resp.NullBulk, "SET", "s", "v1", "NX", "GET"),
		ks(resp.BulkString("v1"), "GET", "s"),
		ks(resp.BulkString("v1"), "SET", "s", "v2", "GET", "NX"),
		ks(resp.BulkString("v1"), "GET", "s"),
	}},
	{"SET XX GET answers the old value and sets only an existing key", []ksStep{
		ks(resp.NullBulk, "SET", "s", "v1", "XX", "GET"),
		ks(resp.Int(0), "EXISTS", "s"),
		ks(resp.OK, "SET", "s", "v1"),
		ks(resp.BulkString("v1"), "SET", "s", "v2", "XX", "GET"),
		ks(resp.BulkString("v2"), "GET", "s"),
	}},
	{"SET NX and XX together are a syntax error in either order", []ksStep{
		ks(resp.Error("ERR syntax error"), "SET", "s", "v", "NX", "XX"),
		ks(resp.Error("ERR syntax error"), "SET", "s", "v", "XX", "NX"),
		ks(resp.Error("ERR syntax error"), "SET", "s", "v", "NX", "GET", "XX"),
		ks(resp.Int(0), "EXISTS", "s"),
	}},
	{"SET accepts a repeated NX or XX", []ksStep{
		ks(resp.OK, "SET", "s", "v", "NX", "NX"),
		ks(resp.OK, "SET", "s", "w", "XX", "xx"),
		ks(resp.BulkString("w"), "GET", "s"),
	}},
	{"SET reads options as C strings", []ksStep{
		ks(resp.OK, "SET", "s", "v", "NX\x00junk"),
		ks(resp.NullBulk, "SET", "s", "w", "nx\x00"),
		ks(resp.BulkString("v"), "GET", "s"),
	}},
	{"SET refuses unknown options", []ksStep{
		ks(resp.Error("ERR syntax error"), "SET", "s", "v", "foo"),
		ks(resp.Error("ERR syntax error"), "SET", "s", "v", "PERSIST"),
		ks(resp.Error("ERR syntax error"), "SET", "s", "v", "NXX"),
		ks(resp.Error("ERR syntax error"), "SET", "s", "v", ""),
		ks(resp.Int(0), "EXISTS", "s"),
	}},
	{"SET takes every expiry option, the last value winning (the log clock is 1700000000000)", []ksStep{
		ks(resp.OK, "SET", "s", "v", "EX", "10"),
		ks(resp.Int(10000), "PTTL", "s"),
		ks(resp.OK, "SET", "s", "v", "px", "10000"),
		ks(resp.OK, "SET", "s", "v", "EXAT", "2000000000"),
		ks(resp.Int(2000000000), "EXPIRETIME", "s"),
		ks(resp.OK, "SET", "s", "v", "PXAT", "2000000000001"),
		ks(resp.OK, "SET", "s", "w", "KEEPTTL"),
		ks(resp.Int(2000000000001), "PEXPIRETIME", "s"),
		ks(resp.BulkString("w"), "SET", "s", "x", "NX", "GET", "EX", "1"),
		ks(resp.OK, "SET", "s", "v", "EX", "10", "EX", "20"),
		ks(resp.Int(20000), "PTTL", "s"),
		ks(resp.OK, "SET", "s", "v"),
		ks(resp.Int(-1), "PTTL", "s"),
		ks(resp.Error("ERR invalid expire time in 'set' command"), "SET", "s", "v", "EX", "0"),
		ks(resp.Error("ERR invalid expire time in 'set' command"), "SET", "s", "v", "GET", "PX", "-1"),
		ks(resp.Error("ERR invalid expire time in 'set' command"), "SET", "s", "v", "EX", "9223372036854775807"),
		ks(resp.Error("ERR invalid expire time in 'set' command"), "SET", "s", "v", "EX", "9223372036854775"),
		ks(resp.Error("ERR invalid expire time in 'set' command"), "SET", "s", "v", "PX", "9223372036854775807"),
		ks(resp.Error("ERR value is not an integer or out of range"), "SET", "s", "v", "EX", "abc"),
		ks(resp.Int(1), "EXISTS", "s"),
	}},
	{"SET expiry options that Redis's grammar refuses stay syntax errors", []ksStep{
		ks(resp.Error("ERR syntax error"), "SET", "s", "v", "EX"),
		ks(resp.Error("ERR syntax error"), "SET", "s", "v", "PXAT"),
		ks(resp.Error("ERR syntax error"), "SET", "s", "v", "EX", "10", "KEEPTTL"),
		ks(resp.Error("ERR syntax error"), "SET", "s", "v", "KEEPTTL", "EX", "10"),
		ks(resp.Error("ERR syntax error"), "SET", "s", "v", "PX", "10", "EX", "20"),
		ks(resp.Error("ERR syntax error"), "SET", "s", "v", "EXAT", "10", "PXAT", "20"),
		ks(resp.Error("ERR syntax error"), "SET", "s", "v", "EX", "10", "NX", "XX"),
		ks(resp.Int(0), "EXISTS", "s"),
	}},
	{"SET needs a key and a value", []ksStep{
		ks(resp.Error("ERR wrong number of arguments for 'set' command"), "SET"),
		ks(resp.Error("ERR wrong number of arguments for 'set' command"), "SET", "k"),
	}},
	{"string commands are case-insensitive", []ksStep{
		ks(resp.OK, "sEt", "a", "1", "Nx"),
		ks(resp.BulkString("1"), "Get", "a"),
	}},
}

func TestStringCommands(t *testing.T) { ksRun(t, ksStringCases) }
