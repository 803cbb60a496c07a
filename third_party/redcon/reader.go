package redcon

// This file replaces the request reader of upstream redcon v1.6.4, which
// could be crashed or exhausted by a single hostile client (see NOTICE).

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"math"
	"sync/atomic"
)

// Defaults used for any Limits field left at zero.
const (
	DefaultMaxBulkLen     = 64 << 20    // bytes in one bulk argument
	DefaultMaxArgs        = 1024 * 1024 // arguments in one multibulk request
	DefaultMaxInlineLen   = 64 << 10    // bytes in one protocol line (Redis's PROTO_INLINE_MAX_SIZE)
	DefaultMaxQueryBuffer = 1 << 30     // bytes buffered for one request (Redis's client-query-buffer-limit)
)

const (
	minBufSize = 4096
	// A drained read buffer larger than this is dropped, so that one big
	// request does not pin its memory for the life of the connection.
	maxIdleBufSize = 64 << 10
	// Keeps every "offset + bulk length + 2" computation inside int.
	maxBulkCeiling = math.MaxInt / 4
)

// Limits bounds what one client can make a Reader buffer or allocate.
// A zero (or negative) field takes its Default* value.
type Limits struct {
	// MaxBulkLen is the largest n accepted in a "$n" argument header.
	// Larger, negative or malformed lengths are a protocol error:
	// "ERR Protocol error: invalid bulk length".
	MaxBulkLen int64
	// MaxArgs is the largest n accepted in a "*n" request header.
	// Larger or malformed counts are a protocol error:
	// "ERR Protocol error: invalid multibulk length". As in Redis, n <= 0
	// is not an error: the empty request is skipped.
	MaxArgs int
	// MaxInlineLen bounds every protocol line: an inline (telnet) request
	// ("too big inline request"), a "*n" header ("too big mbulk count
	// string") and a "$n" header ("too big bulk count string"). Inline
	// requests are not subject to MaxArgs; this bounds them instead.
	MaxInlineLen int
	// MaxQueryBuffer bounds the bytes held for one request that has not
	// fully arrived. Reaching it ends the connection without a reply, as
	// Redis's client-query-buffer-limit does, with ErrQueryBufferLimit.
	// When zero it defaults to the larger of 1 GiB and what one request
	// carrying a single MaxBulkLen argument needs.
	MaxQueryBuffer int
}

// DefaultLimits returns the limits used when none are set.
func DefaultLimits() Limits {
	return Limits{}.normalize()
}

func (l Limits) normalize() Limits {
	if l.MaxBulkLen <= 0 {
		l.MaxBulkLen = DefaultMaxBulkLen
	}
	if l.MaxBulkLen > maxBulkCeiling {
		l.MaxBulkLen = maxBulkCeiling
	}
	if l.MaxArgs <= 0 {
		l.MaxArgs = DefaultMaxArgs
	}
	if l.MaxInlineLen <= 0 {
		l.MaxInlineLen = DefaultMaxInlineLen
	}
	if l.MaxQueryBuffer <= 0 {
		l.MaxQueryBuffer = DefaultMaxQueryBuffer
		// A raised MaxBulkLen would otherwise be unreachable.
		need := l.MaxBulkLen + 3*int64(l.MaxInlineLen)
		if need > int64(l.MaxQueryBuffer) && need <= math.MaxInt {
			l.MaxQueryBuffer = int(need)
		}
	}
	return l
}

// ErrQueryBufferLimit is returned by the reader (and passed to the server's
// closed callback) when a request outgrew Limits.MaxQueryBuffer. The client
// gets no reply, as with Redis.
var ErrQueryBufferLimit = errors.New("redcon: request exceeds query buffer limit")

// Protocol errors use Redis 7.0's exact wording: clients and test suites
// match on it.
var (
	errTooBigInline     = &errProtocol{"too big inline request"}
	errTooBigMbulkCount = &errProtocol{"too big mbulk count string"}
	errTooBigBulkCount  = &errProtocol{"too big bulk count string"}
)

