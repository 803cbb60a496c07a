package tests

import (
	"strings"
	"testing"
)

// Redis 7 functions (issue 17): FUNCTION and FCALL answer byte for byte
// as redis-server 7.0.15, in both protocols, on the leader and through a
// follower; FUNCTION DUMP payloads go both ways between raftlist and
// redis-server.

// fnOne has one function: FUNCTION LIST shows a library's functions in
// Redis's hash order (raftlist's in name order), so lists are compared
// with one.
const fnOne = "#!lua name=one\n" +
	"redis.register_function{function_name='first', callback=function(keys) return redis.call('lrange', keys[1], 0, -1) end, flags={'allow-oom', 'no-writes'}, description='the list'}\n"

// fnLib is a library without state: raftlist runs a library's code afresh
// at every FCALL (README: differences), so a library whose callbacks keep
// upvalues answers differently from Redis on purpose.
const fnLib = "#!lua name=mylib\n" +
	"redis.register_function('push', function(keys, args) return redis.call('rpush', keys[1], unpack(args)) end)\n" +
	"redis.register_function{function_name='range', callback=function(keys) return redis.call('lrange', keys[1], 0, -1) end, flags={'no-writes'}, description='the list'}\n" +
	"redis.register_function('fail', function(keys) return redis.call('lpush') end)\n" +
	"redis.register_function('shape', function() return {1, 'two', {ok='fine'}, {double=1.5}, false} end)\n" +
	"redis.register_function('boom', function() error('boom') end)\n"

func TestFunctionsAnswerAsRedis(t *testing.T) {
	rs := mustStartRedis(t)
	c := mustStartCluster(t, 3)
	leader := mustLeader(t, c)
	follower := followers(c, leader)[0]
	cmds := [][]string{
		{"FUNCTION", "FLUSH"}, {"DEL", "fk"},
		{"FUNCTION", "LOAD", fnLib}, {"FUNCTION", "LOAD", fnLib}, {"FUNCTION", "LOAD", "REPLACE", fnLib},
		{"FUNCTION", "LOAD", "#!lua name=other\nredis.register_function('push', function() return 1 end)"},
		{"FUNCTION", "LOAD", "#!lua name=other\nreturn 1"}, {"FUNCTION", "LOAD", "#!lua name=other\nx = 1"},
		{"FUNCTION", "LOAD", "#!lua name=other\nredis.call('ping')"}, {"FUNCTION", "LOAD", "#!lua name=a name=b\n"},
		{"FUNCTION", "LOAD", "#!js name=a\n"}, {"FUNCTION", "LOAD", "nope", "x"}, {"FUNCTION", "LOAD", "return 1"},
		{"FUNCTION", "LOAD", "#!lua name=other\nredis.register_function{function_name='g', callback=function() return 1 end, flags={'bad'}}"},
		{"FCALL", "push", "1", "fk", "a", "b"}, {"FCALL", "PUSH", "1", "fk", "c"}, {"FCALL_RO", "range", "1", "fk"},
		{"FCALL_RO", "push", "1", "fk", "x"}, {"FCALL", "range", "1", "fk"}, {"FCALL", "fail", "0"},
		{"FCALL", "shape", "0"}, {"FCALL", "boom", "0"}, {"FCALL", "nosuch", "0"}, {"FCALL", "push", "x"},
		{"FCALL", "push", "3", "a"}, {"FCALL", "push", "-1"}, {"FCALL"},
		{"FUNCTION", "DELETE", "mylib"}, {"FUNCTION", "LOAD", fnOne}, {"FCALL_RO", "first", "1", "fk"},
		{"FUNCTION", "LIST"}, {"FUNCTION", "LIST", "WITHCODE"}, {"FUNCTION", "LIST", "LIBRARYNAME", "o*"},
		{"FUNCTION", "LIST", "LIBRARYNAME", "x*"}, {"FUNCTION", "LIST", "bad"}, {"FUNCTION", "LIST", "LIBRARYNAME"},
		{"FUNCTION", "STATS"}, {"FUNCTION", "KILL"}, {"FUNCTION", "HELP"}, {"FUNCTION", "nosuch"}, {"FUNCTION"},
		{"FUNCTION", "DUMP"},
		{"FUNCTION", "RESTORE", "bad"}, {"FUNCTION", "RESTORE", "x", "bad"}, {"FUNCTION", "RESTORE", "x", "y", "z"},
		{"FUNCTION", "DELETE", "nosuch"}, {"FUNCTION", "DELETE", "one"}, {"FCALL", "first", "1", "fk"},
		{"FUNCTION", "FLUSH", "bad"}, {"FUNCTION", "FLUSH", "SYNC", "x"}, {"FUNCTION", "FLUSH", "ASYNC"},
		{"FUNCTION", "STATS"}, {"DEL", "fk"},
	}
	sameBytesEverywhere(t, rs.Addr, leader, follower, cmds...)
}

// A FUNCTION DUMP of redis-server restores into raftlist, and raftlist's
// into redis-server: both then list the same libraries, and dump the same
// bytes (one library: Redis dumps several in its hash order).
func TestFunctionDumpPayloadsGoBothWays(t *testing.T) {
	rs := mustStartRedis(t)
	c := mustStartCluster(t, 3)
	leader := mustLeader(t, c)
	follower := followers(c, leader)[0]
	redis, node, fnode := mustDial(t, rs.Addr), mustDial(t, leader.ClientAddr), mustDial(t, follower.ClientAddr)
	long := fnOne + "-- " + strings.Repeat("a comment long enough for LZF ", 20) + "\n"
	for _, from := range []struct {
		name     string
		src, dst *rawConn
	}{{"redis-server to raftlist", redis, node}, {"raftlist to redis-server", node, redis}, {"redis-server to a raftlist follower", redis, fnode}} {
		for _, conn := range []*rawConn{redis, node} {
			mustDo(t, conn, "FUNCTION", "FLUSH")
		}
		mustDo(t, from.src, "FUNCTION", "LOAD", long)
		dump, err := from.src.doStr("FUNCTION", "DUMP")
		if err != nil || !strings.HasPrefix(string(dump), "$") {
			t.Fatalf("%s: DUMP: %q %v", from.name, dump, err)
		}
		payload := string(dump[strings.Index(string(dump), "\r\n")+2 : len(dump)-2])
		if got, err := from.dst.doStr("FUNCTION", "RESTORE", payload); err != nil || string(got) != "+OK\r\n" {
			t.Fatalf("%s: RESTORE: %q %v", from.name, got, err)
		}
		sameBytes(t, from.name, redis, node, []string{"FUNCTION", "LIST", "WITHCODE"}, []string{"FUNCTION", "DUMP"},
			[]string{"FCALL", "first", "1", "dk"}, []string{"FUNCTION", "RESTORE", payload},
			[]string{"FUNCTION", "RESTORE", payload, "REPLACE"}, []string{"FUNCTION", "RESTORE", payload[:len(payload)-1] + "x"},
			[]string{"DEL", "dk"})
	}
}
