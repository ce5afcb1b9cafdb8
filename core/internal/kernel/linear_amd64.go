package kernel

import "unsafe"

// Coefficients per step of the kernel families.
const (
	ifmaLanes = 16
	avx2Lanes = 4
)

// applyVector runs the vector kernel of family f on the block for the largest prefix
// of the n coefficients it can handle, and returns that prefix's length.
func applyVector(f family, b *block, dst, src [][]uint64, limb int, m *Modulus, bias []uint64, n int) int {
	// The AVX2 kernels read the int64 weights; the 52-bit ones their residues.
	lanes, widest := avx2Lanes, avx2Rows
	weights := unsafe.Slice((*uint64)(unsafe.Pointer(unsafe.SliceData(b.weights))), len(b.weights))
	if f == familyIFMA {
		lanes, widest, weights = ifmaLanes, ifmaRows, b.residues[limb]
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
	for r0 := 0; r0 < width; r0 += widest {
		r1 := min(width, r0+widest)
		start := 0
		for c, end := range b.ends[limb] {
			bs := bias[r0:]
			if c > 0 {
				bs = none[:]
			}
			linearKernel(f, r1-r0, &rows[r0], &src[0], &b.index[start], &weights[start*width+r0], end-start, width, n,
				&m.c.q, &bs[0], c > 0)
			start = end
		}
	}
	return n
}

// sumInputs sets sum[c] = Σ_t src[index[t]][c] mod q for the block's inputs and the
// coefficients the 52-bit kernels cover, with their one-row kernel and weight one.
func sumInputs(b *block, sum []uint64, src [][]uint64, limb int, m *Modulus, n int) {
	n &^= ifmaLanes - 1
	if n == 0 {
		return
	}
	one, none := uint64(1), uint64(0)
	rows := [1][]uint64{sum[:n]}
	start := 0
	for c, end := range b.ends[limb] {
		linearKernel(familyIFMA, 1, &rows[0], &src[0], &b.index[start], &one, end-start, 0, n, &m.c.q, &none, c > 0)
		start = end
	}
}

// linearKernel calls the generated kernel of family f for blocks of `rows` rows: for
// those rows (row r of dst at dst[r], weights w[t*stride+r]) and every coefficient in
// [0, n), dst[r] = (bias[r] + Σ_t w·src[index[t]] (+ dst[r] if accumulate)) mod q,
// where k points at the modConsts of q. n is a multiple of the kernel's lanes and
// terms is at least one. The calls are direct: through a function value, every
// argument would escape and each call would allocate.
func linearKernel(f family, rows int, dst, src *[]uint64, index *int32, weights *uint64, terms, stride, n int, k *uint64, bias *uint64, accumulate bool) {
	if f == familyIFMA {
		switch rows {
		case 1:
			linearIFMA1(dst, src, index, weights, terms, stride, n, k, bias, accumulate)
		case 2:
			linearIFMA2(dst, src, index, weights, terms, stride, n, k, bias, accumulate)
		case 3:
			linearIFMA3(dst, src, index, weights, terms, stride, n, k, bias, accumulate)
		case 4:
			linearIFMA4(dst, src, index, weights, terms, stride, n, k, bias, accumulate)
		case 5:
			linearIFMA5(dst, src, index, weights, terms, stride, n, k, bias, accumulate)
		case 6:
			linearIFMA6(dst, src, index, weights, terms, stride, n, k, bias, accumulate)
		case 7:
			linearIFMA7(dst, src, index, weights, terms, stride, n, k, bias, accumulate)
		default:
			panic("kernel: no IFMA linear kernel for this block")
		}
		return
	}
	switch rows {
	case 1:
		linearAVX21(dst, src, index, weights, terms, stride, n, k, bias, accumulate)
	case 2:
		linearAVX22(dst, src, index, weights, terms, stride, n, k, bias, accumulate)
	case 3:
		linearAVX23(dst, src, index, weights, terms, stride, n, k, bias, accumulate)
	case 4:
		linearAVX24(dst, src, index, weights, terms, stride, n, k, bias, accumulate)
	case 5:
		linearAVX25(dst, src, index, weights, terms, stride, n, k, bias, accumulate)
	case 6:
		linearAVX26(dst, src, index, weights, terms, stride, n, k, bias, accumulate)
	default:
		panic("kernel: no AVX2 linear kernel for this block")
	}
}
