package wire

import (
	"encoding/binary"
	"math/bits"
)

// Coefficients travel bit-packed: every coefficient of limb i takes exactly
// bitsFor(q_i) bits, little-endian, rows of N coefficients one after the other (N is
// a multiple of 8, so each row ends on a byte boundary). For the 128-bit presets this
// is 175 to 215 bits per coefficient instead of 8 bytes per limb.

// bitsFor is the width of a value below q.
func bitsFor(q uint64) int { return bits.Len64(q - 1) }

// rowBytes is the packed size of n coefficients below q.
func rowBytes(n int, q uint64) int { return n * bitsFor(q) / 8 }

// polyBytes is the packed size of one polynomial at the given level.
func polyBytes(n int, moduli []uint64, level int) int {
	size := 0
	for _, q := range moduli[:level+1] {
		size += rowBytes(n, q)
	}
	return size
}

// packRow appends the values of row, each below q, to dst.
func packRow(dst []byte, row []uint64, q uint64) []byte {
	width := uint(bitsFor(q))
	var acc uint64
	var used uint
	for _, v := range row {
		acc |= v << used
		if used+width >= 64 {
			dst = binary.LittleEndian.AppendUint64(dst, acc)
			acc = v >> (64 - used) // a shift by 64 gives 0
			used = used + width - 64
		} else {
			used += width
		}
	}
	for ; used > 0; used -= min(used, 8) {
		dst = append(dst, byte(acc))
		acc >>= 8
	}
	return dst
}

// unpackRow reads len(row) values from src (exactly rowBytes(len(row), q) bytes) and
// reports whether every value is below q.
func unpackRow(src []byte, row []uint64, q uint64) bool {
	width := uint(bitsFor(q))
	if width > maxNarrowWidth {
		return unpackWide(src, row, q)
	}
	// Each value lies within the 8 bytes from the byte it starts in: one load, a
	// shift and a mask, and no branch but the row's last 8 bytes.
	mask := uint64(1)<<width - 1
	last := len(src) - 8
	var above uint64 // bit 63 is set once a value is q or more
	bit := uint(0)
	for k := range row {
		at := int(bit / 8)
		var word uint64
		if at <= last {
			word = binary.LittleEndian.Uint64(src[at:])
		} else {
			word, _ = nextWord(src[at:])
		}
		v := word >> (bit % 8) & mask
		above |= q - 1 - v // v < 2^56 and q ≤ 2^56: wraps past 2^63 exactly when v ≥ q
		row[k] = v
		bit += width
	}
	return above>>63 == 0
}

// maxNarrowWidth is the widest value unpackRow reads with one 8-byte load: a value may
// start at bit 7 of its first byte.
const maxNarrowWidth = 56

// unpackWide is unpackRow for values of any width up to 64 bits.
func unpackWide(src []byte, row []uint64, q uint64) bool {
	width := uint(bitsFor(q))
	mask := uint64(1)<<width - 1
	var acc uint64
	var avail uint
	reduced := true
	for k := range row {
		var v uint64
		if avail >= width {
			v = acc & mask
			acc >>= width
			avail -= width
		} else {
			word, n := nextWord(src)
			src = src[n:]
			v = (acc | word<<avail) & mask
			acc = word >> (width - avail)
			avail = uint(8*n) - (width - avail)
		}
		reduced = reduced && v < q
		row[k] = v
	}
	return reduced
}

// nextWord reads up to 8 bytes of src as a little-endian word.
func nextWord(src []byte) (uint64, int) {
	if len(src) >= 8 {
		return binary.LittleEndian.Uint64(src), 8
	}
	var buf [8]byte
	n := copy(buf[:], src)
	return binary.LittleEndian.Uint64(buf[:]), n
}