func errExpectedDollar(c byte) error {
	// Redis blanks CR and LF so the error reply stays a single line.
	if c == '\r' || c == '\n' {
		c = ' '
	}
	return &errProtocol{"expected '$', got '" + string([]byte{c}) + "'"}
}

// Reader represent a reader for RESP or telnet commands.
type Reader struct {
	rd    *bufio.Reader
	buf   []byte
	start int
	end   int
	cmds  []Command
	lim   Limits

	// err is sticky: after a protocol error the stream cannot be
	// resynchronised. It is reported only once the commands parsed before
	// it have been returned, so that they still run, as in Redis.
	err error
	// rerr holds a read error that came together with data.
	rerr error
	// lastFull is set when the last read filled all the room it had: more
	// of a pipeline is likely waiting behind it.
	lastFull bool

	// Progress on the request at buf[start:], as offsets from start (so
	// compaction keeps them valid). Resuming from here keeps the cost of
	// each read proportional to the new bytes rather than to everything
	// already buffered.
	mbCount int   // declared argument count; 0 when none is in progress
	mbPos   int   // where the next "$n" header starts
	mbMarks []int // [begin,end) of each complete argument
	scanAt  int   // start of the line being searched for '\n', or -1
	scanLen int   // bytes from scanAt known to hold no '\n'

	// mbSeen is how much of the request in progress Redis would have
	// moved out of its query buffer: the count line, every complete
	// argument, and the header of an incomplete one.
	mbSeen int

	// queued and room mirror the unparsed bytes and the buffer's free
	// room for readers on other goroutines (CLIENT LIST's qbuf, input.go).
	queued, room atomic.Int64
}

// NewReader returns a command reader which will read RESP or telnet
// commands, bounded by DefaultLimits.
func NewReader(rd io.Reader) *Reader {
	return &Reader{
		rd:     bufio.NewReader(rd),
		buf:    make([]byte, minBufSize),
		lim:    DefaultLimits(),
		scanAt: -1,
	}
}

// SetLimits replaces the reader's limits. Zero fields take defaults.
func (rd *Reader) SetLimits(l Limits) {
	rd.lim = l.normalize()
}

// parseInt accepts exactly what Redis's string2ll accepts (optional '-',
// no '+', no leading zeros, no blanks, at most 20 bytes, no overflow), so
// that a header Redis rejects is rejected here too.
func parseInt(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 20 {
		return 0, false
	}
	if len(b) == 1 && b[0] == '0' {
		return 0, true
	}
	neg := b[0] == '-'
	if neg {
		b = b[1:]
		if len(b) == 0 {
			return 0, false
		}
	}
	if b[0] < '1' || b[0] > '9' {
		return 0, false
	}
	var v uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := uint64(c - '0')
		if v > (math.MaxUint64-d)/10 {
			return 0, false
		}
		v = v*10 + d
	}
	if neg {
		if v > 1<<63 {
			return 0, false
		}
		return int64(-v), true
	}
	if v > math.MaxInt64 {
		return 0, false
	}
	return int64(v), true
}

// lineEnd returns the index of the '\n' ending the line that starts at
// b[off], or -1 while it has not arrived. tooLong reports that more than
// MaxInlineLen bytes of that line have arrived without one. Only the
// first MaxInlineLen+2 bytes are ever searched.
func (rd *Reader) lineEnd(b []byte, off int) (i int, tooLong bool) {
	limit := len(b)
	if limit-off > rd.lim.MaxInlineLen+2 {
		limit = off + rd.lim.MaxInlineLen + 2
	}
	from := off
	if rd.scanAt == off {
		from += rd.scanLen
	}
	if from < limit {
		if j := bytes.IndexByte(b[from:limit], '\n'); j >= 0 {
			return from + j, false
		}
	}
	rd.scanAt, rd.scanLen = off, limit-off
	return -1, len(b)-off >= rd.lim.MaxInlineLen+2
}

// parseOne parses the request at the front of b (len(b) > 0). n == 0 means
// more data is needed; n > 0 with ok == false means n bytes held no
// command (an empty line or an empty multibulk) and are to be skipped.
func (rd *Reader) parseOne(b []byte) (cmd Command, n int, ok bool, err error) {
	if b[0] == '*' {
		return rd.parseMultibulk(b)
	}
	return rd.parseInline(b)
}

