package lua

import (
	"strconv"
	"strings"
	"testing"

	"github.com/raftlist/raftlist/fsm/resp"
)

// fakeHost is a Host with a tiny keyspace of strings: enough for scripts
// to read, write and fail through, and for tests to see every call.
type fakeHost struct {
	keys  map[string]string
	calls []string // each call's arguments, joined by spaces
	logs  []string // "level line"
	seed  uint64
}

func newFakeHost() *fakeHost { return &fakeHost{keys: make(map[string]string)} }

// fakeCommands are the commands fakeHost knows.
var fakeCommands = map[string]bool{"get": true, "set": true, "incr": true, "ping": true, "fail": true}

func (h *fakeHost) Call(args [][]byte) resp.Reply {
	parts := make([]string, len(args))
	for i, a := range args {
		parts[i] = string(a)
	}
	h.calls = append(h.calls, strings.Join(parts, " "))
	switch name := strings.ToLower(parts[0]); {
	case !fakeCommands[name]:
		return resp.ErrScriptUnknownCmd
	case name == "get" && len(args) == 2:
		if v, ok := h.keys[parts[1]]; ok {
			return resp.BulkString(v)
		}
		return resp.NullBulk
	case name == "set" && len(args) == 3:
		h.keys[parts[1]] = parts[2]
		return resp.OK
	case name == "incr" && len(args) == 2:
		n, _ := strconv.Atoi(h.keys[parts[1]])
		h.keys[parts[1]] = strconv.Itoa(n + 1)
		return resp.Int(n + 1)
	case name == "ping":
		return resp.Status("PONG")
	case name == "fail":
		return resp.Error("FAIL it failed")
	}
	return resp.ErrScriptArity
}

func (h *fakeHost) Known(name []byte) bool { return fakeCommands[strings.ToLower(string(name))] }

// RandomSeed is the host's seed: 0 (Redis's unseeded start) unless a
// test set one.
func (h *fakeHost) RandomSeed() uint64 { return h.seed }

func (h *fakeHost) Log(level int, line string) {
	h.logs = append(h.logs, strconv.Itoa(level)+" "+line)
}

// run compiles body and runs it on pool with the default budget.
func run(t *testing.T, pool *Pool, h Host, body string, keys, argv []string) string {
	t.Helper()
	s, err := Load([]byte(body))
	if err != nil {
		return "compile: " + err.Error()
	}
	return wire(pool.Run(s, bytesOf(keys), bytesOf(argv), h, DefaultBudget))
}

func bytesOf(ss []string) [][]byte {
	out := make([][]byte, len(ss))
	for i, s := range ss {
		out[i] = []byte(s)
	}
	return out
}

func wire(r resp.Reply) string { return string(resp.AppendRESP(nil, r)) }

// errAt is a script error as Redis 7 reports it, at line of body.
func errAt(msg, body string, line int) string {
	return wire(resp.Error(msg + " script: " + SHA([]byte(body)) + ", on @user_script:" + strconv.Itoa(line) + "."))
}
