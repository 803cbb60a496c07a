package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/raftlist/raftlist/cluster/local"
)

// clusterStartTimeout bounds how long `cluster up` waits for the nodes to
// settle before giving up.
const clusterStartTimeout = 60 * time.Second

// runCluster runs `raftlist cluster up`: a local cluster of real node
// processes that lives until Ctrl-C or SIGTERM.
func runCluster(args []string) error {
	if len(args) > 0 && isHelp(args[0]) {
		return parseFlags(clusterUpFlagSet(new(local.Config)), []string{"--help"})
	}
	if len(args) == 0 || args[0] != "up" {
		return usageError{"cluster up", errors.New("the one cluster command is `cluster up`")}
	}
	cfg, fs, err := parseClusterUpFlags(args[1:])
	if err != nil {
		return err
	}
	bin, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find own binary: %w", err)
	}
	cfg.Binary = bin
	cfg.Progress = func(what string) { fmt.Printf("  %s ...\n", what) }
	redis.SetLogger(quietLogger{}) // a node not yet listening is normal while starting

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	startCtx, cancel := context.WithTimeout(ctx, clusterStartTimeout)
	defer cancel()
	fmt.Printf("starting %d raftlist nodes in %s ...\n", cfg.Nodes, cfg.Dir)
	c, err := local.Start(startCtx, cfg)
	if err != nil {
		return err
	}
	defer c.Stop()
	leader, err := c.Leader(startCtx)
	if err != nil {
		return err
	}
	printCluster(c, leader)

	exited := make(chan *local.Node, len(c.Nodes))
	for _, n := range c.Nodes {
		go func() {
			select {
			case <-n.Done():
				exited <- n
			case <-ctx.Done():
			}
		}()
	}
	for {
		select {
		case <-ctx.Done():
			fmt.Println("\nstopping all nodes ...")
			c.Stop()
			fmt.Printf("stopped; `%s` brings the same data back\n", restartCommand(fs, c.Config()))
			return nil
		case n := <-exited:
			fmt.Printf("%s exited unexpectedly (%v); the others keep running; last lines of %s:\n%s\n",
				n.ID, n.ExitError(), n.LogFile, n.LogTail(10))
		}
	}
}

// parseClusterUpFlags reads `cluster up` flags; whatever follows "--" is
// passed to every node's `raftlist server`. The flag set tells which flags
// were given, for the restart hint.
func parseClusterUpFlags(args []string) (local.Config, *flag.FlagSet, error) {
	var extra []string
	if i := slices.Index(args, "--"); i >= 0 {
		args, extra = args[:i], args[i+1:]
	}
	cfg := local.Config{ExtraArgs: extra}
	fs := clusterUpFlagSet(&cfg)
	if err := parseFlags(fs, args); err != nil {
		return cfg, fs, err
	}
	if cfg.Nodes < 1 {
		return cfg, fs, usageError{"cluster up", fmt.Errorf("--nodes %d: need at least 1", cfg.Nodes)}
	}
	if cfg.RaftBasePort == 0 {
		cfg.RaftBasePort = cfg.BasePort + 10000
	}
	for _, p := range []struct {
		name string
		base int
	}{{"--port", cfg.BasePort}, {"--raft-port", cfg.RaftBasePort}} {
		if p.base < 1 || p.base+cfg.Nodes-1 > 65535 {
			return cfg, fs, usageError{"cluster up", fmt.Errorf("%s %d: the ports of %d nodes must fit below 65536", p.name, p.base, cfg.Nodes)}
		}
	}
	if lo, hi := cfg.BasePort, cfg.BasePort+cfg.Nodes-1; cfg.RaftBasePort+cfg.Nodes-1 >= lo && cfg.RaftBasePort <= hi {
		return cfg, fs, usageError{"cluster up", fmt.Errorf("--raft-port %d: the Raft ports overlap the client ports %d-%d", cfg.RaftBasePort, lo, hi)}
	}
	return cfg, fs, nil
}

// clusterUpFlagSet is `cluster up`'s flags, set into cfg.
func clusterUpFlagSet(cfg *local.Config) *flag.FlagSet {
	fs := newFlagSet("cluster up")
	fs.IntVar(&cfg.Nodes, "nodes", 3, "number of nodes")
	fs.IntVar(&cfg.BasePort, "port", 6379, "client port of node1; node i listens on port+i-1")
	fs.IntVar(&cfg.RaftBasePort, "raft-port", 0, "Raft port of node1; node i uses raft-port+i-1 (default port+10000)")
	fs.StringVar(&cfg.Dir, "dir", "./raftlist-data", "directory holding one data dir and one log per node")
	fs.StringVar(&cfg.Host, "host", "127.0.0.1", "address the nodes listen on")
	fs.BoolVar(&cfg.TLS, "tls", false, "serve TLS only, with a CA and certificates generated into DIR/tls (kept across restarts)")
	fs.StringVar(&cfg.Password, "requirepass", "", "password every node requires of clients (the nodes' cluster secret is made up into DIR/cluster-secret, never this)")
	return fs
}

// restartCommand is the `cluster up` command line that brings the cluster
// cfg back: every flag that was given (the password as PASSWORD, since
// echoing it would leave it in the terminal's scrollback), the absolute
// --dir, and the server flags after "--".
func restartCommand(fs *flag.FlagSet, cfg local.Config) string {
	words := []string{"raftlist", "cluster", "up"}
	fs.Visit(func(fl *flag.Flag) {
		switch {
		case fl.Name == "dir":
		case fl.Name == "requirepass":
			if fl.Value.String() != "" {
				words = append(words, "--requirepass", "PASSWORD")
			}
		case fl.Name == "tls":
			if cfg.TLS {
				words = append(words, "--tls")
			}
		default:
			words = append(words, "--"+fl.Name, shellQuote(fl.Value.String()))
		}
	})
	words = append(words, "--dir", shellQuote(cfg.Dir))
	if len(cfg.ExtraArgs) > 0 {
		words = append(words, "--")
		for _, a := range cfg.ExtraArgs {
			words = append(words, shellQuote(a))
		}
	}
	return strings.Join(words, " ")
}

// shellQuote quotes s for a POSIX shell when it needs quoting.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:=,@+%", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func printCluster(c *local.Cluster, leader *local.Node) {
	fmt.Printf("raftlist cluster up: %d nodes, leader %s\n", len(c.Nodes), leader.ID)
	for _, n := range c.Nodes {
		role := "follower"
		if n == leader {
			role = "leader"
		}
		fmt.Printf("  %-6s %-8s client %-15s raft %-15s pid %d\n", n.ID, role, n.ClientAddr, n.RaftAddr, n.Pid())
		fmt.Printf("         data %s\n         log  %s\n", n.DataDir, n.LogFile)
	}
	host, port, _ := net.SplitHostPort(c.Nodes[0].ClientAddr)
	hostFlag := ""
	if host != "127.0.0.1" && host != "localhost" {
		hostFlag = "-h " + host + " "
	}
	tlsFlags := ""
	if f := c.TLSFiles(); f != nil {
		tlsFlags = fmt.Sprintf("--tls --cacert %s --cert %s --key %s ", f.CACert, f.ClientCert, f.ClientKey)
	}
	if c.Config().Password != "" {
		hostFlag += "--askpass "
	}
	fmt.Printf("try: redis-cli %s%s-p %s   (any node works: followers forward to the leader)\n", tlsFlags, hostFlag, port)
	fmt.Println("Ctrl-C stops every node cleanly; running the same command again brings the data back.")
}
