package fsm

import (
	"testing"

	"github.com/raftlist/raftlist/fsm/resp"
)

// Every expected reply below is redis-server 7.0.15's.
var ksMultiCases = []ksCase{
	{"MGET answers each key's string, nil for a missing key or a list", []ksStep{
		ks(resp.OK, "SET", "a", "1"),
		ks(resp.Int(1), "RPUSH", "l", "x"),
		ks(resp.OK, "SET", "", "empty"),
		ks(resp.Array{resp.BulkString("1"), resp.NullBulk, resp.NullBulk, resp.BulkString("1"), resp.BulkString("empty")},
			"MGET", "a", "l", "nokey", "a", ""),
		ks(resp.Array{resp.NullBulk}, "MGET", "l"),
	}},
	{"MSET sets every pair, the last of a repeated key winning, over any type", []ksStep{
		ks(resp.Int(1), "RPUSH", "l", "x"),
		ks(resp.OK, "MSET", "a", "1", "l", "2", "a", "3"),
		ks(resp.Array{resp.BulkString("3"), resp.BulkString("2")}, "MGET", "a", "l"),
		ks(resp.Status("string"), "TYPE", "l"),
	}},
	{"MSET and MSETNX need pairs: an odd count is the arity error", []ksStep{
		ks(resp.Error("ERR wrong number of arguments for 'mset' command"), "MSET", "a"),
		ks(resp.Error("ERR wrong number of arguments for 'mset' command"), "MSET", "a", "1", "b"),
		ks(resp.Error("ERR wrong number of arguments for 'mset' command"), "mSeT", "a", "1", "b"),
		ks(resp.Error("ERR wrong number of arguments for 'msetnx' command"), "MSETNX", "a", "1", "b"),
		ks(resp.Error("ERR wrong number of arguments for 'mget' command"), "MGET"),
		ks(resp.Int(0), "EXISTS", "a"),
	}},
	{"MSETNX sets all the keys or, when any exists whatever its type, none", []ksStep{
		ks(resp.Int(1), "MSETNX", "a", "1", "b", "2"),
		ks(resp.Int(0), "MSETNX", "c", "3", "a", "4"),
		ks(resp.Int(0), "EXISTS", "c"),
		ks(resp.Int(1), "RPUSH", "l", "x"),
		ks(resp.Int(0), "MSETNX", "d", "5", "l", "6"),
		ks(resp.Int(1), "MSETNX", "e", "7", "e", "8"),
		ks(resp.Array{resp.BulkString("1"), resp.BulkString("2"), resp.NullBulk, resp.NullBulk, resp.BulkString("8")},
			"MGET", "a", "b", "c", "d", "e"),
	}},
	{"SETNX sets a missing key only, whatever the existing one holds", []ksStep{
		ks(resp.Int(1), "SETNX", "a", "1"),
		ks(resp.Int(0), "SETNX", "a", "2"),
		ks(resp.BulkString("1"), "GET", "a"),
		ks(resp.Int(1), "RPUSH", "l", "x"),
		ks(resp.Int(0), "SETNX", "l", "2"),
		ks(resp.Status("list"), "TYPE", "l"),
		ks(resp.Int(1), "SETNX", "", ""),
		ks(resp.Int(1), "EXISTS", ""),
	}},
	{"GETSET answers the old value and sets the new one", []ksStep{
		ks(resp.NullBulk, "GETSET", "a", "1"),
		ks(resp.BulkString("1"), "GETSET", "a", "2"),
		ks(resp.BulkString("2"), "GET", "a"),
		ks(resp.Int(5), "INCRBY", "n", "5"),
		ks(resp.BulkString("5"), "GETSET", "n", "0"),
		ks(resp.Int(1), "INCR", "n"),
	}},
	{"GETSET on a list is WRONGTYPE and leaves it alone", []ksStep{
		ks(resp.Int(1), "RPUSH", "l", "x"),
		ks(ksWrongType, "GETSET", "l", "v"),
		ks(resp.Int(1), "LLEN", "l"),
	}},
	{"SETNX and GETSET take exactly a key and a value", []ksStep{
		ks(resp.Error("ERR wrong number of arguments for 'setnx' command"), "SETNX", "a"),
		ks(resp.Error("ERR wrong number of arguments for 'getset' command"), "GETSET", "a", "b", "c"),
	}},
}

func TestStringMultiCommands(t *testing.T) { ksRun(t, ksMultiCases) }
