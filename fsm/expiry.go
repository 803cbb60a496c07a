package fsm

// Key expiry on log time (DESIGN.md invariant 7).
//
// API:
//   - State.advanceClock: Apply moves the log clock to an entry's leader
//     timestamp, never backward.
//   - DB.lookup: every access through a command; an expired key is absent,
//     and on the path through the log it is deleted there and then (lazy
//     expiry), at the same index on every node.
//   - DB.SetExpire, DB.Persist, DB.Expire: the commands' view of a TTL.
//   - State.ReadAt: reads outside the log decide at a later time of the
//     caller's and delete nothing.
//   - State.expireDue: an expiry entry (KindExpire) deletes, in
//     (deadline, db, key) order and up to a bound, keys whose deadline has
//     passed (active expiry).

import (
	"container/heap"
	"math"

	"github.com/raftlist/raftlist/fsm/resp"
)

// advanceClock moves the log clock to t if t is later. A leader whose
// clock is behind the previous leader's thus stamps entries that apply at
// the previous leader's latest time: time in the state never goes back.
func (s *State) advanceClock(t int64) {
	if t > s.clock || breakClockBackward { // the switch: jepsen_break_* builds only (break.go)
		s.clock = t
	}
}

// Clock returns the log clock: the newest leader timestamp applied, in
// Unix milliseconds.
func (s *State) Clock() int64 { return s.clock }

// now is the time this database decides expiry at.
func (d *DB) now() int64 {
	if d.view {
		return d.readAt
	}
	return d.st.clock
}

// expiredAt reports whether k has a deadline no later than now. A key
// whose deadline equals the clock is expired, as in Redis (when <= now).
func (d *DB) expiredAt(k string, now int64) bool {
	t, ok := d.expires[k]
	return ok && t <= now
}

// lookupBytes is lookup for a key still in bytes: a live key is found
// without converting the key to a string (map indexes by string(key) do
// not allocate); only an expired one takes lookup's path.
func (d *DB) lookupBytes(key []byte) Value {
	v := d.keys[string(key)]
	if v == nil {
		return nil
	}
	if t, ok := d.expires[string(key)]; !ok || t > d.now() {
		return v
	}
	return d.lookup(string(key))
}

// lookup returns the value at k, treating an expired key as absent and,
// outside a read view, deleting it.
func (d *DB) lookup(k string) Value {
	v := d.keys[k]
	if v == nil || !d.expiredAt(k, d.now()) {
		return v
	}
	if !d.view {
		d.remove(k)
	}
	return nil
}

// Deadline returns key's deadline in Unix milliseconds and whether it has
// one; a missing or expired key has none.
func (d *DB) Deadline(key []byte) (int64, bool) {
	if d.Get(key) == nil {
		return 0, false
	}
	t, ok := d.expires[string(key)]
	return t, ok
}

// Replace sets key to a new value and drops its deadline: Redis's setKey
// without KEEPTTL (SET, MSET, GETSET). Set keeps the deadline, as commands
// that change a value in place do (INCR, APPEND, SETRANGE, pushes).
func (d *DB) Replace(key []byte, v Value) {
	d.Set(key, v)
	d.Persist(key)
}

// SetExpire gives a present key the deadline at (Unix ms). A deadline
// already passed deletes the key at once, as Redis's EXPIRE does, so no
// blocked client is served from it.
func (d *DB) SetExpire(key []byte, at int64) {
	k := string(key)
	if d.keys[k] == nil {
		return
	}
	if at <= d.now() {
		d.remove(k)
		return
	}
	d.dropExpire(k)
	d.expires[k] = at
	d.st.addTTL(ttlEntry{at: at, db: d.num, key: k})
	d.touch(k)
}

// Persist removes key's time to live and reports whether it had one.
func (d *DB) Persist(key []byte) bool {
	k := string(key)
	if _, ok := d.expires[k]; !ok {
		return false
	}
	d.dropExpire(k)
	d.touch(k)
	return true
}

// dropExpire forgets k's deadline; its entry in the index goes stale and
// is skipped when reached.
func (d *DB) dropExpire(k string) {
	if _, ok := d.expires[k]; ok {
		delete(d.expires, k)
		d.st.ttls.stale++
	}
}

// Expires returns how many keys have a time to live, as INFO keyspace
// counts them (expired ones not yet deleted included).
func (d *DB) Expires() int { return len(d.expires) }

// ReadAt runs a read-only command outside the log, deciding expiry at
// nowMs or the log clock, whichever is later, and deleting nothing: a read
// never shows a key that an applied entry already saw as expired.
func (s *State) ReadAt(db int, nowMs int64, args [][]byte) resp.Reply {
	return run(&Ctx{State: s, DBNum: db, Index: s.applied, TimeMs: max(nowMs, s.clock), readOnly: true}, args)
}

// readView returns database i as a read view deciding expiry at nowMs.
func (s *State) readView(i int, nowMs int64) *DB {
	v := *s.dbs[i]
	v.view, v.readAt = true, max(nowMs, s.clock)
	return &v
}

