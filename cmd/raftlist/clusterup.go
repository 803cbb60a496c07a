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
	if len(args) == 0 || args[0] != "up" {
		return errors.New("usage: raftlist cluster up [--nodes 3] [--port 6379] [--dir DIR] [--host 127.0.0.1] [--tls] [--requirepass PASSWORD] [-- server flags]")
	}
	cfg, err := parseClusterUpFlags(args[1:])
	if err != nil {
		return err
	}
	bin, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find own binary: %w", err)
	}
	cfg.Binary = bin
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
			again := "raftlist cluster up --dir " + cfg.Dir
			if cfg.TLS {
				again += " --tls"
			}
			if cfg.Password != "" {
				// Not echoed: it would land in the terminal's scrollback.
				again += " --requirepass PASSWORD"
			}
			fmt.Printf("stopped; `%s` brings the same data back\n", again)
			return nil
		case n := <-exited:
			fmt.Printf("%s exited unexpectedly (%v); the others keep running; last lines of %s:\n%s\n",
				n.ID, n.ExitError(), n.LogFile, n.LogTail(10))
		}
	}
}

// parseClusterUpFlags reads `cluster up` flags; whatever follows "--" is
// passed to every node's `raftlist server`.
func parseClusterUpFlags(args []string) (local.Config, error) {
	var extra []string
	if i := slices.Index(args, "--"); i >= 0 {
		args, extra = args[:i], args[i+1:]
	}
	cfg := local.Config{ExtraArgs: extra}
	fs := flag.NewFlagSet("cluster up", flag.ContinueOnError)
	fs.IntVar(&cfg.Nodes, "nodes", 3, "number of nodes")
	fs.IntVar(&cfg.BasePort, "port", 6379, "client port of node1; node i listens on port+i-1 and port+i-1+10000 (Raft)")
	fs.StringVar(&cfg.Dir, "dir", "./raftlist-data", "directory holding one data dir and one log per node")
	fs.StringVar(&cfg.Host, "host", "127.0.0.1", "address the nodes listen on")
	fs.BoolVar(&cfg.TLS, "tls", false, "serve TLS only, with a CA and certificates generated into DIR/tls (kept across restarts)")
	fs.StringVar(&cfg.Password, "requirepass", "", "password every node requires of clients (the nodes' cluster secret is made up into DIR/cluster-secret, never this)")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected argument %q (server flags go after --)", fs.Arg(0))
	}
	if cfg.Nodes < 1 {
		return cfg, fmt.Errorf("--nodes %d: need at least 1", cfg.Nodes)
	}
	if cfg.BasePort < 1 || cfg.BasePort+cfg.Nodes-1+10000 > 65535 {
		return cfg, fmt.Errorf("--port %d: node ports and their Raft ports (+10000) must fit below 65536", cfg.BasePort)
	}
	return cfg, nil
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
