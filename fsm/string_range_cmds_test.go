package fsm

import (
	"strconv"
	"strings"
	"testing"

	"github.com/raftlist/raftlist/fsm/resp"
)

// Every expected reply below is redis-server 7.0.15's, except where a step
// says why raftlist differs (its MaxStringLen is 64 MiB, Redis's 512 MB).
var ksRangeCases = []ksCase{
	{"APPEND creates the key, even with an empty value, and answers the length", []ksStep{
		ks(resp.Int(0), "APPEND", "e", ""),
		ks(resp.Int(1), "EXISTS", "e"),
		ks(resp.BulkString(""), "GET", "e"),
		ks(resp.Int(3), "APPEND", "s", "abc"),
		ks(resp.Int(6), "APPEND", "s", "d\x00f"),
		ks(resp.Int(6), "APPEND", "s", ""),
		ks(resp.BulkString("abcd\x00f"), "GET", "s"),
		ks(resp.Int(2), "APPEND", "", "xy"),
	}},
	{"APPEND to a counter makes a string INCR refuses", []ksStep{
		ks(resp.Int(10), "INCRBY", "n", "10"),
		ks(resp.Int(3), "APPEND", "n", "1"),
		ks(resp.Int(100), "INCRBY", "n", "-1"),
		ks(resp.Int(4), "APPEND", "n", "x"),
		ks(resp.ErrNotInteger, "INCR", "n"),
	}},
	{"APPEND, STRLEN, GETRANGE and SETRANGE on a list are WRONGTYPE", []ksStep{
		ks(resp.Int(1), "RPUSH", "l", "a"),
		ks(ksWrongType, "APPEND", "l", "x"),
		ks(ksWrongType, "APPEND", "l", ""),
		ks(ksWrongType, "STRLEN", "l"),
		ks(ksWrongType, "GETRANGE", "l", "0", "-1"),
		ks(ksWrongType, "SUBSTR", "l", "0", "-1"),
		ks(ksWrongType, "SETRANGE", "l", "0", "x"),
		ks(ksWrongType, "SETRANGE", "l", "0", ""),
		ks(ksWrongType, "SETRANGE", "l", "600000000", "x"),
		ks(resp.Int(1), "LLEN", "l"),
	}},
	{"STRLEN counts bytes, 0 for a missing key", []ksStep{
		ks(resp.Int(0), "STRLEN", "s"),
		ks(resp.OK, "SET", "s", "h\x00\xffllo"),
		ks(resp.Int(6), "STRLEN", "s"),
		ks(resp.OK, "SET", "e", ""),
		ks(resp.Int(0), "STRLEN", "e"),
	}},
	{"GETRANGE takes inclusive indexes, negative from the end, clamped", []ksStep{
		ks(resp.OK, "SET", "s", "This is a string"),
		ks(resp.BulkString("This"), "GETRANGE", "s", "0", "3"),
		ks(resp.BulkString("ing"), "GETRANGE", "s", "-3", "-1"),
		ks(resp.BulkString("This is a string"), "GETRANGE", "s", "0", "-1"),
		ks(resp.BulkString("string"), "GETRANGE", "s", "10", "100"),
		ks(resp.BulkString("This is a string"), "GETRANGE", "s", "-100", "100"),
		ks(resp.BulkString("T"), "GETRANGE", "s", "-100", "-16"),
		ks(resp.BulkString(""), "GETRANGE", "s", "-100", "-200"),
		ks(resp.BulkString(""), "GETRANGE", "s", "5", "3"),
		ks(resp.BulkString(""), "GETRANGE", "s", "16", "20"),
		ks(resp.BulkString("g"), "GETRANGE", "s", "-1", "9223372036854775807"),
		ks(resp.BulkString("This is a string"), "GETRANGE", "s", "-9223372036854775808", "9223372036854775807"),
		ks(resp.BulkString(""), "GETRANGE", "s", "9223372036854775807", "-9223372036854775808"),
		ks(resp.BulkString("T"), "GETRANGE", "s", "0", "-9223372036854775808"),
		ks(resp.BulkString("is a"), "SUBSTR", "s", "5", "8"),
	}},
	{"GETRANGE of a missing key or an empty string is empty, not nil", []ksStep{
		ks(resp.BulkString(""), "GETRANGE", "nokey", "0", "-1"),
		ks(resp.OK, "SET", "e", ""),
		ks(resp.BulkString(""), "GETRANGE", "e", "0", "-1"),
		ks(resp.BulkString(""), "GETRANGE", "e", "-1", "0"),
	}},
	{"GETRANGE reads its indexes before the key", []ksStep{
		ks(resp.Int(1), "RPUSH", "l", "a"),
		ks(resp.ErrNotInteger, "GETRANGE", "l", "x", "1"),
		ks(resp.ErrNotInteger, "GETRANGE", "l", "0", "1.5"),
		ks(resp.ErrNotInteger, "GETRANGE", "nokey", "0", "9223372036854775808"),
		ks(resp.ErrNotInteger, "SUBSTR", "nokey", " 0", "1"),
	}},
	{"SETRANGE overwrites, pads with zero bytes and answers the length", []ksStep{
		ks(resp.OK, "SET", "s", "Hello World"),
		ks(resp.Int(11), "SETRANGE", "s", "6", "Redis"),
		ks(resp.BulkString("Hello Redis"), "GET", "s"),
		ks(resp.Int(14), "SETRANGE", "s", "12", "ab"),
		ks(resp.BulkString("Hello Redis\x00ab"), "GET", "s"),
		ks(resp.Int(14), "SETRANGE", "s", "0", "J"),
		ks(resp.BulkString("Jello Redis\x00ab"), "GET", "s"),
		ks(resp.Int(6), "SETRANGE", "n", "5", "x"),
		ks(resp.BulkString("\x00\x00\x00\x00\x00x"), "GET", "n"),
	}},
	{"SETRANGE with an empty value creates nothing and answers the length", []ksStep{
		ks(resp.Int(0), "SETRANGE", "n", "0", ""),
		ks(resp.Int(0), "SETRANGE", "n", "600000000", ""),
		ks(resp.Int(0), "SETRANGE", "n", "9223372036854775807", ""),
		ks(resp.Int(0), "EXISTS", "n"),
		ks(resp.OK, "SET", "s", "abc"),
		ks(resp.Int(3), "SETRANGE", "s", "600000000", ""),
		ks(resp.BulkString("abc"), "GET", "s"),
	}},
	{"SETRANGE refuses a bad or negative offset before the key", []ksStep{
		ks(resp.Int(1), "RPUSH", "l", "a"),
		ks(resp.ErrOffsetRange, "SETRANGE", "l", "-1", "x"),
		ks(resp.ErrOffsetRange, "SETRANGE", "n", "-9223372036854775808", ""),
		ks(resp.ErrNotInteger, "SETRANGE", "l", "x", "x"),
		ks(resp.ErrNotInteger, "SETRANGE", "n", "9223372036854775808", "x"),
		ks(resp.ErrNotInteger, "SETRANGE", "n", "1.0", "x"),
		ks(resp.Int(0), "EXISTS", "n"),
	}},
	{"SETRANGE past the longest string is refused before allocating", []ksStep{
		ks(resp.ErrStringTooLong, "SETRANGE", "n", "9223372036854775807", "x"),
		ks(resp.ErrStringTooLong, "SETRANGE", "n", "9223372036854775807", "xy"),
		ks(resp.ErrStringTooLong, "SETRANGE", "n", "536870911", "xy"),
		ks(resp.ErrStringTooLong, "SETRANGE", "n", "536870912", "x"),
		{args: []string{"SETRANGE", "n", "536870911", "x"}, exp: resp.ErrStringTooLong,
			differs: "MaxStringLen is 64 MiB, Redis's proto-max-bulk-len 512 MB"},
		{args: []string{"SETRANGE", "n", strconv.Itoa(MaxStringLen), "x"}, exp: resp.ErrStringTooLong,
			differs: "MaxStringLen is 64 MiB, Redis's proto-max-bulk-len 512 MB"},
		ks(resp.Int(0), "EXISTS", "n"),
		ks(resp.OK, "SET", "s", "abc"),
		ks(resp.ErrStringTooLong, "SETRANGE", "s", "9223372036854775807", "x"),
		ks(resp.BulkString("abc"), "GET", "s"),
	}},
	{"commands take exactly their arguments", []ksStep{
		ks(resp.Error("ERR wrong number of arguments for 'append' command"), "APPEND", "a"),
		ks(resp.Error("ERR wrong number of arguments for 'strlen' command"), "STRLEN", "a", "b"),
		ks(resp.Error("ERR wrong number of arguments for 'getrange' command"), "GETRANGE", "a", "0"),
		ks(resp.Error("ERR wrong number of arguments for 'substr' command"), "SUBSTR", "a", "0", "1", "2"),
		ks(resp.Error("ERR wrong number of arguments for 'setrange' command"), "SETRANGE", "a", "0"),
	}},
}

