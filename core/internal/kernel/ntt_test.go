package kernel

import (
	"math/bits"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/cryptonets/cryptonets/core/params"
	"github.com/tuneinsight/lattigo/v5/ring"
)

// presetRings returns a one-prime conjugate-invariant subring for every prime of every
// preset at every power-of-two degree from 16 up to the preset's.
func presetRings(t testing.TB) []*ring.SubRing {
	var out []*ring.SubRing
	seen := map[[2]uint64]bool{}
	for _, p := range params.All() {
		prm, err := p.Parameters()
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range append(prm.Q(), prm.P()...) {
			for logN := 4; logN <= prm.LogN(); logN++ {
				if seen[[2]uint64{q, uint64(logN)}] || (logN > 5 && logN < 11) {
					continue
				}
				seen[[2]uint64{q, uint64(logN)}] = true
				r, err := ring.NewRingFromType(1<<logN, []uint64{q}, ring.ConjugateInvariant)
				if err != nil {
					t.Fatal(err)
				}
				out = append(out, r.SubRings[0])
			}
		}
	}
	return out
}

// TestNTTMatchesLattigo checks every path's transforms against Lattigo's for every
// preset prime and several degrees, in place and out of place, on random and extreme
// inputs.
func TestNTTMatchesLattigo(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	paths := supportedPaths(t)
	vectorRuns := 0
	for _, s := range presetRings(t) {
		n, q := s.N, s.Modulus
		src := make([]uint64, n)
		for i := range src {
			src[i] = rng.Uint64N(q)
			if i%9 == 4 {
				src[i] = q - 1
			}
		}
		want := make([]uint64, n)
		s.NTT(src, want)
		wantInv := make([]uint64, n)
		s.INTT(src, wantInv)
		for _, p := range paths {
			tr, err := NewNTT(p, s)
			if err != nil {
				t.Fatal(err)
			}
			if tr.vector {
				vectorRuns++
			}
			got := make([]uint64, n)
			tr.Forward(got, src)
			if i := firstDiff(got, want); i >= 0 {
				t.Fatalf("%s, q=%d (%d bits), n=%d: forward coefficient %d is %d, Lattigo gives %d", p, q, bits.Len64(q), n, i, got[i], want[i])
			}
			inPlace := slices.Clone(src)
			tr.Inverse(inPlace, inPlace)
			if i := firstDiff(inPlace, wantInv); i >= 0 {
				t.Fatalf("%s, q=%d (%d bits), n=%d: inverse coefficient %d is %d, Lattigo gives %d", p, q, bits.Len64(q), n, i, inPlace[i], wantInv[i])
			}
			tr.Inverse(got, got)
			if i := firstDiff(got, src); i >= 0 {
				t.Fatalf("%s, q=%d, n=%d: inverse of forward differs at %d", p, q, n, i)
			}
		}
	}
	if Supported(AVX512) && vectorRuns == 0 {
		t.Fatal("no transform ran on the vector kernels")
	}
}

func firstDiff(a, b []uint64) int {
	for i := range a {
		if a[i] != b[i] {
			return i
		}
	}
	return -1
}
