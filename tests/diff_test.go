package tests

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/raftlist/raftlist/fsm/resp"
)

var (
	flagDiffOps  = flag.Int("diff.ops", 0, "operations in the differential test (default 10000; 2000 with -short)")
	flagDiffSeed = flag.Uint64("diff.seed", 0, "seed of the differential test (default: from the clock; printed)")
)

// difference is one intentional difference between raftlist and
// redis-server 7.0, and how the differential test treats it.
type difference struct {
	Command  string
	Handling string
	Reason   string
}

// intentionalDifferences is the one list of the ways raftlist answers
// differently from redis-server on purpose. The README lists the same.
var intentionalDifferences = []difference{
	{"KEYS", "compared as sorted sets of keys; errors byte for byte",
		"Redis answers in hash-table order, which depends on its random hash seed; raftlist answers in byte order so that every node gives the same reply"},
	{"SCAN", "a full iteration from cursor 0 on each side, compared as sets of keys; errors byte for byte; no other valid cursor is sent",
		"Redis's cursors walk its hash table; raftlist walks keys in a fixed hash order (FNV-1a) so that every node gives the same pages, so pages and cursors differ"},
	{"CLIENT ID, CLIENT LIST, CLIENT INFO", "not compared; raftlist must answer an integer / a bulk string (verbatim text in RESP3)",
		"connection ids, addresses and ages differ between any two servers"},
	{"CLIENT SETINFO, CLIENT NO-TOUCH", "not sent to Redis; raftlist must answer as Redis 7.2 does (+OK or 7.2's error)",
		"Redis 7.2's subcommands, which go-redis v9 and redis-py send on connect; 7.0.15 answers unknown subcommand. CLIENT LIST and INFO show lib-name and lib-ver as 7.2 does"},
	{"CLIENT HELP", "not compared; raftlist must answer an array",
		"raftlist lists only the subcommands it has (no tracking, CACHING, GETREDIR, PAUSE), with 7.2's lines for NO-TOUCH and SETINFO"},
	{"CLIENT KILL", "only filters that match no client are sent (the test's other connections share the servers)",
		"none in the replies; raftlist kills only clients of the node it is sent to, never a connection carrying another node's traffic"},
	{"INFO", "not compared; raftlist must answer a bulk string (verbatim text in RESP3)",
		"server statistics; raftlist adds a # Raft section"},
	{"HELLO", "compared with the values of id and role masked",
		"id is the connection id; a raftlist follower reports role replica"},
	{"HELLO ... SETNAME name followed by a bad option or a failed AUTH", "the reference connection's name is restored after the error",
		"Redis 7.0 sets the name while it parses and keeps it although HELLO fails; raftlist, like Redis 7.2, changes nothing when HELLO fails"},
	{"DEBUG DIGEST", "not compared with Redis; raftlist must answer 40 hex digits; at the end all nodes' digests must be equal and the whole datasets (every key of every DB) are compared",
		"the digest algorithms differ, and Redis 7 disables DEBUG by default"},
	{"TTL, PTTL, EXPIRETIME, PEXPIRETIME", "-2, -1 and errors byte for byte; times within 3 s (or 3 for seconds), also in the final dataset comparison (PTTL, 60 s)",
		"redis-server decides expiry with its own clock, raftlist with the leader's timestamp in the log entry: the same command sees times a few milliseconds apart"},
	{"Commands near a short time to live's deadline", "the test waits until a command cannot run within a few ms of any deadline it set (30 ms - 1 s TTLs); a command that still did (slow under load) is not compared and both servers are flushed; DBSIZE is asked again while a recent deadline's key may be deleted on one server only (diff_short_ttl_test.go)",
		"the two clocks: a command reaching a key at its deadline may find it alive on one server and gone on the other; DBSIZE counts expired keys not yet deleted, and each server's active expiry deletes them at a moment of its own"},
	{"COMMAND INFO", "asked only for data commands; compared on name, arity, flags (as a set), first key, last key and step",
		"raftlist reports no key specs, tips or subcommands and its own ACL categories; its connection commands carry flags of its own front door (no AUTH, no busy scripts)"},
	{"COMMAND COUNT (and COMMAND, COMMAND LIST, COMMAND DOCS)", "COUNT not compared (must be an integer); the others not sent",
		"raftlist implements a subset of Redis's commands"},
	{"APPEND or SETRANGE making a string longer than 64 MiB", "not sent (SETRANGE offsets stay under 100000 or go past Redis's 512 MB too)",
		"raftlist's MaxStringLen is a constant of the state machine, the same on every node; Redis's is its proto-max-bulk-len, 512 MB by default, which one 30-byte SETRANGE would make every node allocate"},
	{"Redis commands raftlist does not implement (SADD, HSET, ZADD, ...)", "not sent",
		"raftlist is a list service: it answers them 'unknown command'; only names neither server knows are sent"},
	{"READONLY, READWRITE", "not sent to Redis",
		"standalone Redis answers 'cluster support disabled'; on raftlist READONLY makes a connection read its node's local state"},
	{"SORT ... BY pattern ALPHA LIMIT", "not sent",
		"elements with equal weights: Redis's partial quicksort (pqsort) orders them its own way; raftlist keeps them in list order, as Redis's full sort (glibc's stable qsort) does without LIMIT"},
	{"SORT looking up more than 4M keys, or GET bringing more than 256 MiB", "not sent",
		"raftlist answers an error: every node does the work while applying, so it is bounded; Redis has no bound"},
	{"RANDOMKEY", "not compared; raftlist must answer a bulk string or nil",
		"Redis picks at random; raftlist picks the live key with the smallest FNV-1a hash seeded by the log index, the same on every node"},
	{"OBJECT ENCODING, REFCOUNT, IDLETIME", "compared right after a SET or a push only",
		"raftlist derives them from the value: a string APPEND or SETRANGE made or INCRBYFLOAT wrote reports as if SET stored it (Redis: raw or embstr), a copied shared integer reports the shared count (Redis: 1), and IDLETIME is always 0 (access times are not replicated state)"},
	{"-TRYAGAIN replies", "retried by the test client, as go-redis does",
		"raftlist's 'not applied, retry' during a leader change is not an answer to the command"},
	{"EVAL of cjson.encode or cmsgpack.pack of a table with several non-array keys", "not in the library corpus (tests/lua_libs_test.go), whose other scripts are compared byte for byte",
		"raftlist writes keys in the order pairs shows them (first set first), Redis in its Lua hash table's order, which no node could reproduce from the table alone"},
	{"EVAL using math.random without math.randomseed", "not in the corpus",
		"raftlist seeds each run by its entry's log index and place (a read outside the log by the index it reads at), so every node draws the same; Redis continues one generator"},
	{"EVAL calling cjson's settings (encode_max_depth, ...)", "compared only within one script",
		"a setting lasts for the run that made it on raftlist, for every later script on Redis"},
}

