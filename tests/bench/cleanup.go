package main

import (
	"os"
	"os/signal"
	"sync"
	"syscall"
)

// Everything the benchmark starts (redis-server processes, clusters, the
// work directory) is registered here, so that Ctrl-C or SIGTERM stops and
// removes it as a normal return does.
var exits struct {
	sync.Mutex
	next int
	fns  map[int]func()
}

// onExit registers fn and returns a function that runs it once and
// unregisters it: `defer onExit(c.Stop)()`.
func onExit(fn func()) func() {
	exits.Lock()
	defer exits.Unlock()
	if exits.fns == nil {
		exits.fns = map[int]func(){}
	}
	id := exits.next
	exits.next++
	exits.fns[id] = fn
	var once sync.Once
	return func() {
		once.Do(func() {
			exits.Lock()
			_, ok := exits.fns[id]
			delete(exits.fns, id)
			exits.Unlock()
			if ok {
				fn()
			}
		})
	}
}

// cleanUpOnSignal runs every registered function, newest first, and exits
// when the process is interrupted.
func cleanUpOnSignal() {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	go func() {
		sig := <-ch
		logf("%v: stopping everything started", sig)
		exits.Lock()
		fns, last := exits.fns, exits.next-1
		exits.fns = nil
		exits.Unlock()
		// Newest first: clusters and servers before the directory they use.
		for id := last; id >= 0; id-- {
			if fn, ok := fns[id]; ok {
				fn()
			}
		}
		os.Exit(130)
	}()
}
