package cluster

import (
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/raftlist/raftlist/raftnode"
)

// ReadyMaxLag is how many committed entries a node may have left to apply
// and still count as ready: more, and what it serves lags what the leader
// acknowledged by more than a moment.
const ReadyMaxLag = 1000

// readiness says whether the node should get client traffic now, and why
// not in one line: it must know a leader, have heard from it within
// raftnode.ContactBound (a leader: have applied its own term-start entry),
// be applying (not halted), and have at most ReadyMaxLag committed entries
// still to apply.
func (s *Server) readiness() (bool, string) {
	st := s.node.Status()
	lag := uint64(0)
	if st.CommitIndex > st.AppliedIndex {
		lag = st.CommitIndex - st.AppliedIndex
	}
	switch {
	case st.Halted != nil:
		return false, "state machine halted: " + oneLine(st.Halted)
	case st.Role == "leader" && !s.node.IsLeader():
		return false, fmt.Sprintf("leader of term %d, not yet serving (its term-start entry is not applied yet)", st.Term)
	case st.Role == "leader":
	case st.LeaderID == "":
		return false, fmt.Sprintf("no leader known (%s in term %d)", st.Role, st.Term)
	default:
		last, bound := s.node.LastContact(), s.node.ContactBound()
		if last.IsZero() {
			return false, fmt.Sprintf("never heard from the leader %s", st.LeaderID)
		}
		if since := time.Since(last); since > bound {
			return false, fmt.Sprintf("no contact with the leader %s for %s (bound %s)",
				st.LeaderID, since.Round(100*time.Millisecond), bound)
		}
	}
	if lag > ReadyMaxLag {
		return false, fmt.Sprintf("%d committed entries not applied yet (applied %d of %d; bound %d)",
			lag, st.AppliedIndex, st.CommitIndex, ReadyMaxLag)
	}
	leader := st.LeaderID
	if st.Role == "leader" {
		leader = "itself"
	}
	return true, fmt.Sprintf("%s, leader %s, applied %d of %d", st.Role, leader, st.AppliedIndex, st.CommitIndex)
}

// HealthHandler serves /healthz: 200 while the process serves HTTP at all
// (a liveness probe; a node without a leader is alive and must not be
// restarted for it).
func (m *Metrics) HealthHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
}

// ReadyHandler serves /readyz: 200 when the node is ready for client
// traffic (readiness), else 503; either way the body is one line saying
// why.
func (m *Metrics) ReadyHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		s := m.srv.Load()
		if s == nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(w, "not ready: starting")
			return
		}
		ok, why := s.readiness()
		if !ok {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(w, "not ready: "+why)
			return
		}
		fmt.Fprintln(w, "ready: "+why)
	})
}

// metricsAddr is the address the metrics listener got (port 0 resolved).
type metricsAddr struct{ v atomic.Pointer[string] }

// SetAddr records the address the metrics listener serves on, for INFO.
func (m *Metrics) SetAddr(addr string) { m.addr.v.Store(&addr) }

// Addr is the address set with SetAddr, or "".
func (m *Metrics) Addr() string {
	if m == nil {
		return ""
	}
	if p := m.addr.v.Load(); p != nil {
		return *p
	}
	return ""
}

// peerLinks is the leader's view of each follower for the per-peer
// gauges; nil on a follower.
func peerLinks(n *raftnode.Node) []raftnode.PeerState {
	if n.Status().Role != "leader" {
		return nil
	}
	peers, err := n.Peers()
	if err != nil {
		return nil
	}
	out := peers[:0]
	for _, p := range peers {
		if p.Link != raftnode.LinkSelf {
			out = append(out, p)
		}
	}
	return out
}
