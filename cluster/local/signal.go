package local

// nodeSignal is what the cluster does to a node's process: stop it
// cleanly, kill it, freeze it or let it go on. On Unix these are SIGTERM,
// SIGKILL, SIGSTOP and SIGCONT sent to the node's process group; Windows
// has only killing (a clean stop is a kill there: Raft's log is safe
// either way), and freezing is not available.
type nodeSignal int

const (
	sigTerm nodeSignal = iota
	sigKill
	sigStop
	sigCont
)
