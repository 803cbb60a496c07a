package fsm

import (
	"bytes"
	"sort"

	"github.com/raftlist/raftlist/fsm/resp"
)

// sortCommands are SORT and SORT_RO on what raftlist holds (lists; a
// string is WRONGTYPE, a missing key an empty list), as redis-server
// 7.0.15's sort.c answers them. SORT is a write, as Redis flags it: with
// STORE it stores through the log and serves blocked clients like a push;
// without it it writes nothing (sortWrites), and the front door serves it
// as a read (linearizable: behind the read barrier, on a follower with
// the leader's read index).
var sortCommands = []Command{
	// SORT key [BY pattern] [LIMIT offset count] [GET pattern [GET pattern ...]] [ASC|DESC] [ALPHA] [STORE destination]
	{Spec: resp.Spec{Name: "sort", Arity: -2, Flags: resp.Write | resp.DenyOOM | resp.MovableKeys, FirstKey: 1, LastKey: 1, KeyStep: 1,
		Group: "generic", Since: "1.0.0", Summary: "Sort the elements in a list, set or sorted set",
		ACL: []string{"set", "sortedset", "list", "dangerous"}, NoGroupACL: true, Keys: sortKeySpecs(true), KeysProc: sortKeys, WritesWith: sortWrites}, Prepare: sortCommand(false)},
	// SORT_RO key [BY pattern] [LIMIT offset count] [GET pattern [GET pattern ...]] [ASC|DESC] [ALPHA]
	{Spec: resp.Spec{Name: "sort_ro", Arity: -2, Flags: resp.ReadOnly | resp.MovableKeys, FirstKey: 1, LastKey: 1, KeyStep: 1,
		Group: "generic", Since: "7.0.0", Summary: "Sort the elements in a list, set or sorted set. Read-only variant of SORT.",
		ACL: []string{"set", "sortedset", "list", "dangerous"}, NoGroupACL: true, Keys: sortKeySpecs(false)}, Prepare: sortCommand(true)},
}

// sortKeySpecs are SORT's key specs as Redis 7.0 declares them: the key
// sorted, then the keys BY and GET name and the STORE destination, which
// no position finds.
func sortKeySpecs(store bool) []resp.KeySpec {
	specs := []resp.KeySpec{resp.OneKey(1, resp.KeyRO|resp.KeyAccess),
		{Unknown: true, Flags: resp.KeyRO | resp.KeyAccess, Notes: "For the optional BY/GET keyword. It is marked 'unknown' because the key names derive from the content of the key we sort"}}
	if store {
		specs = append(specs, resp.KeySpec{Unknown: true, Flags: resp.KeyOW | resp.KeyUpdate, Notes: "For the optional STORE keyword. It is marked 'unknown' because the keyword can appear anywhere in the argument array"})
	}
	return specs
}

// sortKeys is Redis's sortGetKeys: the key sorted and the last STORE's
// destination, skipping LIMIT's, GET's and BY's arguments.
func sortKeys(args [][]byte) []resp.KeyRef {
	keys := []resp.KeyRef{{Pos: 1, Flags: resp.KeyRO | resp.KeyAccess}}
	store := 0
	for i := 2; i < len(args); i++ {
		switch {
		case resp.IsOption(args[i], "limit"):
			i += 2
		case resp.IsOption(args[i], "get"), resp.IsOption(args[i], "by"):
			i++
		case resp.IsOption(args[i], "store") && i+1 < len(args):
			store = i + 1
		}
	}
	if store > 0 {
		keys = append(keys, resp.KeyRef{Pos: store, Flags: resp.KeyOW | resp.KeyUpdate})
	}
	return keys
}

// sortWrites reports whether SORT with these arguments writes: only with
// STORE (or with arguments it refuses, which never reach the log).
func sortWrites(args [][]byte) bool {
	o, err := parseSort(args, false)
	return err != nil || o.storing
}

// sortOptions are SORT's parsed arguments.
type sortOptions struct {
	by          []byte // nil: sort by the elements (BY "" is a pattern)
	dontSort    bool   // BY a pattern without '*': list order
	gets        [][]byte
	start       int64
	count       int64
	desc, alpha bool
	storing     bool   // STORE: store the result at store
	store       []byte // may be empty: "" is a key
}