// ttlClose reports whether two replies of TTL, PTTL, EXPIRETIME or
// PEXPIRETIME agree: identical, or both times (positive integers) at most
// tolerance apart. -2 (no key) and -1 (no time to live) must match
// exactly.
func ttlClose(want, got []byte, tolerance int64) bool {
	if string(want) == string(got) {
		return true
	}
	parse := func(b []byte) (int64, bool) {
		s := string(b)
		if !strings.HasPrefix(s, ":") || !strings.HasSuffix(s, "\r\n") {
			return 0, false
		}
		v, err := strconv.ParseInt(s[1:len(s)-2], 10, 64)
		return v, err == nil && v >= 0
	}
	w, ok1 := parse(want)
	g, ok2 := parse(got)
	return ok1 && ok2 && w-g <= tolerance && g-w <= tolerance
}

// diffHistory is how many earlier commands a mismatch report shows.
const diffHistory = 20

// differ sends every command to redis-server and to a raftlist cluster and
// compares the replies.
type differ struct {
	t     *testing.T
	seed  uint64
	redis *rawConn
	nodes []*rawConn
	// The connection state the reference (Redis) connection has; each
	// raftlist connection is brought to it before a command.
	db        int
	name      string
	proto     int // the protocol HELLO chose: 2 or 3
	nodeDB    []int
	nodeName  []string
	nodeProto []int
	history   []string
	// bytes counts traffic, for the log.
	bytes int64
	// ttl is the record of short times to live (diff_short_ttl_test.go).
	ttl deadlines
}