func (rd *Reader) parseInline(b []byte) (Command, int, bool, error) {
	i, tooLong := rd.lineEnd(b, 0)
	if i < 0 {
		if tooLong {
			return Command{}, 0, false, errTooBigInline
		}
		return Command{}, 0, false, nil
	}
	line := b[:i]
	if i > 0 && b[i-1] == '\r' {
		line = b[:i-1]
	}
	// Redis only notices an over-long inline request while its newline is
	// missing, which depends on how the bytes were split into reads; here
	// the limit holds whatever the split.
	if len(line) > rd.lim.MaxInlineLen {
		return Command{}, 0, false, errTooBigInline
	}
	args, err := splitInline(line, nil)
	if err != nil {
		return Command{}, 0, false, err
	}
	if len(args) == 0 {
		return Command{}, i + 1, false, nil
	}
	return inlineCommand(args), i + 1, true, nil
}

// splitInline tokenizes a telnet-style line with upstream redcon's rules,
// which its users and tests depend on: arguments are separated by spaces
// only; a token that starts with a double or single quote runs to the
// matching quote, with \n, \r and \t escapes and \x giving x for any
// other x; the closing quote must be followed by a space or the end of the
// line; a quote anywhere else is an error. All arguments share one buffer
// of len(line) bytes (quoting only shrinks them), so a line of tiny tokens
// costs O(len(line)) memory instead of the O(len(line)^2) of upstream.
func splitInline(line []byte, args [][]byte) ([][]byte, error) {
	arena := make([]byte, 0, len(line))
	i := 0
	for {
		for i < len(line) && line[i] == ' ' {
			i++
		}
		if i == len(line) {
			return args, nil
		}
		begin := len(arena)
		if q := line[i]; q == '"' || q == '\'' {
			i++
			closed := false
			for i < len(line) {
				c := line[i]
				i++
				if c == q {
					closed = true
					break
				}
				if c == '\\' {
					if i == len(line) {
						break
					}
					c = line[i]
					i++
					switch c {
					case 'n':
						c = '\n'
					case 'r':
						c = '\r'
					case 't':
						c = '\t'
					}
				}
				arena = append(arena, c)
			}
			if !closed || (i < len(line) && line[i] != ' ') {
				return nil, errUnbalancedQuotes
			}
		} else {
			for i < len(line) && line[i] != ' ' {
				c := line[i]
				if c == '"' || c == '\'' {
					return nil, errUnbalancedQuotes
				}
				arena = append(arena, c)
				i++
			}
		}
		args = append(args, arena[begin:len(arena):len(arena)])
	}
}

// inlineCommand gives an inline request the RESP form that handlers and
// Command.Raw users expect. The arguments are re-pointed into Raw.
func inlineCommand(args [][]byte) Command {
	size := 1 + decLen(len(args)) + 2
	for _, a := range args {
		size += 1 + decLen(len(a)) + 2 + len(a) + 2
	}
	raw := make([]byte, 0, size)
	raw = AppendArray(raw, len(args))
	for k, a := range args {
		raw = appendPrefix(raw, '$', int64(len(a)))
		begin := len(raw)
		raw = append(raw, a...)
		raw = append(raw, '\r', '\n')
		args[k] = raw[begin : begin+len(a)]
	}
	return Command{Raw: raw, Args: args}
}

func decLen(n int) int {
	l := 1
	for n >= 10 {
		n /= 10
		l++
	}
	return l
}

