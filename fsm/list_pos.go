package fsm

import (
	"bytes"

	"github.com/raftlist/raftlist/fsm/resp"
)

// lposOptions are LPOS's options. count -1 means COUNT was not given (the
// reply is then one index or nil, not an array); count 0 and maxLen 0 mean
// no limit.
type lposOptions struct {
	rank, count, maxLen int64
}

// LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len]
//
// Options are parsed before the key is looked up, so their errors win over
// WRONGTYPE and over a missing key.
func lpos(args [][]byte) (Exec, error) {
	key, elem := args[1], args[2]
	opts, err := parseLposOptions(args[3:])
	if err != nil {
		return nil, err
	}
	return func(c *Ctx) resp.Reply {
		l, err := c.DB().List(key)
		switch {
		case err != nil:
			return err.(resp.Error)
		case l == nil && opts.count == -1:
			return resp.NullBulk
		case l == nil:
			return resp.Array{}
		}
		return lposScan(l, elem, opts)
	}, nil
}

// parseLposOptions parses LPOS's options as Redis does, in order, the last
// of a repeated option winning. A COUNT or MAXLEN that is not a number gets
// the "can't be negative" error too: Redis passes that text to its integer
// parser.
func parseLposOptions(args [][]byte) (lposOptions, error) {
	o := lposOptions{rank: 1, count: -1}
	for j := 0; j < len(args); j++ {
		more := j+1 < len(args)
		switch {
		case resp.IsOption(args[j], "rank") && more:
			j++
			v, err := intArg(args[j])
			if err != nil {
				return o, err
			}
			if v == 0 {
				return o, resp.ErrRankZero
			}
			o.rank = v
		case resp.IsOption(args[j], "count") && more:
			j++
			v, ok := resp.ParseInt(args[j])
			if !ok || v < 0 {
				return o, resp.ErrCountNegative
			}
			o.count = v
		case resp.IsOption(args[j], "maxlen") && more:
			j++
			v, ok := resp.ParseInt(args[j])
			if !ok || v < 0 {
				return o, resp.ErrMaxLenNegative
			}
			o.maxLen = v
		default:
			return o, resp.ErrSyntax
		}
	}
	return o, nil
}

// lposScan is Redis 7.0's LPOS loop, ported with its int64 arithmetic. A
// negative rank scans from the tail. RANK -9223372036854775808 is accepted
// by Redis 7.0: negating it wraps to itself, so every match qualifies and
// "matches-rank+1 >= count" never holds; it answers the first match from the
// tail, or with COUNT every match from the tail. Go's int64 wraps the same
// way, so the port keeps that behaviour.
func lposScan(l *List, elem []byte, o lposOptions) resp.Reply {
	rank, fromTail := o.rank, o.rank < 0
	if fromTail {
		rank = -rank
	}
	n := l.Len()
	found := resp.Array{}
	matches := int64(0)
	for j := 0; j < n && (o.maxLen == 0 || int64(j) < o.maxLen); j++ {
		i := j
		if fromTail {
			i = n - 1 - j
		}
		if !bytes.Equal(l.At(i), elem) {
			continue
		}
		matches++
		if matches < rank {
			continue
		}
		if o.count == -1 {
			return resp.Int(i)
		}
		found = append(found, resp.Int(i))
		if o.count != 0 && matches-rank+1 >= o.count {
			break
		}
	}
	if o.count == -1 {
		return resp.NullBulk
	}
	return found
}
