package raftnode

import "errors"

// errLocked is lockFile's answer when another process holds the lock.
var errLocked = errors.New("locked by another process")
