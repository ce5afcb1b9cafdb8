package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// Element-wise modular arithmetic modulo q < 2^50 on eight coefficients at a time;
// every length is a multiple of 8 and every result is in [0, q).

// modConstsVec are the broadcast constants of the element-wise kernels.
type modConstsVec struct {
	nttConsts
	qInv VecVirtual // 1/q as float64
}

func loadModConsts(k Register) modConstsVec {
	c := modConstsVec{nttConsts: loadNTTConsts(k), qInv: ZMM()}
	VPBROADCASTQ(Mem{Base: k, Disp: constQInv}, c.qInv)
	return c
}

// minusQ maps [0, 2q) to [0, q).
func minusQ(c modConstsVec, x VecVirtual) {
	t := ZMM()
	VPSUBQ(c.q, x, t)
	VPMINUQ(t, x, x)
}

// minus2Q maps [0, 4q) to [0, 2q).
func minus2Q(c modConstsVec, x VecVirtual) {
	t := ZMM()
	VPSUBQ(c.q2, x, t)
	VPMINUQ(t, x, x)
}

// mulModLazy returns a·b mod q in [0, 3q) for a, b < q: the quotient comes from a
// float64 product (off by at most one), the remainder from 52-bit products.
func mulModLazy(c modConstsVec, a, b VecVirtual) VecVirtual {
	fa, fb, quot, r := ZMM(), ZMM(), ZMM(), ZMM()
	VCVTUQQ2PD(a, fa)
	VCVTUQQ2PD(b, fb)
	VMULPD(fb, fa, fa)
	VMULPD(c.qInv, fa, fa)
	VCVTTPD2UQQ(fa, quot)
	zero(r)
	VPMADD52LUQ(b, a, r)
	VPMADD52LUQ(c.negq, quot, r) // a·b − quot·q modulo 2^52, in [−q, 2q)
	VPADDQ(c.q, r, r)
	VPANDQ(c.mask, r, r)
	return r
}

// reduce52 returns x mod q in [0, q) for x < 2^52 (the quotient from a float64
// product, off by at most one, then corrected).
func reduce52(c modConstsVec, x VecVirtual) VecVirtual {
	f, quot, r := ZMM(), ZMM(), ZMM()
	VCVTUQQ2PD(x, f)
	VMULPD(c.qInv, f, f)
	VCVTTPD2UQQ(f, quot)
	VMOVDQA64(x, r)
	VPMADD52LUQ(c.negq, quot, r) // x − quot·q modulo 2^52, in [−q, 2q)
	VPADDQ(c.q, r, r)
	VPANDQ(c.mask, r, r)
	minusQ(c, r)
	return r
}

// elementwise generates a kernel over n coefficients (a multiple of 8): the pointer
// parameters named are loaded once, and body computes eight coefficients at the byte
// offset off.
func elementwise(name, doc, signature string, pointers []string, body func(p []Register, off Register, c modConstsVec)) {
	TEXT(name, NOSPLIT, signature)
	Pragma("noescape")
	Doc(doc)
	p := make([]Register, len(pointers))
	for i, param := range pointers {
		p[i] = Load(Param(param), GP64())
	}
	n := Load(Param("n"), GP64())
	SHLQ(U8(3), n)
	c := loadModConsts(Load(Param("k"), GP64()))
	off := GP64()
	XORQ(off, off)
	Label(name + "_loop")
	CMPQ(off, n)
	JAE(LabelRef(name + "_done"))
	body(p, off, c)
	ADDQ(U8(64), off)
	JMP(LabelRef(name + "_loop"))
	Label(name + "_done")
	VZEROUPPER()
	RET()
}

func at(base, off Register) Mem { return Mem{Base: base, Index: off, Scale: 1} }

