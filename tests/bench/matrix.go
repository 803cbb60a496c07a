package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/raftlist/raftlist/cluster/local"
	"github.com/raftlist/raftlist/fsm/resp"
)

// setupConns keeps one setup connection per address for the whole phase.
type setupConns map[string]setupConn

func (s setupConns) get(addr string) (setupConn, error) {
	if c, ok := s[addr]; ok {
		return c, nil
	}
	c, err := dialSetup(addr)
	if err != nil {
		return c, err
	}
	s[addr] = c
	return c, nil
}

func (s setupConns) close() {
	for _, c := range s {
		c.close()
	}
}

// runMatrix runs every workload at every client count and pipeline depth
// against every target. Targets take turns cell by cell, so a burst of
// load from elsewhere on the machine lands on all of them alike.
func runMatrix(p *plan, rep *report, targets []*target, c *local.Cluster) error {
	setups := setupConns{}
	defer setups.close()
	pushed := map[string]int64{} // target|clients|pipeline -> pushes measured
	for _, clients := range p.clients {
		for _, pipe := range p.pipes {
			cfg := "|" + strconv.Itoa(clients) + "|" + strconv.Itoa(pipe)
			for _, w := range matrixWorkloads {
				if p.only != nil && !p.only[strings.Fields(w.name)[0]] {
					continue
				}
				for _, t := range targets {
					if !w.write && !t.readsToo {
						continue
					}
					sc, err := setups.get(t.setup)
					if err != nil {
						return err
					}
					if w.need != nil {
						if err := sc.topUp(w.key, w.need(pushed[t.name+cfg])); err != nil {
							return fmt.Errorf("%s: prepare %s: %w", t.name, w.name, err)
						}
					}
					cl := cell{addr: t.addr, op: opFor(t, w.write, w.cmd), clients: clients, pipeline: pipe,
						warmup: p.warmup, measure: p.measure, pids: t.pids(), logIndex: t.logIndex}
					var prof *profiling
					if p.profileDir != "" && p.profileAt == fmt.Sprintf("%s/%d/%d/%s", strings.Fields(w.name)[0], clients, pipe, t.name) {
						// A profile needs more samples than a cell: this
						// one cell runs at least 5 s.
						cl.measure = max(cl.measure, 5*time.Second)
						prof = startProfiles(c, p.profileDir, cl.warmup, cl.measure)
					}
					res, err := cl.run()
					if err != nil {
						return fmt.Errorf("%s %s: %w", t.name, w.name, err)
					}
					if prof != nil {
						rep.profiles = prof.wait()
					}
					if w.name == "LPUSH" || w.name == "RPUSH" {
						pushed[t.name+cfg] = max(pushed[t.name+cfg], res.ops)
					}
					rep.add(row{workload: w.name, clients: clients, pipeline: pipe, target: t.name, res: res})
				}
			}
			for _, t := range targets {
				sc, err := setups.get(t.setup)
				if err != nil {
					return err
				}
				if err := sc.del(keyPush, keyPop, keyRange, keyMove); err != nil {
					return fmt.Errorf("%s: clean up: %w", t.name, err)
				}
			}
		}
	}
	return nil
}

// extraClients are the client counts of the script and transaction runs.
func extraClients(p *plan) []int {
	if p.quick {
		return []int{50}
	}
	return []int{1, 50}
}

const (
	wlEval  = "EVAL (10 RPUSH)"
	wlMulti = "MULTI/EXEC (10 LPUSH)"
	wlLock  = "SET lock NX PX 30000 + DEL"
)

// evalScript pushes its arguments one by one, as scripts do.
const evalScript = "for i = 1, #ARGV do redis.call('RPUSH', KEYS[1], ARGV[i]) end return #ARGV"

// runScripts runs an EVAL that pushes 10 elements, unless raftlist does
// not know EVAL yet (scripts were landing when this was written).
func runScripts(p *plan, rep *report, targets []*target) error {
	evalArgs := words("EVAL", evalScript, "1", "bench:eval")
	for i := 0; i < 10; i++ {
		evalArgs = append(evalArgs, []byte(element))
	}
	for _, t := range targets {
		if !t.raftlist {
			continue
		}
		cn, err := dial(t.addr)
		if err != nil {
			return err
		}
		v, err := cn.do(10*time.Second, evalArgs...)
		cn.close()
		if err != nil {
			return err
		}
		if v.Kind == resp.KindError {
			note := fmt.Sprintf("EVAL skipped: raftlist answered %q", v.Str)
			if !strings.Contains(strings.ToLower(string(v.Str)), "unknown command") {
				note = fmt.Sprintf("EVAL skipped: raftlist answered an unexpected error %q", v.Str)
			}
			rep.notes = append(rep.notes, note)
			logf("%s", note)
			return nil
		}
	}
	return runExtra(p, rep, targets, wlEval, func(t *target) op { return opFor(t, true, evalArgs) }, "bench:eval")
}

// runMulti runs MULTI, 10 LPUSH, EXEC as one op.
func runMulti(p *plan, rep *report, targets []*target) error {
	cmds := [][][]byte{words("MULTI")}
	for i := 0; i < 10; i++ {
		cmds = append(cmds, words("LPUSH", "bench:multi", element))
	}
	cmds = append(cmds, words("EXEC"))
	return runExtra(p, rep, targets, wlMulti, func(t *target) op { return opFor(t, true, cmds...) }, "bench:multi")
}

// runLock runs the lock pattern job queues use: take a lock for 30 s
// with SET NX PX, release it with DEL, both sent together (one round
// trip). Every client uses the one lock, so many SETs find it taken, as
// contending workers do.
func runLock(p *plan, rep *report, targets []*target) error {
	set, del := words("SET", "bench:lock", "token", "NX", "PX", "30000"), words("DEL", "bench:lock")
	return runExtra(p, rep, targets, wlLock, func(t *target) op { return opFor(t, true, set, del) }, "bench:lock")
}

func runExtra(p *plan, rep *report, targets []*target, name string, mk func(*target) op, key string) error {
	for _, clients := range extraClients(p) {
		for _, t := range targets {
			cl := cell{addr: t.addr, op: mk(t), clients: clients, pipeline: 1, warmup: p.warmup, measure: p.measure,
				pids: t.pids(), logIndex: t.logIndex}
			res, err := cl.run()
			if err != nil {
				return fmt.Errorf("%s %s: %w", t.name, name, err)
			}
			rep.add(row{workload: name, clients: clients, pipeline: 1, target: t.name, res: res})
			sc, err := dialSetup(t.setup)
			if err != nil {
				return err
			}
			err = sc.del(key)
			sc.close()
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// clusterTerm is the highest Raft term any node reports: how many elections
// a run caused shows as its growth.
func clusterTerm(c *local.Cluster) uint64 {
	var term uint64
	for _, n := range c.Nodes {
		if f, err := infoFields(n.ClientAddr, "raft"); err == nil {
			t, _ := strconv.ParseUint(f["raft_term"], 10, 64)
			term = max(term, t)
		}
	}
	return term
}