// MaxExpirePerEntry bounds the keys one expiry entry deletes, so one
// entry's apply time stays bounded whatever the leader asks.
const MaxExpirePerEntry = 4096

// ttlEntry is one deadline in the index.
type ttlEntry struct {
	at  int64
	db  int
	key string
}

func (a ttlEntry) less(b ttlEntry) bool {
	if a.at != b.at {
		return a.at < b.at
	}
	if a.db != b.db {
		return a.db < b.db
	}
	return a.key < b.key
}

// ttlIndex is a min-heap of deadlines in (deadline, db, key) order. Pops
// come out in that total order whatever the heap's layout, so it is
// deterministic though built from map iteration. A deadline changed or
// removed leaves a stale entry, skipped when popped; stale counts them so
// the heap is rebuilt before they outnumber the live ones.
type ttlIndex struct {
	h     ttlHeap
	stale int
}

type ttlHeap []ttlEntry

func (h ttlHeap) Len() int           { return len(h) }
func (h ttlHeap) Less(i, j int) bool { return h[i].less(h[j]) }
func (h ttlHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *ttlHeap) Push(x any)        { *h = append(*h, x.(ttlEntry)) }
func (h *ttlHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}

// addTTL indexes a new deadline, rebuilding the index first when stale
// entries would otherwise pile up (EXPIRE on the same key again and again).
func (s *State) addTTL(e ttlEntry) {
	if s.ttls.stale > len(s.ttls.h)/2+1024 {
		s.rebuildTTLs()
	}
	heap.Push(&s.ttls.h, e)
}

// rebuildTTLs builds the index from the databases' deadlines alone.
func (s *State) rebuildTTLs() {
	h := ttlHeap{}
	for i, d := range s.dbs {
		for k, t := range d.expires {
			h = append(h, ttlEntry{at: t, db: i, key: k})
		}
	}
	heap.Init(&h)
	s.ttls = ttlIndex{h: h}
}

// live reports whether e is still some key's deadline.
func (s *State) live(e ttlEntry) bool {
	t, ok := s.dbs[e.db].expires[e.key]
	return ok && t == e.at
}

// NextDeadline returns the earliest deadline of a key in the index or of
// a blocked client's timeout, and whether there is one. A key's may be
// stale (the key since persisted or deleted): an expiry entry proposed for
// it only pops it.
func (s *State) NextDeadline() (int64, bool) {
	var next int64
	found := false
	if len(s.ttls.h) > 0 {
		next, found = s.ttls.h[0].at, true
	}
	for _, w := range s.blk.waiters {
		if w.deadline != 0 && (!found || w.deadline < next) {
			next, found = w.deadline, true
		}
	}
	return next, found
}

// waiterDeadline is when a blocking command's timeout ends the waiter it
// creates at log time now (0: it waits forever). BLMPOP has its timeout
// first, the others last; the command was validated, so it parses.
func waiterDeadline(args [][]byte, now int64) int64 {
	arg := args[len(args)-1]
	if resp.IsOption(args[0], "blmpop") {
		arg = args[1]
	}
	ms, err := ParseTimeout(arg)
	if err != nil || ms <= 0 || ms > math.MaxInt64-now {
		return 0
	}
	return now + ms
}

// timeoutDue ends, as timed out, every waiter whose deadline the log clock
// has reached, in registration order: what the owner's UNBLOCK would do,
// for all of them in one entry.
func (s *State) timeoutDue() {
	for _, w := range s.waitersInOrder() {
		if w.deadline != 0 && w.deadline <= s.clock {
			s.endWaiter(w, resp.NullArray, true)
		}
	}
}

// expireDue deletes, in (deadline, db, key) order, up to limit keys whose
// deadline is no later than the log clock, and returns how many it
// deleted and whether more are due. Stale index entries cost nothing
// against the limit: which keys go depends only on the replicated
// deadlines, not on the history that left stale entries behind.
func (s *State) expireDue(limit int) (deleted int, more bool) {
	for len(s.ttls.h) > 0 && s.ttls.h[0].at <= s.clock {
		if deleted >= limit {
			return deleted, true
		}
		e := heap.Pop(&s.ttls.h).(ttlEntry)
		if !s.live(e) {
			s.ttls.stale--
			continue
		}
		s.dbs[e.db].remove(e.key)
		s.ttls.stale-- // remove counted the deadline it dropped as stale
		deleted++
	}
	if s.ttls.stale > len(s.ttls.h)/2+1024 {
		s.rebuildTTLs()
	}
	if h := s.ttls.h; cap(h) >= shrinkMin && len(h) < cap(h)/4 {
		// Popping leaves the array behind: give back its room, as the
		// maps do (shrinkIfSparse). A copy of a heap is a heap.
		s.ttls.h = append(make(ttlHeap, 0, 2*len(h)), h...)
	}
	return deleted, false
}
