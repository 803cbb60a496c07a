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
		local, _ := RunLocal(0, args)
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