func TestDifferentialAgainstRedis(t *testing.T) {
	diffAgainstRedis(t, "TestDifferentialAgainstRedis", resp.RESP2, scale(2000, 10000), scale(4, 12))
}

// TestDifferentialAgainstRedisRESP3 is the differential test with every
// connection speaking RESP3 from the start (HELLO 3), through the leader
// and the followers: every reply compared byte for byte in RESP3 (nulls,
// maps, sets, verbatim strings, doubles), HELLO switching protocols
// midway as the generator sends it.
func TestDifferentialAgainstRedisRESP3(t *testing.T) {
	diffAgainstRedis(t, "TestDifferentialAgainstRedisRESP3", resp.RESP3, scale(1000, 5000), scale(2, 6))
}

// diffAgainstRedis runs the seeded random differential test named test in
// proto (defaultOps operations unless -diff.ops says, bigValues as newGen
// takes it), then requires the nodes to converge to one digest.
func diffAgainstRedis(t *testing.T, test string, proto, defaultOps, bigValues int) {
	t.Helper()
	ops := *flagDiffOps
	if ops == 0 {
		ops = defaultOps
	}
	seed := *flagDiffSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d, %d operations; rerun with: go test ./tests/ -run %s -diff.seed %d -diff.ops %d",
		seed, ops, test, seed, ops)
	rs := mustStartRedis(t)
	c := mustStartCluster(t, 3)
	var addrs []string
	for _, n := range c.Nodes {
		addrs = append(addrs, n.ClientAddr)
	}
	g := newGen(seed, bigValues)
	runDiff(t, seed, ops, rs.Addr, addrs, proto, g.next)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := c.WaitConverged(ctx); err != nil {
		t.Fatalf("nodes did not converge after the run: %v", err)
	}
	requireEqualDigests(t, ctx, c)
}

// runDiff sends ops commands from next to the Redis at redisAddr and, in
// turn, to the raftlist nodes at nodeAddrs, compares every reply, then
// compares the whole datasets. Every connection starts in proto (HELLO).
func runDiff(t *testing.T, seed uint64, ops int, redisAddr string, nodeAddrs []string, proto int, next func() op) {
	d := &differ{t: t, seed: seed, proto: resp.RESP2}
	var err error
	if d.redis, err = dialRaw(redisAddr, 30*time.Second); err != nil {
		t.Fatalf("connect to redis-server: %v", err)
	}
	t.Cleanup(func() { d.redis.Close() })
	for _, addr := range nodeAddrs {
		conn, err := dialRaw(addr, 30*time.Second)
		if err != nil {
			t.Fatalf("connect to %s: %v", addr, err)
		}
		d.nodes = append(d.nodes, conn)
		d.nodeDB = append(d.nodeDB, 0)
		d.nodeName = append(d.nodeName, "")
		d.nodeProto = append(d.nodeProto, resp.RESP2)
	}
	t.Cleanup(func() {
		for _, c := range d.nodes {
			c.Close()
		}
	})

	if proto != resp.RESP2 {
		if raw, err := d.redis.doStr("HELLO", strconv.Itoa(proto)); err != nil || !isHelloReply(raw) {
			t.Fatalf("redis-server: HELLO %d: %q %v", proto, raw, err)
		}
		d.proto = proto
	}
	start := time.Now()
	for i := 0; i < ops; i++ {
		d.run(i, i%len(d.nodes), next())
	}
	t.Logf("%d operations in %v (%d MB of replies; %v waiting for deadlines, %d commands ran across one)",
		ops, time.Since(start).Round(time.Millisecond), d.bytes>>20, d.ttl.settled.Round(time.Millisecond), d.ttl.crossings)
	d.ttl.wait()
	d.compareDatasets()
}

