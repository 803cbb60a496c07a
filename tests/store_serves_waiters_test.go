package tests

import (
	"strconv"
	"testing"
)

// SORT ... STORE, COPY and SWAPDB through followers: each is one log
// entry that every node applies, serving the waiters a push would (a
// client blocked on a follower included) and disturbing WATCH as Redis
// does; hostile SORTs are refused before they cost every node the work.
func TestSortStoreCopyAndSwapDBServeBlockedClientsThroughFollowers(t *testing.T) {
	c := mustStartCluster(t, 3)
	leader := mustLeader(t, c)
	fs := followers(c, leader)
	a, b := fs[0], fs[1]
	blkPush(t, a.ClientAddr, "src", "3", "1", "2")

	// SORT STORE from one follower serves a client blocked on the other.
	call := blkStart(t, a, "BLPOP", "sorted", "0")
	blkAwaitWaiters(t, c, 1)
	conn := mustDial(t, b.ClientAddr)
	if got := mustDo(t, conn, "SORT", "src", "STORE", "sorted").String(); got != ":3" {
		t.Fatalf("SORT STORE through %s: exp :3, got %s", b.ID, got)
	}
	call.requireReply(t, blkPair("sorted", "1"), blkReplyBound)

	// Inside MULTI and inside EVAL, through a follower: served after the
	// transaction or the script.
	for i, form := range [][]string{
		{"EVAL", "return redis.call('sort', KEYS[1], 'desc', 'store', KEYS[2])", "2", "src", "viaeval"},
	} {
		call := blkStart(t, a, "BLPOP", form[4], "0")
		blkAwaitWaiters(t, c, 1)
		if got := mustDo(t, conn, form...).String(); got != ":3" {
			t.Fatalf("form %d %q: exp :3, got %s", i, form, got)
		}
		call.requireReply(t, blkPair(form[4], "3"), blkReplyBound)
	}
	call = blkStart(t, a, "BLPOP", "viamulti", "0")
	blkAwaitWaiters(t, c, 1)
	mustDo(t, conn, "MULTI")
	mustDo(t, conn, "SORT", "src", "STORE", "viamulti")
	mustDo(t, conn, "LLEN", "viamulti")
	if got := mustDo(t, conn, "EXEC").String(); got != "[:3 :3]" {
		t.Fatalf("EXEC of SORT STORE and LLEN: exp [:3 :3], got %s", got)
	}
	call.requireReply(t, blkPair("viamulti", "1"), blkReplyBound)

	// SWAPDB brings a list to a client blocked in DB 0 on a follower.
	call = blkStart(t, a, "BLPOP", "swapped", "0")
	blkAwaitWaiters(t, c, 1)
	mustDo(t, conn, "SELECT", "1")
	mustDo(t, conn, "RPUSH", "swapped", "z")
	call.requirePending(t)
	if got := mustDo(t, conn, "SWAPDB", "0", "1").String(); got != "+OK" {
		t.Fatalf("SWAPDB: exp +OK, got %s", got)
	}
	call.requireReply(t, blkPair("swapped", "z"), blkReplyBound)
	mustDo(t, conn, "SWAPDB", "0", "1")
	mustDo(t, conn, "SELECT", "0")

	// COPY onto a key a transaction watches aborts the transaction.
	watcher := mustDial(t, a.ClientAddr)
	mustDo(t, watcher, "WATCH", "copied")
	mustDo(t, conn, "COPY", "src", "copied")
	mustDo(t, watcher, "MULTI")
	mustDo(t, watcher, "LLEN", "copied")
	if got := mustDo(t, watcher, "EXEC").String(); got != "(nil array)" {
		t.Fatalf("EXEC after COPY onto the watched key: exp a nil array, got %s", got)
	}

	// Hostile SORTs: answered at once, every node still serving.
	big := []string{"RPUSH", "big"}
	for i := 0; i < 5000; i++ {
		big = append(big, strconv.Itoa(i))
	}
	mustDo(t, conn, big...)
	many := []string{"SORT", "big", "BY", "w*", "STORE", "big2"}
	for i := 0; i < 1000; i++ {
		many = append(many, "GET", "k*"+strconv.Itoa(i)+"*")
	}
	if got := mustDo(t, conn, many...).String(); got != "-ERR SORT would look up too many keys or return too many bytes" {
		t.Fatalf("SORT of 5000 elements BY a pattern with 1000 GETs: exp the work bound's error, got %.200s", got)
	}
	for _, args := range [][]string{
		{"SORT", "src", "LIMIT", "9223372036854775807", "9223372036854775807"},
		{"SORT", "src", "LIMIT", "-9223372036854775808", "-1", "ALPHA"},
		{"SORT", "src", "LIMIT", "1", "99999999999999999999"},
		{"SORT", "src", "GET", "**********->**", "GET", "#", "BY", "*->*"},
	} {
		got := mustDo(t, conn, args...).String()
		t.Logf("%.60q...: %.80s", args, got)
	}
	blkEnd(t, c)
	for _, n := range c.Nodes {
		requireList(t, n.ClientAddr, "sorted", true, []string{"2", "3"})
		requireList(t, n.ClientAddr, "copied", true, []string{"3", "1", "2"})
	}
}
