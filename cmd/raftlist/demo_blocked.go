package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/raftlist/raftlist/cluster/local"
)

// The blocked clients' part of the failover story. Clients wait in BLPOP
// on queueKey through every node: some are served before the kill, in the
// order they blocked; some are still blocked when the leader dies. Those
// on followers must be told to retry (nothing was popped for them), those
// on the dead leader lose their connection; none may hang, and no job may
// be both handed to a client and left in the list.

// queueKey is the list the blocked clients wait on.
const queueKey = "demo:queue"

// blockedBound is how long a blocked client may take to get its answer
// once one is due (it was served, or its leader is gone); longer is a hang
// and fails the demo.
const blockedBound = 20 * time.Second

// errLeaderChangedPrefix starts the retry error a client gets when a new
// leader purged its waiter.
const errLeaderChangedPrefix = "TRYAGAIN the leader changed while the client was blocked"

// blockedStory is the state of the blocked clients' part.
type blockedStory struct {
	d        *demo
	next     int                       // clients started so far, for names
	jobs     []string                  // jobs pushed and acknowledged
	received map[string]string         // job -> the client it was handed to
	stuck    []*blockedClient          // blocked when the leader was killed
	retry    []*blockedClient          // told to retry, and retrying
	failures []string                  // what went wrong, reported by check
	clients  map[string]*redis.Client  // one per blocked client, closed at the end
	byNode   map[*local.Node]int       // clients started per node, for the story
	answered map[*blockedClient]string // how each stuck client ended
}

// blockedClient is one client waiting in BLPOP.
type blockedClient struct {
	name string
	node *local.Node
	rc   *redis.Client
	sent time.Time
	done chan blpopResult
}

type blpopResult struct {
	val []string
	err error
	at  time.Time
}

func newBlockedStory(d *demo) *blockedStory {
	return &blockedStory{d: d, received: map[string]string{}, clients: map[string]*redis.Client{},
		byNode: map[*local.Node]int{}, answered: map[*blockedClient]string{}}
}

func (b *blockedStory) fail(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	b.failures = append(b.failures, msg)
	b.d.detail("FAIL: %s", msg)
}

// close closes every blocked client's connection.
func (b *blockedStory) close() {
	for _, rc := range b.clients {
		rc.Close()
	}
}

// block starts a client that waits in BLPOP queueKey 0 through n.
func (b *blockedStory) block(ctx context.Context, n *local.Node) *blockedClient {
	b.next++
	name := "b" + strconv.Itoa(b.next)
	rc := redis.NewClient(&redis.Options{
		Addr: n.ClientAddr, MaxRetries: -1, PoolSize: 1, Protocol: 2, DisableIdentity: true,
		DialTimeout: time.Second, WriteTimeout: 2 * time.Second, ContextTimeoutEnabled: true,
	})
	b.clients[name] = rc
	b.byNode[n]++
	c := &blockedClient{name: name, node: n, rc: rc, done: make(chan blpopResult, 1)}
	b.again(ctx, c)
	return c
}

// again sends the client's BLPOP (again, after a retry error).
func (b *blockedStory) again(ctx context.Context, c *blockedClient) {
	c.sent = time.Now()
	go func() {
		v, err := c.rc.BLPop(ctx, 0, queueKey).Result()
		c.done <- blpopResult{val: v, err: err, at: time.Now()}
	}()
}

// await waits for the client's answer until blockedBound after due, when
// it became due; false is a hang.
func (c *blockedClient) await(due time.Time) (blpopResult, bool) {
	select {
	case r := <-c.done:
		return r, true
	case <-time.After(time.Until(due.Add(blockedBound))):
		return blpopResult{}, false
	}
}

// awaitWaiters waits until n's state machine counts want waiters.
func awaitWaiters(ctx context.Context, n *local.Node, want int) error {
	var last string
	for {
		v, err := n.Info(ctx)
		if err == nil {
			last = v["raft_blocked_waiters"]
			if last == strconv.Itoa(want) {
				return nil
			}
		}
		if serr := sleepCtx(ctx, 10*time.Millisecond); serr != nil {
			return fmt.Errorf("%s never counted %d blocked clients (last: %s, %v)", n.ID, want, last, err)
		}
	}
}

// push RPUSHes jobs to queueKey through n, retrying only TRYAGAIN (not
// applied), and records them as acknowledged.
func (b *blockedStory) push(ctx context.Context, n *local.Node, jobs ...string) error {
	rc := redis.NewClient(&redis.Options{Addr: n.ClientAddr, MaxRetries: -1, Protocol: 2, DisableIdentity: true})
	defer rc.Close()
	for {
		err := rc.RPush(ctx, queueKey, toAny(jobs)...).Err()
		if err == nil {
			b.jobs = append(b.jobs, jobs...)
			return nil
		}
		if !strings.HasPrefix(err.Error(), "TRYAGAIN") {
			return fmt.Errorf("RPUSH %s through %s: %w", queueKey, n.ID, err)
		}
		if err := sleepCtx(ctx, 50*time.Millisecond); err != nil {
			return err
		}
	}
}

