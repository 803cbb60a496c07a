package tests

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
)

// The operations of the Redis #614 scenario (blocked_scripts_test.go): programs of
// list operations on the two source lists, run as one Lua script (EVALSHA
// or EVAL of an interpreter script, or the issue's own multi-element LPUSH
// script), as one MULTI/EXEC, or as plain commands sent in one pipeline.
// Every element is unique and every operation's reply says exactly which
// elements it removed (LREM of one named element answers 0 or 1; pops
// answer the element; a trim is an LRANGE of exactly what the LTRIM next
// to it removes, in the same script or transaction), so the ledger
// (blocked_scripts_ledger_test.go) can account for every element.

const (
	// r614Q is the list blocked clients wait on and programs push to.
	r614Q = "r614:q"
	// r614Q2 is where relays move elements from r614Q; other clients wait
	// on it, so serving one waiter makes another key ready (a chain).
	r614Q2 = "r614:q2"
)

// r614Script runs a program in one script. ARGV is a sequence of
// operations, each: name, key index into KEYS, argument count, arguments.
// It answers one reply per operation; a trim answers what it removed.
const r614Script = `local out = {}
local i = 1
while i <= #ARGV do
  local op, k, n = ARGV[i], KEYS[tonumber(ARGV[i+1])], tonumber(ARGV[i+2])
  local a = {}
  for j = 1, n do a[j] = ARGV[i+2+j] end
  i = i + 3 + n
  local r
  if op == 'lpush' or op == 'rpush' then
    r = redis.call(op, k, unpack(a))
  elseif op == 'lrem' then
    r = redis.call('lrem', k, a[1], a[2])
  elseif op == 'lpop' or op == 'rpop' then
    r = redis.call(op, k)
  elseif op == 'trimhead' then
    local c = tonumber(a[1])
    r = redis.call('lrange', k, 0, c - 1)
    redis.call('ltrim', k, c, -1)
  elseif op == 'trimtail' then
    local c = tonumber(a[1])
    r = redis.call('lrange', k, -c, -1)
    redis.call('ltrim', k, 0, -c - 1)
  elseif op == 'keep' then
    local c = tonumber(a[1])
    r = redis.call('lrange', k, c, -1)
    redis.call('ltrim', k, 0, c - 1)
  else
    return redis.error_reply('unknown op ' .. op)
  end
  out[#out + 1] = r
end
return out`

// r614IssueScript is the script of Redis issue #614: a multi-element push
// onto a queue that clients wait on with BRPOPLPUSH.
const r614IssueScript = `return redis.call('lpush', KEYS[1], unpack(ARGV))`

// r614DrainScript empties a list and answers what it held.
const r614DrainScript = `local r = redis.call('lrange', KEYS[1], 0, -1)
redis.call('ltrim', KEYS[1], 1, 0)
return r`

// r614Form is how a program is sent.
type r614Form int

const (
	r614EvalSHA r614Form = iota // r614Script by EVALSHA
	r614Eval                    // r614Script by EVAL, source and all
	r614Issue                   // r614IssueScript: a program of one LPUSH
	r614Multi                   // MULTI, one or two commands per operation, EXEC
	r614Plain                   // plain commands in one pipeline
)

var r614FormNames = []string{"evalsha", "eval", "issue-script", "multi", "plain"}

func (f r614Form) String() string { return r614FormNames[f] }

// atomic reports whether a program in this form runs as one command, with
// blocked clients served only after all of it.
func (f r614Form) atomic() bool { return f != r614Plain }

// r614Op is one list operation of a program.
type r614Op struct {
	name  string   // lpush rpush lrem lpop rpop trimhead trimtail keep
	key   string   // r614Q or r614Q2
	elems []string // pushes: the new elements; lrem: the element
	n     int      // lrem: its count argument; trims and keep: how many
	// want checks the operation's reply when the program ran atomically:
	// what it must be given the program's own earlier operations, since
	// nobody is served in the middle of a script or transaction. It
	// answers "" or what is wrong.
	want func(r reply) string
}

