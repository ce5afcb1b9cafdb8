package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// The NTT kernels work modulo q < 2^50 on values kept below 4q, with roots w and their
// Shoup constants w' = ⌊w·2^52/q⌋ in separate tables. The tables are compact: of
// Lattigo's (bit-reversed, conjugate-invariant ring), where stage m reads roots
// m … m + m/2 − 1 only, they keep those at m/2 … m − 1 (root m + i at m/2 + i, so that
// doubling an index still gives the next stage's), and the fold's root 1 at 0. A
// product by a root is Shoup's: V·w − ⌊V·w'/2^52⌋·q computed modulo 2^52, in [0, 2q)
// for any V < 2^52.

// nttSignature is the Go signature of the stage kernels.
const nttSignature = "func(p *uint64, n int, w *uint64, ws *uint64, k *uint64)"

// nttConsts are the modulus constants the butterflies keep in registers.
type nttConsts struct {
	q, q2, negq, mask VecVirtual
}

// loadNTTConsts broadcasts q, 2q, 2^52−q and 2^52−1 from the modConsts at k.
func loadNTTConsts(k Register) nttConsts {
	c := nttConsts{q: ZMM(), q2: ZMM(), negq: ZMM(), mask: ZMM()}
	VPBROADCASTQ(Mem{Base: k, Disp: constQ}, c.q)
	VPADDQ(c.q, c.q, c.q2)
	VPBROADCASTQ(mask52, c.mask)
	VPBROADCASTQ(pow52, c.negq)
	VPSUBQ(c.q, c.negq, c.negq) // 2^52 − q
	return c
}

// shoup returns V·w mod q in [0, 2q) for V < 2^52, with w and w' = ⌊w·2^52/q⌋.
func shoup(c nttConsts, v, w, ws VecVirtual) VecVirtual {
	quot, t := ZMM(), ZMM()
	zero(quot)
	VPMADD52HUQ(ws, v, quot)
	zero(t)
	VPMADD52LUQ(w, v, t)
	VPMADD52LUQ(c.negq, quot, t)
	VPANDQ(c.mask, t, t)
	return t
}

// forwardButterfly sets u, v = u + v·w, u − v·w + 2q for u, v < 4q: results below 4q.
func forwardButterfly(c nttConsts, u, v, w, ws VecVirtual) {
	t := ZMM()
	VPSUBQ(c.q2, u, t)
	VPMINUQ(t, u, u) // u < 2q
	vw := shoup(c, v, w, ws)
	VPADDQ(c.q2, u, v)
	VPSUBQ(vw, v, v)
	VPADDQ(vw, u, u)
}

// inverseButterfly sets u, v = u + v, (u − v + 2q)·w for u, v < 2q: results below 2q.
func inverseButterfly(c nttConsts, u, v, w, ws VecVirtual) {
	d, t := ZMM(), ZMM()
	VPADDQ(c.q2, u, d)
	VPSUBQ(v, d, d)
	VPADDQ(v, u, u)
	VPSUBQ(c.q2, u, t)
	VPMINUQ(t, u, u)
	y := shoup(c, d, w, ws)
	VMOVDQA64(y, v)
}

// reduce4q brings values below 4q into [0, q).
func reduce4q(c nttConsts, x VecVirtual) {
	t := ZMM()
	VPSUBQ(c.q2, x, t)
	VPMINUQ(t, x, x)
	VPSUBQ(c.q, x, t)
	VPMINUQ(t, x, x)
}

// nttParams loads the pointer parameters of a stage kernel.
func nttParams() (p, n, w, ws Register, c nttConsts) {
	p = Load(Param("p"), GP64())
	n = Load(Param("n"), GP64())
	w = Load(Param("w"), GP64())
	ws = Load(Param("ws"), GP64())
	c = loadNTTConsts(Load(Param("k"), GP64()))
	return
}

// A stage kernel's passes: each pass runs up to three consecutive stages on vectors
// held in registers (radix 8, 4 or 2), so that a row crosses the memory hierarchy once
// per pass rather than once per stage. Every coefficient sees the same butterflies in
// the same order as stage by stage.

