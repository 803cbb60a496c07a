//go:build !linux

package cluster

import "net"

// arrivalSet without the kernel's receive stamps and an epoll set: a
// command's arrival is when its read returned (arrival.go), and another
// connection's command may always be on its way.
type arrivalSet struct{}

func newArrivalSet() *arrivalSet                          { return &arrivalSet{} }
func (*arrivalSet) close()                                {}
func (*arrivalSet) listener(ln net.Listener) net.Listener { return ln }
func (*arrivalSet) othersPending(net.Conn) bool           { return true }
func (*arrivalSet) proposed(net.Conn)                     {}