// run sends one command to Redis and to raftlist node j and compares.
func (d *differ) run(i, j int, o op) {
	d.syncConn(i, j)
	o = d.ttl.settle(o)
	if maySort(o) {
		d.clearRedisErrno(i, j, o)
	}
	start := time.Now()
	if o.pipeline != nil && o.kind == cmpRaw {
		d.runRawPipeline(i, j, o, start)
		return
	}
	if o.pipeline != nil {
		d.runPipeline(i, j, o, start)
		return
	}
	d.remember(fmt.Sprintf("op %d node %d: %s", i, j, quoteCommand(o.args)))
	if o.kind == raftlistOnly {
		got := d.raftlistDo(i, j, o.args)
		ok := strings.HasPrefix(o.want, "+") && string(got) == o.want+"\r\n" ||
			!strings.HasPrefix(o.want, "+") && isErrorPrefix(got, o.want)
		if !ok {
			d.failf(i, j, o, nil, got, "raftlist must answer %q here (intentional difference: not sent to Redis)", o.want)
		}
		d.ttl.ran(o, start, time.Now())
		return
	}
	if o.kind == cmpShape {
		got := d.raftlistDo(i, j, o.args)
		shape := o.shape
		switch {
		case shape == shapeText && d.proto == resp.RESP3:
			shape = '='
		case shape == shapeText:
			shape = '$'
		case shape == '$' && d.proto == resp.RESP3 && string(got) == "_\r\n":
			shape = '_' // a bulk string's null (RANDOMKEY of an empty database)
		}
		if len(got) == 0 || got[0] != shape {
			d.failf(i, j, o, nil, got, "raftlist must answer a %q reply (not compared with Redis)", o.shape)
		}
		if isDebugDigest(o.args) && !digestReply.Match(got) {
			d.failf(i, j, o, nil, got, "DEBUG DIGEST must answer 40 hex digits")
		}
		d.ttl.ran(o, start, time.Now())
		return
	}
	want := d.redisDo(i, j, o)
	got := d.raftlistDo(i, j, o.args)
	if end := time.Now(); d.ttl.ran(o, start, end) {
		d.crossedDeadline(i, j, o, end.Sub(start))
		d.track(j, o, want)
		return
	}
	switch o.kind {
	case cmpKeys:
		d.compareNormalised(i, j, o, want, got, func(r reply) string {
			return strings.Join(quoteAll(r.sortedStrings()), " ")
		})
	case cmpScan:
		d.compareScan(i, j, o, want, got)
	case cmpHello:
		d.compareNormalised(i, j, o, want, got, maskHello)
	case cmpCommandInfo:
		d.compareNormalised(i, j, o, want, got, commandInfoKey)
	case cmpDBSize:
		d.compareDBSize(i, j, o, want, got)
	case cmpTTL:
		if !ttlClose(want, got, o.tolerance) {
			d.failf(i, j, o, want, got, "times differ by more than %d (or in kind)", o.tolerance)
		}
	default:
		if string(want) != string(got) {
			d.failf(i, j, o, want, got, "replies differ")
		}
	}
	d.track(j, o, want)
}

// runPipeline sends commands to Redis and to node j, each side in one
// write, and compares the replies one by one. A -TRYAGAIN inside a
// pipeline cannot be retried alone without reordering, so it fails the
// test like any other difference.
func (d *differ) runPipeline(i, j int, o op, start time.Time) {
	cmds := o.pipeline
	all := make([][][]byte, len(cmds))
	for k, o := range cmds {
		all[k] = o.args
	}
	want, err := d.redis.pipeline(all)
	if err != nil {
		d.failf(i, j, cmds[len(want)], nil, nil, "redis-server, in a pipeline of %d: %v", len(cmds), err)
	}
	got, err := d.nodes[j].pipeline(all)
	if err != nil {
		d.failf(i, j, cmds[len(got)], nil, nil, "raftlist node %s, in a pipeline of %d: %v", d.nodes[j].addr, len(cmds), err)
	}
	if end := time.Now(); d.ttl.ran(o, start, end) {
		d.crossedDeadline(i, j, o, end.Sub(start))
		return
	}
	for k, o := range cmds {
		d.remember(fmt.Sprintf("op %d node %d: pipeline %d/%d: %s", i, j, k+1, len(cmds), quoteCommand(o.args)))
		d.bytes += int64(len(want[k]) + len(got[k]))
		if string(want[k]) != string(got[k]) {
			d.failf(i, j, cmds[k], want[k], got[k], "replies differ at command %d of a pipeline of %d", k+1, len(cmds))
		}
	}
}

