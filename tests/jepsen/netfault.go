package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
)

// Network partitions are iptables rules in the OUTPUT chain (all loopback
// traffic passes it) that drop Raft traffic between two node IPs. A node's
// Raft stream layer dials from its own --raft IP (raftnode/transport.go),
// so a rule on (source IP, destination IP, destination Raft port) cuts
// exactly one direction of one link; a cut is the pair of such rules.
// Clients (127.0.0.1) and the nodes' RESP ports are never touched.
//
// Every rule carries a comment unique to the run, and the run removes
// exactly the rules with that comment: when a partition heals, at the end,
// and on SIGINT/SIGTERM.

// netFaults adds and removes this run's rules. A nil *netFaults (iptables
// unusable) has no rules and cleans up nothing.
type netFaults struct {
	tag string
	mu  sync.Mutex
}

// liveNet is the run's netFaults, for the signal handler's last-resort
// cleanup.
var liveNet atomic.Pointer[netFaults]

// openNetFaults checks that iptables works here by adding and removing a
// probe rule with tag. The error says why partitions cannot run.
func openNetFaults(tag string) (*netFaults, error) {
	if os.Geteuid() != 0 {
		return nil, errors.New("not running as root (iptables needs CAP_NET_ADMIN)")
	}
	if _, err := exec.LookPath("iptables"); err != nil {
		return nil, errors.New("iptables is not installed (apt-get install -y iptables)")
	}
	f := &netFaults{tag: tag}
	probe := f.spec("127.0.0.254", "127.0.0.254", "9")
	if err := iptables("-A", probe); err != nil {
		return nil, fmt.Errorf("iptables cannot add a rule (no netfilter in this kernel or container?): %w", err)
	}
	if err := iptables("-D", probe); err != nil {
		f.cleanup()
		return nil, fmt.Errorf("iptables cannot remove a rule: %w", err)
	}
	liveNet.Store(f)
	return f, nil
}

// spec is one DROP rule, without its -A/-D.
func (f *netFaults) spec(src, dst, dport string) []string {
	return []string{"OUTPUT", "-s", src, "-d", dst, "-p", "tcp", "--dport", dport,
		"-m", "comment", "--comment", f.tag, "-j", "DROP"}
}

func iptables(action string, spec []string) error {
	args := append([]string{"-w", "5", action}, spec...)
	out, err := exec.Command("iptables", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("iptables %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// link is one side of a cut: a node's Raft address.
type link struct{ id, raftAddr string }

// cut drops the Raft traffic between a and b, both ways, and returns the
// rules added (for heal).
func (f *netFaults) cut(a, b link) ([][]string, error) {
	aIP, aPort, err := net.SplitHostPort(a.raftAddr)
	if err != nil {
		return nil, err
	}
	bIP, bPort, err := net.SplitHostPort(b.raftAddr)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var added [][]string
	for _, spec := range [][]string{f.spec(aIP, bIP, bPort), f.spec(bIP, aIP, aPort)} {
		if err := iptables("-A", spec); err != nil {
			return added, err
		}
		added = append(added, spec)
	}
	return added, nil
}

// heal removes rules added by cut.
func (f *netFaults) heal(rules [][]string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	var errs []error
	for _, spec := range rules {
		if err := iptables("-D", spec); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// cleanup removes every rule carrying this run's tag, whatever added it:
// the last word at the end of a run and on interrupt.
func (f *netFaults) cleanup() error {
	if f == nil {
		return nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var errs []error
	for try := 0; try < 3; try++ {
		out, err := exec.Command("iptables", "-w", "5", "-S", "OUTPUT").Output()
		if err != nil {
			return fmt.Errorf("iptables -S OUTPUT: %w", err)
		}
		found := false
		for _, line := range strings.Split(string(out), "\n") {
			fields := strings.Fields(line)
			if len(fields) < 2 || fields[0] != "-A" || !containsField(fields, f.tag) {
				continue
			}
			found = true
			if err := iptables("-D", fields[1:]); err != nil {
				errs = append(errs, err)
			}
		}
		if !found {
			return nil
		}
	}
	return errors.Join(errs...)
}

func containsField(fields []string, s string) bool {
	for _, f := range fields {
		if f == s {
			return true
		}
	}
	return false
}

// count returns how many rules with this run's tag are in place.
func (f *netFaults) count() int {
	if f == nil {
		return 0
	}
	out, err := exec.Command("iptables", "-w", "5", "-S", "OUTPUT").Output()
	if err != nil {
		return -1
	}
	n := 0
	for _, line := range strings.Split(string(out), "\n") {
		if containsField(strings.Fields(line), f.tag) {
			n++
		}
	}
	return n
}
