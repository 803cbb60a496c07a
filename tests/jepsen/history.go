package main

import (
	"encoding/json"
	"io"
	"sort"
	"sync"
	"time"
)

// op is one client operation as the harness saw it: what was asked, of
// which node, when it started and ended, and what came back.
type op struct {
	Workload string   `json:"workload"`
	Worker   int      `json:"worker"`
	Node     string   `json:"node"`
	F        string   `json:"f"` // rpush, multi, eval, brpop, blmove, lrange, ...
	Key      string   `json:"key"`
	Dst      string   `json:"dst,omitempty"`    // a move's destination
	Values   []string `json:"values,omitempty"` // pushed, popped or moved elements
	// Start and End are offsets from the run's start.
	Start   time.Duration `json:"start_ns"`
	End     time.Duration `json:"end_ns"`
	Outcome outcome       `json:"-"`
	Result  string        `json:"outcome"`
	N       int64         `json:"n,omitempty"`   // an integer answer (length)
	Nil     bool          `json:"nil,omitempty"` // a nil answer (empty, timed out)
	List    []string      `json:"list,omitempty"`
	Err     string        `json:"err,omitempty"`
	// Dropped is set when the harness closed the connection after sending
	// the command, before its reply (the client-side fault).
	Dropped bool `json:"dropped,omitempty"`
	// MustAnswer marks a blocked client a fault placed on purpose (on a
	// follower about to lag, on a node about to be removed): it must get an
	// answer or an explicit error before its deadline. Hung is set when it
	// got nothing at all.
	MustAnswer bool `json:"must_answer,omitempty"`
	Hung       bool `json:"hung,omitempty"`
}

func (o *op) latency() time.Duration { return o.End - o.Start }

// history collects every operation of a run, from all workers.
type history struct {
	start time.Time
	mu    sync.Mutex
	ops   []*op
}

func newHistory(start time.Time) *history { return &history{start: start} }

// now returns the offset from the run's start.
func (h *history) now() time.Duration { return time.Since(h.start) }

func (h *history) add(o *op) {
	o.Result = o.Outcome.String()
	h.mu.Lock()
	h.ops = append(h.ops, o)
	h.mu.Unlock()
}

// all returns the operations sorted by start.
func (h *history) all() []*op {
	h.mu.Lock()
	out := append([]*op(nil), h.ops...)
	h.mu.Unlock()
	sort.SliceStable(out, func(i, j int) bool { return out[i].Start < out[j].Start })
	return out
}

// encodeOps writes one operation per line, as JSON.
func encodeOps(w io.Writer, ops []*op) error {
	enc := json.NewEncoder(w)
	for _, o := range ops {
		if err := enc.Encode(o); err != nil {
			return err
		}
	}
	return nil
}

// counts are ok / failed / unknown totals.
type counts struct{ OK, Failed, Unknown int }

func (c *counts) add(o outcome) {
	switch o {
	case ok:
		c.OK++
	case failed:
		c.Failed++
	default:
		c.Unknown++
	}
}

func (c counts) total() int { return c.OK + c.Failed + c.Unknown }
