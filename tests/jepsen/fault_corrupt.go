package main

import (
	"bytes"
	"context"
	binenc "encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/raftlist/raftlist/cluster/local"
)

// The corrupt fault: SIGKILL a follower, damage one of its files, restart
// it. Before damaging a snapshot the fault has the follower take one
// (RAFT SNAPSHOT), so there is a newest snapshot to damage. The damage, in a fixed order per run (the first corrupt fault does
// the first): one bit of a digit anywhere in the newest snapshot's
// state.bin flipped (bit rot that keeps the structure valid: only its CRC
// tells),
// one bit flipped in the tail of the Raft log (raft.db, or the newest
// raft-wal segment), the snapshot's state.bin cut short, the log cut
// short. Where in the file's last 4 KiB follows from the seed.
//
// Pass: the node either recovers (it starts and catches up; the run's
// checkers then judge it) or refuses to start with a message in its log.
// A node that refuses is removed from the cluster and a fresh node (new
// id, empty data dir) added in its place, as an operator would: its data
// is gone either way, and a restart with the same id and a wiped data dir
// would be a member that forgot its vote.

var corruptions = []string{"snapshot-flip", "log-flip", "snapshot-truncate", "log-truncate"}

// corruptTail is how far from a file's end the damage may land.
const corruptTail = 4096

// corrupt kills a follower, damages one of its files and restarts it at
// once; heal replaces it if it refused to start.
func (n *nemesis) corrupt(ctx context.Context) (func(context.Context) error, string, error) {
	l := n.leader(ctx)
	var followers []*local.Node
	for _, node := range n.members() {
		if node != l {
			followers = append(followers, node)
		}
	}
	if l == nil || len(followers) == 0 {
		return nil, "", errors.New("no leader with a running follower")
	}
	v := followers[n.rng.IntN(len(followers))]
	n.mu.Lock()
	what := corruptions[n.corrupted%len(corruptions)]
	n.corrupted++
	n.mu.Unlock()
	// The canary: a value of digits the fault writes just before it kills
	// the follower, so that it is the newest entry of the follower's log
	// and in its newest snapshot, and nothing changes it afterwards. The
	// damage lands in it when it can be found: a copy that differs from
	// the others' is then in the digest until the end of the run.
	idx := len(n.faults())
	key := "jepsen:canary:" + strconv.Itoa(idx)
	canary := []byte(fmt.Sprintf("canary%d-", idx))
	for i := 0; i < 1000; i++ {
		canary = append(canary, byte('0'+n.rng.IntN(10)))
	}
	if _, err := n.h.adminOn(l, n.h.timing.opTimeout, "SET", key, string(canary)); err != nil {
		canary = nil
	} else {
		wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		n.waitCaughtUp(wctx, v)
		cancel()
	}
	detail := ""
	if strings.HasPrefix(what, "snapshot-") {
		// A snapshot to damage, whatever the thresholds.
		if _, err := n.h.adminOn(v, 10*time.Second, "RAFT", "SNAPSHOT"); err == nil {
			detail = "RAFT SNAPSHOT on " + v.ID + ", "
		}
	}
	v.Kill()
	detail += "SIGKILL " + v.ID
	path, err := corruptTarget(v.DataDir, what)
	if err != nil && strings.HasPrefix(what, "snapshot-") {
		// No snapshot yet: damage the log the same way instead.
		what = "log-" + strings.TrimPrefix(what, "snapshot-")
		path, err = corruptTarget(v.DataDir, what)
	}
	if err != nil {
		return func(ctx context.Context) error { return v.Restart(ctx) }, detail, err
	}
	done, err := damage(path, strings.HasSuffix(what, "-flip"), canary, n.rng.Int64())
	rel, _ := filepath.Rel(v.DataDir, path)
	detail += fmt.Sprintf(", %s: %s of %s", what, done, rel)
	if err != nil {
		return func(ctx context.Context) error { return v.Restart(ctx) }, detail, err
	}
	// Restart at once: a node down for long would be sent the leader's
	// snapshot and never read what was damaged.
	cur := n.current()
	note := func(s string) {
		n.mu.Lock()
		cur.Detail += s
		n.mu.Unlock()
	}
	if v.Restart(ctx) == nil {
		// It may still fail while catching up.
		wctx, cancel := context.WithTimeout(ctx, n.h.timing.settle)
		err := n.waitCaughtUp(wctx, v)
		cancel()
		if err == nil {
			return func(context.Context) error { return nil }, detail + ", restarted: recovered and caught up", nil
		}
		if v.Running() {
			return func(ctx context.Context) error { return nil }, detail + ", restarted but did not catch up",
				fmt.Errorf("%s restarted after %s but did not catch up: %w", v.ID, what, err)
		}
	}
	msg := refusal(v)
	detail += ", restarted: it refused to start (" + msg + ")"
	if isPanic(v) {
		err = fmt.Errorf("%s crashed (a Go panic or fatal error) after %s instead of refusing to start with a message: %s", v.ID, what, msg)
	}
	// At heal, replace it: remove the dead member, add a fresh node.
	return func(ctx context.Context) error {
		actx, cancel := context.WithTimeout(ctx, 60*time.Second)
		defer cancel()
		if err := n.h.c.RemoveNode(actx, v); err != nil {
			return fmt.Errorf("remove %s: %w", v.ID, err)
		}
		n.h.setTargets(n.h.c.Nodes)
		added, err := n.h.c.AddNode(actx)
		if err != nil {
			return fmt.Errorf("add a fresh node for %s: %w", v.ID, err)
		}
		n.h.setTargets(n.h.c.Nodes)
		note(", removed it and " + added.ID + " joined with an empty data dir")
		return nil
	}, detail, err
}