func (rd *Reader) parseMultibulk(b []byte) (Command, int, bool, error) {
	if rd.mbCount == 0 {
		i, tooLong := rd.lineEnd(b, 0)
		if i < 0 {
			if tooLong {
				return Command{}, 0, false, errTooBigMbulkCount
			}
			return Command{}, 0, false, nil
		}
		// b[0] is '*', so i >= 1.
		if b[i-1] != '\r' {
			return Command{}, 0, false, errInvalidMultiBulkLength
		}
		count, ok := parseInt(b[1 : i-1])
		if !ok || count > int64(rd.lim.MaxArgs) {
			return Command{}, 0, false, errInvalidMultiBulkLength
		}
		if count <= 0 {
			// Redis skips "*0" and "*-n" silently; its protocol test
			// suite checks that the connection stays usable.
			return Command{}, i + 1, false, nil
		}
		// Nothing is sized by count: argument slots grow as arguments
		// actually arrive.
		rd.mbCount = int(count)
		rd.mbPos = i + 1
		rd.mbSeen = rd.mbPos
		rd.mbMarks = rd.mbMarks[:0]
	}
	for len(rd.mbMarks) < 2*rd.mbCount {
		p := rd.mbPos
		if p >= len(b) {
			return Command{}, 0, false, nil
		}
		// Same order of checks as Redis: the header line must be complete
		// before its first byte is judged.
		i, tooLong := rd.lineEnd(b, p)
		if i < 0 {
			if tooLong {
				return Command{}, 0, false, errTooBigBulkCount
			}
			return Command{}, 0, false, nil
		}
		if b[p] != '$' {
			return Command{}, 0, false, errExpectedDollar(b[p])
		}
		// b[p] is '$', so a '\r' at i-1 means i-1 > p.
		if b[i-1] != '\r' {
			return Command{}, 0, false, errInvalidBulkLength
		}
		size, ok := parseInt(b[p+1 : i-1])
		if !ok || size < 0 || size > rd.lim.MaxBulkLen {
			return Command{}, 0, false, errInvalidBulkLength
		}
		begin := i + 1
		if int64(begin)+size+2 > int64(rd.lim.MaxQueryBuffer) {
			// It could never fit: fail now rather than buffer up to it.
			return Command{}, 0, false, ErrQueryBufferLimit
		}
		if int64(len(b)-begin) < size+2 {
			rd.mbSeen = begin
			return Command{}, 0, false, nil
		}
		end := begin + int(size)
		// Redis skips these two bytes unchecked; upstream redcon rejects
		// anything but CRLF, which catches desynchronised clients early.
		if b[end] != '\r' || b[end+1] != '\n' {
			return Command{}, 0, false, errInvalidBulkLength
		}
		rd.mbMarks = append(rd.mbMarks, begin, end)
		rd.mbPos = end + 2
		rd.mbSeen = rd.mbPos
	}
	n := rd.mbPos
	raw := b[:n]
	if rd.rd != nil {
		// The read buffer is reused; the command must outlive it.
		raw = append([]byte(nil), raw...)
	}
	args := make([][]byte, rd.mbCount)
	for k := range args {
		args[k] = raw[rd.mbMarks[2*k]:rd.mbMarks[2*k+1]]
	}
	return Command{Raw: raw, Args: args}, n, true, nil
}

// consume drops n parsed bytes and the progress kept for them.
func (rd *Reader) consume(n int) {
	rd.start += n
	rd.mbCount, rd.mbPos, rd.mbSeen = 0, 0, 0
	if cap(rd.mbMarks) > 1024 {
		rd.mbMarks = nil
	} else {
		rd.mbMarks = rd.mbMarks[:0]
	}
	rd.scanAt, rd.scanLen = -1, 0
	if rd.start == rd.end && rd.rd != nil {
		rd.start, rd.end = 0, 0
		if len(rd.buf) > maxIdleBufSize {
			rd.buf = make([]byte, minBufSize)
		}
	}
	rd.publish()
}

