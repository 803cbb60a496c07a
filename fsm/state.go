package fsm

import (
	"sort"

	"github.com/raftlist/raftlist/fsm/lua"
	"github.com/raftlist/raftlist/fsm/resp"
)

// NumDBs is the number of databases, as in a default redis-server.
const NumDBs = 16

// Value is what a key holds. Lists are the service; plain strings exist so
// that type errors behave as in Redis.
type Value interface {
	// TypeName is the name TYPE and SCAN TYPE use.
	TypeName() string
}

// TypeName implements Value.
func (*List) TypeName() string { return "list" }

// String is a plain string value. Unless owned, B is never written in
// place: replies, snapshots and clones share its bytes.
type String struct {
	B []byte
	// owned says that B's bytes and capacity were allocated by APPEND or
	// SETRANGE for this value alone, which write them in place (as Redis's
	// sds): whoever hands them out copies them (Out). Not state: a clone
	// or a restored value starts without it.
	owned bool
}

// TypeName implements Value.
func (*String) TypeName() string { return "string" }

// DB is one numbered keyspace. The databases a State holds decide expiry
// at the log clock and delete an expired key the moment a command looks at
// it (Redis's lazy expiry), the same way at the same index on every node.
// A read view (State.ReadAt) shares their maps but decides at its own time
// and never deletes: it runs outside the log, under a shared lock.
type DB struct {
	keys map[string]Value
	// expires holds the deadline, in log-clock milliseconds, of every key
	// that has a time to live (expiry.go).
	expires map[string]int64
	// st and num let every store and delete record the key's version for
	// WATCH (watch.go).
	st  *State
	num int
	// view and readAt make this a read view deciding expiry at readAt.
	view   bool
	readAt int64
	// peak is the most keys held since the maps were last rebuilt
	// (shrinkIfSparse).
	peak int
}

func newDB(st *State, num int) *DB {
	return &DB{keys: make(map[string]Value), expires: make(map[string]int64), st: st, num: num}
}

// Get returns the value at key, or nil when it is missing or expired.
func (d *DB) Get(key []byte) Value { return d.lookupBytes(key) }

// Set stores v at key. A live key keeps its time to live (a push or an
// in-place change is not a new key); storing over an expired one starts
// without. Commands that replace a value as Redis's setKey does drop the
// time to live themselves (Persist).
func (d *DB) Set(key []byte, v Value) {
	k := string(key)
	if d.expiredAt(k, d.now()) {
		d.dropExpire(k)
	}
	d.keys[k] = v
	d.peak = max(d.peak, len(d.keys))
	d.touch(k)
}

// Delete removes key and reports whether it existed. An expired key did
// not: DEL answers 0 for it, as in Redis, though it is removed too.
func (d *DB) Delete(key []byte) bool {
	if d.lookupBytes(key) == nil {
		return false
	}
	d.remove(string(key))
	return true
}

// remove deletes a present key with its time to live.
func (d *DB) remove(k string) {
	delete(d.keys, k)
	d.dropExpire(k)
	d.touch(k)
	d.deleted(k)
	d.shrinkIfSparse()
}

// shrinkMin is the smallest peak worth rebuilding the maps for.
const shrinkMin = 4096

// shrinkIfSparse rebuilds the maps once they hold a quarter of their
// peak: Go maps never give back the room of deleted entries, so a
// database that held a million keys with TTLs would keep their memory
// after they expired. The cost is amortized over the deletions since the
// peak; the contents are unchanged, so no reply, snapshot or digest can
// tell.
func (d *DB) shrinkIfSparse() {
	if d.peak < shrinkMin || len(d.keys) > d.peak/4 {
		return
	}
	keys := make(map[string]Value, len(d.keys))
	for k, v := range d.keys {
		keys[k] = v
	}
	expires := make(map[string]int64, len(d.expires))
	for k, t := range d.expires {
		expires[k] = t
	}
	d.keys, d.expires, d.peak = keys, expires, len(keys)
}

// Len returns the number of keys, expired ones not yet deleted included,
// as Redis's DBSIZE counts them.
func (d *DB) Len() int { return len(d.keys) }