// corruptTarget finds the file what damages: the newest snapshot's
// state.bin, or the log's file (bolt) or newest segment (raft-wal).
func corruptTarget(dataDir, what string) (string, error) {
	if strings.HasPrefix(what, "snapshot-") {
		dirs, _ := filepath.Glob(filepath.Join(dataDir, "snapshots", "*-*-*"))
		best, bestTerm, bestIndex := "", uint64(0), uint64(0)
		for _, d := range dirs {
			parts := strings.Split(filepath.Base(d), "-")
			if len(parts) != 3 || strings.HasSuffix(d, ".tmp") {
				continue
			}
			term, _ := strconv.ParseUint(parts[0], 10, 64)
			index, _ := strconv.ParseUint(parts[1], 10, 64)
			if best == "" || term > bestTerm || (term == bestTerm && index > bestIndex) {
				best, bestTerm, bestIndex = d, term, index
			}
		}
		if best == "" {
			return "", fmt.Errorf("no snapshot in %s", dataDir)
		}
		return filepath.Join(best, "state.bin"), nil
	}
	if p := filepath.Join(dataDir, "raft.db"); fileExists(p) {
		return p, nil
	}
	segs, _ := filepath.Glob(filepath.Join(dataDir, "wal", "*.wal"))
	if len(segs) == 0 {
		return "", fmt.Errorf("no raft log in %s", dataDir)
	}
	return segs[len(segs)-1], nil // names sort by base index
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// damage flips the low bit of an ASCII digit (it stays a digit, so the
// value keeps its shape and only a checksum can tell), or cuts the file
// short. With the canary found in the file, the flip is one digit of it,
// the same one in every copy (bolt may hold stale copies in free pages),
// and the cut is inside its first copy: the log loses its newest entry.
// Otherwise, or for a cut snapshot, the point is in the file's tail: its
// last corruptTail bytes, or for bolt, which preallocates, the last
// corruptTail bytes below the high-water mark its newest meta page
// records (boltEnd). pick chooses the point. It says what it did.
func damage(path string, flip bool, canary []byte, pick int64) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	if pick < 0 {
		pick = -pick
	}
	var copies []int
	for off := 0; len(canary) > 0; {
		i := bytes.Index(data[off:], canary)
		if i < 0 {
			break
		}
		copies = append(copies, off+i)
		off += i + len(canary)
	}
	head := bytes.IndexByte(canary, '-') + 1
	switch {
	case flip && len(copies) > 0:
		at := head + int(pick%int64(len(canary)-head))
		c := canary[at]
		for _, off := range copies {
			data[off+at] ^= 1 // 0↔1, 2↔3, ... 8↔9
		}
		if err := os.WriteFile(path, data, 0o644); err != nil {
			return "", err
		}
		return fmt.Sprintf("canary digit %d flipped %q→%q in %d copies", at-head, c, c^1, len(copies)), nil
	case !flip && len(copies) > 0 && filepath.Base(path) != "state.bin":
		at := copies[0] + int(pick%int64(len(canary)))
		if err := os.Truncate(path, int64(at)); err != nil {
			return "", err
		}
		return fmt.Sprintf("cut from %d to %d bytes, inside the canary", len(data), at), nil
	}
	end, floor := len(data), 0
	if filepath.Base(path) == "raft.db" {
		end, floor = boltEnd(data)
	}
	if end <= floor {
		return "", fmt.Errorf("%s has no data to damage", path)
	}
	tail := min(end-floor, corruptTail)
	at := end - tail + int(pick%int64(tail))
	if !flip {
		if err := os.Truncate(path, int64(at)); err != nil {
			return "", err
		}
		return fmt.Sprintf("cut from %d to %d bytes (data ends at %d)", len(data), at, end), nil
	}
	for j := at; j >= floor; j-- {
		if c := data[j]; '0' <= c && c <= '9' {
			data[j] ^= 1
			if err := os.WriteFile(path, data, 0o644); err != nil {
				return "", err
			}
			return fmt.Sprintf("byte %d flipped %q→%q (no canary found; data ends at %d)", j, c, data[j], end), nil
		}
	}
	return "", fmt.Errorf("no digit in %s before byte %d", path, at)
}