// rawPipelineEnd closes a cmpRaw pipeline: CLIENT REPLY ON answers
// whatever the pipeline left, and the ECHO marks the end of the bytes.
var rawPipelineEnd = [][][]byte{bargs("client", "reply", "on"), bargs("echo", "\x00end of a raw pipeline")}

// runRawPipeline sends commands that may drop their replies (CLIENT REPLY)
// to Redis and to node j, each side in one write, and compares every byte
// each writes up to the closing ECHO.
func (d *differ) runRawPipeline(i, j int, o op, start time.Time) {
	cmds := o.pipeline
	var buf []byte
	for k, o := range cmds {
		d.remember(fmt.Sprintf("op %d node %d: raw pipeline %d/%d: %s", i, j, k+1, len(cmds), quoteCommand(o.args)))
		buf = resp.AppendCommand(buf, o.args...)
	}
	for _, args := range rawPipelineEnd {
		buf = resp.AppendCommand(buf, args...)
	}
	endArg := rawPipelineEnd[1][1]
	end := []byte(fmt.Sprintf("$%d\r\n%s\r\n", len(endArg), endArg))
	read := func(c *rawConn) ([]byte, error) {
		if err := c.writeRaw(buf); err != nil {
			return nil, err
		}
		// Raw bytes, not replies: with CLIENT REPLY OFF inside MULTI,
		// Redis writes an array header and fewer elements. Nothing is
		// buffered in c's reader between two operations.
		out := readUntil(c.conn, end, c.timeout)
		if !bytes.HasSuffix(out, end) {
			return out, fmt.Errorf("no closing ECHO in %q", out)
		}
		return out, nil
	}
	want, err := read(d.redis)
	if err != nil {
		d.failf(i, j, cmds[0], want, nil, "redis-server, in a raw pipeline of %d: %v", len(cmds), err)
	}
	got, err := read(d.nodes[j])
	if err != nil {
		d.failf(i, j, cmds[0], want, got, "raftlist node %s, in a raw pipeline of %d: %v", d.nodes[j].addr, len(cmds), err)
	}
	d.bytes += int64(len(want) + len(got))
	if end := time.Now(); d.ttl.ran(o, start, end) {
		d.crossedDeadline(i, j, o, end.Sub(start))
		return
	}
	if !bytes.Equal(want, got) {
		d.failf(i, j, cmds[0], want, got, "bytes written differ for a pipeline with CLIENT REPLY")
	}
}

// track updates the connection state a command changed.
func (d *differ) track(j int, o op, redisReply []byte) {
	if o.kind == cmpHello && isHelloReply(redisReply) && len(o.args) > 1 {
		p, _ := strconv.Atoi(string(o.args[1]))
		d.proto, d.nodeProto[j] = p, p
	}
	switch {
	case o.kind == cmpQuit:
		d.reconnect(j)
	case o.selectDB >= 0 && string(redisReply) == "+OK\r\n":
		d.db, d.nodeDB[j] = o.selectDB, o.selectDB
	case o.setName != nil && (string(redisReply) == "+OK\r\n" || isHelloReply(redisReply)):
		d.name, d.nodeName[j] = *o.setName, *o.setName
	case o.setName != nil && o.kind == cmpHello:
		// Redis 7.0 sets HELLO's name before it fails on a later option
		// (an intentional difference): undo that on the reference side.
		if raw, err := d.redis.doStr("CLIENT", "SETNAME", d.name); err != nil || string(raw) != "+OK\r\n" {
			d.t.Fatalf("redis-server: restoring the client name after a failed HELLO: %q %v", raw, err)
		}
		d.nodeName[j] = "\x00unknown" // set it again before the next command
	}
}

// reconnect replaces the Redis connection and raftlist connection j after
// QUIT closed them.
func (d *differ) reconnect(j int) {
	d.t.Helper()
	var err error
	d.redis.Close()
	if d.redis, err = dialRaw(d.redis.addr, d.redis.timeout); err != nil {
		d.t.Fatalf("reconnect to redis-server after QUIT: %v", err)
	}
	addr := d.nodes[j].addr
	d.nodes[j].Close()
	if d.nodes[j], err = dialRaw(addr, 30*time.Second); err != nil {
		d.t.Fatalf("reconnect to %s after QUIT: %v", addr, err)
	}
	d.db, d.name, d.nodeDB[j], d.nodeName[j] = 0, "", 0, ""
	d.proto, d.nodeProto[j] = resp.RESP2, resp.RESP2
}