// r614Prog is one iteration's program.
type r614Prog struct {
	form  r614Form
	shape string // which generator made it, for messages and counts
	ops   []r614Op
}

func (op r614Op) keyIndex() string {
	if op.key == r614Q2 {
		return "2"
	}
	return "1"
}

// scriptArgs are the op's ARGV words for r614Script.
func (op r614Op) scriptArgs() []string {
	var a []string
	switch op.name {
	case "lpush", "rpush":
		a = op.elems
	case "lrem":
		a = []string{strconv.Itoa(op.n), op.elems[0]}
	case "trimhead", "trimtail", "keep":
		a = []string{strconv.Itoa(op.n)}
	}
	return append([]string{op.name, op.keyIndex(), strconv.Itoa(len(a))}, a...)
}

// commands are the plain commands the op is: one, or for trims an LRANGE
// of what goes and the LTRIM (only atomic together, inside MULTI).
func (op r614Op) commands() [][]string {
	n := strconv.Itoa(op.n)
	switch op.name {
	case "lpush", "rpush":
		return [][]string{append([]string{op.name, op.key}, op.elems...)}
	case "lrem":
		return [][]string{{"lrem", op.key, n, op.elems[0]}}
	case "lpop", "rpop":
		return [][]string{{op.name, op.key}}
	case "trimhead":
		return [][]string{{"lrange", op.key, "0", strconv.Itoa(op.n - 1)}, {"ltrim", op.key, n, "-1"}}
	case "trimtail":
		return [][]string{{"lrange", op.key, "-" + n, "-1"}, {"ltrim", op.key, "0", strconv.Itoa(-op.n - 1)}}
	case "keep":
		return [][]string{{"lrange", op.key, n, "-1"}, {"ltrim", op.key, "0", strconv.Itoa(op.n - 1)}}
	}
	panic("r614: unknown op " + op.name)
}

// commands are what the program sends, in order.
func (p r614Prog) commands(sha string) [][]string {
	switch p.form {
	case r614EvalSHA, r614Eval:
		head := []string{"evalsha", sha}
		if p.form == r614Eval {
			head = []string{"eval", r614Script}
		}
		cmd := append(head, "2", r614Q, r614Q2)
		for _, op := range p.ops {
			cmd = append(cmd, op.scriptArgs()...)
		}
		return [][]string{cmd}
	case r614Issue:
		op := p.ops[0]
		return [][]string{append([]string{"eval", r614IssueScript, "1", op.key}, op.elems...)}
	case r614Multi:
		cmds := [][]string{{"multi"}}
		for _, op := range p.ops {
			cmds = append(cmds, op.commands()...)
		}
		return append(cmds, []string{"exec"})
	default:
		var cmds [][]string
		for _, op := range p.ops {
			cmds = append(cmds, op.commands()...)
		}
		return cmds
	}
}

// results turns the raw replies of a program that ran into one reply per
// operation. It fails on any reply of the wrong shape (errors included:
// the caller handles -TRYAGAIN and -UNCERTAIN before).
func (p r614Prog) results(raws [][]byte) ([]reply, error) {
	parsed := make([]reply, len(raws))
	for i, raw := range raws {
		r, err := parseRaw(raw)
		if err != nil {
			return nil, fmt.Errorf("unparsable reply %s: %v", quoteRaw(raw), err)
		}
		parsed[i] = r
	}
	switch p.form {
	case r614EvalSHA, r614Eval:
		r := parsed[0]
		if r.kind != '*' || len(r.elems) != len(p.ops) {
			return nil, fmt.Errorf("script answered %s, exp an array of %d replies", r, len(p.ops))
		}
		return r.elems, nil
	case r614Issue:
		return parsed, nil
	case r614Multi:
		exec := parsed[len(parsed)-1]
		if parsed[0].String() != "+OK" {
			return nil, fmt.Errorf("MULTI answered %s", parsed[0])
		}
		for _, q := range parsed[1 : len(parsed)-1] {
			if q.String() != "+QUEUED" {
				return nil, fmt.Errorf("a queued command answered %s", q)
			}
		}
		if exec.kind != '*' || len(exec.elems) != len(parsed)-2 {
			return nil, fmt.Errorf("EXEC answered %s, exp an array of %d replies", exec, len(parsed)-2)
		}
		return p.perOp(exec.elems)
	default:
		return p.perOp(parsed)
	}
}

