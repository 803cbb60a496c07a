package cluster

import (
	"net"
	"testing"
	"time"
)

// socketPair returns the two ends of a loopback TCP connection.
func socketPair(t *testing.T) (local, remote net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	local, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	remote = <-accepted
	t.Cleanup(func() { local.Close(); remote.Close() })
	return local, remote
}

func eventually(cond func() bool) bool {
	for i := 0; i < 100; i++ {
		if cond() {
			return true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return false
}

func TestSocketStateAsTheForwarderAndBlockedClientsSeeIt(t *testing.T) {
	t.Run("an idle open connection is alive and not closed", func(t *testing.T) {
		local, _ := socketPair(t)
		if !alive(local) || peerClosed(local) {
			t.Fatalf("exp alive and not closed, got alive=%v closed=%v", alive(local), peerClosed(local))
		}
	})
	t.Run("a connection the peer closed is neither alive nor open", func(t *testing.T) {
		local, remote := socketPair(t)
		remote.Close()
		if !eventually(func() bool { return !alive(local) && peerClosed(local) }) {
			t.Fatalf("exp dead and closed, got alive=%v closed=%v", alive(local), peerClosed(local))
		}
	})
	t.Run("stray bytes make a pooled connection unusable but the peer is still there", func(t *testing.T) {
		local, remote := socketPair(t)
		remote.Write([]byte("+late\r\n"))
		if !eventually(func() bool { return !alive(local) }) || peerClosed(local) {
			t.Fatalf("exp not alive and not closed, got alive=%v closed=%v", alive(local), peerClosed(local))
		}
	})
	t.Run("a peer that sent more and then closed is seen as closed", func(t *testing.T) {
		local, remote := socketPair(t)
		remote.Write([]byte("*1\r\n$4\r\nPING\r\n"))
		remote.Close()
		if !eventually(func() bool { return peerClosed(local) }) {
			t.Fatal("exp closed, got open")
		}
	})
}
