package fsm

import (
	"bytes"
	"testing"

	"github.com/raftlist/raftlist/fsm/rdb"
	"github.com/raftlist/raftlist/fsm/resp"
)

// Every expected reply and error text below was checked against
// redis-server 7.0.15 (redis-cli), except where a comment says raftlist
// differs.

const fnCounterLib = "#!lua name=counter\n" +
	"local n = 0\n" +
	"redis.register_function('bump', function(keys, args) n = n + 1; return {n, redis.call('incr', keys[1])} end)\n" +
	"redis.register_function{function_name='peek', callback=function(keys) return redis.call('get', keys[1]) end, flags={'no-writes'}, description='read it'}\n"

func TestFunctionCommandsAnswerAsRedis(t *testing.T) {
	n := scrNewNode(t)
	for _, c := range []struct {
		args []string
		exp  resp.Reply
	}{
		{[]string{"function", "load", fnCounterLib}, resp.BulkString("counter")},
		{[]string{"function", "load", fnCounterLib}, resp.Error("ERR Library 'counter' already exists")},
		{[]string{"function", "load", "#!lua name=other\nredis.register_function('bump', function() return 1 end)"}, resp.Error("ERR Function bump already exists")},
		{[]string{"function", "load", "#!lua name=other\nreturn 1"}, resp.Error("ERR No functions registered")},
		{[]string{"function", "load", "foo", "x"}, resp.Error("ERR Unknown option given: foo")},
		{[]string{"function", "load", "replace"}, resp.Error("ERR Missing library metadata")},
		{[]string{"function"}, resp.Error("ERR wrong number of arguments for 'function' command")},
		{[]string{"function", "foo"}, resp.Error("ERR unknown subcommand 'foo'. Try FUNCTION HELP.")},
		{[]string{"function", "delete"}, resp.Error("ERR wrong number of arguments for 'function|delete' command")},
		{[]string{"function", "delete", "nosuch"}, resp.Error("ERR Library not found")},
		{[]string{"function", "flush", "bad"}, resp.Error("ERR FUNCTION FLUSH only supports SYNC|ASYNC option")},
		{[]string{"function", "flush", "sync", "x"}, resp.Error("ERR unknown subcommand or wrong number of arguments for 'flush'. Try FUNCTION HELP.")},
		{[]string{"function", "list", "bad"}, resp.Error("ERR Unknown argument bad")},
		{[]string{"function", "list", "libraryname"}, resp.Error("ERR library name argument was not given")},
		{[]string{"function", "list", "withcode", "withcode"}, resp.Error("ERR Unknown argument withcode")},
		{[]string{"function", "restore", "x", "bad"}, resp.Error("ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.")},
		{[]string{"function", "restore", "xxxxxxxxxxxxxx"}, resp.Error("ERR DUMP payload version or checksum are wrong")},
		{[]string{"function", "restore", "x", "y", "z"}, resp.Error("ERR unknown subcommand or wrong number of arguments for 'restore'. Try FUNCTION HELP.")},
		{[]string{"function", "kill"}, resp.ErrNotBusy},
		{[]string{"fcall", "nosuch", "0"}, resp.Error("ERR Function not found")},
		{[]string{"fcall", "bump", "x"}, resp.Error("ERR Bad number of keys provided")},
		{[]string{"fcall", "bump", "5"}, resp.Error("ERR Number of keys can't be greater than number of args")},
		{[]string{"fcall", "bump", "-1"}, resp.Error("ERR Number of keys can't be negative")},
		{[]string{"fcall_ro", "bump", "1", "k"}, resp.ErrScriptWriteFlag},
		// Redis keeps n in its VM: 1, then 2. raftlist runs the library
		// afresh at every call (README: differences).
		{[]string{"fcall", "bump", "1", "k"}, resp.Array{resp.Int(1), resp.Int(1)}},
		{[]string{"fcall", "BUMP", "1", "k"}, resp.Array{resp.Int(1), resp.Int(2)}},
		{[]string{"fcall_ro", "peek", "1", "k"}, resp.BulkString("2")},
		{[]string{"function", "stats"}, resp.Map{resp.BulkString("running_script"), resp.NullBulk, resp.BulkString("engines"),
			resp.Map{resp.BulkString("LUA"), resp.Map{resp.BulkString("libraries_count"), resp.Int(1), resp.BulkString("functions_count"), resp.Int(2)}}}},
		{[]string{"function", "list", "libraryname", "c*"}, resp.Array{resp.Map{
			resp.BulkString("library_name"), resp.BulkString("counter"), resp.BulkString("engine"), resp.BulkString("LUA"),
			resp.BulkString("functions"), resp.Array{
				resp.Map{resp.BulkString("name"), resp.BulkString("bump"), resp.BulkString("description"), resp.NullBulk, resp.BulkString("flags"), resp.Set{}},
				resp.Map{resp.BulkString("name"), resp.BulkString("peek"), resp.BulkString("description"), resp.BulkString("read it"), resp.BulkString("flags"), resp.Set{resp.Status("no-writes")}},
			}}}},
		{[]string{"function", "list", "libraryname", "x*"}, resp.Array{}},
	} {
		if got := n.do(c.args...); scrWire(got) != scrWire(c.exp) {
			t.Errorf("%q:\nexp %q\ngot %q", c.args, scrWire(c.exp), scrWire(got))
		}
	}
	// The state survives a snapshot, and digests equal.
	var buf bytes.Buffer
	if err := WriteSnapshot(&buf, n.st); err != nil {
		t.Fatal(err)
	}
	st, err := ReadSnapshot(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if exp, got := n.st.Digest(), st.Digest(); exp != got {
		t.Fatalf("digest after restore: exp %s, got %s", exp, got)
	}
	m := &scrNode{t: t, st: st, index: n.index}
	if exp, got := scrWire(n.do("function", "list", "withcode")), scrWire(m.do("function", "list", "withcode")); exp != got {
		t.Fatalf("list after restore:\nexp %q\ngot %q", exp, got)
	}
	if exp, got := scrWire(resp.Array{resp.Int(1), resp.Int(3)}), scrWire(m.do("fcall", "bump", "1", "k")); exp != got {
		t.Fatalf("fcall after restore: exp %q, got %q", exp, got)
	}
	// DUMP, FLUSH, RESTORE.
	dump := n.do("function", "dump").(resp.Bulk)
	listed := scrWire(n.do("function", "list", "withcode"))
	if n.do("function", "flush", "async") != resp.OK || n.st.Digest() == st.Digest() {
		t.Fatal("flush")
	}
	for _, c := range []struct {
		args []string
		exp  resp.Reply
	}{
		{[]string{"function", "restore", string(dump)}, resp.OK},
		{[]string{"function", "restore", string(dump)}, resp.Error("ERR Library counter already exists")},
		{[]string{"function", "restore", string(dump), "REPLACE"}, resp.OK},
		{[]string{"function", "restore", string(dump), "flush"}, resp.OK},
		{[]string{"function", "restore", string(rdb.DumpFunctions([]string{"#!lua name=a\nredis.register_function('bump', function() end)"}))}, resp.Error("ERR Function bump already exists")},
		{[]string{"function", "restore", string(rdb.Seal([]byte{1, 2}))}, resp.Error("ERR given type is not a function")},
	} {
		if got := n.do(c.args...); scrWire(got) != scrWire(c.exp) {
			t.Errorf("%q:\nexp %q\ngot %q", c.args[:2], scrWire(c.exp), scrWire(got))
		}
	}
	if got := scrWire(n.do("function", "list", "withcode")); listed != got {
		t.Fatalf("list after restore of dump:\nexp %q\ngot %q", listed, got)
	}
}

// A RESTORE payload of many libraries costs one script budget in all,
// not one per library (each library that loads under a budget of its own
// here would not): a payload of many slow libraries cannot hold every
// node's apply loop for long. Nothing is restored.
func TestFunctionRestoreOfManyLibrariesSharesOneBudget(t *testing.T) {
	n := scrNewNode(t)
	var codes []string
	for i := 0; i < 64; i++ {
		name := string(rune('a'+i%26)) + string(rune('a'+i/26))
		codes = append(codes, "#!lua name=l"+name+"\nfor i = 1, 400000 do end\nredis.register_function('f"+name+"', function() return 1 end)")
	}
	if got := scrWire(n.do("function", "load", codes[0])); got != "$3\r\nlaa\r\n" {
		t.Fatalf("one such library loads alone: got %q", got)
	}
	n.do("function", "flush")
	got := n.do("function", "restore", string(rdb.DumpFunctions(codes)))
	if exp := resp.Error("ERR Error registering functions: ERR FUNCTION LOAD timeout"); scrWire(got) != scrWire(exp) {
		t.Fatalf("exp %q, got %q", exp, got)
	}
	if got := scrWire(n.do("function", "list")); got != "*0\r\n" {
		t.Fatalf("exp nothing restored, got %q", got)
	}
}

// The subcommands FUNCTION routes as reads change nothing on the read
// path (readonly_flags_test.go checks only rows flagged readonly).
func TestFunctionReadSubcommandsNeverChangeState(t *testing.T) {
	n := scrNewNode(t)
	n.do("function", "load", fnCounterLib)
	before := n.st.Digest()
	for _, sub := range functionReadSubcommands {
		for _, args := range [][]string{{"function", sub}, {"function", sub, "withcode"}, {"function", sub, "libraryname", "*"}} {
			n.st.Read(0, listBytes(args))
			if got := n.st.Digest(); got != before {
				t.Fatalf("%q on the read path changed the state", args)
			}
		}
	}
}

// A snapshot holds version 5 only when it holds a library: a binary from
// before functions (version 4) still reads the others.
func TestSnapshotWithoutLibrariesIsVersion4(t *testing.T) {
	n := scrNewNode(t)
	n.do("rpush", "k", "a")
	for _, c := range []struct {
		cmd []string
		exp byte
	}{{[]string{"ping"}, 4}, {[]string{"function", "load", fnCounterLib}, 5}, {[]string{"function", "flush"}, 4}} {
		n.do(c.cmd...)
		var buf bytes.Buffer
		if err := WriteSnapshot(&buf, n.st); err != nil {
			t.Fatal(err)
		}
		if got := buf.Bytes()[len(snapshotMagic)]; got != c.exp {
			t.Fatalf("after %q: exp version %d, got %d", c.cmd, c.exp, got)
		}
	}
}
