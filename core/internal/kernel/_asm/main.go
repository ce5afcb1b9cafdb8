// Command _asm generates the assembly kernels of package kernel with avo:
//
//	go run . -out ../kernels_amd64.s -stubs ../kernels_amd64.go -pkg kernel
//
// (package kernel's go:generate line runs it). It is a module of its own so that avo
// is not a dependency of the library.
package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// Offsets of the fields of kernel.modConsts: the kernels take a pointer to its first
// field.
const (
	constQ        = 0
	constQInv     = 8
	constR52      = 16
	constR52Shoup = 24
	constQ4       = 32
	constQLess4   = 64
	constQHigh4   = 96
	constQInv4    = 128
	constMont12   = 160
	constMont12S  = 168
	constMont64   = 176
	constMont64S  = 184
)

// Rows per block of the linear kernels (kernel.ifmaRows, kernel.avx2Rows).
const (
	ifmaRows = 7
	avx2Rows = 6
)

// sliceHeader is the size of a []uint64 header: the kernels find row r at r*24.
const sliceHeader = 24

// linearSignature is the Go signature of every linear kernel.
const linearSignature = "func(dst *[]uint64, src *[]uint64, index *int32, weights *uint64, terms int, stride int, n int, k *uint64, bias *uint64, accumulate bool)"

var (
	mask52 Mem
	pow52  Mem
	half32 Mem // 2^31 in four lanes
	magic  Mem // 1.5·2^52 as float64, in four lanes: the exact int64 ↔ float64 bias
	two32  Mem // 2^32 as float64, in four lanes
)

func main() {
	ConstraintExpr("amd64")
	mask52 = GLOBL("mask52", RODATA|NOPTR)
	DATA(0, U64(1<<52-1))
	pow52 = GLOBL("pow52", RODATA|NOPTR)
	DATA(0, U64(1<<52))
	half32 = quad("half32", 1<<31)
	magic = quad("magic", 0x4338000000000000)
	two32 = quad("two32", 0x41f0000000000000)
	for r := 1; r <= ifmaRows; r++ {
		linearIFMA(r)
	}
	for r := 1; r <= avx2Rows; r++ {
		linearAVX2(r)
	}
	nttKernels()
	arithKernels()
	montDot()
	ifftKernels()
	uniformKernel()
	quantizeKernel()
	gatherKernels()
	Generate()
}

// zero clears a vector register with an idiom avo knows reads nothing (it takes
// VPXORQ x, x, x for a read of x and would keep x live).
func zero(x VecVirtual) { VPSUBQ(x, x, x) }

// quad defines four copies of v as read-only data.
func quad(name string, v uint64) Mem {
	m := GLOBL(name, RODATA|NOPTR)
	for i := range 4 {
		DATA(8*i, U64(v))
	}
	return m
}

// linearIFMA generates linearIFMA<rows>: two vectors of eight coefficients per step,
// 2·rows·2 accumulators (low and high 52-bit halves of each product) in registers.
func linearIFMA(rows int) {
	const vecs = 2
	TEXT(fmt.Sprintf("linearIFMA%d", rows), NOSPLIT, linearSignature)
	Pragma("noescape")
	Doc(fmt.Sprintf("linearIFMA%d is the 52-bit multiply-add kernel for blocks of %d rows (see linear.go).", rows, rows))
	src := Load(Param("src"), GP64())
	n := Load(Param("n"), GP64())
	SHLQ(U8(3), n)
	j := GP64()
	XORQ(j, j)

	Label(fmt.Sprintf("ifma%d_coeffs", rows))
	CMPQ(j, n)
	JAE(LabelRef(fmt.Sprintf("ifma%d_done", rows)))
	lo := make([][]VecVirtual, rows)
	hi := make([][]VecVirtual, rows)
	for r := range rows {
		lo[r], hi[r] = make([]VecVirtual, vecs), make([]VecVirtual, vecs)
		for v := range vecs {
			lo[r][v], hi[r][v] = ZMM(), ZMM()
			zero(lo[r][v])
			zero(hi[r][v])
		}
	}
	idx := Load(Param("index"), GP64())
	w := Load(Param("weights"), GP64())
	terms := Load(Param("terms"), GP64())
	stride := Load(Param("stride"), GP64())
	SHLQ(U8(3), stride)

	Label(fmt.Sprintf("ifma%d_terms", rows))
	row := GP64()
	MOVLQSX(Mem{Base: idx}, row)
	LEAQ(Mem{Base: row, Index: row, Scale: 2}, row)
	ptr := GP64()
	MOVQ(Mem{Base: src, Index: row, Scale: 8}, ptr)
	x := make([]VecVirtual, vecs)
	for v := range vecs {
		x[v] = ZMM()
		VMOVDQU64(Mem{Base: ptr, Index: j, Scale: 1, Disp: 64 * v}, x[v])
	}
	for r := range rows {
		wr := ZMM()
		VPBROADCASTQ(Mem{Base: w, Disp: 8 * r}, wr)
		for v := range vecs {
			VPMADD52LUQ(wr, x[v], lo[r][v])
			VPMADD52HUQ(wr, x[v], hi[r][v])
		}
	}
	ADDQ(U8(4), idx)
	ADDQ(stride, w)
	DECQ(terms)
	JNZ(LabelRef(fmt.Sprintf("ifma%d_terms", rows)))

	k := Load(Param("k"), GP64())
	bias := Load(Param("bias"), GP64())
	acc := Load(Param("accumulate"), GP8())
	dst := Load(Param("dst"), GP64())
	for r := range rows {
		out := GP64()
		MOVQ(Mem{Base: dst, Disp: sliceHeader * r}, out)
		for v := range vecs {
			at := Mem{Base: out, Index: j, Scale: 1, Disp: 64 * v}
			s := ifmaFinish(k, lo[r][v], hi[r][v])
			VPADDQ_BCST(Mem{Base: bias, Disp: 8 * r}, s, s)
			skip := fmt.Sprintf("ifma%d_fresh_%d_%d", rows, r, v)
			TESTB(acc, acc)
			JZ(LabelRef(skip))
			VPADDQ(at, s, s)
			Label(skip)
			ifmaReduce(k, s)
			VMOVDQU64(s, at)
		}
	}
	ADDQ(U32(8*8*vecs), j)
	JMP(LabelRef(fmt.Sprintf("ifma%d_coeffs", rows)))

	Label(fmt.Sprintf("ifma%d_done", rows))
	VZEROUPPER()
	RET()
}