// rootPair broadcasts root idx+k (w and its Shoup constant) from the tables.
func rootPair(w, ws, idx Register, k int) (VecVirtual, VecVirtual) {
	r, rs := ZMM(), ZMM()
	VPBROADCASTQ(Mem{Base: w, Index: idx, Scale: 8, Disp: 8 * k}, r)
	VPBROADCASTQ(Mem{Base: ws, Index: idx, Scale: 8, Disp: 8 * k}, rs)
	return r, rs
}

// stagePass generates one pass of a stage kernel over the whole row, in blocks of
// vectors·tb bytes (tb holds the vectors' spacing in bytes, tb3 = 3·tb is scratch):
// for block b = 0, 1, … while idx < idxEnd (idx advancing by step per block), roots
// gives the block's butterflies (for its root index idx), run on the `vectors` vectors
// at j + k·tb, k < vectors, for j stepping by 64 bytes over the block's first tb bytes.
func stagePass(name string, p, tb, idx, idxEnd Register, step, vectors int, roots func(idx Register) func(x []VecVirtual)) {
	tb3, j, j1, end := GP64(), GP64(), GP64(), GP64()
	LEAQ(Mem{Base: tb, Index: tb, Scale: 2}, tb3)
	MOVQ(p, j)
	Label(name + "_block")
	body := roots(idx)
	LEAQ(Mem{Base: j, Index: tb, Scale: 1}, end)
	Label(name + "_vec")
	LEAQ(Mem{Base: j, Index: tb, Scale: 1}, j1)
	// Vector k at j + k·tb: even k from j, odd k from j1 = j + tb.
	at := func(k int) Mem {
		base := j
		if k%2 == 1 {
			base = j1
		}
		switch k / 2 {
		case 0:
			return Mem{Base: base}
		case 1:
			return Mem{Base: base, Index: tb, Scale: 2}
		case 2:
			return Mem{Base: base, Index: tb, Scale: 4}
		default:
			return Mem{Base: base, Index: tb3, Scale: 2}
		}
	}
	x := make([]VecVirtual, vectors)
	for k := range x {
		x[k] = ZMM()
		VMOVDQU64(at(k), x[k])
	}
	body(x)
	for k := range x {
		VMOVDQU64(x[k], at(k))
	}
	ADDQ(U8(64), j)
	CMPQ(j, end)
	JB(LabelRef(name + "_vec"))
	// j is now the block's start + tb: the next block starts (vectors−1)·tb on.
	switch vectors {
	case 8:
		LEAQ(Mem{Base: j, Index: tb3, Scale: 2}, j) // + 6·tb
		ADDQ(tb, j)
	case 4:
		ADDQ(tb3, j)
	case 2:
		ADDQ(tb, j)
	}
	ADDQ(U8(step), idx)
	CMPQ(idx, idxEnd)
	JB(LabelRef(name + "_block"))
}

