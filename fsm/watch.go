package fsm

// Key versions for WATCH, as replicated state. API:
//
//   - (*DB).touch: a key was modified (Redis's signalModifiedKey). DB.Set,
//     DB.Delete and DB.SetList call it, so every write that stores or
//     removes a key is seen; commands that change a list in place (LSET,
//     LINSERT) call it themselves. Its version becomes the log index being
//     applied.
//   - (*State).watchesHold: at EXEC, whether no watched key was modified
//     after the log index its WATCH read (Watch.Since).
//   - (*State).pruneVersions: after every entry, forget deleted keys whose
//     deletion is older than versionHorizon log indexes, or the oldest ones
//     while more than maxTombstones are remembered (maxTombstonesFormat3
//     after an entry of format 3 or older, as the binaries that wrote
//     those pruned), and give back the room of forgotten ones.
//
// Why versions and not Redis's watched_keys dict: WATCH runs on whichever
// node holds the client and never goes through the log, so no node knows
// which keys are watched. Instead every node records, identically, the
// index of each key's last modification, and the EXEC entry carries the
// index its WATCH read; the decision is made at apply time, the same on
// every node.
//
// A deleted key keeps its version (a tombstone), or "deleted", and "deleted
// then recreated" in between WATCH and EXEC would look unchanged. Tombstones
// are bounded deterministically by pruneVersions; floor remembers the
// newest version ever pruned, and a WATCH older than floor on a key with no
// version left aborts (nil), because a pruned deletion might have come
// after it. That is the one place raftlist aborts where Redis would not:
// a WATCH held for more than versionHorizon entries (or across more than
// maxTombstones deletions) on a key that does not exist at EXEC.

import "sort"

const (
	// versionHorizon is how many log indexes a deleted key's version is
	// kept at least (while maxTombstones allows).
	versionHorizon = 1 << 17
	// maxTombstones bounds the deleted keys remembered at once. Each
	// costs about 70 bytes, and a million keys expiring would otherwise
	// leave the whole bound behind on a cluster that then goes quiet
	// (the horizon passes only as entries are written): 8192 keep the
	// memory a node gets back within about half a megabyte of where it
	// started. A WATCH outliving 8192 deletions of other keys may then
	// abort where it would not have (the floor), never the reverse.
	maxTombstones = 1 << 13
	// maxTombstonesFormat3 is the bound the binaries that wrote format 3
	// entries pruned with: an entry of that format prunes with it, so a
	// cluster in a rolling upgrade decides every WATCH as one binary.
	maxTombstonesFormat3 = 1 << 17
	// tombQueueCompact is how many popped slots the tombstone queue keeps
	// before it is copied down.
	tombQueueCompact = 1024
)

// Watch is one WATCHed key carried by an EXEC entry: EXEC aborts when the
// key was modified at a log index after Since. Since is a linearizable read
// index taken by WATCH: every write acknowledged before WATCH began is at
// or below it, every later write above it.
type Watch struct {
	DB    int
	Key   []byte
	Since uint64
}

// versions is the WATCH half of State.
type versions struct {
	// last maps each key to the log index of its last modification; a
	// deleted key keeps its entry until pruned.
	last map[dbKey]uint64
	// tombs queues deletions in log order, for pruning. An entry whose key
	// has since been recreated or modified again is skipped when popped.
	tombs    []tomb
	tombHead int
	// floor is the newest version pruned so far.
	floor uint64
	// peak is the most versions last held since it was last rebuilt
	// (shrinkVersions); not replicated state, only when to rebuild.
	peak int
}

type tomb struct {
	version uint64
	key     dbKey
}

func newVersions() versions { return versions{last: make(map[dbKey]uint64)} }

// touch records that key was modified by the entry being applied.
func (d *DB) touch(key string) {
	if d.st == nil {
		return
	}
	v := &d.st.ver
	v.last[dbKey{d.num, key}] = d.st.applied
	v.peak = max(v.peak, len(v.last))
}

// Touch records that a command changed the value at key in place (Redis's
// signalModifiedKey). Commands that store or delete through Set, SetList
// or Delete need not call it.
func (d *DB) Touch(key []byte) { d.touch(string(key)) }

// deleted records that key was removed, for pruning.
func (d *DB) deleted(key string) {
	if d.st == nil {
		return
	}
	d.st.ver.tombs = append(d.st.ver.tombs, tomb{d.st.applied, dbKey{d.num, key}})
}

// Flush removes every key, touching each as Redis does for FLUSHDB and
// FLUSHALL: a WATCH on a key that did not exist is not disturbed.
func (d *DB) Flush() {
	for k := range d.keys {
		d.touch(k)
		d.deleted(k)
	}
	d.keys, d.peak = make(map[string]Value), 0
	d.st.ttls.stale += len(d.expires)
	d.expires = make(map[string]int64)
}

// watchesHold reports whether no watched key changed after its WATCH.
func (s *State) watchesHold(ws []Watch) bool {
	for _, w := range ws {
		v, ok := s.ver.last[dbKey{w.DB, string(w.Key)}]
		if ok && v > w.Since {
			return false
		}
		if !ok && w.Since < s.ver.floor {
			return false // a deletion after the WATCH may have been pruned
		}
	}
	return true
}

// KeyVersion returns the log index of key's last modification and whether
// one is remembered.
func (s *State) KeyVersion(db int, key []byte) (uint64, bool) {
	v, ok := s.ver.last[dbKey{db, string(key)}]
	return v, ok
}

