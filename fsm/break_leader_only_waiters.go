//go:build jepsen_break_leader_only_waiters

package fsm

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// A deliberately broken build for tests/jepsen; it never ships. Only the
// leader's state machine serves blocked clients; on followers the waiter
// stays and the element stays in the list. That is Redis 2.6's bug #614
// (the master served a blocked BRPOPLPUSH its replicas never heard of),
// and the replicas diverge.
//
// The state machine cannot know who leads (that is the point of it), so
// this file asks its own node over RESP, every 50 ms, whether it leads.

var breakIsLeader atomic.Bool

func init() {
	breakSkipServing = func() bool { return !breakIsLeader.Load() }
	if addr := flagValue(os.Args, "--listen"); addr != "" {
		go pollLeadership(addr)
	}
}

// flagValue finds "--name value" or "--name=value" in args.
func flagValue(args []string, name string) string {
	for i, a := range args {
		if a == name && i+1 < len(args) {
			return args[i+1]
		}
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			return v
		}
	}
	return ""
}

func pollLeadership(addr string) {
	for {
		breakIsLeader.Store(askLeads(addr))
		time.Sleep(50 * time.Millisecond)
	}
}

// askLeads sends INFO raft to addr and reports whether raft_role is leader.
func askLeads(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err != nil {
		return false
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(500 * time.Millisecond))
	if _, err := io.WriteString(c, "*2\r\n$4\r\nINFO\r\n$4\r\nraft\r\n"); err != nil {
		return false
	}
	r := bufio.NewReader(c)
	head, err := r.ReadString('\n')
	if err != nil || !strings.HasPrefix(head, "$") {
		return false
	}
	size, err := strconv.Atoi(strings.TrimSpace(head[1:]))
	if err != nil || size < 0 || size > 1<<20 {
		return false
	}
	body := make([]byte, size)
	if _, err := io.ReadFull(r, body); err != nil {
		return false
	}
	return bytes.Contains(body, []byte("raft_role:leader\r\n"))
}