// nttForwardStages generates the forward stages whose butterflies are at least 16
// coefficients apart (nttForwardLast does t = 8, 4, 2, 1): for m = 2, 4, … while
// t = n/m ≥ 16, block i of 2t coefficients uses root m+i. Stages go three at a time
// while t ≥ 64, then two or one.
func nttForwardStages() {
	TEXT("nttForwardStagesIFMA", NOSPLIT, nttSignature)
	Pragma("noescape")
	Doc("nttForwardStagesIFMA runs the forward NTT stages with butterflies at least 16 apart.")
	p, n, w, ws, c := nttParams()
	m, t, tb, idx, idxEnd := GP64(), GP64(), GP64(), GP64(), GP64()
	MOVQ(U32(2), m)
	MOVQ(n, t)
	SHRQ(U8(1), t)
	// A pass's first stage (m, t): vectors t/2^shift apart, blocks m … m + m/2 − 1
	// (table entries m/2 … m − 1).
	setup := func(shift uint8) {
		MOVQ(t, tb)
		SHLQ(U8(3), tb)
		SHRQ(U8(shift), tb)
		MOVQ(m, idx)
		SHRQ(U8(1), idx)
		MOVQ(m, idxEnd)
	}

	Label("fwd8_stage")
	CMPQ(t, U8(64))
	JB(LabelRef("fwd4_stage"))
	setup(2)
	stagePass("fwd8", p, tb, idx, idxEnd, 1, 8, func(idx Register) func(x []VecVirtual) {
		return func(x []VecVirtual) {
			w1, ws1 := rootPair(w, ws, idx, 0)
			for k := range 4 {
				forwardButterfly(c, x[k], x[k+4], w1, ws1)
			}
			idx2 := GP64()
			LEAQ(Mem{Base: idx, Index: idx, Scale: 1}, idx2) // 2m+2i (entry m+2i)
			for h := range 2 {
				w2, ws2 := rootPair(w, ws, idx2, h)
				forwardButterfly(c, x[4*h], x[4*h+2], w2, ws2)
				forwardButterfly(c, x[4*h+1], x[4*h+3], w2, ws2)
			}
			SHLQ(U8(1), idx2) // 4m+4i (entry 2m+4i)
			for h := range 4 {
				w3, ws3 := rootPair(w, ws, idx2, h)
				forwardButterfly(c, x[2*h], x[2*h+1], w3, ws3)
			}
		}
	})
	SHLQ(U8(3), m)
	SHRQ(U8(3), t)
	JMP(LabelRef("fwd8_stage"))

	Label("fwd4_stage")
	CMPQ(t, U8(32))
	JB(LabelRef("fwd2_stage"))
	setup(1)
	stagePass("fwd4", p, tb, idx, idxEnd, 1, 4, func(idx Register) func(x []VecVirtual) {
		return func(x []VecVirtual) {
			w1, ws1 := rootPair(w, ws, idx, 0)
			forwardButterfly(c, x[0], x[2], w1, ws1)
			forwardButterfly(c, x[1], x[3], w1, ws1)
			idx2 := GP64()
			LEAQ(Mem{Base: idx, Index: idx, Scale: 1}, idx2)
			for h := range 2 {
				w2, ws2 := rootPair(w, ws, idx2, h)
				forwardButterfly(c, x[2*h], x[2*h+1], w2, ws2)
			}
		}
	})
	SHLQ(U8(2), m)
	SHRQ(U8(2), t)

	Label("fwd2_stage")
	CMPQ(t, U8(16))
	JB(LabelRef("fwd_done"))
	setup(0)
	stagePass("fwd2", p, tb, idx, idxEnd, 1, 2, func(idx Register) func(x []VecVirtual) {
		return func(x []VecVirtual) {
			w1, ws1 := rootPair(w, ws, idx, 0)
			forwardButterfly(c, x[0], x[1], w1, ws1)
		}
	})

	Label("fwd_done")
	VZEROUPPER()
	RET()
}