func toAny(xs []string) []any {
	out := make([]any, len(xs))
	for i, x := range xs {
		out[i] = x
	}
	return out
}

// took records what a client received.
func (b *blockedStory) took(c *blockedClient, r blpopResult) string {
	job := r.val[1]
	if prev, ok := b.received[job]; ok {
		b.fail("%s was handed to both %s and %s", job, prev, c.name)
	}
	b.received[job] = c.name
	return job
}

// serveBeforeKill blocks one client on each node, one after the other,
// and pushes as many jobs through a follower: each client gets the job of
// its place in the queue.
func (b *blockedStory) serveBeforeKill(ctx context.Context, leader, follower *local.Node) error {
	d := b.d
	d.step("Blocked clients: one client on each node waits in BLPOP %q, one after the other", queueKey)
	var cs []*blockedClient
	for i, n := range d.cluster.Nodes {
		cs = append(cs, b.block(ctx, n))
		if err := awaitWaiters(ctx, leader, i+1); err != nil {
			return err
		}
	}
	jobs := []string{"job-1", "job-2", "job-3"}
	pushed := time.Now()
	if err := b.push(ctx, follower, jobs...); err != nil {
		return err
	}
	d.detail("RPUSH %s %s through follower %s", queueKey, strings.Join(jobs, " "), follower.ID)
	for i, c := range cs {
		r, ok := c.await(pushed)
		switch {
		case !ok:
			b.fail("%s on %s got no answer %v after the push: a hang", c.name, c.node.ID, blockedBound)
		case r.err != nil:
			b.fail("%s on %s: %v", c.name, c.node.ID, r.err)
		default:
			job := b.took(c, r)
			d.detail("%s, blocked %s on %s (%s), got %s %s after the push", c.name, ordinal(i+1), c.node.ID,
				role(c.node, leader), job, r.at.Sub(pushed).Round(time.Millisecond))
			if job != jobs[i] {
				b.fail("%s blocked %s but got %s: not first come, first served", c.name, ordinal(i+1), job)
			}
		}
	}
	return ctx.Err()
}

// blockForKill leaves two clients blocked on each node.
func (b *blockedStory) blockForKill(ctx context.Context, leader *local.Node) error {
	for _, n := range b.d.cluster.Nodes {
		for i := 0; i < 2; i++ {
			b.stuck = append(b.stuck, b.block(ctx, n))
		}
	}
	if err := awaitWaiters(ctx, leader, len(b.stuck)); err != nil {
		return err
	}
	var on []string
	for _, n := range b.d.cluster.Nodes {
		var names []string
		for _, c := range b.stuck {
			if c.node == n {
				names = append(names, c.name)
			}
		}
		on = append(on, fmt.Sprintf("%s on %s (%s)", strings.Join(names, ", "), n.ID, role(n, leader)))
	}
	b.d.step("%d more clients wait in BLPOP %q and nothing is pushed to it: %s", len(b.stuck), queueKey, strings.Join(on, "; "))
	return ctx.Err()
}

// afterKill collects how the clients blocked at the kill ended: those on
// followers with the retry error, those on the killed leader with a closed
// connection.
func (b *blockedStory) afterKill(old *local.Node, killed time.Time) {
	d := b.d
	var retried, closed []string
	var slowest time.Duration
	for _, c := range b.stuck {
		r, ok := c.await(killed)
		if !ok {
			b.fail("%s on %s got no answer %v after the kill: a hang", c.name, c.node.ID, blockedBound)
			continue
		}
		after := r.at.Sub(killed)
		var re redis.Error
		switch {
		case r.err == nil:
			job := b.took(c, r)
			b.fail("%s on %s got %s, but nothing was pushed to %q before the kill", c.name, c.node.ID, job, queueKey)
		case c.node == old && !errors.As(r.err, &re):
			closed = append(closed, c.name)
			b.answered[c] = "connection closed: " + r.err.Error()
		case c.node != old && errors.As(r.err, &re) && strings.HasPrefix(r.err.Error(), errLeaderChangedPrefix):
			retried = append(retried, c.name)
			b.answered[c] = r.err.Error()
			b.retry = append(b.retry, c)
			slowest = max(slowest, after)
		default:
			b.fail("%s on %s ended %v after the kill with %q, neither the retry error nor a closed connection",
				c.name, c.node.ID, after.Round(time.Millisecond), r.err)
		}
	}
	d.step("The clients blocked at the kill: %d on followers were told to retry, %d on the dead leader lost their connection; none hangs",
		len(retried), len(closed))
	if len(retried) > 0 {
		d.detail("%s: -%s (within %v of the kill)", strings.Join(retried, ", "), b.answered[b.retry[0]],
			slowest.Round(time.Millisecond))
	}
	if len(closed) > 0 {
		d.detail("%s: their connection to %s closed with it", strings.Join(closed, ", "), old.ID)
	}
}

