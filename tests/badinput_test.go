package tests

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/raftlist/raftlist/cluster/local"
	"github.com/raftlist/raftlist/fsm/resp"
)

// badMaxBulkLen is the --max-bulk-len the bad-input cluster runs with.
const badMaxBulkLen = 1 << 20

// badInput is one hostile or wrong request.
type badInput struct {
	name string
	data []byte
	// want, when set, is the exact first reply expected (the connection
	// may close after it).
	want string
	// mayStaySilent: Redis itself answers nothing to this input (it is
	// incomplete or empty); the connection must then still work or be
	// closed, never answer anything but an error.
	mayStaySilent bool
	// thenPing: after the silence a PING on the same connection must be
	// answered +PONG, as Redis does (the input was empty, not broken).
	thenPing bool
}

func badInputs() []badInput {
	const (
		invalidBulk = "-ERR Protocol error: invalid bulk length\r\n"
	)
	overMax := fmt.Sprintf("*3\r\n$5\r\nRPUSH\r\n$1\r\nk\r\n$%d\r\n", badMaxBulkLen+1)
	fullOverMax := []byte(overMax + strings.Repeat("x", badMaxBulkLen+1) + "\r\n")
	ins := []badInput{
		{name: "bulk length near int64 max", data: []byte("*1\r\n$9223372036854775806\r\n"), want: invalidBulk},
		{name: "bulk length over int64", data: []byte("*1\r\n$99999999999999999999\r\n")},
		{name: "negative multibulk count", data: []byte("*-5\r\n"), mayStaySilent: true, thenPing: true},
		{name: "empty multibulk", data: []byte("*0\r\n"), mayStaySilent: true, thenPing: true},
		{name: "dollar without number", data: []byte("$abc\r\n")},
		{name: "two billion arguments", data: []byte("*2000000000\r\n")},
		{name: "multibulk count not a number", data: []byte("*abc\r\n")},
		{name: "negative bulk length", data: []byte("*1\r\n$-5\r\n")},
		{name: "null bulk as an argument", data: []byte("*1\r\n$-1\r\n")},
		{name: "bulk where a dollar belongs", data: []byte("*1\r\nX4\r\nPING\r\n")},
		{name: "huge inline without newline", data: bytes.Repeat([]byte("a"), 100<<10)},
		{name: "huge inline of spaces", data: bytes.Repeat([]byte(" "), 100<<10)},
		{name: "unbalanced quotes", data: []byte("SET \"a b\r\n"), want: "-ERR Protocol error: unbalanced quotes in request\r\n"},
		{name: "unbalanced single quotes", data: []byte("RPUSH k 'x\r\n"), want: "-ERR Protocol error: unbalanced quotes in request\r\n"},
		{name: "bulk length over --max-bulk-len (header only)", data: []byte(overMax), want: invalidBulk},
		{name: "bulk over --max-bulk-len (whole)", data: fullOverMax, want: invalidBulk},
		{name: "unknown command", data: []byte("*2\r\n$7\r\nNOSUCHX\r\n$1\r\na\r\n"),
			want: "-ERR unknown command 'NOSUCHX', with args beginning with: 'a' \r\n"},
		{name: "unknown inline command", data: []byte("NOSUCHX a b\r\n"),
			want: "-ERR unknown command 'NOSUCHX', with args beginning with: 'a' 'b' \r\n"},
		{name: "LPUSH without element", data: []byte("*2\r\n$5\r\nLPUSH\r\n$1\r\nk\r\n"),
			want: "-ERR wrong number of arguments for 'lpush' command\r\n"},
		{name: "LRANGE with one index", data: []byte("*3\r\n$6\r\nlrange\r\n$1\r\nk\r\n$1\r\n0\r\n"),
			want: "-ERR wrong number of arguments for 'lrange' command\r\n"},
		{name: "RPOPLPUSH with three keys", data: []byte("RPOPLPUSH a b c\r\n"),
			want: "-ERR wrong number of arguments for 'rpoplpush' command\r\n"},
		// Stateless argument errors: answered before the log.
		{name: "LPOP with a bad count", data: []byte("LPOP k abc\r\n"), want: "-ERR value is out of range, must be positive\r\n"},
		{name: "LRANGE with bad indexes", data: []byte("LRANGE k a b\r\n"), want: "-ERR value is not an integer or out of range\r\n"},
		{name: "LTRIM with a float", data: []byte("LTRIM k 1.5 2\r\n"), want: "-ERR value is not an integer or out of range\r\n"},
		{name: "LINSERT MIDDLE", data: []byte("LINSERT k MIDDLE p v\r\n"), want: "-ERR syntax error\r\n"},
		{name: "LMOVE UP DOWN", data: []byte("LMOVE a b UP DOWN\r\n"), want: "-ERR syntax error\r\n"},
		{name: "LMPOP zero keys", data: []byte("LMPOP 0 k LEFT\r\n"), want: "-ERR numkeys should be greater than 0\r\n"},
		{name: "FLUSHALL bogus", data: []byte("FLUSHALL bogus\r\n"), want: "-ERR syntax error\r\n"},
		{name: "SELECT 16", data: []byte("SELECT 16\r\n"), want: "-ERR DB index is out of range\r\n"},
		{name: "empty command name", data: []byte("*1\r\n$0\r\n\r\n"), want: "-ERR unknown command '', with args beginning with: \r\n"},
	}
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 12; i++ {
		b := make([]byte, 1+r.IntN(4096))
		for j := range b {
			b[j] = byte(r.IntN(256))
		}
		if i%3 == 0 {
			b[0] = "*$"[i%2] // garbage that looks like the start of a request
		}
		ins = append(ins, badInput{name: fmt.Sprintf("random garbage %d", i), data: b, mayStaySilent: true})
	}
	return ins
}

