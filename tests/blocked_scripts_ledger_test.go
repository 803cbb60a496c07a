package tests

import (
	"fmt"
	"sort"
	"strings"
	"sync"
)

// The ledger of the Redis #614 scenario: what every client learnt about
// every element, and the check that the final lists agree with it.
//
// An element is pushed once, onto a source list (r614Q or r614Q2). From a
// list it leaves at most once, recorded by whoever took it: a blocked
// client's BRPOPLPUSH/BLMOVE reply (it moved to that client's destination,
// or a relay's), or a removal whose reply names it (LREM answering 1, a
// pop, a trim's LRANGE in the same script or transaction, a worker's
// LTRIM of its own list predicted exactly by the worker's model of that
// list). The lists form no cycle (r614Q → r614Q2 → a worker's list), so
// following the departures from the push gives the one place the element
// must be at the end, or the one operation that removed it.
//
// Unknown outcomes (-UNCERTAIN, a timeout, a closed connection) are kept
// as possibilities, each used at most once for a blocking move: a push
// that may not have happened, a move or removal that may have. Without
// them, every element must be exactly where its recorded history puts it.

// r614Move is one departure of an element from a list: to another list,
// or removed (to == "").
type r614Move struct{ from, to, by string }

// r614Origin is where an element was pushed.
type r614Origin struct {
	key, by string
	certain bool // the push was acknowledged (else its outcome is unknown)
}

// r614Maybe is an operation with an unknown outcome that may have moved
// (to != "") or removed one element from a list: elem names it, or "" for
// any element.
type r614Maybe struct {
	from, to, elem, by string
	used               bool
}

type r614Ledger struct {
	mu       sync.Mutex
	origin   map[string]r614Origin
	moves    map[string][]r614Move
	maybe    []*r614Maybe
	problems []string
	counts   map[string]int
}

func newR614Ledger() *r614Ledger {
	return &r614Ledger{origin: map[string]r614Origin{}, moves: map[string][]r614Move{}, counts: map[string]int{}}
}

// pushed records elements pushed onto key.
func (l *r614Ledger) pushed(elems []string, key, by string, certain bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, e := range elems {
		if o, dup := l.origin[e]; dup {
			l.problems = append(l.problems, fmt.Sprintf("test bug: element %s pushed twice (%s, %s)", e, o.by, by))
		}
		l.origin[e] = r614Origin{key: key, by: by, certain: certain}
	}
	if certain {
		l.counts["elements pushed"] += len(elems)
	} else {
		l.counts["elements pushed with unknown outcome"] += len(elems)
	}
}

// moved records that e left from for to ("" = removed), by the client by.
func (l *r614Ledger) moved(e, from, to, by string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.moves[e] = append(l.moves[e], r614Move{from: from, to: to, by: by})
}

// maybeMoved records an operation with an unknown outcome.
func (l *r614Ledger) maybeMoved(from, to, elem, by string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.maybe = append(l.maybe, &r614Maybe{from: from, to: to, elem: elem, by: by})
	l.counts["operations with unknown outcome"]++
}

// problem records something a client saw that is wrong in itself.
func (l *r614Ledger) problem(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.problems = append(l.problems, fmt.Sprintf(format, args...))
}

func (l *r614Ledger) count(what string, n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.counts[what] += n
}

// summary lists the counts, sorted.
func (l *r614Ledger) summary() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	names := make([]string, 0, len(l.counts))
	for k := range l.counts {
		names = append(names, k)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, k := range names {
		fmt.Fprintf(&b, "\n  %-44s %d", k, l.counts[k])
	}
	return b.String()
}

// verify checks the final lists (key → elements) against the ledger and
// returns every problem, those seen during the run first. It also counts
// each element's fate.
func (l *r614Ledger) verify(final map[string][]string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	problems := append([]string(nil), l.problems...)
	found := map[string][]string{}
	for key, elems := range final {
		for _, e := range elems {
			found[e] = append(found[e], key)
		}
	}
	for e, keys := range found {
		if _, ok := l.origin[e]; !ok {
			problems = append(problems, fmt.Sprintf("%s is in %v at the end but was never pushed", e, keys))
		}
	}
	for e, ms := range l.moves {
		if _, ok := l.origin[e]; !ok {
			problems = append(problems, fmt.Sprintf("%s was taken (%v) but never pushed", e, ms))
		}
	}
	elems := make([]string, 0, len(l.origin))
	for e := range l.origin {
		elems = append(elems, e)
	}
	sort.Strings(elems)
	for _, e := range elems {
		fate, problem := l.walk(e, l.origin[e], found[e])
		if problem != "" {
			problems = append(problems, problem)
		} else {
			l.counts["fate: "+fate]++
		}
	}
	return problems
}

