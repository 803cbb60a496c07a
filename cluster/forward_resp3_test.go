package cluster

import (
	"testing"

	"github.com/raftlist/raftlist/fsm/resp"
)

// A RESP3 client's request crosses the hop as FORWARD3 / EXEC3; the RESP2
// forms stay what every version reads, so a rolling upgrade keeps RESP2
// clients of a new follower working with an old leader.
func TestARESP3ClientsHopNamesItsProtocol(t *testing.T) {
	r := &request{c: &client{}, db: 3, owner: "n/1", seq: 7, args: words("lpop k")}
	if got := string(hopName("forward", resp.RESP2)); got != "forward" {
		t.Fatalf("RESP2 hop: exp forward, got %s", got)
	}
	for _, proto := range []int{resp.RESP2, resp.RESP3} {
		r.c.proto.Store(int32(proto))
		args := (&Server{}).forwardArgs(r)
		if !isForwardHop(args) || hopProtocol(args[1]) != proto {
			t.Fatalf("RESP%d: hop %q is not a forwarding hop of its protocol", proto, args)
		}
		fr, err := forwardedRequest(&request{c: &client{}, args: args})
		if err != "" || fr.hopProto != proto || string(fr.args[0]) != "lpop" || fr.db != 3 {
			t.Fatalf("RESP%d: the leader reads %+v, %q", proto, fr, err)
		}
	}
}

// An old leader knows no FORWARD3: its unknown-subcommand error (nothing
// applied) reaches the RESP3 client as an error saying why; the same
// error to a RESP2 hop, or another error, is relayed as it is.
func TestAnOldLeadersRefusalOfARESP3HopIsExplained(t *testing.T) {
	old := []byte("-ERR unknown subcommand 'forward3'. Try RAFT HELP.\r\n")
	if got := relayed(words("raft forward3 0 n/1 1 lpop k"), old); got != resp.ErrLeaderNoRESP3 {
		t.Fatalf("exp %q, got %q", resp.ErrLeaderNoRESP3, resp.AppendRESP(nil, got))
	}
	oldExec := []byte("-ERR unknown subcommand 'exec3'. Try RAFT HELP.\r\n")
	if got := relayed(words("raft exec3 0"), oldExec); got != resp.ErrLeaderNoRESP3 {
		t.Fatalf("EXEC3: exp %q, got %q", resp.ErrLeaderNoRESP3, resp.AppendRESP(nil, got))
	}
	for _, tc := range []struct{ hop, raw string }{
		{"forward", "-ERR unknown subcommand 'forward'. Try RAFT HELP.\r\n"},
		{"forward3", "_\r\n"},
		{"forward3", "-WRONGTYPE x\r\n"},
	} {
		fwd := append(words("raft"), append([][]byte{[]byte(tc.hop)}, words("0 n/1 1 lpop k")...)...)
		if got := string(resp.AppendRESP(nil, relayed(fwd, []byte(tc.raw)))); got != tc.raw {
			t.Fatalf("%s %q: exp it relayed as it is, got %q", tc.hop, tc.raw, got)
		}
	}
}
