package kernel

import (
	"math/bits"
)

// Uniform maps 64-bit words to values below q by Lemire's exact method: word w gives
// ⌊w·q/2^64⌋, unless w·q mod 2^64 is below 2^64 mod q, when it is skipped (which
// happens with probability below q/2^64). It writes the values of the leading words
// of src to dst until dst is full or src ends, and returns how many values it wrote
// and words it read. dst may share src's array if it starts at or before src: each
// word is read before its place is written.
func (a Arith) Uniform(dst, src []uint64) (written, read int) {
	q := a.m.q
	skip := -q % q // 2^64 mod q
	for written < len(dst) && read < len(src) {
		if n := min(len(dst)-written, len(src)-read) &^ 7; a.vector && n > 0 {
			k := uniformIFMA(&dst[written], &src[read], n, q, skip)
			written, read = written+k, read+k
			if k == n {
				continue
			}
		}
		// One word in Go: the tail, or the first of eight holding a skipped one.
		hi, lo := bits.Mul64(src[read], q)
		read++
		if lo >= skip {
			dst[written] = hi
			written++
		}
	}
	return written, read
}