// fill reads more data. The buffer only grows when one incomplete request
// fills more than half of it, so it stays within twice the bytes that
// actually arrived, and never beyond MaxQueryBuffer.
func (rd *Reader) fill() error {
	if rd.rerr != nil {
		return rd.rerr
	}
	pending := rd.end - rd.start
	if pending >= rd.lim.MaxQueryBuffer {
		rd.err = ErrQueryBufferLimit
		return rd.err
	}
	if rd.lastFull && len(rd.buf) < maxIdleBufSize {
		// A pipeline fills every read: read it in bigger bites (up to
		// maxIdleBufSize), so the handler gets more commands at once.
		// The buffer still only doubles after that many bytes arrived.
		nb := make([]byte, 2*len(rd.buf))
		copy(nb, rd.buf[rd.start:rd.end])
		rd.buf = nb
		rd.start, rd.end = 0, pending
	}
	if rd.end == len(rd.buf) {
		size := len(rd.buf)
		if pending > size/2 {
			size *= 2
			if size > rd.lim.MaxQueryBuffer {
				size = rd.lim.MaxQueryBuffer
			}
		}
		if size < minBufSize {
			size = minBufSize
		}
		if size > len(rd.buf) {
			nb := make([]byte, size)
			copy(nb, rd.buf[rd.start:rd.end])
			rd.buf = nb
		} else {
			copy(rd.buf, rd.buf[rd.start:rd.end])
		}
		rd.start, rd.end = 0, pending
	}
	// Never read past MaxQueryBuffer bytes of the pending request: whether
	// a request is refused must not depend on how its bytes were split
	// into reads.
	room := rd.buf[rd.end:]
	if rd.lim.MaxQueryBuffer < len(rd.buf)-rd.start {
		room = rd.buf[rd.end : rd.start+rd.lim.MaxQueryBuffer]
	}
	n, err := rd.rd.Read(room)
	rd.end += n
	rd.publish()
	rd.lastFull = n > 0 && n == len(room)
	if err != nil {
		// Parse what came with the error before reporting it.
		rd.rerr = err
		if n == 0 {
			return err
		}
	}
	return nil
}

// readCommands returns the next batch of complete commands, reading as
// needed.
func (rd *Reader) readCommands() ([]Command, error) {
	for {
		if rd.err != nil {
			return nil, rd.err
		}
		var cmds []Command
		for rd.start < rd.end {
			cmd, n, ok, err := rd.parseOne(rd.buf[rd.start:rd.end])
			if err != nil {
				rd.err = err
				break
			}
			if n == 0 {
				break
			}
			rd.consume(n)
			if ok {
				cmds = append(cmds, cmd)
			}
		}
		rd.publish()
		if len(cmds) > 0 {
			return cmds, nil
		}
		if rd.err != nil {
			return nil, rd.err
		}
		if rd.rd == nil {
			return nil, errIncompleteCommand
		}
		if err := rd.fill(); err != nil {
			return nil, err
		}
	}
}

// ReadCommands reads the next pipeline commands.
func (rd *Reader) ReadCommands() ([]Command, error) {
	for {
		if len(rd.cmds) > 0 {
			cmds := rd.cmds
			rd.cmds = nil
			return cmds, nil
		}
		cmds, err := rd.readCommands()
		if err != nil {
			return []Command{}, err
		}
		rd.cmds = cmds
	}
}

// ReadCommand reads the next command.
func (rd *Reader) ReadCommand() (Command, error) {
	if len(rd.cmds) > 0 {
		cmd := rd.cmds[0]
		rd.cmds = rd.cmds[1:]
		return cmd, nil
	}
	cmds, err := rd.readCommands()
	if err != nil {
		return Command{}, err
	}
	rd.cmds = cmds
	return rd.ReadCommand()
}

// Parse parses a raw RESP message and returns a command. The command's
// slices alias raw. Every request in raw must be complete and well formed;
// trailing bytes of an incomplete one give errTooMuchData, as upstream.
func Parse(raw []byte) (Command, error) {
	rd := Reader{buf: raw, end: len(raw), lim: DefaultLimits(), scanAt: -1}
	var first Command
	var found, skippedEmpty bool
	for rd.start < rd.end {
		cmd, n, ok, err := rd.parseOne(raw[rd.start:rd.end])
		if err != nil {
			return Command{}, err
		}
		if n == 0 {
			break
		}
		if !ok && raw[rd.start] == '*' {
			skippedEmpty = true
		}
		rd.consume(n)
		if ok && !found {
			first, found = cmd, true
		}
	}
	if !found {
		if skippedEmpty {
			// A stream reader skips "*0" like Redis, but Parse promises a
			// command, and upstream called this an invalid length.
			return Command{}, errInvalidMultiBulkLength
		}
		return Command{}, errIncompleteCommand
	}
	if rd.start < rd.end {
		return Command{}, errTooMuchData
	}
	return first, nil
}