// parseSort reads SORT's options in Redis's order: the first bad one
// answers, before the key is looked at.
func parseSort(args [][]byte, readOnly bool) (*sortOptions, error) {
	o := &sortOptions{count: -1}
	for j := 2; j < len(args); j++ {
		left := len(args) - j - 1
		switch a := args[j]; {
		case resp.IsOption(a, "asc"):
			o.desc = false
		case resp.IsOption(a, "desc"):
			o.desc = true
		case resp.IsOption(a, "alpha"):
			o.alpha = true
		case resp.IsOption(a, "limit") && left >= 2:
			start, err := intArg(args[j+1])
			if err != nil {
				return nil, err
			}
			count, err := intArg(args[j+2])
			if err != nil {
				return nil, err
			}
			o.start, o.count = start, count
			j += 2
		case resp.IsOption(a, "store") && left >= 1 && !readOnly:
			o.storing, o.store = true, args[j+1]
			j++
		case resp.IsOption(a, "by") && left >= 1:
			// A constant pattern means no sorting; a later BY does not
			// undo it, as in Redis.
			o.by = args[j+1]
			if bytes.IndexByte(resp.CString(o.by), '*') < 0 {
				o.dontSort = true
			}
			j++
		case resp.IsOption(a, "get") && left >= 1:
			o.gets = append(o.gets, args[j+1])
			j++
		default:
			return nil, resp.ErrSyntax
		}
	}
	return o, nil
}

// SORT key [BY pattern] [LIMIT offset count] [GET pattern ...] [ASC|DESC] [ALPHA] [STORE destination]
// SORT_RO key [BY pattern] [LIMIT offset count] [GET pattern ...] [ASC|DESC] [ALPHA]
func sortCommand(readOnly bool) func(args [][]byte) (Exec, error) {
	return func(args [][]byte) (Exec, error) {
		o, err := parseSort(args, readOnly)
		if err != nil {
			return nil, err
		}
		key := args[1]
		return func(c *Ctx) resp.Reply {
			l, err := c.DB().List(key)
			if err != nil {
				return resp.ErrWrongType
			}
			var elems [][]byte
			if l != nil {
				elems = l.Elements()
			}
			rows, errReply := o.sorted(c.DB(), elems)
			if errReply != nil {
				return errReply
			}
			if !o.storing {
				return o.reply(c.DB(), rows)
			}
			return o.storeRows(c, rows)
		}, nil
	}
}

// window is Redis's LIMIT arithmetic: the first and last positions of the
// n sorted elements to answer, clamped so nothing overflows; last < first
// when none.
func (o *sortOptions) window(n int64) (first, last int64) {
	first = min(max(o.start, 0), n)
	count := min(max(o.count, -1), n)
	last = first + count - 1
	if count < 0 {
		last = n - 1
	}
	if first >= n {
		first, last = n-1, n-2
	}
	return first, min(last, n-1)
}

// sorted returns the elements to answer, in order, LIMIT applied, or the
// error a score that is not a number gives.
func (o *sortOptions) sorted(d *DB, elems [][]byte) ([][]byte, resp.Reply) {
	// Redis scores every element even when LIMIT leaves none to answer,
	// so a score that is not a number is an error all the same.
	first, last := o.window(int64(len(elems)))
	if o.dontSort {
		out := make([][]byte, 0, max(last-first+1, 0))
		for i := first; i <= last; i++ {
			if o.desc {
				out = append(out, elems[int64(len(elems))-1-i])
			} else {
				out = append(out, elems[i])
			}
		}
		return out, o.checkWork(0, len(out))
	}
	lookups := 0
	if o.by != nil {
		lookups = len(elems)
	}
	if err := o.checkWork(lookups, int(max(last-first+1, 0))); err != nil {
		return nil, err
	}
	items := make([]sortItem, len(elems))
	for i, e := range elems {
		items[i].elem = e
		by := e
		if o.by != nil {
			var found bool
			if by, found = sortLookup(d, o.by, e); !found {
				continue
			}
		}
		if o.alpha {
			items[i].weight = by
			continue
		}
		score, ok := strtod(by)
		if !ok {
			return nil, resp.ErrSortScore
		}
		items[i].score = score
	}
	// Redis's qsort is glibc's merge sort, which is stable; its partial
	// sort for BY with LIMIT is not (README: differences).
	sort.SliceStable(items, func(i, j int) bool { return o.compare(&items[i], &items[j]) < 0 })
	var out [][]byte
	for i := first; i <= last; i++ {
		out = append(out, items[i].elem)
	}
	return out, nil
}

// sortItem is one element with what it sorts by.
type sortItem struct {
	elem   []byte
	score  float64
	weight []byte // ALPHA with BY: nil when the weight key is missing
}

// compare is Redis's sortCompare. Equal scores fall back to the elements'
// bytes; ALPHA compares with strcoll (C strings, the C locale) unless
// storing, where Redis compares the whole binary strings.
func (o *sortOptions) compare(a, b *sortItem) int {
	var cmp int
	switch {
	case !o.alpha && a.score != b.score:
		cmp = 1
		if a.score < b.score {
			cmp = -1
		}
	case !o.alpha:
		cmp = bytes.Compare(a.elem, b.elem)
	case o.by != nil && (a.weight == nil || b.weight == nil):
		switch {
		case a.weight == nil && b.weight == nil:
		case a.weight == nil:
			cmp = -1
		default:
			cmp = 1
		}
	case o.by != nil:
		cmp = o.collate(a.weight, b.weight)
	default:
		cmp = o.collate(a.elem, b.elem)
	}
	if o.desc {
		return -cmp
	}
	return cmp
}

