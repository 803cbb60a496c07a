package fsm

import (
	"container/heap"
	"iter"
	"math"
	"slices"
	"strings"

	"github.com/raftlist/raftlist/fsm/resp"
)

// SCAN's order differs from Redis's, on purpose.
//
// Redis walks its hash table with a reverse-binary cursor, so both the order
// and the cursors depend on the table's size and its random hash seed. Every
// raftlist node must give the same reply to the same SCAN, so raftlist walks
// a database in the order of a fixed hash instead: FNV-1a 64 of the key with
// the top bit cleared (cursors stay below 2^63, positive in any client),
// ties broken by the key's bytes. A cursor is the hash to resume from. Keys
// sharing a hash always go out in the same call, so a resumed walk never
// skips or repeats one. This keeps Redis's guarantees and tightens one: a
// key present from the start to the end of a full iteration is returned
// (exactly once here), no key is returned twice in one iteration (Redis may
// repeat keys while its table resizes), and an iteration ends when the
// cursor returned is 0. COUNT is, as in Redis, how
// many keys a call looks at before MATCH and TYPE filter them, so a call may
// return no keys and a cursor that is not 0.
//
// Cursors that Redis would accept but that mean something else here simply
// resume from that hash: a cursor of 2^63 or more ends at once.
//
// Cost: a call hashes every key of the database twice and keeps COUNT
// hashes in a heap, O(N log COUNT) time; a database-side index ordered by
// this hash would make it O(log N + COUNT).

// scanDefaultCount is COUNT when not given, as in Redis.
const scanDefaultCount = 10

// SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]
func scan(args [][]byte) (Exec, error) {
	cursor, ok := parseScanCursor(args[1])
	if !ok {
		return nil, resp.ErrInvalidCursor
	}
	opt, err := parseScanOptions(args[2:])
	if err != nil {
		return nil, err
	}
	return func(c *Ctx) resp.Reply {
		batch, next := scanBatch(scanOrder(c.DB()), cursor, opt.count)
		out := resp.Array{}
		for _, it := range batch {
			if opt.matches(c.DB(), it.key) {
				out = append(out, resp.BulkString(it.key))
			}
		}
		return resp.Array{formatCursor(next), out}
	}, nil
}

// scanOptions are SCAN's options after the cursor.
type scanOptions struct {
	count   int64
	pattern []byte // nil: every key
	typ     []byte // nil: every type
}

// parseScanOptions reads the options left to right as Redis's
// scanGenericCommand does: the first bad one decides the error.
func parseScanOptions(args [][]byte) (scanOptions, error) {
	opt := scanOptions{count: scanDefaultCount}
	for i := 0; i < len(args); i += 2 {
		if len(args)-i < 2 {
			return opt, resp.ErrSyntax
		}
		switch val := args[i+1]; {
		case resp.IsOption(args[i], "count"):
			n, err := intArg(val)
			if err != nil {
				return opt, err
			}
			if n < 1 {
				return opt, resp.ErrSyntax
			}
			opt.count = n
		case resp.IsOption(args[i], "match"):
			// The exact pattern "*" matches everything, even "".
			opt.pattern = val
			if len(val) == 1 && val[0] == '*' {
				opt.pattern = nil
			}
		case resp.IsOption(args[i], "type"):
			opt.typ = resp.CString(val)
		default:
			return opt, resp.ErrSyntax
		}
	}
	return opt, nil
}

// matches drops an expired key (without deleting it: Redis deletes it on a
// master, which changes nothing a client can read but DBSIZE), then
// applies MATCH, then TYPE (compared as strcasecmp does; an unknown type
// name matches nothing, as in Redis 7.0).
func (o *scanOptions) matches(d *DB, key string) bool {
	if d.expiredAt(key, d.now()) {
		return false
	}
	if o.pattern != nil && !globMatch(o.pattern, []byte(key), false) {
		return false
	}
	return o.typ == nil || resp.IsOption(o.typ, d.keys[key].TypeName())
}

// parseScanCursor parses a cursor as Redis's parseScanCursorOrReply does
// with strtoul: the argument is read as a C string (up to a NUL byte), may
// not start with a space, may carry a sign ("-1" wraps to 2^64-1) and
// leading zeros, must be all digits after that and fit in 64 bits. An empty
// cursor is 0.
func parseScanCursor(arg []byte) (uint64, bool) {
	b := resp.CString(arg)
	if len(b) == 0 {
		return 0, true
	}
	neg := b[0] == '-'
	if b[0] == '-' || b[0] == '+' {
		b = b[1:]
	}
	if len(b) == 0 {
		return 0, false
	}
	var v uint64
	for _, c := range b {
		if c < '0' || c > '9' || v > (math.MaxUint64-uint64(c-'0'))/10 {
			return 0, false
		}
		v = v*10 + uint64(c-'0')
	}
	if neg {
		v = -v
	}
	return v, true
}

// scanItem is a key with its place in SCAN order.
type scanItem struct {
	hash uint64
	key  string
}

func (a scanItem) compare(b scanItem) int {
	switch {
	case a.hash < b.hash:
		return -1
	case a.hash > b.hash:
		return 1
	}
	return strings.Compare(a.key, b.key)
}

// scanHash is a key's place in SCAN order: FNV-1a 64, top bit cleared.
func scanHash(key string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(key); i++ {
		h ^= uint64(key[i])
		h *= 1099511628211
	}
	return h &^ (1 << 63)
}

// scanOrder yields every key of d with its SCAN hash, in map order.
func scanOrder(d *DB) iter.Seq[scanItem] {
	return func(yield func(scanItem) bool) {
		for k := range d.keys {
			if !yield(scanItem{scanHash(k), k}) {
				return
			}
		}
	}
}

// scanBatch picks what one call returns from cursor on: the count first
// items in SCAN order, plus any others sharing the last one's hash, sorted.
// next is the cursor after them, 0 when nothing is left. It walks items
// twice and keeps at most count hashes in between, whatever the size of
// the database.
func scanBatch(items iter.Seq[scanItem], cursor uint64, count int64) (batch []scanItem, next uint64) {
	var smallest hashHeap // the count smallest hashes at or after cursor
	n := 0
	for it := range items {
		if it.hash < cursor {
			continue
		}
		n++
		if int64(len(smallest)) < count {
			heap.Push(&smallest, it.hash)
		} else if it.hash < smallest[0] {
			smallest[0] = it.hash
			heap.Fix(&smallest, 0)
		}
	}
	if n == 0 {
		return nil, 0
	}
	last := smallest[0]
	for it := range items {
		if it.hash >= cursor && it.hash <= last {
			batch = append(batch, it)
		}
	}
	if len(batch) < n {
		next = last + 1
	}
	slices.SortFunc(batch, scanItem.compare)
	return batch, next
}

// hashHeap is a max-heap of hashes.
type hashHeap []uint64

func (h hashHeap) Len() int           { return len(h) }
func (h hashHeap) Less(i, j int) bool { return h[i] > h[j] }
func (h hashHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *hashHeap) Push(x any)        { *h = append(*h, x.(uint64)) }
func (h *hashHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