// walk follows e's departures from where it was pushed and compares where
// that leaves it with where it was found.
func (l *r614Ledger) walk(e string, o r614Origin, found []string) (fate, problem string) {
	moves := l.moves[e]
	used := make([]bool, len(moves))
	loc := o.key
	trail := []string{fmt.Sprintf("pushed onto %s by %s", o.key, o.by)}
	if !o.certain {
		trail[0] += " (outcome unknown)"
	}
	removedBy := ""
	for hop := 0; loc != "" && hop < 8; hop++ {
		var deps []int
		for i, m := range moves {
			if !used[i] && m.from == loc {
				deps = append(deps, i)
			}
		}
		if len(deps) > 1 {
			var who []string
			for _, i := range deps {
				who = append(who, moves[i].by)
			}
			return "", fmt.Sprintf("%s left %s %d times, taken by %s (%s)", e, loc, len(deps), strings.Join(who, " and "), strings.Join(trail, ", "))
		}
		if len(deps) == 1 {
			m := moves[deps[0]]
			used[deps[0]] = true
			if m.to == "" {
				trail = append(trail, "removed from "+m.from+" by "+m.by)
				removedBy, loc = m.by, ""
				break
			}
			trail = append(trail, "moved to "+m.to+" by "+m.by)
			loc = m.to
			continue
		}
		// No recorded departure from loc.
		if len(found) > 0 && found[0] == loc {
			break
		}
		if !o.certain && hop == 0 && len(found) == 0 && len(moves) == 0 {
			return "push outcome unknown, never seen (not applied)", ""
		}
		if m := l.takeMaybe(e, loc, found); m != nil {
			if m.to == "" {
				trail = append(trail, "maybe removed from "+loc+" by "+m.by)
				removedBy, loc = "an operation with unknown outcome", ""
				break
			}
			trail = append(trail, "maybe moved to "+m.to+" by "+m.by)
			loc = m.to
			continue
		}
		break
	}
	for i, m := range moves {
		if !used[i] {
			return "", fmt.Sprintf("%s was taken from %s by %s, but it was never there (%s)", e, m.from, m.by, strings.Join(trail, ", "))
		}
	}
	switch {
	case len(found) > 1:
		return "", fmt.Sprintf("%s is in %v at the end: more than once (%s)", e, found, strings.Join(trail, ", "))
	case loc == "" && len(found) == 1:
		return "", fmt.Sprintf("%s is still in %s at the end although removed (%s)", e, found[0], strings.Join(trail, ", "))
	case loc != "" && len(found) == 0:
		return "", fmt.Sprintf("%s is lost: exp it in %s, it is in no list (%s)", e, loc, strings.Join(trail, ", "))
	case loc != "" && found[0] != loc:
		return "", fmt.Sprintf("%s is in %s at the end, exp %s (%s)", e, found[0], loc, strings.Join(trail, ", "))
	case loc == "":
		return "removed by " + r614Kind(removedBy), ""
	}
	return fmt.Sprintf("in %s after %d move(s)", r614KeyKind(loc), len(moves)), ""
}

// takeMaybe finds an unknown-outcome operation that explains e leaving
// from: a removal naming e or any element of from, or an unused blocking
// move out of from, preferring one into where e was found.
func (l *r614Ledger) takeMaybe(e, from string, found []string) *r614Maybe {
	var pick *r614Maybe
	for _, m := range l.maybe {
		if m.from != from || m.used || (m.elem != "" && m.elem != e) {
			continue
		}
		if m.to == "" {
			if len(found) == 0 {
				return m // a removal explains any number of elements
			}
			continue
		}
		if pick == nil || (len(found) > 0 && m.to == found[0]) {
			pick = m
		}
	}
	if pick != nil {
		pick.used = true
	}
	return pick
}

// r614Kind names who removed an element by kind, for counts: a program's
// "m3 evalsha push+lrem lrem" is "a script (lrem)", a worker's "w4 LTRIM"
// is "a worker (LTRIM)".
func r614Kind(by string) string {
	f := strings.Fields(by)
	switch {
	case len(f) == 4 && strings.HasPrefix(f[0], "m"):
		kind := map[string]string{"evalsha": "a script", "eval": "a script", "issue-script": "a script",
			"multi": "MULTI/EXEC", "plain": "a plain command"}[f[1]]
		return kind + " (" + f[3] + ")"
	case len(f) == 2 && strings.HasPrefix(f[0], "w"):
		return "a worker (" + f[1] + ")"
	}
	return by
}

func r614KeyKind(key string) string {
	switch key {
	case r614Q, r614Q2:
		return key
	}
	return "a worker's list"
}