// nttInverseStages generates the inverse stages with butterflies at least 16 apart
// (nttInverseFirst does t = 1, 2, 4, 8): for m = n/16, n/32, … 2 with t doubling from
// 16, block i uses root m+i. Stages go three at a time while m ≥ 8, then two or one.
func nttInverseStages() {
	TEXT("nttInverseStagesIFMA", NOSPLIT, nttSignature)
	Pragma("noescape")
	Doc("nttInverseStagesIFMA runs the inverse NTT stages with butterflies at least 16 apart.")
	p, n, w, ws, c := nttParams()
	m, t, tb, idx, idxEnd := GP64(), GP64(), GP64(), GP64(), GP64()
	MOVQ(n, m)
	SHRQ(U8(4), m)
	MOVQ(U32(16), t)
	// A pass from stage (m, t): vectors t apart, the first stage's roots m … m + m/2 − 1
	// at entries m/2 … m − 1 (a pass of s stages takes 2^(s−1) of them per block).
	setup := func() {
		MOVQ(t, tb)
		SHLQ(U8(3), tb)
		MOVQ(m, idx)
		SHRQ(U8(1), idx)
		MOVQ(m, idxEnd)
	}

	Label("inv8_stage")
	CMPQ(m, U8(8))
	JB(LabelRef("inv4_stage"))
	setup()
	stagePass("inv8", p, tb, idx, idxEnd, 4, 8, func(idx Register) func(x []VecVirtual) {
		return func(x []VecVirtual) {
			for h := range 4 {
				w1, ws1 := rootPair(w, ws, idx, h) // m+4i+h (entry m/2+4i+h)
				inverseButterfly(c, x[2*h], x[2*h+1], w1, ws1)
			}
			idx2 := GP64()
			MOVQ(idx, idx2)
			SHRQ(U8(1), idx2) // m/2+2i (entry m/4+2i)
			for h := range 2 {
				w2, ws2 := rootPair(w, ws, idx2, h)
				inverseButterfly(c, x[4*h], x[4*h+2], w2, ws2)
				inverseButterfly(c, x[4*h+1], x[4*h+3], w2, ws2)
			}
			SHRQ(U8(1), idx2) // m/4+i (entry m/8+i)
			w3, ws3 := rootPair(w, ws, idx2, 0)
			for k := range 4 {
				inverseButterfly(c, x[k], x[k+4], w3, ws3)
			}
		}
	})
	SHRQ(U8(3), m)
	SHLQ(U8(3), t)
	JMP(LabelRef("inv8_stage"))

	Label("inv4_stage")
	CMPQ(m, U8(4))
	JB(LabelRef("inv2_stage"))
	setup()
	stagePass("inv4", p, tb, idx, idxEnd, 2, 4, func(idx Register) func(x []VecVirtual) {
		return func(x []VecVirtual) {
			for h := range 2 {
				w1, ws1 := rootPair(w, ws, idx, h) // m+2i+h (entry m/2+2i+h)
				inverseButterfly(c, x[2*h], x[2*h+1], w1, ws1)
			}
			idx2 := GP64()
			MOVQ(idx, idx2)
			SHRQ(U8(1), idx2) // m/2+i (entry m/4+i)
			w2, ws2 := rootPair(w, ws, idx2, 0)
			inverseButterfly(c, x[0], x[2], w2, ws2)
			inverseButterfly(c, x[1], x[3], w2, ws2)
		}
	})
	SHRQ(U8(2), m)
	SHLQ(U8(2), t)

	Label("inv2_stage")
	CMPQ(m, U8(2))
	JB(LabelRef("inv_done"))
	setup()
	stagePass("inv2", p, tb, idx, idxEnd, 1, 2, func(idx Register) func(x []VecVirtual) {
		return func(x []VecVirtual) {
			w1, ws1 := rootPair(w, ws, idx, 0)
			inverseButterfly(c, x[0], x[1], w1, ws1)
		}
	})

	Label("inv_done")
	VZEROUPPER()
	RET()
}

// Lane permutations of the three innermost stages, on 16 coefficients c0…c15 held in
// two vectors A = c0…c7, B = c8…c15 (indices 8–15 of VPERMI2Q pick from the second).
var (
	permSpread4 Mem // roots r0 r0 r0 r0 r1 r1 r1 r1
	permSpread2 Mem // roots r0 r0 r1 r1 r2 r2 r3 r3
	permEven    Mem // c0 c2 … c14 from A, B
	permOdd     Mem // c1 c3 … c15
	// permSwapLo and permSwapHi exchange pairs of lanes between X and Y: from
	// X = c0 c1 c2 c3 c8 c9 c10 c11, Y = c4 c5 c6 c7 c12 … they give c0 c1 c4 c5 c8 c9
	// c12 c13 and c2 c3 c6 c7 c10 c11 c14 c15, and the reverse.
	permSwapLo  Mem
	permSwapHi  Mem
	permMixLo   Mem // from X = c0 c2 … c14, Y = c1 c3 … c15: c0 … c7
	permMixHi   Mem // c8 … c15
	permReverse Mem // lanes 7 6 … 0
)

func nttPermutations() {
	perm := func(name string, idx ...uint64) Mem {
		m := GLOBL(name, RODATA|NOPTR)
		for i, x := range idx {
			DATA(8*i, U64(x))
		}
		return m
	}
	permSpread4 = perm("permSpread4", 0, 0, 0, 0, 1, 1, 1, 1)
	permSpread2 = perm("permSpread2", 0, 0, 1, 1, 2, 2, 3, 3)
	permEven = perm("permEven", 0, 2, 4, 6, 8, 10, 12, 14)
	permOdd = perm("permOdd", 1, 3, 5, 7, 9, 11, 13, 15)
	permSwapLo = perm("permSwapLo", 0, 1, 8, 9, 4, 5, 12, 13)
	permSwapHi = perm("permSwapHi", 2, 3, 10, 11, 6, 7, 14, 15)
	permMixLo = perm("permMixLo", 0, 8, 1, 9, 2, 10, 3, 11)
	permMixHi = perm("permMixHi", 4, 12, 5, 13, 6, 14, 7, 15)
	permReverse = perm("permReverse", 7, 6, 5, 4, 3, 2, 1, 0)
}