// arithKernels generates the element-wise kernels.
func arithKernels() {
	const binary = "func(dst *uint64, a *uint64, b *uint64, n int, k *uint64)"
	operands := []string{"dst", "a", "b"}
	load2 := func(p []Register, off Register) (VecVirtual, VecVirtual) {
		x, y := ZMM(), ZMM()
		VMOVDQU64(at(p[1], off), x)
		VMOVDQU64(at(p[2], off), y)
		return x, y
	}
	elementwise("mulModIFMA", "mulModIFMA sets dst = a·b mod q for a, b < q.", binary, operands,
		func(p []Register, off Register, c modConstsVec) {
			x, y := load2(p, off)
			r := mulModLazy(c, x, y)
			minus2Q(c, r)
			minusQ(c, r)
			VMOVDQU64(r, at(p[0], off))
		})
	elementwise("mulAddModIFMA", "mulAddModIFMA sets dst = dst + a·b mod q for dst, a, b < q.", binary, operands,
		func(p []Register, off Register, c modConstsVec) {
			x, y := load2(p, off)
			r := mulModLazy(c, x, y)
			VPADDQ(at(p[0], off), r, r) // [0, 4q)
			minus2Q(c, r)
			minusQ(c, r)
			VMOVDQU64(r, at(p[0], off))
		})
	elementwise("addModIFMA", "addModIFMA sets dst = a + b mod q for a, b < q.", binary, operands,
		func(p []Register, off Register, c modConstsVec) {
			x, y := load2(p, off)
			VPADDQ(y, x, x)
			minusQ(c, x)
			VMOVDQU64(x, at(p[0], off))
		})
	elementwise("reduceAddIFMA", "reduceAddIFMA sets dst = (src mod q) + s mod q for src < 2^52 and s < q.",
		"func(dst *uint64, src *uint64, n int, s uint64, k *uint64)", []string{"dst", "src", "s"},
		func(p []Register, off Register, c modConstsVec) {
			x := ZMM()
			VMOVDQU64(at(p[1], off), x)
			r := reduce52(c, x)
			s := ZMM()
			VPBROADCASTQ(p[2], s)
			VPADDQ(s, r, r)
			minusQ(c, r)
			VMOVDQU64(r, at(p[0], off))
		})
	elementwise("mulConstAddIFMA", "mulConstAddIFMA sets dst = dst + a·w mod q for dst < q and a < 2^52, with w' = ⌊w·2^52/q⌋.",
		"func(dst *uint64, a *uint64, n int, w uint64, ws uint64, k *uint64)", []string{"dst", "a", "w", "ws"},
		func(p []Register, off Register, c modConstsVec) {
			x := ZMM()
			VMOVDQU64(at(p[1], off), x)
			w, ws := ZMM(), ZMM()
			VPBROADCASTQ(p[2], w)
			VPBROADCASTQ(p[3], ws)
			r := shoup(c.nttConsts, x, w, ws)
			VPADDQ(at(p[0], off), r, r) // [0, 3q)
			minus2Q(c, r)
			minusQ(c, r)
			VMOVDQU64(r, at(p[0], off))
		})
	elementwise("liftIFMA", "liftIFMA sets dst to src (residues modulo p < 2^50) lifted to (−p/2, p/2] and reduced modulo q: src mod q below ⌊p/2⌋, else q − ((p − src) mod q).",
		"func(dst *uint64, src *uint64, n int, p uint64, half uint64, k *uint64)", []string{"dst", "src", "p", "half"},
		func(ptr []Register, off Register, c modConstsVec) {
			x, pv, hv := ZMM(), ZMM(), ZMM()
			VMOVDQU64(at(ptr[1], off), x)
			VPBROADCASTQ(ptr[2], pv)
			VPBROADCASTQ(ptr[3], hv)
			neg := K()
			VPCMPUQ(U8(5), hv, x, neg) // x ≥ ⌊p/2⌋
			m := ZMM()
			VPSUBQ(x, pv, m)
			VPBLENDMQ(m, x, neg, x) // |lift|
			r := reduce52(c, x)
			VPSUBQ(r, c.q, m) // (0, q]
			minusQ(c, m)
			VPBLENDMQ(m, r, neg, r)
			VMOVDQU64(r, at(ptr[0], off))
		})
	elementwise("subMulIFMA", "subMulIFMA sets dst = (a − b)·w mod q for a, b < q, with w' = ⌊w·2^52/q⌋.",
		"func(dst *uint64, a *uint64, b *uint64, n int, w uint64, ws uint64, k *uint64)", []string{"dst", "a", "b", "w", "ws"},
		func(p []Register, off Register, c modConstsVec) {
			x, y := load2(p, off)
			VPADDQ(c.q, x, x)
			VPSUBQ(y, x, x) // (0, 2q)
			w, ws := ZMM(), ZMM()
			VPBROADCASTQ(p[3], w)
			VPBROADCASTQ(p[4], ws)
			r := shoup(c.nttConsts, x, w, ws)
			minusQ(c, r)
			VMOVDQU64(r, at(p[0], off))
		})
}

// gatherKernels generates the automorphisms in the NTT domain: a gather of src by an
// index map, into dst or added to it modulo q.
func gatherKernels() {
	const signature = "func(dst *uint64, src *uint64, index *uint64, n int, k *uint64)"
	gather := func(src, off Register, p []Register) VecVirtual {
		idx, x := ZMM(), ZMM()
		VMOVDQU64(at(p[2], off), idx)
		all := K()
		KXNORB(all, all, all)
		VPGATHERQQ(Mem{Base: src, Index: idx, Scale: 8}, all, x)
		return x
	}
	elementwise("permuteIFMA", "permuteIFMA sets dst[j] = src[index[j]] for index values below 2^31.", signature,
		[]string{"dst", "src", "index"},
		func(p []Register, off Register, c modConstsVec) {
			VMOVDQU64(gather(p[1], off, p), at(p[0], off))
		})
	elementwise("permuteAddIFMA", "permuteAddIFMA sets dst[j] = dst[j] + src[index[j]] mod q for dst, src < q and index values below 2^31.", signature,
		[]string{"dst", "src", "index"},
		func(p []Register, off Register, c modConstsVec) {
			x := gather(p[1], off, p)
			VPADDQ(at(p[0], off), x, x)
			minusQ(c, x)
			VMOVDQU64(x, at(p[0], off))
		})
}

