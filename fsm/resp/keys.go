package resp

import "math"

// KeyRef is one key COMMAND GETKEYS finds: its argument position and the
// flags of the key spec that found it (none when found by the numkeys
// fallback, as Redis's genericGetKeys gives none).
type KeyRef struct {
	Pos   int
	Flags KeyFlags
}

// FindKeys is Redis 7.0's getKeysFromCommandWithSpecs for a command of
// this row: the keys of args (the command's name first) by its key specs,
// or, when a spec does not fit the arguments and the command counts its
// keys (MovableKeys with a numkeys spec), by Redis's genericGetKeys
// fallback, which reads numkeys as C's atoi does. No keys means Redis's
// "Invalid arguments" unless the row is NoMandatoryKeys. It allocates at
// most one KeyRef per argument whatever numkeys claims.
func (s *Spec) FindKeys(args [][]byte) []KeyRef {
	if s.KeysProc != nil {
		return s.KeysProc(args)
	}
	specs := s.KeySpecs()
	if keys, ok := keysBySpecs(specs, args); ok {
		return keys
	}
	if s.Flags&MovableKeys == 0 {
		return nil
	}
	for _, ks := range specs {
		if ks.NumKeys {
			return keysByCount(ks, args)
		}
	}
	return nil
}

// keysBySpecs is getKeysUsingKeySpecs; ok is false where Redis's
// invalid_spec is reached (a spec pointing outside the arguments).
func keysBySpecs(specs []KeySpec, args [][]byte) ([]KeyRef, bool) {
	argc := int64(len(args))
	var out []KeyRef
	for _, ks := range specs {
		if ks.Unknown {
			continue
		}
		first := int64(ks.Begin)
		var last, step int64
		switch {
		case ks.NumKeys:
			idx := first + int64(ks.KeyNumIdx)
			if idx >= argc {
				return nil, false
			}
			n, ok := ParseInt(args[idx])
			if !ok || n < 0 {
				return nil, false
			}
			// Redis casts numkeys to a C int here.
			first += int64(ks.FirstKey)
			last = first + int64(int32(n)) - 1
			step = int64(ks.KeyStep)
		case ks.LastKey >= 0:
			last = first + int64(ks.LastKey)
			step = int64(ks.KeyStep)
		case ks.Limit == 0:
			last = argc + int64(ks.LastKey)
			step = int64(ks.KeyStep)
		default:
			last = first + ((argc-first)/int64(ks.Limit) + int64(ks.LastKey))
			step = int64(ks.KeyStep)
		}
		if last >= argc || last < first || first >= argc || step <= 0 {
			return nil, false
		}
		for i := first; i <= last; i += step {
			out = append(out, KeyRef{Pos: int(i), Flags: ks.Flags})
		}
	}
	return out, true
}

// keysByCount is Redis's genericGetKeys for a numkeys spec: numkeys read
// with atoi, and no keys unless 1 <= numkeys <= the arguments left.
func keysByCount(ks KeySpec, args [][]byte) []KeyRef {
	idx, firstKey, step := ks.Begin+ks.KeyNumIdx, ks.Begin+ks.FirstKey, ks.KeyStep
	if idx >= len(args) || step <= 0 {
		return nil
	}
	num := int64(atoi(args[idx]))
	if num < 1 || num > int64((len(args)-firstKey)/step) {
		return nil
	}
	out := make([]KeyRef, num)
	for i := range out {
		out[i].Pos = firstKey + i*step
	}
	return out
}

// atoi is glibc's atoi: strtol (leading white space, a sign, the digits
// that follow, saturating at the long's limits), cut to a C int.
func atoi(b []byte) int32 {
	i := 0
	for i < len(b) && (b[i] == ' ' || (b[i] >= '\t' && b[i] <= '\r')) {
		i++
	}
	neg := false
	if i < len(b) && (b[i] == '+' || b[i] == '-') {
		neg = b[i] == '-'
		i++
	}
	var v uint64
	over := false
	for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
		d := uint64(b[i] - '0')
		if v > (math.MaxUint64-d)/10 {
			over = true
			continue
		}
		v = v*10 + d
	}
	var l int64
	switch {
	case neg && (over || v > 1<<63):
		l = math.MinInt64
	case neg:
		l = -int64(v)
	case over || v > math.MaxInt64:
		l = math.MaxInt64
	default:
		l = int64(v)
	}
	return int32(l)
}