// perOp picks each operation's reply out of its commands' replies: a
// trim's LRANGE (its LTRIM must answer OK).
func (p r614Prog) perOp(cmdReplies []reply) ([]reply, error) {
	out := make([]reply, 0, len(p.ops))
	i := 0
	for _, op := range p.ops {
		out = append(out, cmdReplies[i])
		if n := len(op.commands()); n == 2 {
			if r := cmdReplies[i+1]; r.String() != "+OK" {
				return nil, fmt.Errorf("LTRIM of %s answered %s", op.name, r)
			}
		}
		i += len(op.commands())
	}
	return out, nil
}

// removed returns the elements an operation's reply says it took out of
// its key; an error for a reply no such operation gives.
func (op r614Op) removed(r reply) ([]string, error) {
	switch op.name {
	case "lpush", "rpush":
		if r.kind != ':' || r.n < int64(len(op.elems)) {
			return nil, fmt.Errorf("%s of %d elements answered %s", op.name, len(op.elems), r)
		}
		return nil, nil
	case "lrem":
		if r.kind != ':' || r.n < 0 || r.n > 1 {
			return nil, fmt.Errorf("LREM of the unique element %s answered %s, exp 0 or 1", op.elems[0], r)
		}
		if r.n == 1 {
			return op.elems, nil
		}
		return nil, nil
	case "lpop", "rpop":
		if r.kind != '$' {
			return nil, fmt.Errorf("%s answered %s", op.name, r)
		}
		if r.null {
			return nil, nil
		}
		return []string{string(r.str)}, nil
	default:
		if r.kind != '*' || r.null {
			return nil, fmt.Errorf("the LRANGE of %s answered %s", op.name, r)
		}
		return r.strings(), nil
	}
}

// ---------------------------------------------------------------------------
// Generating programs.

// r614Recent remembers recently pushed elements, so that programs also try
// to remove elements other programs pushed (which a blocked client may have
// taken already: LREM then answers 0).
type r614Recent struct {
	mu    sync.Mutex
	elems []string
	next  int
}

const r614RecentSize = 64

func (r *r614Recent) add(elems ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range elems {
		if len(r.elems) < r614RecentSize {
			r.elems = append(r.elems, e)
		} else {
			r.elems[r.next] = e
			r.next = (r.next + 1) % r614RecentSize
		}
	}
}

func (r *r614Recent) pick(rnd *rand.Rand) (string, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.elems) == 0 {
		return "", false
	}
	return r.elems[rnd.IntN(len(r.elems))], true
}

// r614Gen makes programs. Element names are prefix, a sequence number and
// nothing else: unique across generators with distinct prefixes.
type r614Gen struct {
	r      *rand.Rand
	prefix string
	seq    int
	recent *r614Recent
	// keepEvery adds a "keep" program (a source list cut to keepLen
	// elements, at least 1) about once in keepEvery programs, so the lists
	// stay bounded; 0: never.
	keepEvery, keepLen int
}

const r614KeepLen = 32

func newR614Gen(seed uint64, prefix string, recent *r614Recent) *r614Gen {
	return &r614Gen{r: rand.New(rand.NewPCG(seed, seed^0x614)), prefix: prefix, recent: recent, keepLen: r614KeepLen}
}

func (g *r614Gen) elems(n int) []string {
	out := make([]string, n)
	for i := range out {
		g.seq++
		out[i] = g.prefix + strconv.Itoa(g.seq)
	}
	return out
}

func (g *r614Gen) key() string {
	if g.r.IntN(5) == 0 {
		return r614Q2
	}
	return r614Q
}

