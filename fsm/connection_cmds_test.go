package fsm

import (
	"testing"

	"github.com/raftlist/raftlist/fsm/resp"
)

// SELECT, PING and ECHO are one row each, run by the front door
// (RunLocal), inside EXEC and inside scripts; all three answer alike, with
// redis-server 7.0's texts.
func TestConnectionCommandsAnswerAlikeEverywhere(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"select", "2147483648"}, "-ERR value is out of range, value must between -2147483648 and 2147483647\r\n"},
		{[]string{"select", "99"}, "-ERR DB index is out of range\r\n"},
		{[]string{"select", "-1"}, "-ERR DB index is out of range\r\n"},
		{[]string{"select", "abc"}, "-ERR value is not an integer or out of range\r\n"},
		{[]string{"select", "1"}, "+OK\r\n"},
		{[]string{"ping"}, "+PONG\r\n"},
		{[]string{"ping", "x"}, "$1\r\nx\r\n"},
		{[]string{"ping", "a", "b"}, "-ERR wrong number of arguments for 'ping' command\r\n"},
		{[]string{"echo", "x"}, "$1\r\nx\r\n"},
	} {
		args := replayArgv(tc.args)
		local, _ := RunLocal(0, 0, args)
		st := NewState()
		exec := st.Apply(1, 1, &Entry{Kind: KindExec, Tx: Transaction{Cmds: [][][]byte{args}}})
		eval := append(replayArgv([]string{"eval", "return redis.pcall(unpack(ARGV))", "0"}), args...)
		script := st.Apply(2, 1, &Entry{Kind: KindCommands, Cmds: []Cmd{{Args: eval, Owner: "o", Seq: 1}}})
		for _, got := range []struct {
			where string
			reply resp.Reply
		}{{"front door", local}, {"EXEC", exec.Replies[0].(resp.Array)[0]}, {"script", script.Replies[0]}} {
			if s := string(resp.AppendRESP(nil, got.reply)); s != tc.want {
				t.Errorf("%q at the %s: exp %q, got %q", tc.args, got.where, tc.want, s)
			}
		}
	}
}

// A SELECT inside EXEC or a script moves the commands after it to that
// database, and only those.
func TestSelectSwitchesTheRestOfATransactionOrScript(t *testing.T) {
	st := NewState()
	st.Apply(1, 1, &Entry{Kind: KindExec, Tx: Transaction{Cmds: [][][]byte{
		replayArgv([]string{"rpush", "k", "db0"}),
		replayArgv([]string{"select", "2"}),
		replayArgv([]string{"rpush", "k", "db2"}),
		replayArgv([]string{"select", "99"}),
		replayArgv([]string{"rpush", "k", "db2-too"}),
	}}})
	st.Apply(2, 1, &Entry{Kind: KindCommands, Cmds: []Cmd{{Owner: "o", Seq: 1, Args: replayArgv([]string{
		"eval", "redis.call('select', '3'); return redis.call('rpush', 'k', 'db3')", "0"})}}})
	for db, want := range map[int]string{0: "*1\r\n$3\r\ndb0\r\n", 2: "*2\r\n$3\r\ndb2\r\n$7\r\ndb2-too\r\n", 3: "*1\r\n$3\r\ndb3\r\n"} {
		if got := string(resp.AppendRESP(nil, st.Read(db, replayArgv([]string{"lrange", "k", "0", "-1"})))); got != want {
			t.Errorf("LRANGE k in db %d: exp %q, got %q", db, want, got)
		}
	}
}

// TIME inside a script or a transaction answers the entry's time on every
// node, so what a script writes from it is the same everywhere; at the
// front door it answers the node's clock, with microseconds, as Redis
// answers its own.
func TestTimeStandsStillAtTheEntrysTime(t *testing.T) {
	const at = 1_700_000_123_456 // ms
	want := "*2\r\n$10\r\n1700000123\r\n$6\r\n456000\r\n"
	st := NewState()
	exec := st.Apply(1, 1, &Entry{Kind: KindExec, TimeMs: at, Tx: Transaction{Cmds: [][][]byte{
		replayArgv([]string{"time"}), replayArgv([]string{"time"})}}})
	script := st.Apply(2, 1, &Entry{Kind: KindCommands, TimeMs: at - 5000, Cmds: []Cmd{{Owner: "o", Seq: 1, Args: replayArgv([]string{
		"eval", "local a = redis.call('time'); redis.call('set', 'k', a[1] .. '.' .. a[2]); return a", "0"})}}})
	for _, got := range []struct {
		where string
		reply resp.Reply
	}{{"EXEC", exec.Replies[0].(resp.Array)[0]}, {"EXEC's second", exec.Replies[0].(resp.Array)[1]},
		{"script of an entry stamped behind the log clock", script.Replies[0]}} {
		if s := string(resp.AppendRESP(nil, got.reply)); s != want {
			t.Errorf("TIME in %s: exp %q, got %q", got.where, want, s)
		}
	}
	if got := string(resp.AppendRESP(nil, st.Read(0, replayArgv([]string{"get", "k"})))); got != "$17\r\n1700000123.456000\r\n" {
		t.Errorf("what the script wrote: exp %q, got %q", "1700000123.456000", got)
	}
	local, _ := RunLocal(0, 1_700_000_000_000_042, replayArgv([]string{"time"}))
	if s, exp := string(resp.AppendRESP(nil, local)), "*2\r\n$10\r\n1700000000\r\n$2\r\n42\r\n"; s != exp {
		t.Errorf("TIME at the front door: exp %q, got %q", exp, s)
	}
}

// A format 3 entry was applied by binaries that had no TIME: replaying its
// script must fail the call as they did, or a script that branches on
// pcall would write differently on an upgraded node.
func TestTimeInAnEntryOlderThanTimeIsUnknown(t *testing.T) {
	st := NewState()
	r := st.Apply(1, 1, &Entry{Kind: KindCommands, TimeMs: 5000, OldFormat: formatExpiry, Cmds: []Cmd{{Owner: "o", Seq: 1, Args: replayArgv([]string{
		"eval", "local ok = redis.pcall('time'); if ok.err then redis.call('set', 'k', 'old') end; return ok", "0"})}}})
	if s, exp := string(resp.AppendRESP(nil, r.Replies[0])), "-ERR Unknown Redis command called from script\r\n"; s != exp {
		t.Errorf("exp %q, got %q", exp, s)
	}
	if got := string(resp.AppendRESP(nil, st.Read(0, replayArgv([]string{"get", "k"})))); got != "$3\r\nold\r\n" {
		t.Errorf("exp the old binary's branch taken, got k = %q", got)
	}
}
