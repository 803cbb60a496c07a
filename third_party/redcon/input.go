package redcon

// The input side of a connection, added for raftlist: how much of what the
// client sent waits in the read buffer, for CLIENT LIST's qbuf and
// qbuf-free, read from other connections' goroutines.

// publish mirrors the buffer's state for QueryBuffer; it runs on the
// connection's goroutine whenever the state changes (a read, a parse).
func (rd *Reader) publish() {
	queued := rd.end - rd.start
	rd.queued.Store(int64(queued - rd.mbSeen))
	rd.room.Store(int64(len(rd.buf) - queued))
}

// QueryBuffer returns the bytes read and not yet parsed into commands
// (what Redis keeps in its query buffer: without the complete arguments of
// a request still arriving), and the room left in the read buffer. Safe
// from any goroutine.
func (c *conn) QueryBuffer() (pending, free int) {
	return int(c.rd.queued.Load()), int(c.rd.room.Load())
}
