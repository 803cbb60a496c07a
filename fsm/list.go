package fsm

// List is a Redis list: a double-ended queue of binary-safe elements in a
// ring buffer, so pushes and pops at both ends and access by index are O(1).
// Elements are never modified in place once stored; replacing one stores a
// new slice, which lets snapshots share element bytes with live state.
type List struct {
	buf  [][]byte
	head int
	n    int
}

// Len returns the number of elements.
func (l *List) Len() int { return l.n }

// At returns the element at index i, 0 <= i < Len().
func (l *List) At(i int) []byte { return l.buf[(l.head+i)%len(l.buf)] }

// Set replaces the element at index i.
func (l *List) Set(i int, v []byte) { l.buf[(l.head+i)%len(l.buf)] = v }

func (l *List) grow() {
	if l.n < len(l.buf) {
		return
	}
	size := 2 * len(l.buf)
	if size == 0 {
		size = 4
	}
	nb := make([][]byte, size)
	for i := 0; i < l.n; i++ {
		nb[i] = l.At(i)
	}
	l.buf, l.head = nb, 0
}

// PushFront inserts v before the first element.
func (l *List) PushFront(v []byte) {
	l.grow()
	l.head = (l.head - 1 + len(l.buf)) % len(l.buf)
	l.buf[l.head] = v
	l.n++
}

// PushBack appends v after the last element.
func (l *List) PushBack(v []byte) {
	l.grow()
	l.buf[(l.head+l.n)%len(l.buf)] = v
	l.n++
}

// PopFront removes and returns the first element; the list must not be empty.
func (l *List) PopFront() []byte {
	v := l.buf[l.head]
	l.buf[l.head] = nil
	l.head = (l.head + 1) % len(l.buf)
	l.n--
	l.shrink()
	return v
}

// PopBack removes and returns the last element; the list must not be empty.
func (l *List) PopBack() []byte {
	i := (l.head + l.n - 1) % len(l.buf)
	v := l.buf[i]
	l.buf[i] = nil
	l.n--
	l.shrink()
	return v
}

// shrink gives memory back when a list drains, so a queue that once held a
// million elements does not keep a million slots.
func (l *List) shrink() {
	if len(l.buf) > 64 && l.n < len(l.buf)/4 {
		nb := make([][]byte, len(l.buf)/2)
		for i := 0; i < l.n; i++ {
			nb[i] = l.At(i)
		}
		l.buf, l.head = nb, 0
	}
}

// Range returns the elements from start to stop inclusive, both already
// clamped to valid indexes.
func (l *List) Range(start, stop int) [][]byte {
	if start > stop {
		return nil
	}
	out := make([][]byte, 0, stop-start+1)
	for i := start; i <= stop; i++ {
		out = append(out, l.At(i))
	}
	return out
}

// Elements returns a copy of the element slice headers in order.
func (l *List) Elements() [][]byte { return l.Range(0, l.n-1) }

// Replace sets the list's contents to elems (which the list now owns).
func (l *List) Replace(elems [][]byte) {
	l.buf, l.head, l.n = elems, 0, len(elems)
	if len(l.buf) == 0 {
		l.buf = nil
	}
}

// Insert places v at index i (0 <= i <= Len()), shifting later elements.
func (l *List) Insert(i int, v []byte) {
	elems := l.Elements()
	elems = append(elems, nil)
	copy(elems[i+1:], elems[i:])
	elems[i] = v
	l.Replace(elems)
}

// Clone returns a list sharing element bytes but not slots, for snapshots.
func (l *List) Clone() *List {
	c := &List{}
	c.Replace(l.Elements())
	return c
}