// ifmaFinish folds the high accumulator into the low one: it returns
// lo + (hi mod q)·(2^52 mod q) reduced below 2q, a value congruent to hi·2^52 + lo.
func ifmaFinish(k Register, lo, hi VecVirtual) VecVirtual {
	q := Mem{Base: k, Disp: constQ}
	// hi mod q, in [0, 2q): a float64 quotient off by at most one, then one correction.
	ifmaLazy(k, hi)
	// (hi·r52) mod q in [0, 2q) by Shoup's method with 52-bit halves.
	quot, prod, t := ZMM(), ZMM(), ZMM()
	zero(quot)
	VPMADD52HUQ_BCST(Mem{Base: k, Disp: constR52Shoup}, hi, quot)
	zero(prod)
	VPMADD52LUQ_BCST(Mem{Base: k, Disp: constR52}, hi, prod)
	zero(t)
	VPMADD52LUQ_BCST(q, quot, t)
	VPSUBQ(t, prod, prod)
	VPANDQ_BCST(mask52, prod, prod)
	VPADDQ(prod, lo, lo)
	return lo
}

// ifmaLazy reduces the unsigned values of x (below 2^64) to [0, 2q).
func ifmaLazy(k Register, x VecVirtual) {
	q := Mem{Base: k, Disp: constQ}
	f, t := ZMM(), ZMM()
	VCVTUQQ2PD(x, f)
	VMULPD_BCST(Mem{Base: k, Disp: constQInv}, f, f)
	VCVTTPD2UQQ(f, t)
	VPMULLQ_BCST(q, t, t)
	VPSUBQ(t, x, x) // in [-q, 2q) as signed
	VPADDQ_BCST(q, x, x)
	VPSUBQ_BCST(q, x, t)
	VPMINUQ(t, x, x)
}

// ifmaReduce reduces the unsigned values of x (below 2^64) to [0, q).
func ifmaReduce(k Register, x VecVirtual) {
	ifmaLazy(k, x)
	t := ZMM()
	VPSUBQ_BCST(Mem{Base: k, Disp: constQ}, x, t)
	VPMINUQ(t, x, x)
}

