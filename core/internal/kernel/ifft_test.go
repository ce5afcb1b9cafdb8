package kernel

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/tuneinsight/lattigo/v5/schemes/ckks"
)

// lattigoIFFT returns a function that does in place what ckks.Encoder.IFFT does to
// 2^logSlots slots of a ring whose roots of unity have order nthRoot.
func lattigoIFFT(logSlots, nthRoot int) func(values []complex128) {
	rotGroup := make([]int, nthRoot>>2)
	for j, g := 0, 1; j < len(rotGroup); j++ {
		rotGroup[j] = g
		g = g * int(ckks.GaloisGen) & (nthRoot - 1)
	}
	roots := ckks.GetRootsComplex128(nthRoot)
	return func(values []complex128) {
		ckks.SpecialiFFTDoubleUnrolled8(values, 1<<logSlots, nthRoot, rotGroup, roots)
	}
}

// TestIFFTMatchesLattigo runs every path's transform on random values, real ones as a
// client encodes and complex ones, for every power-of-two length from 16 to 2^14 (and
// sparse slots in a larger ring): the coefficients and the full complex results are
// Lattigo's bit for bit.
func TestIFFTMatchesLattigo(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for logSlots := 4; logSlots <= 14; logSlots++ {
		for _, nthRoot := range []int{4 << logSlots, 16 << logSlots} {
			values := make([]complex128, 1<<logSlots)
			for i := range values {
				values[i] = complex(rng.Float64()*2-1, 0)
				if logSlots%2 == 1 {
					values[i] += complex(0, rng.NormFloat64()*1e3)
				}
			}
			values[0] = complex(math.Copysign(0, -1), 0)
			want := append([]complex128(nil), values...)
			lattigoIFFT(logSlots, nthRoot)(want)
			for _, path := range Paths {
				if !Supported(path) {
					continue
				}
				f, err := NewIFFT(path, logSlots, nthRoot)
				if err != nil {
					t.Fatal(err)
				}
				got := append([]complex128(nil), values...)
				f.Transform(got)
				const factor = 1 << 30
				coeffs := make([]float64, len(got))
				f.Coefficients(coeffs, got, factor)
				for j, w := range want {
					g := got[f.reversed[j]]
					// Lattigo divides by the number of slots: a power of two, exact.
					g = complex(real(g)/float64(len(got)), imag(g)/float64(len(got)))
					if math.Float64bits(real(g)) != math.Float64bits(real(w)) || math.Float64bits(imag(g)) != math.Float64bits(imag(w)) {
						t.Fatalf("%s, 2^%d slots, roots of order %d: value %d is %v, Lattigo's %v", path, logSlots, nthRoot, j, g, w)
					}
					if coeffs[j] != real(w)*factor {
						t.Fatalf("%s, 2^%d slots: coefficient %d is %v, want %v", path, logSlots, j, coeffs[j], real(w)*factor)
					}
				}
			}
		}
	}
	if _, err := NewIFFT(Generic, 3, 32); err == nil {
		t.Fatal("an IFFT of 8 slots was prepared")
	}
	if _, err := NewIFFT(Generic, 5, 64); err == nil {
		t.Fatal("an IFFT with roots of too low an order was prepared")
	}
}