// permute2 returns the lanes of (x, y) that idx names.
func permute2(idx Mem, x, y VecVirtual) VecVirtual {
	out := ZMM()
	VMOVDQU64(idx, out)
	VPERMI2Q(y, x, out)
	return out
}

// innerRoots loads the roots of the three innermost stages for group g (coefficients
// 16g…16g+15): root n/4+2g… spread over four lanes each, n/2+4g… over two, n+8g… one
// (entries n/8+2g…, n/4+4g… and n/2+8g…).
type innerRoots struct{ w4, ws4, w2, ws2, w1, ws1 VecVirtual }

func loadInnerRoots(n, g, w, ws Register) innerRoots {
	var r innerRoots
	idx := GP64()
	spread4, spread2 := ZMM(), ZMM()
	VMOVDQU64(permSpread4, spread4)
	VMOVDQU64(permSpread2, spread2)
	// root n/4 + 2g: entry n/8 + 2g
	MOVQ(n, idx)
	SHRQ(U8(3), idx)
	LEAQ(Mem{Base: idx, Index: g, Scale: 2}, idx)
	r.w4, r.ws4 = ZMM(), ZMM()
	VPERMQ(Mem{Base: w, Index: idx, Scale: 8}, spread4, r.w4)
	VPERMQ(Mem{Base: ws, Index: idx, Scale: 8}, spread4, r.ws4)
	// n/2 + 4g: entry n/4 + 4g
	MOVQ(n, idx)
	SHRQ(U8(2), idx)
	LEAQ(Mem{Base: idx, Index: g, Scale: 4}, idx)
	r.w2, r.ws2 = ZMM(), ZMM()
	VPERMQ(Mem{Base: w, Index: idx, Scale: 8}, spread2, r.w2)
	VPERMQ(Mem{Base: ws, Index: idx, Scale: 8}, spread2, r.ws2)
	// n + 8g: entry n/2 + 8g
	MOVQ(n, idx)
	SHRQ(U8(1), idx)
	LEAQ(Mem{Base: idx, Index: g, Scale: 8}, idx)
	r.w1, r.ws1 = ZMM(), ZMM()
	VMOVDQU64(Mem{Base: w, Index: idx, Scale: 8}, r.w1)
	VMOVDQU64(Mem{Base: ws, Index: idx, Scale: 8}, r.ws1)
	return r
}

// eighthRoot broadcasts root n/8 + g (entry n/16 + g), the stage t = 8's for group g.
func eighthRoot(n, g, w, ws Register) (VecVirtual, VecVirtual) {
	idx := GP64()
	MOVQ(n, idx)
	SHRQ(U8(4), idx)
	ADDQ(g, idx)
	return rootPair(w, ws, idx, 0)
}

