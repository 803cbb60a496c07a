package cluster

import (
	"testing"

	"github.com/raftlist/raftlist/fsm"
	"github.com/raftlist/raftlist/fsm/resp"
)

// The leader's relay hands an applied outcome only to the RAFT OUTCOME
// asking about that waiter, never blocks Apply, and forgets a waiter once
// its request is done (a later outcome of the same id, or of a stale
// request replaced by a newer one, goes nowhere).
func TestOutcomeRelay(t *testing.T) {
	var o outcomeRelay
	o.deliver([]fsm.Served{{WaiterID: fsm.WaiterID{Owner: "f", Seq: 1}, Reply: resp.Int(1)}}) // nobody asks: nothing happens
	a := fsm.WaiterID{Owner: "f", Seq: 1}
	b := fsm.WaiterID{Owner: "f", Seq: 2}
	cha := o.add(a)
	chb := o.add(b)
	o.deliver([]fsm.Served{{WaiterID: a, Reply: resp.Int(7)}, {WaiterID: fsm.WaiterID{Owner: "g", Seq: 2}, Reply: resp.Int(8)}})
	select {
	case r := <-cha:
		if r != resp.Int(7) {
			t.Fatalf("waiter a got %v", r)
		}
	default:
		t.Fatal("waiter a's outcome was not handed over")
	}
	if len(chb) != 0 {
		t.Fatal("waiter b got another owner's outcome with the same seq")
	}
	// A second outcome for an id whose channel is full never blocks Apply.
	o.deliver([]fsm.Served{{WaiterID: b, Reply: resp.Int(1)}})
	o.deliver([]fsm.Served{{WaiterID: b, Reply: resp.Int(2)}})
	if r := <-chb; r != resp.Int(1) {
		t.Fatalf("waiter b got %v, want the first outcome", r)
	}
	// A newer request for b replaces the older; removing the older one
	// leaves the newer registered.
	newer := o.add(b)
	o.remove(b, chb)
	o.deliver([]fsm.Served{{WaiterID: b, Reply: resp.Int(3)}})
	if r := <-newer; r != resp.Int(3) {
		t.Fatalf("newer request for b got %v", r)
	}
	o.remove(b, newer)
	o.remove(a, cha)
	if o.n.Load() != 0 || len(o.waits) != 0 {
		t.Fatalf("relay still holds %d waiters", len(o.waits))
	}
}

// A follower keeps at most maxRelays long polls open to the leader; a
// client blocked beyond that is left to the follower's own apply, and the
// count is not changed by the refused relay.
func TestOutcomeRelaysAreBounded(t *testing.T) {
	s := &Server{} // no node: a relay that started would dereference it
	s.relays.Store(maxRelays)
	stop := s.relayOutcome("owner", 1)
	stop()
	if got := s.relays.Load(); got != maxRelays {
		t.Fatalf("relays in flight: %d, want %d", got, maxRelays)
	}
}

// blocked_clients counts a client once its command blocked (its waiter is
// in the log), not from when its slot was made before the proposal: Redis's
// own tests wait for the count and then push, and the push must find the
// waiter ("Circular BRPOPLPUSH" through a follower).
func TestBlockedClientsCountsOnlyCommandsThatBlocked(t *testing.T) {
	var b blockRegistry
	b.register(1, &client{})
	b.register(2, &client{})
	if n := b.count(); n != 0 {
		t.Fatalf("exp 0 blocked before any command blocked, got %d", n)
	}
	b.blocked(1)
	b.blocked(1)
	if n := b.count(); n != 1 {
		t.Fatalf("exp 1 blocked, got %d", n)
	}
	b.drop(2)
	b.drop(1)
	if n := b.count(); n != 0 {
		t.Fatalf("exp 0 blocked after both ended, got %d", n)
	}
}
