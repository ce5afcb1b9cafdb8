package kernel

import "unsafe"

// linearFunc is the signature of the generated linear kernels: for `rows` rows of a
// block (row r of dst at dst[r], weights w[t*stride+r]) and every coefficient in
// [0, n), dst[r] = (bias[r] + Σ_t w·src[index[t]] (+ dst[r] if accumulate)) mod q,
// where k points at the modConsts of q. n is a multiple of the kernel's lanes and
// terms is at least one.
type linearFunc func(dst, src *[]uint64, index *int32, weights *uint64, terms, stride, n int, k *uint64, bias *uint64, accumulate bool)

// The generated kernels by row count (index rows-1).
var (
	ifmaKernels = [ifmaRows]linearFunc{linearIFMA1, linearIFMA2, linearIFMA3, linearIFMA4, linearIFMA5, linearIFMA6, linearIFMA7}
	avx2Kernels = [avx2Rows]linearFunc{linearAVX21, linearAVX22, linearAVX23, linearAVX24, linearAVX25, linearAVX26}
)

// Coefficients per step of the kernel families.
const (
	ifmaLanes = 16
	avx2Lanes = 4
)

// applyVector runs the vector kernel of family f on the block for the largest prefix
// of the n coefficients it can handle, and returns that prefix's length.
func applyVector(f family, b *block, dst, src [][]uint64, limb int, m Modulus, bias []uint64, n int) int {
	// The AVX2 kernels read the int64 weights; the 52-bit ones their residues.
	lanes, kernels := avx2Lanes, avx2Kernels[:]
	weights := unsafe.Slice((*uint64)(unsafe.Pointer(unsafe.SliceData(b.weights))), len(b.weights))
	if f == familyIFMA {
		lanes, kernels, weights = ifmaLanes, ifmaKernels[:], b.residues[limb]
	}
	n &^= lanes - 1
	if n == 0 || len(b.index) == 0 {
		return 0
	}
	width := len(b.rows)
	var rows [maxBlockRows][]uint64
	for k, j := range b.rows {
		rows[k] = dst[j]
	}
	var none [maxBlockRows]uint64
	// Rows beyond a kernel's width go in further passes over the same terms.
	for r0 := 0; r0 < width; r0 += len(kernels) {
		r1 := min(width, r0+len(kernels))
		kernel := kernels[r1-r0-1]
		start := 0
		for c, end := range b.ends[limb] {
			bs := bias[r0:]
			if c > 0 {
				bs = none[:]
			}
			kernel(&rows[r0], &src[0], &b.index[start], &weights[start*width+r0], end-start, width, n,
				&m.c.q, &bs[0], c > 0)
			start = end
		}
	}
	return n
}
