// Command raftlist is the one raftlist binary: a node (server), a local
// three-node cluster (cluster up), and the failover demo (demo failover).
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/raftlist/raftlist/cluster"
)

// verbs are the binary's subcommands.
var verbs = map[string]func(args []string) error{
	"server":  runServer,
	"cluster": runCluster,
	"demo":    runDemo,
	"status":  runStatus,
	"version": runVersion,
}

func main() {
	cluster.Version = buildVersion()
	os.Exit(run(os.Args[1:]))
}

// run runs the command line args and returns the exit status: 0, 1 when
// the verb failed, 2 when the command line itself is wrong.
func run(args []string) int {
	if len(args) == 0 {
		topUsage(os.Stderr)
		return 2
	}
	name, args := args[0], args[1:]
	switch {
	case name == "help" && len(args) > 0:
		// raftlist help server == raftlist server --help
		name, args = args[0], []string{"--help"}
	case isHelp(name):
		topUsage(os.Stdout)
		return 0
	case name == "--version" || name == "-version":
		name = "version"
	}
	verb := verbs[name]
	if verb == nil {
		fmt.Fprintf(os.Stderr, "raftlist: unknown command %q (see raftlist --help)\n", name)
		return 2
	}
	err := verb(args)
	var ue usageError
	switch {
	case err == nil, errors.Is(err, errHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(os.Stderr, "raftlist %s: %v\n", name, err)
		return 2
	case errors.As(err, new(errLogged)):
		return 1
	}
	fmt.Fprintf(os.Stderr, "raftlist %s: %v\n", name, err)
	return 1
}

// runVersion runs `raftlist version`.
func runVersion(args []string) error {
	if err := parseFlags(newFlagSet("version"), args); err != nil {
		return err
	}
	fmt.Println(versionLine())
	return nil
}
