package fsm

import (
	"strings"
	"testing"
)

var ksStringCases = []ksCase{
	{"GET returns the value, nil for a missing key", []ksStep{
		ks(NullBulk, "GET", "s"),
		ks(OK, "SET", "s", "v"),
		ks(BulkString("v"), "GET", "s"),
		ks(OK, "SET", "e", ""),
		ks(BulkString(""), "GET", "e"),
	}},
	{"GET and SET are binary safe", []ksStep{
		ks(OK, "SET", "k\x00\r\n", "a\x00b\r\nc"),
		ks(BulkString("a\x00b\r\nc"), "GET", "k\x00\r\n"),
		ks(NullBulk, "GET", "k"),
		ks(OK, "SET", "big", strings.Repeat("x", 1<<20)),
		ks(BulkString(strings.Repeat("x", 1<<20)), "GET", "big"),
	}},
	{"GET of a list is WRONGTYPE", []ksStep{
		ks(Int(1), "RPUSH", "l", "a"),
		ks(ksWrongType, "GET", "l"),
	}},
	{"list commands on a string are WRONGTYPE", []ksStep{
		ks(OK, "SET", "s", "v"),
		ks(ksWrongType, "RPUSH", "s", "a"),
		ks(ksWrongType, "LLEN", "s"),
		ks(BulkString("v"), "GET", "s"),
	}},
	{"GET takes exactly one key", []ksStep{
		ks(Error("ERR wrong number of arguments for 'get' command"), "GET"),
		ks(Error("ERR wrong number of arguments for 'get' command"), "GET", "a", "b"),
	}},
	{"SET overwrites a value of any type", []ksStep{
		ks(OK, "SET", "s", "v1"),
		ks(OK, "SET", "s", "v2"),
		ks(BulkString("v2"), "GET", "s"),
		ks(Int(2), "RPUSH", "l", "a", "b"),
		ks(OK, "SET", "l", "v"),
		ks(Status("string"), "TYPE", "l"),
		ks(BulkString("v"), "GET", "l"),
	}},
	{"SET NX sets only a missing key and answers nil otherwise", []ksStep{
		ks(OK, "SET", "s", "v1", "NX"),
		ks(NullBulk, "SET", "s", "v2", "NX"),
		ks(BulkString("v1"), "GET", "s"),
		ks(Int(1), "RPUSH", "l", "a"),
		ks(NullBulk, "SET", "l", "v", "nx"),
		ks(Status("list"), "TYPE", "l"),
	}},
	{"SET XX sets only an existing key and answers nil otherwise", []ksStep{
		ks(NullBulk, "SET", "s", "v1", "XX"),
		ks(Int(0), "EXISTS", "s"),
		ks(OK, "SET", "s", "v1"),
		ks(OK, "SET", "s", "v2", "xx"),
		ks(BulkString("v2"), "GET", "s"),
		ks(Int(1), "RPUSH", "l", "a"),
		ks(OK, "SET", "l", "v", "XX"),
		ks(BulkString("v"), "GET", "l"),
	}},
	{"SET GET answers the old value, or nil when there was none", []ksStep{
		ks(NullBulk, "SET", "s", "v1", "GET"),
		ks(BulkString("v1"), "SET", "s", "v2", "GET"),
		ks(BulkString("v2"), "SET", "s", "v3", "get", "GET"),
		ks(BulkString("v3"), "GET", "s"),
	}},
	{"SET GET on a list is WRONGTYPE and leaves the list alone", []ksStep{
		ks(Int(2), "RPUSH", "l", "a", "b"),
		ks(ksWrongType, "SET", "l", "x", "GET"),
		ks(ksWrongType, "SET", "l", "x", "NX", "GET"),
		ks(ksWrongType, "SET", "l", "x", "XX", "GET"),
		ks(Int(2), "LLEN", "l"),
	}},
	{"SET NX GET answers the old value and sets only a missing key", []ksStep{
		ks(NullBulk, "SET", "s", "v1", "NX", "GET"),
		ks(BulkString("v1"), "GET", "s"),
		ks(BulkString("v1"), "SET", "s", "v2", "GET", "NX"),
		ks(BulkString("v1"), "GET", "s"),
	}},
	{"SET XX GET answers the old value and sets only an existing key", []ksStep{
		ks(NullBulk, "SET", "s", "v1", "XX", "GET"),
		ks(Int(0), "EXISTS", "s"),
		ks(OK, "SET", "s", "v1"),
		ks(BulkString("v1"), "SET", "s", "v2", "XX", "GET"),
		ks(BulkString("v2"), "GET", "s"),
	}},
	{"SET NX and XX together are a syntax error in either order", []ksStep{
		ks(Error("ERR syntax error"), "SET", "s", "v", "NX", "XX"),
		ks(Error("ERR syntax error"), "SET", "s", "v", "XX", "NX"),
		ks(Error("ERR syntax error"), "SET", "s", "v", "NX", "GET", "XX"),
		ks(Int(0), "EXISTS", "s"),
	}},
	{"SET accepts a repeated NX or XX", []ksStep{
		ks(OK, "SET", "s", "v", "NX", "NX"),
		ks(OK, "SET", "s", "w", "XX", "xx"),
		ks(BulkString("w"), "GET", "s"),
	}},
	{"SET reads options as C strings", []ksStep{
		ks(OK, "SET", "s", "v", "NX\x00junk"),
		ks(NullBulk, "SET", "s", "w", "nx\x00"),
		ks(BulkString("v"), "GET", "s"),
	}},
	{"SET refuses unknown options", []ksStep{
		ks(Error("ERR syntax error"), "SET", "s", "v", "foo"),
		ks(Error("ERR syntax error"), "SET", "s", "v", "PERSIST"),
		ks(Error("ERR syntax error"), "SET", "s", "v", "NXX"),
		ks(Error("ERR syntax error"), "SET", "s", "v", ""),
		ks(Int(0), "EXISTS", "s"),
	}},
	{"SET refuses every expiry option: keys never expire in raftlist", []ksStep{
		{args: []string{"SET", "s", "v", "EX", "10"}, exp: ErrNoExpiry, differs: "no expiry"},
		{args: []string{"SET", "s", "v", "px", "10000"}, exp: ErrNoExpiry, differs: "no expiry"},
		{args: []string{"SET", "s", "v", "EXAT", "2000000000"}, exp: ErrNoExpiry, differs: "no expiry"},
		{args: []string{"SET", "s", "v", "PXAT", "2000000000000"}, exp: ErrNoExpiry, differs: "no expiry"},
		{args: []string{"SET", "s", "v", "KEEPTTL"}, exp: ErrNoExpiry, differs: "no expiry"},
		{args: []string{"SET", "s", "v", "NX", "GET", "EX", "1"}, exp: ErrNoExpiry, differs: "no expiry"},
		{args: []string{"SET", "s", "v", "EX", "10", "EX", "20"}, exp: ErrNoExpiry, differs: "no expiry"},
		{args: []string{"SET", "s", "v", "EX", "0"}, exp: ErrNoExpiry, differs: "no expiry"},
		{args: []string{"SET", "s", "v", "EX", "abc"}, exp: ErrNoExpiry, differs: "no expiry"},
		{args: []string{"EXISTS", "s"}, exp: Int(0), differs: "no expiry"},
	}},
	{"SET expiry options that Redis's grammar refuses stay syntax errors", []ksStep{
		ks(Error("ERR syntax error"), "SET", "s", "v", "EX"),
		ks(Error("ERR syntax error"), "SET", "s", "v", "PXAT"),
		ks(Error("ERR syntax error"), "SET", "s", "v", "EX", "10", "KEEPTTL"),
		ks(Error("ERR syntax error"), "SET", "s", "v", "KEEPTTL", "EX", "10"),
		ks(Error("ERR syntax error"), "SET", "s", "v", "PX", "10", "EX", "20"),
		ks(Error("ERR syntax error"), "SET", "s", "v", "EXAT", "10", "PXAT", "20"),
		ks(Error("ERR syntax error"), "SET", "s", "v", "EX", "10", "NX", "XX"),
		ks(Int(0), "EXISTS", "s"),
	}},
	{"SET needs a key and a value", []ksStep{
		ks(Error("ERR wrong number of arguments for 'set' command"), "SET"),
		ks(Error("ERR wrong number of arguments for 'set' command"), "SET", "k"),
	}},
	{"string commands are case-insensitive", []ksStep{
		ks(OK, "sEt", "a", "1", "Nx"),
		ks(BulkString("1"), "Get", "a"),
	}},
}

func TestStringCommands(t *testing.T) { ksRun(t, ksStringCases) }