// tombstones counts remembered versions of keys that do not exist. Every
// existing key has a version (Set records one, even while restoring), so
// this is a function of the replicated state alone.
func (s *State) tombstones() int {
	live := 0
	for _, d := range s.dbs {
		live += len(d.keys)
	}
	return len(s.ver.last) - live
}

// pruneVersions forgets tombstones older than versionHorizon at index, then
// the oldest while there are more than maxTombstones. It removes whole log
// indexes at a time, so which keys go does not depend on the order of
// deletions within one entry (a node restored from a snapshot rebuilt its
// queue in key order).
func (s *State) pruneVersions(index uint64, format byte) {
	limit := maxTombstones
	if format != 0 && format < formatV4 {
		limit = maxTombstonesFormat3
	}
	v := &s.ver
	for v.tombHead < len(v.tombs) {
		head := v.tombs[v.tombHead].version
		if head+versionHorizon >= index && s.tombstones() <= limit {
			break
		}
		for v.tombHead < len(v.tombs) && v.tombs[v.tombHead].version == head {
			t := v.tombs[v.tombHead]
			v.tombs[v.tombHead] = tomb{}
			v.tombHead++
			if cur, ok := v.last[t.key]; ok && cur == head && s.dbs[t.key.db].keys[t.key.key] == nil {
				delete(v.last, t.key)
				v.floor = max(v.floor, head)
			}
		}
	}
	if v.tombHead == len(v.tombs) {
		v.tombs, v.tombHead = v.tombs[:0], 0
	} else if v.tombHead >= tombQueueCompact && 2*v.tombHead >= len(v.tombs) {
		n := copy(v.tombs, v.tombs[v.tombHead:])
		clear(v.tombs[n:])
		v.tombs, v.tombHead = v.tombs[:n], 0
	}
	// A key deleted again and again (a list emptied and refilled) queues a
	// deletion each time; all but the last are dead weight until the
	// horizon passes them, so the queue would grow with the deletion rate.
	if len(v.tombs)-v.tombHead > 2*s.tombstones()+tombQueueCompact {
		s.compactTombs()
	}
	s.shrinkVersions()
}

// shrinkVersions rebuilds the version map once it holds half of its peak
// and the deletion queue once it holds a quarter of its array, as
// (*DB).shrinkIfSparse does for the keys: Go maps and slices keep the
// room of what was removed, and a million keys that expired would
// otherwise leave ~90 MB behind in the map alone. The contents are
// unchanged: nothing replicated can tell.
func (s *State) shrinkVersions() {
	v := &s.ver
	if v.peak >= shrinkMin && len(v.last) <= v.peak/2 {
		last := make(map[dbKey]uint64, len(v.last))
		for k, x := range v.last {
			last[k] = x
		}
		v.last, v.peak = last, len(last)
	}
	if n := len(v.tombs) - v.tombHead; cap(v.tombs) >= shrinkMin && n <= cap(v.tombs)/4 {
		v.tombs, v.tombHead = append(make([]tomb, 0, 2*n), v.tombs[v.tombHead:]...), 0
	}
}

// compactTombs drops the queued deletions pruning would skip: the key
// exists again or was written since (its version moved on), or the same
// deletion is queued already. What remains is what rebuildTombs queues
// after a restore, in version order, so pruning and WATCH decide as
// before; the queue then holds at most one deletion per tombstone.
func (s *State) compactTombs() {
	v := &s.ver
	seen := make(map[tomb]bool)
	out := v.tombs[:0]
	for _, t := range v.tombs[v.tombHead:] {
		cur, ok := v.last[t.key]
		if !ok || cur != t.version || s.dbs[t.key.db].keys[t.key.key] != nil || seen[t] {
			continue
		}
		seen[t] = true
		out = append(out, t)
	}
	clear(v.tombs[len(out):])
	if cap(out) > 4*(len(out)+tombQueueCompact) {
		out = append([]tomb(nil), out...) // let a burst's array go
	}
	v.tombs, v.tombHead = out, 0
}

// sortedVersions returns every remembered version in (db, key) order, the
// order snapshots write them in.
func (s *State) sortedVersions() []tomb {
	out := make([]tomb, 0, len(s.ver.last))
	for k, v := range s.ver.last {
		out = append(out, tomb{v, k})
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i].key, out[j].key
		if a.db != b.db {
			return a.db < b.db
		}
		return a.key < b.key
	})
	return out
}

// rebuildTombs queues every tombstone in (version, db, key) order: after a
// restore the queue holds exactly the keys pruning may remove.
func (s *State) rebuildTombs() {
	s.ver.tombs, s.ver.tombHead = nil, 0
	for _, t := range s.sortedVersions() {
		if s.dbs[t.key.db].keys[t.key.key] == nil {
			s.ver.tombs = append(s.ver.tombs, t)
		}
	}
	sort.SliceStable(s.ver.tombs, func(i, j int) bool { return s.ver.tombs[i].version < s.ver.tombs[j].version })
}

// cloneVersions copies the WATCH state into c.
func (s *State) cloneVersions(c *State) {
	for k, v := range s.ver.last {
		c.ver.last[k] = v
	}
	c.ver.tombs = append([]tomb(nil), s.ver.tombs[s.ver.tombHead:]...)
	c.ver.floor = s.ver.floor
}
