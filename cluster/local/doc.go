// Package local starts and stops real raftlist node processes on this
// machine: it is what `raftlist cluster up`, `raftlist demo failover` and the
// black-box tests use to get a cluster.
//
// It runs the raftlist binary (`raftlist server ...`) once per node, each in
// its own process group with its stderr in a log file, and learns everything
// it knows about a node by talking RESP to it (INFO raft, RAFT NODES, DEBUG
// DIGEST). It must never import the node's internals (fsm, raftnode,
// cluster): a test that goes through this package sees the node exactly as a
// client on the network does, and a change inside the node cannot make such
// a test pass by accident. The one raftlist package it may import is
// fsm/resp, the protocol vocabulary any client speaks (the ClusterUser name
// comes from there).
//
// A Cluster is not safe for concurrent use with its own AddNode and
// RemoveNode, which change Nodes; everything else may be called from any
// goroutine.
package local