// boltEnd reads a bolt file's two meta pages and returns where its pages
// end (the newest meta's page count times the page size) and where data
// pages begin (after the meta pages). Layout: each meta page is a 16-byte
// page header, then magic, version, page size (uint32 each), flags, the
// root bucket (16 bytes), the freelist page, the page count and the txid
// (uint64 each), little-endian.
func boltEnd(data []byte) (end, floor int) {
	u32 := func(b []byte) uint64 { return uint64(binenc.LittleEndian.Uint32(b)) }
	u64 := binenc.LittleEndian.Uint64
	pageSize := 4096
	if len(data) >= 32 && u32(data[16:]) == 0xED0CDAED {
		pageSize = int(u32(data[24:]))
	}
	var bestTx uint64
	end = len(data)
	for i := 0; i < 2; i++ {
		m := data[min(len(data), i*pageSize):]
		if len(m) < 80 || u32(m[16:]) != 0xED0CDAED {
			continue
		}
		if tx := u64(m[64:]); tx >= bestTx {
			bestTx, end = tx, int(u64(m[56:]))*pageSize
		}
	}
	return min(end, len(data)), min(2*pageSize, len(data))
}

// waitCaughtUp waits until v has applied the leader's commit index as it
// was when the wait began, failing at once if v exits.
func (n *nemesis) waitCaughtUp(ctx context.Context, v *local.Node) error {
	l, err := n.h.c.Leader(ctx)
	if err != nil {
		return err
	}
	info, err := l.Info(ctx)
	if err != nil {
		return err
	}
	want, _ := strconv.ParseUint(info["raft_commit_index"], 10, 64)
	for {
		if !v.Running() {
			return fmt.Errorf("%s exited", v.ID)
		}
		if vi, err := v.Info(ctx); err == nil {
			if got, _ := strconv.ParseUint(vi["raft_applied_index"], 10, 64); got >= want {
				return nil
			}
		}
		if !sleepCtx(ctx, 100*time.Millisecond) {
			return ctx.Err()
		}
	}
}

// refusal is what the node said when it stopped: the first line of a Go
// crash (panic, fatal error) with the error it logged last before that,
// or else its last error line.
func refusal(v *local.Node) string {
	lines := strings.Split(strings.TrimSpace(lastIncarnation(v)), "\n")
	lastErr := ""
	for _, l := range lines {
		l = strings.TrimSpace(l)
		switch {
		case strings.Contains(l, "[ERROR]") || strings.HasPrefix(l, "raftlist:"):
			lastErr = l
		case strings.HasPrefix(l, "panic: ") || strings.HasPrefix(l, "fatal error: "):
			if lastErr != "" {
				return cut(l+" after "+lastErr, 300)
			}
			return cut(l, 300)
		}
	}
	if lastErr != "" {
		return cut(lastErr, 300)
	}
	return "no error in its log"
}

func cut(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// isPanic reports whether the node's last incarnation ended in a Go crash
// (a panic or a fatal runtime error) rather than an orderly refusal.
func isPanic(v *local.Node) bool {
	s := "\n" + lastIncarnation(v)
	return strings.Contains(s, "\npanic: ") || strings.Contains(s, "\nfatal error: ")
}

// lastIncarnation is the node's log since its last start.
func lastIncarnation(v *local.Node) string {
	data, err := os.ReadFile(v.LogFile)
	if err != nil {
		return ""
	}
	s := string(data)
	if i := strings.LastIndex(s, "\n=== "); i >= 0 {
		s = s[i:]
	}
	return s
}