func TestStringRangeCommands(t *testing.T) { ksRun(t, ksRangeCases) }

// Strings at MaxStringLen are too big for the table above (it compares
// replies and digests); these check the limit's edge directly.
func TestStringLengthLimit(t *testing.T) {
	t.Run("SETRANGE may reach MaxStringLen exactly and not one byte more", func(t *testing.T) {
		n := ksNewNode(t)
		if exp, got := ksRESP(resp.ErrStringTooLong), ksRESP(n.do(0, "SETRANGE", "s", strconv.Itoa(MaxStringLen-1), "xy")); exp != got {
			t.Fatalf("exp %q, got %q", exp, got)
		}
		if exp, got := ksRESP(resp.Int(MaxStringLen)), ksRESP(n.do(0, "SETRANGE", "s", strconv.Itoa(MaxStringLen-1), "x")); exp != got {
			t.Fatalf("exp %q, got %q", exp, got)
		}
		if exp, got := ksRESP(resp.ErrStringTooLong), ksRESP(n.do(0, "APPEND", "s", "y")); exp != got {
			t.Fatalf("exp %q, got %q", exp, got)
		}
		if exp, got := ksRESP(resp.Int(MaxStringLen)), ksRESP(n.do(0, "STRLEN", "s")); exp != got {
			t.Fatalf("exp %q, got %q", exp, got)
		}
	})
	t.Run("APPEND may reach MaxStringLen exactly and not one byte more", func(t *testing.T) {
		n := ksNewNode(t)
		half := strings.Repeat("a", MaxStringLen/2)
		n.do(0, "APPEND", "s", half)
		if exp, got := ksRESP(resp.ErrStringTooLong), ksRESP(n.do(0, "APPEND", "s", half+"b")); exp != got {
			t.Fatalf("exp %q, got %q", exp, got)
		}
		if exp, got := ksRESP(resp.Int(MaxStringLen)), ksRESP(n.do(0, "APPEND", "s", half)); exp != got {
			t.Fatalf("exp %q, got %q", exp, got)
		}
	})
}
