package kernel

import (
	"math/bits"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestUniformIsLemire maps random words, with skipped words planted alone, in runs,
// at the ends of vectors and in the tail, on every path, into a separate array and in
// place: the values and counts are those of Lemire's method word by word.
func TestUniformIsLemire(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	for _, m := range presetModuli(t) {
		q := m.q
		skip := -q % q
		// w·q ≡ l (mod 2^64) for w = l·q^-1: a word that is skipped when l < skip.
		qInv := uint64(1)
		for range 6 {
			qInv *= 2 - q*qInv // Newton's iteration for the inverse modulo 2^64
		}
		for _, n := range []int{0, 5, 8, 64, 203} {
			src := make([]uint64, n)
			for i := range src {
				src[i] = rng.Uint64()
			}
			for _, i := range []int{0, 7, 8, 9, 10, 63, n - 1, n - 2} {
				if i >= 0 && i < n && skip > 0 {
					src[i] = rng.Uint64N(skip) * qInv
				}
			}
			var want []uint64
			after := []int{0} // after[r]: the words read once r values are written
			for i, w := range src {
				if hi, lo := bits.Mul64(w, q); lo >= skip {
					want = append(want, hi)
					after = append(after, i+1)
				}
			}
			for _, p := range supportedPaths(t) {
				a := NewArith(p, m)
				for _, room := range []int{len(want), len(want) / 2} {
					dst := make([]uint64, room)
					written, read := a.Uniform(dst, src)
					if written != room || !slices.Equal(dst, want[:room]) || read != after[room] {
						t.Fatalf("%s, q=%d, %d words, room for %d: wrote %d values (%d of them right), read %d words, want %d",
							p, q, n, room, written, prefix(dst, want), read, after[room])
					}
				}
				inPlace := slices.Clone(src)
				if written, read := a.Uniform(inPlace, inPlace); written != len(want) || read != n || !slices.Equal(inPlace[:written], want) {
					t.Fatalf("%s, q=%d, %d words in place: wrong values", p, q, n)
				}
			}
		}
	}
}

// prefix counts the leading values of got equal to want's.
func prefix(got, want []uint64) int {
	for i := range got {
		if i >= len(want) || got[i] != want[i] {
			return i
		}
	}
	return len(got)
}