func (o *sortOptions) collate(a, b []byte) int {
	if o.storing {
		return bytes.Compare(a, b)
	}
	return bytes.Compare(resp.CString(a), resp.CString(b))
}

// maxSortLookups bounds the keys one SORT looks up (BY and GET patterns):
// every node does the work while applying, and "SORT big GET a* GET b*
// ..." would otherwise multiply a long list by hundreds of thousands of
// arguments. Redis has no bound (README: differences).
const maxSortLookups = 1 << 22

// maxSortGetBytes bounds the bytes GET patterns bring into one result:
// one large string named by every element would otherwise be copied into
// a reply (or a snapshot) once per element, on every node.
const maxSortGetBytes = MaxStringLen * 4

// checkWork refuses a SORT that would look up more keys than
// maxSortLookups: byLookups for BY, and every GET for each of rows.
func (o *sortOptions) checkWork(byLookups, rows int) resp.Reply {
	if int64(byLookups)+int64(rows)*int64(len(o.gets)) > maxSortLookups {
		return resp.ErrSortTooMuchWork
	}
	return nil
}

// sortValue is one value of a result: an element, or what a GET pattern
// found.
type sortValue struct {
	b     []byte
	found bool
}

// results returns each row's output: the element, or what each GET
// pattern finds. ok is false past maxSortGetBytes.
func (o *sortOptions) results(d *DB, rows [][]byte) (out []sortValue, ok bool) {
	out = make([]sortValue, 0, len(rows)*max(len(o.gets), 1))
	if len(o.gets) == 0 {
		for _, e := range rows {
			out = append(out, sortValue{e, true})
		}
		return out, true
	}
	size := 0
	for _, e := range rows {
		for _, p := range o.gets {
			v, found := sortLookup(d, p, e)
			if size += len(v); size > maxSortGetBytes {
				return nil, false
			}
			out = append(out, sortValue{v, found})
		}
	}
	return out, true
}

// reply answers the rows, GET patterns applied.
func (o *sortOptions) reply(d *DB, rows [][]byte) resp.Reply {
	vals, ok := o.results(d, rows)
	if !ok {
		return resp.ErrSortTooMuchWork
	}
	out := make(resp.Array, len(vals))
	for i, v := range vals {
		if v.found {
			out[i] = resp.Bulk(v.b)
		} else {
			out[i] = resp.NullBulk
		}
	}
	return out
}

// storeRows stores the result as a list at the destination, a GET that
// finds nothing storing "", as Redis's setKey does: any old value and its
// time to live go; an empty result deletes the destination. Only a key
// that did not exist wakes its blocked clients: Redis 7.0 signals in
// dbAdd, not when overwriting.
func (o *sortOptions) storeRows(c *Ctx, rows [][]byte) resp.Reply {
	d := c.DB()
	vals, ok := o.results(d, rows)
	if !ok {
		return resp.ErrSortTooMuchWork
	}
	if len(vals) == 0 {
		d.Delete(o.store)
		return resp.Int(0)
	}
	l := &List{}
	for _, v := range vals {
		l.PushBack(v.b)
	}
	existed := d.Get(o.store) != nil
	d.Replace(o.store, l)
	if !existed {
		c.State.signalReady(c.DBNum, o.store)
	}
	return resp.Int(len(vals))
}

// sortLookup is Redis's lookupKeyByPattern: "#" is the element itself;
// otherwise the first '*' is replaced by the element and the string at
// that key is the answer (nil when missing or not a string). Hash fields
// ("->") name nothing here: raftlist holds no hashes, so such a pattern
// finds nothing, as in Redis when the key is not a hash. Redis reads the
// pattern as a C string up to its first NUL for '#', '*' and "->".
func sortLookup(d *DB, pattern, elem []byte) (v []byte, found bool) {
	cp := resp.CString(pattern)
	if len(cp) == 1 && cp[0] == '#' {
		return nonNil(elem), true
	}
	star := bytes.IndexByte(cp, '*')
	if star < 0 {
		return nil, false
	}
	if f := bytes.Index(cp[star+1:], []byte("->")); f >= 0 && star+1+f+2 < len(cp) {
		return nil, false
	}
	key := make([]byte, 0, len(pattern)-1+len(elem))
	key = append(append(append(key, pattern[:star]...), elem...), pattern[star+1:]...)
	if s, ok := d.Get(key).(*String); ok {
		return nonNil(s.Out()), true
	}
	return nil, false
}

// nonNil keeps an empty value apart from a missing one.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
