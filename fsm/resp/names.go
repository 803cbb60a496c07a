package resp

// Names raftlist adds to the protocol, shared by the node (cluster) and by
// what talks to it from outside (cluster/local, tests).

// ClusterUser is the reserved user name nodes authenticate as, with the
// cluster secret as password: AUTH raftlist-cluster <secret>.
const ClusterUser = "raftlist-cluster"
