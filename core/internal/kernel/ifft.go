package kernel

import (
	"fmt"
	"math/bits"

	"github.com/cryptonets/cryptonets/core/errs"
	"github.com/tuneinsight/lattigo/v5/schemes/ckks"
)

// IFFT is the inverse transform of CKKS's encoding as Lattigo computes it in float64
// (ckks.Encoder.IFFT on []complex128: the butterflies of SpecialiFFTDoubleUnrolled8,
// then a division by the number of slots and a bit-reversal permutation), prepared
// for one path. Transform runs the butterflies; Coefficients folds the division and
// the permutation into reading the result. Every path computes each butterfly with the
// same operations in the same order, unfused, so every path gives Lattigo's values bit
// for bit. It is read-only after NewIFFT and safe for concurrent use.
type IFFT struct {
	n    int
	path Path
	// twiddles holds each stage's roots, stage after stage (N/2, N/4, …, 1 of them):
	// root j of a stage is the one Lattigo's butterfly j of that stage multiplies by.
	twiddles []complex128
	// reversed[j] is the bit-reversal of j on log2(n) bits.
	reversed []int32
}

// minIFFTSlots is the fewest slots NewIFFT takes (Lattigo's unrolled transform needs
// 16).
const minIFFTSlots = 16

// NewIFFT prepares the transform of 2^logSlots slots for a ring whose roots of unity
// are of order nthRoot (ring.Ring.NthRoot: 4·2^logSlots for the conjugate-invariant
// ring with all its slots).
func NewIFFT(p Path, logSlots, nthRoot int) (*IFFT, error) {
	if !Supported(p) {
		return nil, errs.New(errs.ErrUnsupported, "kernel: the %s path is not supported on this processor", p)
	}
	n := 1 << logSlots
	if logSlots < 4 || logSlots > 20 || nthRoot < 4*n || nthRoot&(nthRoot-1) != 0 {
		return nil, errs.New(errs.ErrUnsupported, "kernel: an IFFT of 2^%d slots with roots of order %d (want 2^4 to 2^20 slots, a power-of-two order of at least 4 per slot)", logSlots, nthRoot)
	}
	roots := ckks.GetRootsComplex128(nthRoot)
	// The rotation group: 5^j modulo nthRoot (ckks.NewEncoder's rotGroup).
	rotGroup := make([]int, n)
	for j, g := 0, 1; j < n; j++ {
		rotGroup[j] = g
		g = g * int(ckks.GaloisGen) & (nthRoot - 1)
	}
	logM := bits.Len(uint(nthRoot)) - 1
	f := &IFFT{n: n, path: p, twiddles: make([]complex128, 0, n-1), reversed: make([]int32, n)}
	for logLen := logSlots; logLen > 0; logLen-- {
		lenh, lenq := 1<<(logLen-1), 1<<(logLen+2)
		for j := range lenh {
			f.twiddles = append(f.twiddles, roots[(lenq-(rotGroup[j]&(lenq-1)))<<(logM-2-logLen)])
		}
	}
	for j := range f.reversed {
		f.reversed[j] = int32(bits.Reverse64(uint64(j)) >> (64 - logSlots))
	}
	return f, nil
}

// Slots returns the transform's length.
func (f *IFFT) Slots() int { return f.n }

// Transform runs the butterflies of the transform on values (Slots of them) in place.
func (f *IFFT) Transform(values []complex128) {
	if len(values) != f.n {
		panic(fmt.Sprintf("kernel: IFFT of %d slots on %d values", f.n, len(values)))
	}
	tw := f.twiddles
	lenh := f.n / 2
	switch f.path {
	case AVX512:
		for ; lenh >= 4; lenh /= 2 {
			ifftStageAVX512(&values[0], f.n, lenh, &tw[0])
			tw = tw[lenh:]
		}
		ifftLastAVX512(&values[0], f.n, &tw[0])
		return
	case AVX2:
		for ; lenh >= 2; lenh /= 2 {
			ifftStageAVX2(&values[0], f.n, lenh, &tw[0])
			tw = tw[lenh:]
		}
		ifftLastAVX2(&values[0], f.n, &tw[0])
		return
	}
	for ; lenh >= 1; lenh /= 2 {
		ifftStage(values, lenh, tw[:lenh])
		tw = tw[lenh:]
	}
}

// ifftStage runs one stage of butterflies u, v = u + v, (u − v)·w on pairs lenh apart.
func ifftStage(values []complex128, lenh int, tw []complex128) {
	for i := 0; i < len(values); i += 2 * lenh {
		u, v := values[i:i+lenh], values[i+lenh:i+2*lenh]
		for j, w := range tw {
			a, b := u[j], v[j]
			u[j] = a + b
			v[j] = mulComplex(a-b, w)
		}
	}
}

// mulComplex returns x·y as Go's complex128 product computes it, never fused (the
// conversions forbid a fused multiply-add, which the vector kernels do not use).
func mulComplex(x, y complex128) complex128 {
	return complex(float64(real(x)*real(y))-float64(imag(x)*imag(y)), float64(real(x)*imag(y))+float64(imag(x)*real(y)))
}

// Coefficients writes into dst (Slots of them) the real parts of the transform's
// result, Lattigo's coefficients, each multiplied by factor: dst[j] = factor·re(x_j)
// where x is what ckks.Encoder.IFFT returns for the values values held before
// Transform. factor·re(x_j) is computed as re(values[rev(j)])·(factor/Slots), exact
// when factor is a power of two.
func (f *IFFT) Coefficients(dst []float64, values []complex128, factor float64) {
	if len(dst) != f.n || len(values) != f.n {
		panic(fmt.Sprintf("kernel: IFFT coefficients of %d slots from %d values into %d", f.n, len(values), len(dst)))
	}
	factor /= float64(f.n)
	for j, r := range f.reversed {
		dst[j] = real(values[r]) * factor
	}
}
