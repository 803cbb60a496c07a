package cluster

import (
	"strconv"

	"github.com/raftlist/raftlist/fsm/resp"
)

// noReply is what a command answers when Redis writes nothing: CLIENT
// REPLY OFF and SKIP, a killed blocked client.
var noReply = resp.Raw(nil)

// CLIENT REPLY ON|OFF|SKIP
//
// As in Redis 7.0: OFF drops every reply until ON; SKIP drops the next
// command's reply (its own too), and does nothing under OFF; ON answers
// +OK. The reply a blocked command gets later is that command's, so SKIP
// before BLPOP drops it, as Redis does.
func clientReply(_ *Server, r *request) resp.Reply {
	c := r.c
	switch {
	case resp.IsOption(r.args[2], "on"):
		c.replyOff, c.replySkip, c.replySkipNext = false, false, false
		return resp.OK
	case resp.IsOption(r.args[2], "off"):
		c.replyOff = true
		return noReply
	case resp.IsOption(r.args[2], "skip"):
		if !c.replyOff {
			c.replySkipNext = true
		}
		return noReply
	}
	return resp.ErrSyntax
}

// suppressReply decides whether the reply of the command just served is
// dropped, and moves SKIP on to the next command, as Redis's resetClient
// does after every command.
func (c *client) suppressReply() bool {
	drop := (c.replyOff || c.replySkip) && !c.replyDecided
	c.replySkip, c.replySkipNext, c.replyDecided = c.replySkipNext, false, false
	return drop
}

// CLIENT NO-EVICT ON|OFF
//
// raftlist evicts no client for memory (maxmemory-clients); the flag is
// kept and shown in CLIENT LIST as Redis shows it.
func clientNoEvict(_ *Server, r *request) resp.Reply {
	return setFlag(&r.c.noEvict, r.args[2])
}

// CLIENT NO-TOUCH ON|OFF (Redis 7.2)
//
// raftlist keeps no access times for keys to spare; the flag is kept and
// shown in CLIENT LIST (T) as Redis 7.2 shows it.
func clientNoTouch(_ *Server, r *request) resp.Reply {
	return setFlag(&r.c.noTouch, r.args[2])
}

type boolFlag interface{ Store(bool) }

func setFlag(flag boolFlag, arg []byte) resp.Reply {
	switch {
	case resp.IsOption(arg, "on"):
		flag.Store(true)
	case resp.IsOption(arg, "off"):
		flag.Store(false)
	default:
		return resp.ErrSyntax
	}
	return resp.OK
}

// CLIENT SETINFO LIB-NAME|LIB-VER value (Redis 7.2)
//
// go-redis v9 and redis-py send it on connect. An empty value clears the
// attribute, as in Redis.
func clientSetInfo(_ *Server, r *request) resp.Reply {
	attr, val := r.args[2], r.args[3]
	isName := resp.IsOption(attr, "lib-name")
	if !isName && !resp.IsOption(attr, "lib-ver") {
		return resp.ErrUnrecognizedOption(attr)
	}
	for _, ch := range val {
		if ch < '!' || ch > '~' { // CLIENT LIST's fields are split on spaces
			return resp.ErrClientAttr(attr)
		}
	}
	r.c.mu.Lock()
	defer r.c.mu.Unlock()
	if isName {
		r.c.libName = string(val)
	} else {
		r.c.libVer = string(val)
	}
	return resp.OK
}

// subcommandFullName is the name Redis 7 gives a front-door container's
// subcommand (client|list), or "" for any other command.
func subcommandFullName(args [][]byte) string {
	if len(args) < 2 {
		return ""
	}
	cc := lookupConnCommand(args[0])
	if cc == nil || cc.subs == nil {
		return ""
	}
	if sc := subcommandNamed(cc.subs, args[1]); sc != nil {
		return cc.Name + "|" + sc.name
	}
	return ""
}

// execReplyModes is what Redis writes of an EXEC whose transaction runs
// CLIENT REPLY: it checks the connection's reply mode as each reply is
// added, so the array header goes out under the mode EXEC started in and
// each element under the mode after its command ran. (With OFF inside the
// transaction, Redis writes a header and fewer elements: a broken stream,
// reproduced as it is.) nil when the transaction has no CLIENT REPLY.
type execReplyModes struct {
	headerDropped bool
	dropped       []bool
}

func (c *client) newReplyModes(cmds []txCmd) *execReplyModes {
	for _, q := range cmds {
		if len(q.args) > 1 && isName(q.args[0], "client") && isName(q.args[1], "reply") {
			return &execReplyModes{headerDropped: c.replyOff || c.replySkip}
		}
	}
	return nil
}

// note records the mode the last command's reply is added under.
func (m *execReplyModes) note(c *client) {
	if m != nil {
		m.dropped = append(m.dropped, c.replyOff || c.replySkip)
	}
}

// wire is EXEC's reply: out itself, or the bytes Redis writes, which the
// front door then writes whatever the mode (replyDecided).
func (m *execReplyModes) wire(c *client, out resp.Array) resp.Reply {
	if m == nil {
		return out
	}
	var b []byte
	if !m.headerDropped {
		b = append(b, '*')
		b = strconv.AppendInt(b, int64(len(out)), 10)
		b = append(b, '\r', '\n')
	}
	for i, r := range out {
		if !m.dropped[i] {
			b = resp.AppendReply(b, r, c.protocol())
		}
	}
	c.replyDecided = true
	return resp.Raw(b)
}