// linearAVX2 generates linearAVX2<rows>: one vector of four coefficients per step;
// each coefficient is split as c = h·2^32 + l with l a signed 32-bit digit, and the
// products w·l and w·h accumulate separately with 32×32-bit multiplies.
func linearAVX2(rows int) {
	TEXT(fmt.Sprintf("linearAVX2%d", rows), NOSPLIT, linearSignature)
	Pragma("noescape")
	Doc(fmt.Sprintf("linearAVX2%d is the AVX2 multiply-add kernel for blocks of %d rows (see linear.go).", rows, rows))
	src := Load(Param("src"), GP64())
	n := Load(Param("n"), GP64())
	SHLQ(U8(3), n)
	j := GP64()
	XORQ(j, j)

	Label(fmt.Sprintf("avx2%d_coeffs", rows))
	CMPQ(j, n)
	JAE(LabelRef(fmt.Sprintf("avx2%d_done", rows)))
	lo := make([]VecVirtual, rows)
	hi := make([]VecVirtual, rows)
	for r := range rows {
		lo[r], hi[r] = YMM(), YMM()
		VPXOR(lo[r], lo[r], lo[r])
		VPXOR(hi[r], hi[r], hi[r])
	}
	idx := Load(Param("index"), GP64())
	w := Load(Param("weights"), GP64())
	terms := Load(Param("terms"), GP64())
	stride := Load(Param("stride"), GP64())
	SHLQ(U8(3), stride)

	Label(fmt.Sprintf("avx2%d_terms", rows))
	row := GP64()
	MOVLQSX(Mem{Base: idx}, row)
	LEAQ(Mem{Base: row, Index: row, Scale: 2}, row)
	ptr := GP64()
	MOVQ(Mem{Base: src, Index: row, Scale: 8}, ptr)
	x, xh := YMM(), YMM()
	VMOVDQU(Mem{Base: ptr, Index: j, Scale: 1}, x)
	VPADDQ(half32, x, xh)
	VPSRLQ(U8(32), xh, xh)
	for r := range rows {
		wr, t := YMM(), YMM()
		VPBROADCASTQ(Mem{Base: w, Disp: 8 * r}, wr)
		VPMULDQ(wr, x, t)
		VPADDQ(t, lo[r], lo[r])
		VPMULDQ(wr, xh, t)
		VPADDQ(t, hi[r], hi[r])
	}
	ADDQ(U8(4), idx)
	ADDQ(stride, w)
	DECQ(terms)
	JNZ(LabelRef(fmt.Sprintf("avx2%d_terms", rows)))

	k := Load(Param("k"), GP64())
	bias := Load(Param("bias"), GP64())
	acc := Load(Param("accumulate"), GP8())
	dst := Load(Param("dst"), GP64())
	for r := range rows {
		out := GP64()
		MOVQ(Mem{Base: dst, Disp: sliceHeader * r}, out)
		at := Mem{Base: out, Index: j, Scale: 1}
		s := avx2Finish(k, lo[r], hi[r])
		b := YMM()
		VPBROADCASTQ(Mem{Base: bias, Disp: 8 * r}, b)
		VPADDQ(b, s, s)
		skip := fmt.Sprintf("avx2%d_fresh_%d", rows, r)
		TESTB(acc, acc)
		JZ(LabelRef(skip))
		VPADDQ(at, s, s)
		Label(skip)
		avx2Normalize(k, s)
		VMOVDQU(s, at)
	}
	ADDQ(U32(8*4), j)
	JMP(LabelRef(fmt.Sprintf("avx2%d_coeffs", rows)))

	Label(fmt.Sprintf("avx2%d_done", rows))
	VZEROUPPER()
	RET()
}

// avx2Finish returns hi·2^32 + lo reduced modulo q into (-q, q), for |lo|, |hi| < 2^51:
// both convert exactly to float64, their float sum gives a rounded quotient, and the
// remainder is computed exactly modulo 2^64.
func avx2Finish(k Register, lo, hi VecVirtual) VecVirtual {
	hd, ld := YMM(), YMM()
	VPADDQ(magic, hi, hd)
	VSUBPD(magic, hd, hd)
	VPADDQ(magic, lo, ld)
	VSUBPD(magic, ld, ld)
	VMULPD(two32, hd, hd)
	VADDPD(ld, hd, hd)
	VMULPD(Mem{Base: k, Disp: constQInv4}, hd, hd)
	VADDPD(magic, hd, hd)
	quot := hd
	VPSUBQ(magic, quot, quot) // round(S/q) as int64
	// S = hi·2^32 + lo modulo 2^64.
	VPSLLQ(U8(32), hi, hi)
	VPADDQ(lo, hi, hi)
	// quot·q modulo 2^64 from 32-bit halves.
	p, a, b := YMM(), YMM(), YMM()
	VPMULUDQ(Mem{Base: k, Disp: constQ4}, quot, p)
	VPSRLQ(U8(32), quot, a)
	VPMULUDQ(Mem{Base: k, Disp: constQ4}, a, a)
	VPMULUDQ(Mem{Base: k, Disp: constQHigh4}, quot, b)
	VPADDQ(b, a, a)
	VPSLLQ(U8(32), a, a)
	VPADDQ(a, p, p)
	VPSUBQ(p, hi, hi)
	return hi
}

// avx2Normalize brings signed values in (-q, 3q) into [0, q).
func avx2Normalize(k Register, x VecVirtual) {
	m, z := YMM(), YMM()
	VPXOR(z, z, z)
	VPCMPGTQ(x, z, m) // x < 0
	VPAND(Mem{Base: k, Disp: constQ4}, m, m)
	VPADDQ(m, x, x)
	for range 2 {
		VPCMPGTQ(Mem{Base: k, Disp: constQLess4}, x, m) // x ≥ q
		VPAND(Mem{Base: k, Disp: constQ4}, m, m)
		VPSUBQ(m, x, x)
	}
}
