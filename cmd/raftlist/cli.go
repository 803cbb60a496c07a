package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
)

// version is raftlist's version, set at build time:
//
//	go build -ldflags "-X main.version=v0.2.0" ./cmd/raftlist
//
// Left empty, buildVersion takes it from the module's build info.
var version string

// buildVersion is the version this binary reports: main.version when set at
// build time, else the module version `go install …@version` records, else
// the VCS revision `go build` in a checkout records (with -dirty for
// uncommitted changes), else "devel".
func buildVersion() string {
	if version != "" {
		return version
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	if v := info.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev, modified string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value
		}
	}
	if rev == "" {
		return "devel"
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if modified == "true" {
		rev += "-dirty"
	}
	return "devel-" + rev
}

// versionLine is what `raftlist version` prints.
func versionLine() string {
	return fmt.Sprintf("raftlist %s (%s %s/%s)", buildVersion(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

// usageError is a command line a verb cannot run: main prints it on one
// line, with a hint to the verb's --help, and exits 2 as the flag package
// would.
type usageError struct {
	verb string // "server", "cluster up", ...
	err  error
}

func (e usageError) Error() string {
	return fmt.Sprintf("%v (see raftlist %s --help)", e.err, e.verb)
}

func (e usageError) Unwrap() error { return e.err }

// errHelp is returned by a verb that printed its help on request; main
// exits 0.
var errHelp = flag.ErrHelp

// newFlagSet is a verb's flag set. It prints nothing by itself: parseFlags
// prints the help when asked, and main prints errors on one line.
func newFlagSet(verb string) *flag.FlagSet {
	fs := flag.NewFlagSet(verb, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// parseFlags parses args into fs (made by newFlagSet). -h, -help and --help
// print the verb's synopsis and flags to stdout and return errHelp; a bad
// flag is a usageError.
func parseFlags(fs *flag.FlagSet, args []string) error {
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		printHelp(os.Stdout, fs)
		return errHelp
	case err != nil:
		return usageError{fs.Name(), err}
	case fs.NArg() > 0:
		return usageError{fs.Name(), fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	return nil
}

// printHelp writes fs's synopsis, notes and flags to w.
func printHelp(w io.Writer, fs *flag.FlagSet) {
	name := fs.Name()
	fmt.Fprintf(w, "usage: raftlist %s\n", synopses[name])
	if note := helpNotes[name]; note != "" {
		fmt.Fprintf(w, "\n%s\n", strings.TrimSpace(note))
	}
	fmt.Fprintln(w, "\nflags:")
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
}

// synopses are each verb's one-line usage, by flag set name.
var synopses = map[string]string{
	"server":        "server [raftlist.conf] --id ID --listen HOST:PORT --raft HOST:PORT --data DIR [--bootstrap | [--bootstrap-expect N] --join HOST:PORT[,HOST:PORT...]] [flags]",
	"cluster up":    "cluster up [--nodes 3] [--port 6379] [--raft-port PORT] [--dir DIR] [--host 127.0.0.1] [--tls] [--requirepass PASSWORD] [-- server flags]",
	"demo failover": "demo failover [--port 7400] [--dir DIR] [--keep] [--writes 200]",
	"status":        "status [--addr HOST:PORT] [--json] [-a PASSWORD] [--tls --cacert FILE [--cert FILE --key FILE]]",
	"version":       "version",
}

// helpNotes are printed between a verb's synopsis and its flags.
var helpNotes = map[string]string{
	"server": `
Runs one node. A new cluster starts with one node given --bootstrap; every
other node is given --join with any member's client address (several,
comma-separated, are tried in turn; after --join-timeout an empty node gives
up and exits 1). A node whose --data already holds Raft state resumes it,
with or without those flags. Deployments start every node the same way,
with --bootstrap-expect N --join <the others>: an empty node founds a
cluster only when N empty nodes find each other (the lowest id bootstraps),
joins a cluster it finds instead, and a node with state never bootstraps,
so a wiped disk rejoins rather than founding a second cluster.

A config file (first argument, or --config) takes every flag below as a
"keyword value" line, and also Redis's port, bind, tls-port, dir and loglevel
(docs/operations/limits-and-config.md). Flags on the command line win.`,
	"cluster up": `
Starts a local cluster of real node processes: node i listens for clients on
port+i-1 and for Raft on raft-port+i-1. On an empty --dir node1 bootstraps
and the others join it; on a --dir that holds the nodes' data the same
command brings the old cluster back. Ctrl-C stops every node.`,
	"status": `
Asks the member at --addr for the cluster's members, the leader for when it
last heard from each, and every member for its own state, and prints them.
Exits 1, naming the problem on stderr, when there is no leader or a member
is unreachable (its client port does not answer, or the leader has not heard
from it for three heartbeat timeouts, and at least 3 s).`,
}

// topUsage is `raftlist --help`.
func topUsage(w io.Writer) {
	fmt.Fprintln(w, "usage: raftlist <command> [flags]   (raftlist <command> --help for its flags)")
	fmt.Fprintln(w, "\ncommands:")
	for _, name := range []string{"server", "cluster up", "demo failover", "status", "version"} {
		fmt.Fprintf(w, "  raftlist %s\n", synopses[name])
	}
}

// isHelp reports whether arg asks for help.
func isHelp(arg string) bool {
	switch arg {
	case "-h", "-help", "--help", "help":
		return true
	}
	return false
}
