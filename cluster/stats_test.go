package cluster

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/raftlist/raftlist/fsm/resp"
)

func TestReplyOutcome(t *testing.T) {
	tests := []struct {
		name  string
		reply resp.Reply
		exp   outcome
		code  string
	}{
		{"a status is ok", resp.OK, outcomeOK, ""},
		{"an integer is ok", resp.Int(3), outcomeOK, ""},
		{"QUEUED is queued", queued, outcomeQueued, ""},
		{"WRONGTYPE is an error with its code", resp.ErrWrongType, outcomeError, "WRONGTYPE"},
		{"TRYAGAIN is tryagain", resp.ErrNoLeader, outcomeTryAgain, "TRYAGAIN"},
		{"UNCERTAIN is uncertain", resp.Error("UNCERTAIN lost it"), outcomeUncertain, "UNCERTAIN"},
		{"MOVED is moved", resp.Error("MOVED 0 127.0.0.1:7000"), outcomeMoved, "MOVED"},
		{"a relayed value is ok", resp.Raw(":1\r\n"), outcomeOK, ""},
		{"a relayed error keeps its code", resp.Raw("-WRONGTYPE Operation\r\n"), outcomeError, "WRONGTYPE"},
		{"a relayed one-word error is its code", resp.Raw("-NOSCRIPT\r\n"), outcomeError, "NOSCRIPT"},
		{"a relayed TRYAGAIN is tryagain", resp.Raw("-TRYAGAIN retry\r\n"), outcomeTryAgain, "TRYAGAIN"},
		{"a kept blocked outcome's error keeps its code", resp.RESP2Wire("-UNBLOCKED client unblocked\r\n"), outcomeError, "UNBLOCKED"},
		{"a kept blocked outcome's null is ok", resp.RESP2Wire("*-1\r\n"), outcomeOK, ""},
		{"a RESP3 null relayed is ok", resp.Raw("_\r\n"), outcomeOK, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, code := replyOutcome(tt.reply)
			if o != tt.exp || code != tt.code {
				t.Fatalf("exp %s %q, got %s %q", outcomeNames[tt.exp], tt.code, outcomeNames[o], code)
			}
		})
	}
}

func TestStatsCountNamesTheyKnowAndUnknownOtherwise(t *testing.T) {
	st := newStats([]string{"lpush", "get"})
	st.observe([]byte("LPUSH"), resp.Int(1), false, time.Millisecond)
	st.observe([]byte("lPuSh"), resp.ErrWrongType, false, time.Millisecond)
	st.observe([]byte("lpush"), resp.Error("ERR wrong number of arguments for 'lpush' command"), true, time.Millisecond)
	st.observe([]byte("nosuchcommand"), resp.Error("ERR unknown command"), true, time.Millisecond)
	st.observe([]byte(strings.Repeat("x", 100)), resp.Error("ERR unknown command"), true, time.Millisecond)

	lpush := st.lookup([]byte("lpush"))
	if calls, failed := lpush.calls(); calls != 2 || failed != 1 {
		t.Errorf("lpush: exp calls=2 failed=1, got calls=%d failed=%d", calls, failed)
	}
	if got := lpush.outcomes[outcomeRejected].Load(); got != 1 {
		t.Errorf("lpush: exp 1 rejected, got %d", got)
	}
	if got := st.unknown.outcomes[outcomeRejected].Load(); got != 2 {
		t.Errorf("unknown: exp 2 rejected, got %d", got)
	}
	if got := st.commandsProcessed(); got != 5 {
		t.Errorf("exp 5 commands processed, got %d", got)
	}
	codes, counts := st.errorCounts()
	if fmt.Sprint(codes, counts) != "[ERR WRONGTYPE] [3 1]" {
		t.Errorf("exp errorstats [ERR WRONGTYPE] [3 1], got %v %v", codes, counts)
	}
}

func TestOnlyCommandsThatRanAreTimed(t *testing.T) {
	st := newStats([]string{"lpush"})
	st.observe([]byte("lpush"), resp.Int(1), false, 3*time.Millisecond)
	st.observe([]byte("lpush"), queued, false, time.Hour)
	st.observe([]byte("lpush"), resp.ErrSyntax, true, time.Hour)
	c := st.lookup([]byte("lpush"))
	var timed uint64
	for i := range c.buckets {
		timed += c.buckets[i].Load()
	}
	if timed != 1 || c.nanos.Load() != uint64(3*time.Millisecond) {
		t.Fatalf("exp one timed command of 3ms, got %d totalling %v", timed, time.Duration(c.nanos.Load()))
	}
	if c.buckets[6].Load() != 1 { // (2.5ms, 5ms]
		t.Fatalf("exp the 3ms command in the 5ms bucket, buckets %v", c.buckets[:8])
	}
}

func TestErrorstatsStopTrackingNewCodesAtTheLimit(t *testing.T) {
	st := newStats(nil)
	for i := 0; i < maxErrorCodes+10; i++ {
		st.observe([]byte("eval"), resp.Error(fmt.Sprintf("CODE%d from a script", i)), false, 0)
	}
	codes, _ := st.errorCounts()
	if len(codes) != maxErrorCodes {
		t.Errorf("exp %d codes tracked, got %d", maxErrorCodes, len(codes))
	}
	if got := st.errReplies.Load(); got != maxErrorCodes+10 {
		t.Errorf("exp every error counted in total_error_replies (%d), got %d", maxErrorCodes+10, got)
	}
}

func TestCountingACommandDoesNotAllocate(t *testing.T) {
	st := newStats([]string{"lpush"})
	name := []byte("LPUSH")
	reply := resp.Reply(resp.Raw("-WRONGTYPE Operation against a key\r\n"))
	st.observe(name, reply, false, time.Millisecond) // the code's first sighting allocates once
	if n := testing.AllocsPerRun(100, func() { st.observe(name, reply, false, time.Millisecond) }); n != 0 {
		t.Fatalf("exp 0 allocations per counted command, got %v", n)
	}
}

func TestOpsSamplerAveragesSixteenSamples(t *testing.T) {
	var o opsSampler
	now := time.Unix(0, 0)
	o.sample(0, now)
	for i := 1; i <= 16; i++ {
		o.sample(uint64(i*100), now.Add(time.Duration(i)*100*time.Millisecond))
	}
	if got := o.perSecond(); got != 1000 {
		t.Fatalf("exp 1000 ops/s, got %d", got)
	}
}

func TestTheLeaderCountsForwardedCommandsUnderTheClientsNames(t *testing.T) {
	words := func(s string) [][]byte {
		var out [][]byte
		for _, w := range strings.Fields(s) {
			out = append(out, []byte(w))
		}
		return out
	}
	tests := []struct{ args, exp string }{
		{"LPUSH k v", "LPUSH"},
		{"RAFT FORWARD 0 node1/x 7 lpush k v", "lpush"},
		{"RAFT EXEC 0 node1/x 8 0 1 2 lpush k", "exec"},
		{"RAFT SNAPSHOT", "RAFT"},
	}
	for _, tt := range tests {
		if got := string(commandName(words(tt.args))); got != tt.exp {
			t.Errorf("%s: exp %q, got %q", tt.args, tt.exp, got)
		}
	}
}
