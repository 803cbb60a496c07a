// Command raftlist is the one raftlist binary: a node (server), a local
// three-node cluster (cluster up), and the failover demo (demo failover).
package main

import (
	"errors"
	"fmt"
	"os"
	"sort"
)

// verb is one subcommand of the binary.
type verb struct {
	usage string
	run   func(args []string) error
}

var verbs = map[string]verb{
	"server":  {"server --id ID --listen HOST:PORT --raft HOST:PORT --data DIR [--bootstrap | --join HOST:PORT]", runServer},
	"cluster": {"cluster up [--nodes 3] [--port 6379] [--dir DIR]", runCluster},
	"demo":    {"demo failover [--port 7400] [--dir DIR]", runDemo},
	"version": {"version", func([]string) error { fmt.Println("raftlist", version); return nil }},
}

const version = "0.1.0"

func main() {
	if len(os.Args) < 2 || verbs[os.Args[1]].run == nil {
		usage()
		os.Exit(2)
	}
	if err := verbs[os.Args[1]].run(os.Args[2:]); err != nil {
		if !errors.As(err, new(errLogged)) {
			fmt.Fprintf(os.Stderr, "raftlist %s: %v\n", os.Args[1], err)
		}
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage:")
	names := make([]string, 0, len(verbs))
	for name := range verbs {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		fmt.Fprintf(os.Stderr, "  raftlist %s\n", verbs[name].usage)
	}
}