// nttForwardLast generates the four innermost forward stages (t = 8, 4, 2, 1) fused
// on groups of 16 coefficients, and the final reduction into [0, q).
func nttForwardLast() {
	TEXT("nttForwardLastIFMA", NOSPLIT, nttSignature)
	Pragma("noescape")
	Doc("nttForwardLastIFMA runs the forward NTT stages t = 8, 4, 2, 1 and reduces into [0, q).")
	p, n, w, ws, c := nttParams()
	g, groups := GP64(), GP64()
	XORQ(g, g)
	MOVQ(n, groups)
	SHRQ(U8(4), groups)

	Label("fwdlast_group")
	r := loadInnerRoots(n, g, w, ws)
	a, b := ZMM(), ZMM()
	at := GP64()
	MOVQ(g, at)
	SHLQ(U8(7), at) // 128 bytes per group
	ADDQ(p, at)
	VMOVDQU64(Mem{Base: at}, a)
	VMOVDQU64(Mem{Base: at, Disp: 64}, b)
	// t = 8: pairs (c0, c8) …, root n/8 + g.
	w8, ws8 := eighthRoot(n, g, w, ws)
	forwardButterfly(c, a, b, w8, ws8)
	// t = 4: pairs (c0, c4) … within each 8-coefficient half.
	u, v := ZMM(), ZMM()
	VSHUFI64X2(U8(0x44), b, a, u)
	VSHUFI64X2(U8(0xee), b, a, v)
	forwardButterfly(c, u, v, r.w4, r.ws4)
	// t = 2: u = c0 c1 c2 c3 c8 c9 c10 c11, v = c4 c5 c6 c7 c12 … c15.
	u2 := permute2(permSwapLo, u, v)
	v2 := permute2(permSwapHi, u, v)
	forwardButterfly(c, u2, v2, r.w2, r.ws2)
	// t = 1: u2 = c0 c1 c4 c5 c8 c9 c12 c13, v2 = c2 c3 c6 c7 ….
	u1, v1 := ZMM(), ZMM()
	VPUNPCKLQDQ(v2, u2, u1)
	VPUNPCKHQDQ(v2, u2, v1)
	forwardButterfly(c, u1, v1, r.w1, r.ws1)
	reduce4q(c, u1)
	reduce4q(c, v1)
	// u1 = c0 c2 … c14, v1 = c1 c3 … c15.
	lo := permute2(permMixLo, u1, v1)
	hi := permute2(permMixHi, u1, v1)
	VMOVDQU64(lo, Mem{Base: at})
	VMOVDQU64(hi, Mem{Base: at, Disp: 64})
	INCQ(g)
	CMPQ(g, groups)
	JB(LabelRef("fwdlast_group"))
	VZEROUPPER()
	RET()
}

// nttInverseFirst generates the four outermost inverse stages (t = 1, 2, 4, 8) fused
// on groups of 16 coefficients.
func nttInverseFirst() {
	TEXT("nttInverseFirstIFMA", NOSPLIT, nttSignature)
	Pragma("noescape")
	Doc("nttInverseFirstIFMA runs the inverse NTT stages t = 1, 2, 4, 8 (inputs below 2q, outputs below 2q).")
	p, n, w, ws, c := nttParams()
	g, groups := GP64(), GP64()
	XORQ(g, g)
	MOVQ(n, groups)
	SHRQ(U8(4), groups)

	Label("invfirst_group")
	r := loadInnerRoots(n, g, w, ws)
	a, b := ZMM(), ZMM()
	at := GP64()
	MOVQ(g, at)
	SHLQ(U8(7), at)
	ADDQ(p, at)
	VMOVDQU64(Mem{Base: at}, a)
	VMOVDQU64(Mem{Base: at, Disp: 64}, b)
	// t = 1: pairs (c0, c1), (c2, c3), …
	u1 := permute2(permEven, a, b)
	v1 := permute2(permOdd, a, b)
	inverseButterfly(c, u1, v1, r.w1, r.ws1)
	// t = 2: from u1 = c0 c2 …, v1 = c1 c3 …: u2 = c0 c1 c4 c5 …, v2 = c2 c3 c6 c7 …
	u2, v2 := ZMM(), ZMM()
	VPUNPCKLQDQ(v1, u1, u2)
	VPUNPCKHQDQ(v1, u1, v2)
	inverseButterfly(c, u2, v2, r.w2, r.ws2)
	// t = 4: u4 = c0 c1 c2 c3 c8 c9 c10 c11, v4 = c4 c5 c6 c7 c12 … c15.
	u4 := permute2(permSwapLo, u2, v2)
	v4 := permute2(permSwapHi, u2, v2)
	inverseButterfly(c, u4, v4, r.w4, r.ws4)
	lo, hi := ZMM(), ZMM()
	VSHUFI64X2(U8(0x44), v4, u4, lo)
	VSHUFI64X2(U8(0xee), v4, u4, hi)
	// t = 8: pairs (c0, c8) …, root n/8 + g.
	w8, ws8 := eighthRoot(n, g, w, ws)
	inverseButterfly(c, lo, hi, w8, ws8)
	VMOVDQU64(lo, Mem{Base: at})
	VMOVDQU64(hi, Mem{Base: at, Disp: 64})
	INCQ(g)
	CMPQ(g, groups)
	JB(LabelRef("invfirst_group"))
	VZEROUPPER()
	RET()
}

