package cluster

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/raftlist/raftlist/fsm"
	"github.com/raftlist/raftlist/fsm/resp"
)

// The replicated state keeps every ended waiter's outcome until its owner
// says it has seen it (fsm/blocking_ended.go), so that a node that catches
// up from a snapshot still answers its blocked clients with what was
// popped for them. This process queues the seqs of its own waiters whose
// ends it has seen, by applying the entry or installing a snapshot, and
// one goroutine proposes them as one RAFT ACK at most every ackInterval:
// a stream of served clients costs a few small entries a second, not one
// entry per client.

// ackInterval is how long ends gather before one ACK carries them all.
const ackInterval = 50 * time.Millisecond

// ackRetry is how long a failed ACK (no leader, a leader change) waits
// before it is tried again.
const ackRetry = 200 * time.Millisecond

// maxAckBatch bounds the seqs one ACK entry carries (at most ~10 bytes
// each).
const maxAckBatch = 4096

// ackQueue holds the seqs to acknowledge.
type ackQueue struct {
	mu   sync.Mutex
	seqs []uint64
	wake chan struct{} // capacity 1: the sender is woken once per batch
}

func newAckQueue() *ackQueue { return &ackQueue{wake: make(chan struct{}, 1)} }

// add queues seq; it never blocks (it runs inside Apply and Restore).
func (q *ackQueue) add(seq uint64) {
	q.mu.Lock()
	q.seqs = append(q.seqs, seq)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// take removes and returns up to n queued seqs, oldest first.
func (q *ackQueue) take(n int) []uint64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	n = min(n, len(q.seqs))
	out := append([]uint64(nil), q.seqs[:n]...)
	q.seqs = append(q.seqs[:0], q.seqs[n:]...)
	return out
}

// putBack returns seqs an ACK failed to carry to the front of the queue.
func (q *ackQueue) putBack(seqs []uint64) {
	q.mu.Lock()
	q.seqs = append(seqs, q.seqs...)
	q.mu.Unlock()
}

// sendAcks proposes the queued acknowledgements until the server closes.
func (s *Server) sendAcks() {
	for {
		select {
		case <-s.done:
			return
		case <-s.acks.wake:
		}
		wait := ackInterval
		for {
			select {
			case <-s.done:
				return
			case <-time.After(wait):
			}
			seqs := s.acks.take(maxAckBatch)
			if len(seqs) == 0 {
				break
			}
			wait = ackInterval
			if !s.proposeAck(seqs) {
				s.acks.putBack(seqs)
				wait = ackRetry
			}
		}
	}
}

// proposeAck puts one ACK entry for seqs in the log through the leader and
// reports whether it was applied there.
func (s *Server) proposeAck(seqs []uint64) bool {
	args := make([]string, 0, 1+len(seqs))
	args = append(args, s.node.Owner())
	for _, seq := range seqs {
		args = append(args, strconv.FormatUint(seq, 10))
	}
	return string(resp.AppendRESP(nil, s.internal("ack", args...))) == "+OK\r\n"
}

// RAFT ACK owner seq [seq ...] (internal)
func raftAck(s *Server, r *request) resp.Reply {
	a := fsm.Ack{Owner: string(r.args[2]), Seqs: make([]uint64, 0, len(r.args)-3)}
	for _, arg := range r.args[3:] {
		seq, err := strconv.ParseUint(string(arg), 10, 64)
		if err != nil {
			return resp.ErrSyntax
		}
		a.Seqs = append(a.Seqs, seq)
	}
	return s.onLeader(r, func(ctx context.Context) error { return s.node.ProposeAck(ctx, a) })
}
