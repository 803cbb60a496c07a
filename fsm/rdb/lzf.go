package rdb

// LZF as Redis builds liblzf 3.6 (lzfP.h: HLOG 16, VERY_FAST, CHECK_INPUT).
// The compressor is a line-by-line port, because DUMP's bytes depend on
// every choice it makes; the decompressor checks every length, because
// RESTORE runs it on what a client sent.

const (
	lzfHLog   = 16
	lzfHSize  = 1 << lzfHLog
	lzfMaxLit = 1 << 5
	lzfMaxOff = 1 << 13
	lzfMaxRef = 1<<8 + 1<<3
	// lzfMaxRatio bounds what one input byte can become: a three-byte back
	// reference copies at most lzfMaxRef+2 bytes. A claimed length above
	// it cannot be met, so Decode refuses it before allocating.
	lzfMaxRatio = (lzfMaxRef + 2 + 2) / 3
)

// lzfIdx is liblzf's VERY_FAST hash of the three bytes in h.
func lzfIdx(h uint32) uint32 {
	return ((h >> (3*8 - lzfHLog)) - h*5) & (lzfHSize - 1)
}

// lzfCompress compresses in into at most outLen bytes, or answers nil when
// that is not enough (lzf_compress returning 0). htab is the hash table,
// lzfHSize slots, cleared here: liblzf's stack table holds a position (a
// pointer in C) for each hash; 0 never matches, as NULL never does there.
func lzfCompress(in []byte, outLen int, htab []int32) []byte {
	inLen := len(in)
	if inLen < 2 || outLen == 0 {
		return nil
	}
	clear(htab)
	out := make([]byte, outLen)
	ip, op, lit := 0, 1, 0 // op 1: room for the first literal run's header
	hval := uint32(in[0])<<8 | uint32(in[1])
	for ip < inLen-2 {
		hval = hval<<8 | uint32(in[ip+2])
		slot := lzfIdx(hval)
		ref := int(htab[slot])
		htab[slot] = int32(ip)
		off := ip - ref - 1
		if off >= 0 && off < lzfMaxOff && ref > 0 &&
			in[ref] == in[ip] && in[ref+1] == in[ip+1] && in[ref+2] == in[ip+2] {
			n := 2
			maxlen := min(inLen-ip-n, lzfMaxRef)
			undo := 0
			if lit == 0 {
				undo = 1
			}
			if op-undo+3+1 >= outLen {
				return nil
			}
			out[op-lit-1] = byte(lit - 1) // stop the literal run
			op -= undo                    // an empty run
			n = lzfMatch(in, ref, ip, n, maxlen)
			n -= 2 // now the match's length - 1
			ip++
			if n < 7 {
				out[op] = byte(off>>8 + n<<5)
				op++
			} else {
				out[op] = byte(off>>8 + 7<<5)
				out[op+1] = byte(n - 7)
				op += 2
			}
			out[op] = byte(off)
			op += 2 // and start a new literal run
			lit = 0
			ip += n + 1
			if ip >= inLen-2 {
				break
			}
			ip -= 2
			hval = uint32(in[ip])<<8 | uint32(in[ip+1])
			for k := 0; k < 2; k++ {
				hval = hval<<8 | uint32(in[ip+2])
				htab[lzfIdx(hval)] = int32(ip)
				ip++
			}
			continue
		}
		if op >= outLen {
			return nil
		}
		op, lit = lzfLiteral(out, op, lit, in[ip])
		ip++
	}
	if op+3 > outLen {
		return nil
	}
	for ; ip < inLen; ip++ {
		op, lit = lzfLiteral(out, op, lit, in[ip])
	}
	out[op-lit-1] = byte(lit - 1)
	if lit == 0 {
		op--
	}
	return out[:op]
}

// lzfLiteral appends one literal byte to the current run, closing the run
// when it is full.
func lzfLiteral(out []byte, op, lit int, b byte) (int, int) {
	out[op] = b
	op++
	lit++
	if lit == lzfMaxLit {
		out[op-lit-1] = byte(lit - 1)
		lit = 0
		op++
	}
	return op, lit
}

// lzfMatch extends a match of n bytes at ref and ip as liblzf does,
// sixteen bytes unrolled first when maxlen allows, so it may overshoot
// maxlen by up to two as the C code does.
func lzfMatch(in []byte, ref, ip, n, maxlen int) int {
	if maxlen > 16 {
		for k := 0; k < 16; k++ {
			n++
			if in[ref+n] != in[ip+n] {
				return n
			}
		}
	}
	for {
		n++
		if !(n < maxlen && in[ref+n] == in[ip+n]) {
			return n
		}
	}
}

// lzfDecompress expands in, which must give exactly outLen bytes (Redis
// refuses any other count as "Invalid LZF compressed string"). It reads
// nothing outside in and writes nothing outside its result.
func lzfDecompress(in []byte, outLen int) ([]byte, bool) {
	if len(in) == 0 {
		return nil, false
	}
	out := make([]byte, 0, outLen)
	ip := 0
	for ip < len(in) {
		ctrl := int(in[ip])
		ip++
		if ctrl < 1<<5 {
			ctrl++
			if len(out)+ctrl > outLen || ip+ctrl > len(in) {
				return nil, false
			}
			out = append(out, in[ip:ip+ctrl]...)
			ip += ctrl
			continue
		}
		n := ctrl >> 5
		ref := len(out) - (ctrl&0x1f)<<8 - 1
		if ip >= len(in) {
			return nil, false
		}
		if n == 7 {
			n += int(in[ip])
			ip++
			if ip >= len(in) {
				return nil, false
			}
		}
		ref -= int(in[ip])
		ip++
		if len(out)+n+2 > outLen || ref < 0 {
			return nil, false
		}
		for k := 0; k < n+2; k++ { // may overlap what it is copying
			out = append(out, out[ref+k])
		}
	}
	return out, len(out) == outLen
}