// isHelloReply reports HELLO's successful reply: a map in RESP3, an
// array in RESP2.
func isHelloReply(raw []byte) bool {
	return len(raw) > 0 && (raw[0] == '*' || raw[0] == '%')
}

// syncConn brings raftlist connection j to the reference connection's
// protocol, database and name.
func (d *differ) syncConn(i, j int) {
	if d.nodeProto[j] != d.proto {
		args := bargs("HELLO", strconv.Itoa(d.proto))
		if got := d.raftlistDo(i, j, args); !isHelloReply(got) {
			d.failf(i, j, op{args: args}, nil, got, "connection protocol sync failed")
		}
		d.nodeProto[j] = d.proto
	}
	if d.nodeDB[j] != d.db {
		d.expectOK(i, j, "SELECT", strconv.Itoa(d.db))
		d.nodeDB[j] = d.db
	}
	if d.nodeName[j] != d.name {
		d.expectOK(i, j, "CLIENT", "SETNAME", d.name)
		d.nodeName[j] = d.name
	}
}

func (d *differ) expectOK(i, j int, args ...string) {
	got := d.raftlistDo(i, j, bargs(args...))
	if string(got) != "+OK\r\n" {
		d.failf(i, j, op{args: bargs(args...)}, []byte("+OK\r\n"), got, "connection state sync failed")
	}
}

func (d *differ) redisDo(i, j int, o op) []byte {
	raw, err := d.redis.do(o.args...)
	if err != nil {
		d.failf(i, j, o, nil, nil, "redis-server: %v", err)
	}
	d.bytes += int64(len(raw))
	return raw
}

// maySort says whether o may run a SORT on Redis: SORT, SORT_RO, or an
// EXEC or pipeline that may hold one.
func maySort(o op) bool {
	cmds := o.pipeline
	if cmds == nil {
		cmds = []op{o}
	}
	for _, c := range cmds {
		if len(c.args) == 0 {
			continue
		}
		switch strings.ToLower(string(c.args[0])) {
		case "sort", "sort_ro", "exec":
			return true
		}
	}
	return false
}

// clearRedisErrno works around a redis-server 7.0.15 bug: SORT reads errno
// after strtod without clearing it first (sort.c, "errno == ERANGE"), so
// an ERANGE that any earlier command left (a SORT of "1e999", an
// INCRBYFLOAT overflow) makes Redis refuse a list of valid scores with
// "One or more scores can't be converted into double" until a failing
// system call overwrites errno. raftlist answers such a SORT correctly.
// Accepting a connection overwrites it (Redis's accept loop ends on
// EAGAIN), so the differ opens and closes one before anything that may
// sort.
func (d *differ) clearRedisErrno(i, j int, o op) {
	c, err := dialRaw(d.redis.addr, 30*time.Second)
	if err == nil {
		_, err = c.doStr("PING")
		c.Close()
	}
	if err != nil {
		d.failf(i, j, o, nil, nil, "redis-server: a connection to clear errno: %v", err)
	}
}