// nttFold generates the conjugate-invariant stage: for 8 ≤ j < n/2,
// dst[j], dst[n−j] = src[j] + 2q − src[n−j]·w, src[n−j] + 2q − src[j]·w, with w and w'
// (root 1) at w[0], ws[0]. Inputs below 2q, outputs below 4q; dst may be src.
func nttFold() {
	TEXT("nttFoldIFMA", NOSPLIT, "func(dst *uint64, src *uint64, n int, w *uint64, ws *uint64, k *uint64)")
	Pragma("noescape")
	Doc("nttFoldIFMA runs the conjugate-invariant stage of the NTT on coefficients 8 ≤ j < n/2 and their mirrors.")
	dst := Load(Param("dst"), GP64())
	src := Load(Param("src"), GP64())
	n := Load(Param("n"), GP64())
	w := Load(Param("w"), GP64())
	ws := Load(Param("ws"), GP64())
	c := loadNTTConsts(Load(Param("k"), GP64()))
	wr, wsr, rev := ZMM(), ZMM(), ZMM()
	VPBROADCASTQ(Mem{Base: w}, wr)
	VPBROADCASTQ(Mem{Base: ws}, wsr)
	VMOVDQU64(permReverse, rev)
	j, mirror, end := GP64(), GP64(), GP64()
	MOVQ(U32(8), j)
	MOVQ(n, end)
	SHRQ(U8(1), end)

	Label("fold_block")
	CMPQ(j, end)
	JAE(LabelRef("fold_done"))
	// mirror block: n − j − 7 … n − j, reversed so that lane l holds n − j − l.
	MOVQ(n, mirror)
	SUBQ(j, mirror)
	SUBQ(U8(7), mirror)
	a, b := ZMM(), ZMM()
	VMOVDQU64(Mem{Base: src, Index: j, Scale: 8}, a)
	VPERMQ(Mem{Base: src, Index: mirror, Scale: 8}, rev, b)
	ta := shoup(c, a, wr, wsr)
	tb := shoup(c, b, wr, wsr)
	VPADDQ(c.q2, a, a)
	VPSUBQ(tb, a, a)
	VPADDQ(c.q2, b, b)
	VPSUBQ(ta, b, b)
	VPERMQ(b, rev, b)
	VMOVDQU64(a, Mem{Base: dst, Index: j, Scale: 8})
	VMOVDQU64(b, Mem{Base: dst, Index: mirror, Scale: 8})
	ADDQ(U8(8), j)
	JMP(LabelRef("fold_block"))

	Label("fold_done")
	VZEROUPPER()
	RET()
}

// mulShoup generates p[i] = p[i]·w mod q in [0, q) for values below 2^52 and a
// constant w with w' = ⌊w·2^52/q⌋; n is a multiple of 8.
func mulShoup() {
	TEXT("mulShoupIFMA", NOSPLIT, "func(p *uint64, n int, w uint64, ws uint64, k *uint64)")
	Pragma("noescape")
	Doc("mulShoupIFMA multiplies n values below 2^52 by a constant modulo q, into [0, q).")
	p := Load(Param("p"), GP64())
	n := Load(Param("n"), GP64())
	c := loadNTTConsts(Load(Param("k"), GP64()))
	wr, wsr := ZMM(), ZMM()
	VPBROADCASTQ(Load(Param("w"), GP64()), wr)
	VPBROADCASTQ(Load(Param("ws"), GP64()), wsr)
	end := GP64()
	LEAQ(Mem{Base: p, Index: n, Scale: 8}, end)
	Label("mulshoup_loop")
	CMPQ(p, end)
	JAE(LabelRef("mulshoup_done"))
	x := ZMM()
	VMOVDQU64(Mem{Base: p}, x)
	y := shoup(c, x, wr, wsr)
	t := ZMM()
	VPSUBQ(c.q, y, t)
	VPMINUQ(t, y, y)
	VMOVDQU64(y, Mem{Base: p})
	ADDQ(U8(64), p)
	JMP(LabelRef("mulshoup_loop"))
	Label("mulshoup_done")
	VZEROUPPER()
	RET()
}

// nttKernels generates every NTT kernel.
func nttKernels() {
	nttPermutations()
	nttForwardStages()
	nttForwardLast()
	nttInverseFirst()
	nttInverseStages()
	nttFold()
	mulShoup()
}
