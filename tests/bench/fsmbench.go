package main

import (
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
)

// fsmSnapshot is one size of fsm's BenchmarkSnapshot: the state machine's
// own share of a snapshot (clone, write the stream, read it back), without
// Raft, disk or network. It covers sizes too slow to load through a
// cluster within the run's time budget.
type fsmSnapshot struct {
	elements                 int64
	bytes                    int64
	cloneMs, writeMs, readMs float64
}

var fsmBenchLine = regexp.MustCompile(`BenchmarkSnapshot/(\d+)-\d+\s+\d+\s+\d+ ns/op(.*)`)

func runFSMSnapshot(root string) ([]fsmSnapshot, string, error) {
	args := []string{"test", "./fsm", "-run", "^$", "-bench", "^BenchmarkSnapshot$", "-benchtime", "1x", "-count", "1"}
	command := "go " + strings.Join(args, " ")
	logf("state machine snapshot: %s", command)
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		return nil, command, fmt.Errorf("%s: %v\n%s", command, err, out)
	}
	var res []fsmSnapshot
	for _, m := range fsmBenchLine.FindAllStringSubmatch(string(out), -1) {
		s := fsmSnapshot{}
		s.elements, _ = strconv.ParseInt(m[1], 10, 64)
		f := strings.Fields(m[2])
		for i := 0; i+1 < len(f); i += 2 {
			v, _ := strconv.ParseFloat(f[i], 64)
			switch f[i+1] {
			case "bytes":
				s.bytes = int64(v)
			case "clone-ms":
				s.cloneMs = v
			case "write-ms":
				s.writeMs = v
			case "restore-ms":
				s.readMs = v
			}
		}
		logf("state machine snapshot of %d elements: %s, clone %.0f ms, write %.0f ms, restore %.0f ms",
			s.elements, fmtBytes(s.bytes), s.cloneMs, s.writeMs, s.readMs)
		res = append(res, s)
	}
	if len(res) == 0 {
		return nil, command, fmt.Errorf("%s printed no results:\n%s", command, out)
	}
	return res, command, nil
}