func (g *r614Gen) pushName() string {
	if g.r.IntN(2) == 0 {
		return "lpush"
	}
	return "rpush"
}

// lremCount is 1, -1 or 0 (all occurrences): with unique elements each
// removes at most the one.
func (g *r614Gen) lremCount() int { return []int{1, -1, 0}[g.r.IntN(3)] }

// form picks how to send a program; plain only if plainOK.
func (g *r614Gen) form(plainOK bool) r614Form {
	forms := []r614Form{r614EvalSHA, r614Eval, r614Multi}
	if plainOK {
		forms = append(forms, r614Plain)
	}
	return forms[g.r.IntN(len(forms))]
}

// next returns the next program and remembers the elements it pushes.
func (g *r614Gen) next() r614Prog {
	var p r614Prog
	switch x := g.r.IntN(100); {
	case g.keepEvery > 0 && g.r.IntN(g.keepEvery) == 0:
		p = r614Prog{form: g.form(false), shape: "keep", ops: []r614Op{{name: "keep", key: g.key(), n: max(1, g.keepLen)}}}
	case x < 25:
		p = g.issuePush()
	case x < 40:
		p = g.pushThenLrem()
	case x < 55:
		p = g.pushThenTrim()
	case x < 70:
		p = g.pushThenPopSame()
	case x < 90:
		p = g.mix()
	default:
		p = g.removeOthers()
	}
	for _, op := range p.ops {
		if op.name == "lpush" || op.name == "rpush" {
			g.recent.add(op.elems...)
		}
	}
	return p
}

// issuePush is Redis issue #614's trigger: a script pushing several
// elements at once onto the list clients wait on.
func (g *r614Gen) issuePush() r614Prog {
	op := r614Op{name: "lpush", key: r614Q, elems: g.elems(1 + g.r.IntN(4))}
	form := r614Issue
	if g.r.IntN(2) == 0 {
		form = g.form(true)
		op.name, op.key = g.pushName(), g.key()
	}
	return r614Prog{form: form, shape: "push", ops: []r614Op{op}}
}

// pushThenLrem pushes elements and removes some of them again: every
// LREM finds its element, since nobody is served mid-program.
func (g *r614Gen) pushThenLrem() r614Prog {
	key := g.key()
	push := r614Op{name: g.pushName(), key: key, elems: g.elems(1 + g.r.IntN(4))}
	ops := []r614Op{push}
	for _, e := range push.elems {
		if g.r.IntN(2) == 0 || len(ops) == 1 {
			ops = append(ops, r614Op{name: "lrem", key: key, elems: []string{e}, n: g.lremCount(), want: r614WantInt(1)})
		}
	}
	if e, ok := g.recent.pick(g.r); ok && g.r.IntN(2) == 0 {
		ops = append(ops, r614Op{name: "lrem", key: g.key(), elems: []string{e}, n: g.lremCount()})
	}
	return r614Prog{form: g.form(true), shape: "push+lrem", ops: ops}
}

// pushThenTrim pushes n elements at one end and trims k from that end:
// the trim takes the last min(k, n) pushed first (and, for k > n, more).
func (g *r614Gen) pushThenTrim() r614Prog {
	key := g.key()
	n := 1 + g.r.IntN(4)
	k := 1 + g.r.IntN(n+2)
	elems := g.elems(n)
	if g.r.IntN(2) == 0 {
		want := elems[max(0, n-k):]
		return r614Prog{form: g.form(false), shape: "push+ltrim", ops: []r614Op{
			{name: "rpush", key: key, elems: elems},
			{name: "trimtail", key: key, n: k, want: r614WantEnds(nil, want)},
		}}
	}
	rev := slices.Clone(elems)
	slices.Reverse(rev)
	return r614Prog{form: g.form(false), shape: "push+ltrim", ops: []r614Op{
		{name: "lpush", key: key, elems: elems},
		{name: "trimhead", key: key, n: k, want: r614WantEnds(rev[:min(k, n)], nil)},
	}}
}