// montDotVecs is the number of 8-coefficient vectors montDotIFMA computes at a time.
const montDotVecs = 4

// montDotPrefetch is how far ahead (bytes) montDotIFMA prefetches its key rows.
const montDotPrefetch = 512

// montDot generates montDotIFMA: for two outputs sharing one operand,
// dst_o = (dst_o if accumulate) + Σ_i a_oi·b_i·2^-64 mod q over count ≤ 8 terms
// (a_oi, b_i < q): the Montgomery products of Lattigo's key switching (the two key
// polynomials times the same digit), summed exactly in 52-bit halves, reduced once.
func montDot() {
	TEXT("montDotIFMA", NOSPLIT, "func(dst0 *uint64, dst1 *uint64, terms *[]uint64, count int, n int, k *uint64, accumulate bool)")
	Pragma("noescape")
	Doc("montDotIFMA sets dst_o = (dst_o if accumulate) + Σ a_oi·b_i·2^-64 mod q over count ≤ 8 terms a_0i, a_1i, b_i (rows in that order; n a multiple of 32).")
	n := Load(Param("n"), GP64())
	SHLQ(U8(3), n)
	k := Load(Param("k"), GP64())
	c := loadModConsts(k)
	off := GP64()
	XORQ(off, off)

	Label("montdot_coeffs")
	CMPQ(off, n)
	JAE(LabelRef("montdot_done"))
	var lo, hi [2][]VecVirtual
	for o := range 2 {
		lo[o], hi[o] = make([]VecVirtual, montDotVecs), make([]VecVirtual, montDotVecs)
		for v := range montDotVecs {
			lo[o][v], hi[o][v] = ZMM(), ZMM()
			zero(lo[o][v])
			zero(hi[o][v])
		}
	}
	terms := Load(Param("terms"), GP64())
	count := Load(Param("count"), GP64())
	Label("montdot_terms")
	pa0, pa1, pb := GP64(), GP64(), GP64()
	MOVQ(Mem{Base: terms}, pa0)
	MOVQ(Mem{Base: terms, Disp: sliceHeader}, pa1)
	MOVQ(Mem{Base: terms, Disp: 2 * sliceHeader}, pb)
	for v := range montDotVecs {
		for _, pr := range []Register{pa0, pa1} {
			PREFETCHT0(Mem{Base: pr, Index: off, Scale: 1, Disp: montDotPrefetch + 64*v})
		}
		b := ZMM()
		VMOVDQU64(Mem{Base: pb, Index: off, Scale: 1, Disp: 64 * v}, b)
		for o, pa := range []Register{pa0, pa1} {
			a := ZMM()
			VMOVDQU64(Mem{Base: pa, Index: off, Scale: 1, Disp: 64 * v}, a)
			VPMADD52LUQ(b, a, lo[o][v])
			VPMADD52HUQ(b, a, hi[o][v])
		}
	}
	ADDQ(U8(3*sliceHeader), terms)
	DECQ(count)
	JNZ(LabelRef("montdot_terms"))

	acc := Load(Param("accumulate"), GP8())
	m12, m12s, m64, m64s := ZMM(), ZMM(), ZMM(), ZMM()
	VPBROADCASTQ(Mem{Base: k, Disp: constMont12}, m12)
	VPBROADCASTQ(Mem{Base: k, Disp: constMont12S}, m12s)
	VPBROADCASTQ(Mem{Base: k, Disp: constMont64}, m64)
	VPBROADCASTQ(Mem{Base: k, Disp: constMont64S}, m64s)
	for o, name := range []string{"dst0", "dst1"} {
		dst := Load(Param(name), GP64())
		for v := range montDotVecs {
			at := Mem{Base: dst, Index: off, Scale: 1, Disp: 64 * v}
			// a·b = hi·2^52 + lo: move lo's carries into hi, then each half through
			// its constant.
			t := ZMM()
			VPSRLQ(U8(52), lo[o][v], t)
			VPADDQ(t, hi[o][v], hi[o][v])
			VPANDQ(c.mask, lo[o][v], lo[o][v])
			r := shoup(c.nttConsts, hi[o][v], m12, m12s)
			r2 := shoup(c.nttConsts, lo[o][v], m64, m64s)
			VPADDQ(r2, r, r) // [0, 4q)
			minus2Q(c, r)
			minusQ(c, r)
			skip := fmt.Sprintf("montdot_fresh_%d_%d", o, v)
			TESTB(acc, acc)
			JZ(LabelRef(skip))
			VPADDQ(at, r, r)
			minusQ(c, r)
			Label(skip)
			VMOVDQU64(r, at)
		}
	}
	ADDQ(U32(64*montDotVecs), off)
	JMP(LabelRef("montdot_coeffs"))

	Label("montdot_done")
	VZEROUPPER()
	RET()
}
