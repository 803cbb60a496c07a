package redcon

import "time"

// The output side of a connection, added for raftlist: replies pile up in
// the Writer until the pipeline ends, so a client that pipelines large
// replies and never reads them would grow it without bound. These let the
// handler see the pile and push it out early, with a deadline, so it can
// bound a connection's output as Redis's client-output-buffer-limit does.

// OutputLen returns how many bytes of replies are written but not yet
// flushed to the network.
func (c *conn) OutputLen() int { return len(c.wr.b) }

// FlushWithin flushes the pending replies now. When d is not zero and the
// network does not take them all within d (the peer stopped reading), it
// returns the timeout error; the writer then keeps failing, so the
// connection ends after the handler returns.
func (c *conn) FlushWithin(d time.Duration) error {
	if d > 0 {
		c.conn.SetWriteDeadline(time.Now().Add(d))
		defer c.conn.SetWriteDeadline(time.Time{})
	}
	return c.wr.Flush()
}