// nodeMark is what must not change on a node while it is fed bad input.
type nodeMark struct {
	applied string
	digest  string
}

func markNodes(t *testing.T, ctx context.Context, c *local.Cluster) map[string]nodeMark {
	t.Helper()
	marks := map[string]nodeMark{}
	for _, n := range c.Nodes {
		info, err := n.Info(ctx)
		if err != nil {
			t.Fatalf("INFO on %s: %v", n.ID, err)
		}
		d, err := n.Digest(ctx)
		if err != nil {
			t.Fatalf("DEBUG DIGEST on %s: %v", n.ID, err)
		}
		marks[n.ID] = nodeMark{applied: info["raft_applied_index"], digest: d}
	}
	return marks
}

func TestBadInputIsRefusedAndNeverReachesTheLog(t *testing.T) {
	c := mustStartCluster(t, 3, "--max-bulk-len", fmt.Sprint(badMaxBulkLen))
	leader := mustLeader(t, c)
	mustPush(t, leader.ClientAddr, "bad-input", "a", "b", "c")
	mustConverge(t, c)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	before := markNodes(t, ctx, c)

	// Every input on its own connection, all at once: silent ones wait
	// for their read deadline in parallel.
	var wg sync.WaitGroup
	for _, n := range c.Nodes {
		for _, in := range badInputs() {
			wg.Add(1)
			go func() {
				defer wg.Done()
				checkBadInput(t, n, in)
			}()
		}
	}
	wg.Wait()

	for _, n := range c.Nodes {
		if !n.Running() {
			t.Fatalf("node %s is no longer running after bad input", n.ID)
		}
		if err := pingOnce(n.ClientAddr); err != nil {
			t.Fatalf("node %s does not answer PING after bad input: %v", n.ID, err)
		}
	}
	after := markNodes(t, ctx, c)
	for id, b := range before {
		a := after[id]
		if a.applied != b.applied {
			t.Errorf("%s: raft_applied_index moved from %s to %s: bad input reached the log", id, b.applied, a.applied)
		}
		if a.digest != b.digest {
			t.Errorf("%s: DEBUG DIGEST changed from %s to %s", id, b.digest, a.digest)
		}
	}
	// The cluster still takes writes.
	mustPush(t, leader.ClientAddr, "bad-input", "d")
	requireList(t, c.Nodes[len(c.Nodes)-1].ClientAddr, "bad-input", false, []string{"a", "b", "c", "d"})
	mustConverge(t, c)
}

// checkBadInput sends one bad input to n on a fresh connection and checks
// the answer: an error reply (exactly in.want when set) or a closed
// connection; silence only where Redis is silent too, and then the
// connection must not answer anything but an error or a PONG.
func checkBadInput(t *testing.T, n *local.Node, in badInput) {
	conn, err := dialRaw(n.ClientAddr, 3*time.Second)
	if err != nil {
		t.Errorf("%s: connect to %s: %v", in.name, n.ID, err)
		return
	}
	defer conn.Close()
	werr := conn.writeRaw(in.data)
	raw, rerr := conn.readReply()
	if testing.Verbose() {
		t.Logf("%s on %s: reply %s, read error %v, write error %v", in.name, n.ID, quoteRaw(raw), rerr, werr)
	}
	switch {
	case rerr == nil && in.want != "":
		if string(raw) != in.want {
			t.Errorf("%s on %s: exp %q, got %s", in.name, n.ID, in.want, quoteRaw(raw))
		}
	case rerr == nil:
		if len(raw) == 0 || raw[0] != '-' {
			t.Errorf("%s on %s: exp an error reply or a closed connection, got %s", in.name, n.ID, quoteRaw(raw))
		}
	case isClosed(rerr) || (werr != nil && isClosed(werr)):
		if in.want != "" && !strings.HasPrefix(in.want, "-ERR Protocol error") {
			t.Errorf("%s on %s: exp %q, got a closed connection", in.name, n.ID, in.want)
		}
	case isTimeout(rerr) && in.thenPing:
		// Like Redis, the node ignored the empty request; the
		// connection still works.
		conn.rd = resp.NewReader(conn.conn, maxReplyBulk)
		raw, err := conn.doStr("PING")
		if err != nil || string(raw) != "+PONG\r\n" {
			t.Errorf("%s on %s: then PING: exp +PONG, got %s (%v)", in.name, n.ID, quoteRaw(raw), err)
		}
	case isTimeout(rerr) && in.mayStaySilent:
		// Like Redis, the node waits for the rest of the request.
	case isTimeout(rerr):
		t.Errorf("%s on %s: no reply within 3s (exp an error or a closed connection)", in.name, n.ID)
	default:
		t.Errorf("%s on %s: read: %v (write: %v)", in.name, n.ID, rerr, werr)
	}
}