// pushThenPopSame pushes and pops the same element: nobody is served.
func (g *r614Gen) pushThenPopSame() r614Prog {
	key := g.key()
	e := g.elems(2)
	var ops []r614Op
	switch g.r.IntN(3) {
	case 0:
		ops = []r614Op{{name: "lpush", key: key, elems: e[:1]}, {name: "lpop", key: key, want: r614WantElem(e[0])}}
	case 1:
		ops = []r614Op{{name: "rpush", key: key, elems: e[:1]}, {name: "rpop", key: key, want: r614WantElem(e[0])}}
	default:
		ops = []r614Op{
			{name: "rpush", key: key, elems: e},
			{name: "rpop", key: key, want: r614WantElem(e[1])},
			{name: "lrem", key: key, elems: e[:1], n: g.lremCount(), want: r614WantInt(1)},
		}
	}
	return r614Prog{form: g.form(true), shape: "push+pop", ops: ops}
}

// mix is a random sequence of pushes and removals on both lists.
func (g *r614Gen) mix() r614Prog {
	form := g.form(true)
	var ops []r614Op
	var mine []string
	for i, n := 0, 2+g.r.IntN(4); i < n; i++ {
		key := g.key()
		switch x := g.r.IntN(10); {
		case x < 4:
			op := r614Op{name: g.pushName(), key: key, elems: g.elems(1 + g.r.IntN(3))}
			mine = append(mine, op.elems...)
			ops = append(ops, op)
		case x < 6:
			e, ok := g.recent.pick(g.r)
			if len(mine) > 0 && (g.r.IntN(2) == 0 || !ok) {
				e, ok = mine[g.r.IntN(len(mine))], true
			}
			if ok {
				ops = append(ops, r614Op{name: "lrem", key: key, elems: []string{e}, n: g.lremCount()})
			}
		case x < 8:
			ops = append(ops, r614Op{name: []string{"lpop", "rpop"}[g.r.IntN(2)], key: key})
		default:
			if form != r614Plain {
				ops = append(ops, r614Op{name: []string{"trimhead", "trimtail"}[g.r.IntN(2)], key: key, n: 1 + g.r.IntN(3)})
			}
		}
	}
	if len(ops) == 0 {
		ops = append(ops, r614Op{name: "rpush", key: r614Q, elems: g.elems(1)})
	}
	return r614Prog{form: form, shape: "mix", ops: ops}
}

// removeOthers removes elements other programs pushed: LREM by name, or a
// pop.
func (g *r614Gen) removeOthers() r614Prog {
	var ops []r614Op
	for i, n := 0, 1+g.r.IntN(2); i < n; i++ {
		if e, ok := g.recent.pick(g.r); ok && g.r.IntN(3) != 0 {
			ops = append(ops, r614Op{name: "lrem", key: g.key(), elems: []string{e}, n: g.lremCount()})
		} else {
			ops = append(ops, r614Op{name: []string{"lpop", "rpop"}[g.r.IntN(2)], key: g.key()})
		}
	}
	return r614Prog{form: g.form(true), shape: "remove", ops: ops}
}

func r614WantInt(n int64) func(reply) string {
	return func(r reply) string {
		if r.kind != ':' || r.n != n {
			return fmt.Sprintf("exp :%d, got %s", n, r)
		}
		return ""
	}
}

func r614WantElem(e string) func(reply) string {
	return func(r reply) string {
		if r.kind != '$' || r.null || string(r.str) != e {
			return fmt.Sprintf("exp %q, got %s", e, r)
		}
		return ""
	}
}

// r614WantEnds wants an array beginning with head and ending with tail.
func r614WantEnds(head, tail []string) func(reply) string {
	return func(r reply) string {
		got := r.strings()
		if r.kind != '*' || len(got) < len(head) || len(got) < len(tail) ||
			!slices.Equal(got[:len(head)], head) || !slices.Equal(got[len(got)-len(tail):], tail) {
			return fmt.Sprintf("exp an array beginning %v and ending %v, got %s", head, tail, r)
		}
		return ""
	}
}
