package resp

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
	"testing"
)

// nested is an array reply n arrays deep around one integer, as a Lua
// script returning {{{...{1}...}}} answers.
func nested(n int) string {
	return strings.Repeat("*1\r\n", n) + ":1\r\n"
}

// A script may return a table nested until redis-server's "reached lua
// stack limit" (fsm's scrReplyDepth, 7995 levels); a follower must relay
// such a reply from the leader as it came, and the stream must stay usable.
func TestReadReplyRelaysDeeplyNestedScriptReplies(t *testing.T) {
	for _, depth := range []int{100, 7990, MaxReplyDepth} {
		t.Run(strconv.Itoa(depth)+" deep with default limits", func(t *testing.T) {
			deep := nested(depth)
			stream := deep + "+OK\r\n"
			rd := NewReader(strings.NewReader(stream), 0)
			raw, err := rd.ReadReply()
			if err != nil || string(raw) != deep {
				t.Fatalf("exp the %d-deep reply byte for byte, got %d bytes, %v", depth, len(raw), err)
			}
			next, err := rd.ReadReply()
			if err != nil || !bytes.Equal(next, []byte("+OK\r\n")) {
				t.Fatalf("exp the next reply %q, got %q, %v", "+OK\r\n", next, err)
			}
		})
	}
}

// Nesting deeper than any reply of the state machine is not from a
// raftlist leader; every level would cost memory, so it ends the stream.
func TestReadReplyRefusesNestingDeeperThanTheStateMachineGives(t *testing.T) {
	rd := NewReader(strings.NewReader(nested(MaxReplyDepth+1)+"+OK\r\n"), 0)
	raw, err := rd.ReadReply()
	if !errors.Is(err, ErrTooLarge) || errors.Is(err, ErrDropped) || raw != nil {
		t.Fatalf("exp ErrTooLarge ending the stream, got %d bytes, %v", len(raw), err)
	}
	if _, err2 := rd.ReadReply(); err2 != err {
		t.Fatalf("exp the same error again, got %v", err2)
	}
}