// raftlistDo sends a command to node j, retrying -TRYAGAIN (nothing was
// applied) as go-redis would.
func (d *differ) raftlistDo(i, j int, args [][]byte) []byte {
	for attempt := 0; ; attempt++ {
		raw, err := d.nodes[j].do(args...)
		if err != nil {
			d.failf(i, j, op{args: args}, nil, nil, "raftlist node %s: %v", d.nodes[j].addr, err)
		}
		d.bytes += int64(len(raw))
		if !isErrorPrefix(raw, "TRYAGAIN") || attempt == 100 {
			return raw
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// compareNormalised compares two replies through norm when both parse and
// neither is an error; byte for byte otherwise.
func (d *differ) compareNormalised(i, j int, o op, want, got []byte, norm func(reply) string) {
	wr, err1 := parseRaw(want)
	gr, err2 := parseRaw(got)
	if err1 != nil || err2 != nil || wr.kind != '*' || gr.kind != '*' {
		if string(want) != string(got) {
			d.failf(i, j, o, want, got, "replies differ")
		}
		return
	}
	if w, g := norm(wr), norm(gr); w != g {
		d.failf(i, j, o, want, got, "normalised replies differ:\n  redis:    %s\n  raftlist: %s", w, g)
	}
}

// compareScan runs a full SCAN iteration on each side from the replies to
// the first call and compares the sets of keys.
func (d *differ) compareScan(i, j int, o op, want, got []byte) {
	wr, err1 := parseRaw(want)
	gr, err2 := parseRaw(got)
	if err1 != nil || err2 != nil || wr.kind != '*' || gr.kind != '*' {
		if string(want) != string(got) {
			d.failf(i, j, o, want, got, "replies differ")
		}
		return
	}
	redisKeys := d.scanRest(i, j, o, wr, func(args [][]byte) []byte { return d.redisDo(i, j, op{args: args}) })
	raftKeys := d.scanRest(i, j, o, gr, func(args [][]byte) []byte { return d.raftlistDo(i, j, args) })
	if w, g := strings.Join(quoteAll(redisKeys), " "), strings.Join(quoteAll(raftKeys), " "); w != g {
		d.failf(i, j, o, want, got, "full SCAN iterations differ:\n  redis:    %s\n  raftlist: %s", w, g)
	}
}

// scanRest continues a SCAN from its first reply until the cursor is 0 and
// returns the keys seen, sorted and without duplicates.
func (d *differ) scanRest(i, j int, o op, first reply, do func([][]byte) []byte) []string {
	seen := map[string]bool{}
	r := first
	for calls := 0; ; calls++ {
		if r.kind != '*' || len(r.elems) != 2 || r.elems[1].kind != '*' {
			d.failf(i, j, o, nil, nil, "SCAN reply is not [cursor, [keys]]: %s", r)
		}
		for _, k := range r.elems[1].strings() {
			seen[k] = true
		}
		cursor := r.elems[0].str
		if string(cursor) == "0" {
			break
		}
		if calls > 10000 {
			d.failf(i, j, o, nil, nil, "SCAN did not end after %d calls", calls)
		}
		args := slices.Clone(o.args)
		args[1] = cursor
		var err error
		raw := do(args)
		if r, err = parseRaw(raw); err != nil || r.kind == '-' {
			d.failf(i, j, op{args: args}, nil, raw, "SCAN continuation failed: %v", err)
		}
	}
	keys := make([]string, 0, len(seen))
	for k := range seen {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// maskHello renders a HELLO reply with the values of id and role masked.
func maskHello(r reply) string {
	parts := make([]string, len(r.elems))
	for k, e := range r.elems {
		parts[k] = e.String()
		if k > 0 && r.elems[k-1].kind == '$' && (string(r.elems[k-1].str) == "id" || string(r.elems[k-1].str) == "role") {
			parts[k] = "<masked>"
		}
	}
	return string(r.agg) + strings.Join(parts, " ")
}

// commandInfoKey renders COMMAND INFO's reply as name, arity, flags
// (sorted), first key, last key, step for each command.
func commandInfoKey(r reply) string {
	var out []string
	for _, e := range r.elems {
		if e.kind != '*' || e.null || len(e.elems) < 6 {
			out = append(out, e.String())
			continue
		}
		flags := make([]string, 0, len(e.elems[2].elems))
		for _, f := range e.elems[2].elems {
			flags = append(flags, string(f.str))
		}
		sort.Strings(flags)
		line := fmt.Sprintf("%s arity=%s flags=%v keys=%s,%s,%s",
			e.elems[0], e.elems[1], flags, e.elems[3], e.elems[4], e.elems[5])
		// ACL categories, tips and key specs too, but for the fields
		// command_info_test.go knows to differ.
		ex := infoCompareExceptions[string(e.elems[0].str)]
		for i := 6; i < 9 && i < len(e.elems); i++ {
			if !containsInt(ex.fields, i) {
				line += fmt.Sprintf(" f%d=%s", i, e.elems[i])
			}
		}
		out = append(out, line)
	}
	return strings.Join(out, "; ")
}

func quoteAll(xs []string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = quoteBytes([]byte(x), 80)
	}
	return out
}

var digestReply = regexp.MustCompile(`^\+[0-9a-f]{40}\r\n$`)

func isDebugDigest(args [][]byte) bool {
	return len(args) == 2 && strings.EqualFold(string(args[0]), "debug") && strings.EqualFold(string(args[1]), "digest")
}

func (d *differ) remember(s string) {
	d.history = append(d.history, s)
	if len(d.history) > diffHistory+1 {
		d.history = d.history[1:]
	}
}

// failf reports a mismatch with everything needed to reproduce it, and
// stops the test: after one divergence every later reply would differ too.
func (d *differ) failf(i, j int, o op, want, got []byte, format string, args ...any) {
	d.t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "differential mismatch: %s\n", fmt.Sprintf(format, args...))
	fmt.Fprintf(&b, "  seed:     %d (rerun: go test ./tests/ -run TestDifferentialAgainstRedis -diff.seed %d)\n", d.seed, d.seed)
	fmt.Fprintf(&b, "  op:       %d, sent to raftlist node %d (%s), db %d\n", i, j, d.nodes[j].addr, d.db)
	fmt.Fprintf(&b, "  command:  %s\n", quoteCommand(o.args))
	if want != nil {
		fmt.Fprintf(&b, "  redis:    %s\n", quoteRaw(want))
	}
	if got != nil {
		fmt.Fprintf(&b, "  raftlist: %s\n", quoteRaw(got))
	}
	prev := d.history
	if len(prev) > 0 {
		prev = prev[:len(prev)-1] // the last one is the command itself
	}
	fmt.Fprintf(&b, "  previous %d commands:\n", len(prev))
	for _, h := range prev {
		fmt.Fprintf(&b, "    %s\n", h)
	}
	d.t.Fatal(b.String())
}

// compareDatasets dumps every key of every database from Redis and from
// raftlist (node 0, linearizably) and compares type and contents.
func (d *differ) compareDatasets() {
	d.t.Helper()
	const j = 0
	total := 0
	for db := 0; db < 16; db++ {
		d.db = db
		d.syncConn(-1, j)
		if string(d.redisDo(-1, j, op{args: bargs("SELECT", strconv.Itoa(db))})) != "+OK\r\n" {
			d.t.Fatalf("redis-server: SELECT %d failed", db)
		}
		keysOp := op{args: bargs("KEYS", "*")}
		wr, err1 := parseRaw(d.redisDo(-1, j, keysOp))
		gr, err2 := parseRaw(d.raftlistDo(-1, j, keysOp.args))
		if err1 != nil || err2 != nil {
			d.t.Fatalf("db %d: KEYS *: %v / %v", db, err1, err2)
		}
		wk, gk := wr.sortedStrings(), gr.sortedStrings()
		if !slices.Equal(wk, gk) {
			d.t.Fatalf("dataset differs in db %d:\n  redis keys:    %s\n  raftlist keys: %s", db, quoteAll(wk), quoteAll(gk))
		}
		for _, k := range wk {
			total++
			ttl := bargs("PTTL", k)
			if want, got := d.redisDo(-1, j, op{args: ttl}), d.raftlistDo(-1, j, ttl); !ttlClose(want, got, 60_000) {
				d.t.Fatalf("dataset differs in db %d at key %s: PTTL: redis %s, raftlist %s",
					db, quoteBytes([]byte(k), 80), quoteRaw(want), quoteRaw(got))
			}
			for _, args := range [][][]byte{bargs("TYPE", k), bargs("LRANGE", k, "0", "-1"), bargs("GET", k)} {
				want := d.redisDo(-1, j, op{args: args})
				got := d.raftlistDo(-1, j, args)
				if string(want) != string(got) {
					d.t.Fatalf("dataset differs in db %d at key %s:\n  command:  %s\n  redis:    %s\n  raftlist: %s",
						db, quoteBytes([]byte(k), 80), quoteCommand(args), quoteRaw(want), quoteRaw(got))
				}
			}
		}
	}
	d.t.Logf("datasets equal: %d keys over 16 databases", total)
}