// retryAfterKill lets the clients told to retry block again, then pushes
// two jobs more than they are: each gets one, two stay in the list.
func (b *blockedStory) retryAfterKill(ctx context.Context, leader *local.Node) error {
	if len(b.retry) == 0 {
		return nil
	}
	d := b.d
	for _, c := range b.retry {
		b.again(ctx, c)
	}
	if err := awaitWaiters(ctx, leader, len(b.retry)); err != nil {
		return err
	}
	var jobs []string
	for i := 0; i < len(b.retry)+2; i++ {
		jobs = append(jobs, "job-"+strconv.Itoa(len(b.jobs)+i+1))
	}
	pushed := time.Now()
	if err := b.push(ctx, leader, jobs...); err != nil {
		return err
	}
	d.step("The %d clients told to retry sent BLPOP again; RPUSH %s of %d jobs through the new leader %s",
		len(b.retry), queueKey, len(jobs), leader.ID)
	var got []string
	for _, c := range b.retry {
		r, ok := c.await(pushed)
		switch {
		case !ok:
			b.fail("%s retried on %s and got no answer %v after the push: a hang", c.name, c.node.ID, blockedBound)
		case r.err != nil:
			b.fail("%s retried on %s: %v", c.name, c.node.ID, r.err)
		default:
			got = append(got, fmt.Sprintf("%s %s", c.name, b.took(c, r)))
		}
	}
	d.detail("served after the retry: %s (%s after the push)", strings.Join(got, ", "), since(pushed))
	return ctx.Err()
}

// check compares the queue with what the clients received: every job
// acknowledged is either in the list or was handed to one client, never
// both, and no waiter is left on any node.
func (b *blockedStory) check(ctx context.Context, leader *local.Node) {
	d := b.d
	d.step("Checking %q against the jobs handed to blocked clients", queueKey)
	list, err := leader.Client().LRange(ctx, queueKey, 0, -1).Result()
	if err != nil {
		b.fail("LRANGE %s: %v", queueKey, err)
		return
	}
	for _, p := range queueProblems(b.jobs, b.received, list) {
		b.fail("%s", p)
	}
	for _, n := range d.cluster.Nodes {
		v, err := n.Info(ctx)
		if err != nil {
			b.fail("%v", err)
		} else if w := v["raft_blocked_waiters"]; w != "0" {
			b.fail("%s still counts %s blocked clients", n.ID, w)
		}
	}
	d.detail("%d jobs pushed: %d handed to blocked clients, %d left in the list %v, none both; no waiter left on any node",
		len(b.jobs), len(b.received), len(list), list)
}

// queueProblems returns what is wrong with the queue's final contents,
// given the jobs acknowledged and the client each handed-out job went to:
// every job is either in the list once or was handed to a client, never
// both, and nothing else is in the list.
func queueProblems(jobs []string, received map[string]string, list []string) []string {
	var bad []string
	inList := map[string]int{}
	for _, j := range list {
		inList[j]++
	}
	for _, j := range jobs {
		who, handed := received[j]
		switch {
		case handed && inList[j] > 0:
			bad = append(bad, fmt.Sprintf("%s was handed to %s and is also still in %q", j, who, queueKey))
		case !handed && inList[j] == 0:
			bad = append(bad, fmt.Sprintf("acknowledged %s is neither in %q nor handed to any client", j, queueKey))
		case inList[j] > 1:
			bad = append(bad, fmt.Sprintf("%s is in %q %d times", j, queueKey, inList[j]))
		}
	}
	for j := range inList {
		if !slices.Contains(jobs, j) {
			bad = append(bad, fmt.Sprintf("%s is in %q but was never pushed", j, queueKey))
		}
	}
	slices.Sort(bad)
	return bad
}

func role(n, leader *local.Node) string {
	if n == leader {
		return "the leader"
	}
	return "a follower"
}

func ordinal(i int) string {
	switch i {
	case 1:
		return "first"
	case 2:
		return "second"
	case 3:
		return "third"
	}
	return strconv.Itoa(i) + "th"
}