// SortedKeys returns every key in byte order, the one order the state
// machine ever exposes, so map order never reaches a reply.
func (d *DB) SortedKeys() []string {
	out := make([]string, 0, len(d.keys))
	for k := range d.keys {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// List returns the list at key; nil when the key is missing, ErrWrongType
// when it holds something else.
func (d *DB) List(key []byte) (*List, error) {
	v := d.lookupBytes(key)
	if v == nil {
		return nil, nil
	}
	l, ok := v.(*List)
	if !ok {
		return nil, resp.ErrWrongType
	}
	return l, nil
}

// ListForPush returns the list at key, creating an empty one (not yet
// stored) when the key is missing; callers store it with SetList.
func (d *DB) ListForPush(key []byte) (*List, error) {
	l, err := d.List(key)
	if err != nil || l != nil {
		return l, err
	}
	return &List{}, nil
}

// SetList stores l at key, or deletes the key when l is empty: Redis never
// keeps an empty list.
func (d *DB) SetList(key []byte, l *List) {
	if l.Len() == 0 {
		d.Delete(key)
		return
	}
	d.Set(key, l)
}

// State is the whole replicated state.
type State struct {
	dbs [NumDBs]*DB
	// nodes maps member id to client (RESP) address, recorded through the log.
	nodes map[string]string
	// term is the highest Raft term of any applied entry.
	term uint64
	// clock is the log clock: the newest leader timestamp (ms) of any
	// applied entry. It never goes back, so a new leader whose wall clock
	// is behind cannot bring an expired key back (DESIGN.md invariant 7).
	clock int64
	// readClock, when set, is the node's wall clock in Unix ms, read only
	// by Read (never by Apply): not replicated state, set by Machine.
	readClock func() int64
	// ttls orders every time to live by (deadline, db, key) for active
	// expiry; derived from the databases' expires, rebuilt on restore.
	ttls ttlIndex
	// applied is the index of the last entry this state has seen.
	applied uint64
	// blk holds the blocked clients (waiters).
	blk blocking
	// ver holds every key's last modification index, for WATCH.
	ver versions
	// users are the ACL users by name (acl.go); "default" always exists.
	users map[string]*ACLUser
	// scripts is the script cache: SHA1 (lowercase hex) to body.
	scripts map[string]string
	// libraries are the function libraries (function_cmds.go) by name;
	// functions maps each function's lowercased name to its library's.
	libraries map[string]*library
	functions map[string]string
	// scriptLog holds redis.log lines for the node to take; not
	// replicated state (script_log.go).
	scriptLog *scriptLogBuffer
	// vms are this state's idle Lua machines: a cache, never state
	// (package lua).
	vms *lua.Pool
	// vmsBeforeLibs run the scripts of entries older than format 4, whose
	// binaries had no cjson, cmsgpack, bit or struct (script_host.go).
	vmsBeforeLibs *lua.Pool
	// entryScripts counts the scripts run so far by the entry being
	// applied (reset by Apply): with the entry's index it seeds each
	// one's math.random. Never outlives an entry, so it is not state.
	entryScripts uint64
}

// NewState returns an empty state.
func NewState() *State {
	s := &State{nodes: make(map[string]string), blk: newBlocking(), ver: newVersions(),
		users:   map[string]*ACLUser{DefaultUserName: defaultUser()},
		scripts: make(map[string]string), libraries: make(map[string]*library), functions: make(map[string]string),
		scriptLog: &scriptLogBuffer{}, vms: &lua.Pool{},
		vmsBeforeLibs: &lua.Pool{WithoutLibraries: true}}
	for i := range s.dbs {
		s.dbs[i] = newDB(s, i)
	}
	return s
}

// DB returns database i (0 <= i < NumDBs).
func (s *State) DB(i int) *DB { return s.dbs[i] }

// Clone returns a deep copy sharing only immutable element bytes, taken for
// snapshots so that writing one never blocks Apply.
func (s *State) Clone() *State {
	c := NewState()
	for i, d := range s.dbs {
		for k, v := range d.keys {
			switch v := v.(type) {
			case *List:
				c.dbs[i].keys[k] = v.Clone()
			case *String:
				c.dbs[i].keys[k] = &String{B: v.Out()}
			}
		}
		for k, t := range d.expires {
			c.dbs[i].expires[k] = t
		}
	}
	c.rebuildTTLs()
	for id, addr := range s.nodes {
		c.nodes[id] = addr
	}
	c.term, c.applied, c.clock = s.term, s.applied, s.clock
	for _, w := range s.waitersInOrder() {
		c.addWaiter(w) // waiters are never modified, only replaced
	}
	c.blk.nextOrder = s.blk.nextOrder
	for id, reply := range s.blk.ended {
		c.blk.ended[id] = reply // outcomes are never modified, only replaced
	}
	s.cloneVersions(c)
	for sha, body := range s.scripts {
		c.scripts[sha] = body
	}
	for _, l := range s.libraries {
		c.linkLibrary(l) // libraries are never modified, only replaced
	}
	for name, u := range s.users {
		c.users[name] = u.Clone()
	}
	return c
}

// Nodes returns the recorded members in id order.
func (s *State) Nodes() []NodeMeta {
	out := make([]NodeMeta, 0, len(s.nodes))
	for id, addr := range s.nodes {
		out = append(out, NodeMeta{ID: id, RespAddr: addr})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// NodeAddr returns the client address recorded for a member.
func (s *State) NodeAddr(id string) string { return s.nodes[id] }

// Applied returns the index of the last entry applied.
func (s *State) Applied() uint64 { return s.applied }
