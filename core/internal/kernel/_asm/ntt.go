package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// The NTT kernels work modulo q < 2^50 on values kept below 4q, with roots w and their
// Shoup constants w' = ⌊w·2^52/q⌋ in separate tables indexed like Lattigo's
// (bit-reversed, conjugate-invariant ring). A product by a root is Shoup's:
// V·w − ⌊V·w'/2^52⌋·q computed modulo 2^52, in [0, 2q) for any V < 2^52.

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

// nttForwardStages generates the forward stages whose butterflies are at least eight
// coefficients apart: for m = 2, 4, … while t = n/m ≥ 8, block i of 2t coefficients
// uses root m+i. Stages go two at a time (radix 4: stage (m, t) then (2m, t/2) on four
// vectors t/2 apart, one pass over memory for both), a last odd one alone; every
// coefficient sees the same butterflies in the same order as stage by stage.
func nttForwardStages() {
	TEXT("nttForwardStagesIFMA", NOSPLIT, nttSignature)
	Pragma("noescape")
	Doc("nttForwardStagesIFMA runs the forward NTT stages with butterflies at least 8 apart.")
	p, n, w, ws, c := nttParams()
	m, t, tb := GP64(), GP64(), GP64()
	MOVQ(U32(2), m)
	MOVQ(n, t)
	SHRQ(U8(1), t)

	// Two stages at a time while t ≥ 16.
	Label("fwd2_stage")
	CMPQ(t, U8(16))
	JB(LabelRef("fwd_stage"))
	MOVQ(t, tb)
	SHLQ(U8(2), tb) // t/2 in bytes
	i, blk := GP64(), GP64()
	XORQ(i, i)
	MOVQ(p, blk)

	Label("fwd2_block")
	root := GP64()
	LEAQ(Mem{Base: m, Index: i, Scale: 1}, root)
	w1, ws1 := ZMM(), ZMM()
	VPBROADCASTQ(Mem{Base: w, Index: root, Scale: 8}, w1)
	VPBROADCASTQ(Mem{Base: ws, Index: root, Scale: 8}, ws1)
	// Next stage: roots 2m+2i and 2m+2i+1.
	LEAQ(Mem{Base: m, Index: i, Scale: 1}, root)
	SHLQ(U8(1), root)
	w2a, ws2a, w2b, ws2b := ZMM(), ZMM(), ZMM(), ZMM()
	VPBROADCASTQ(Mem{Base: w, Index: root, Scale: 8}, w2a)
	VPBROADCASTQ(Mem{Base: ws, Index: root, Scale: 8}, ws2a)
	VPBROADCASTQ(Mem{Base: w, Index: root, Scale: 8, Disp: 8}, w2b)
	VPBROADCASTQ(Mem{Base: ws, Index: root, Scale: 8, Disp: 8}, ws2b)
	j, end, j2 := GP64(), GP64(), GP64()
	MOVQ(blk, j)
	LEAQ(Mem{Base: blk, Index: tb, Scale: 1}, end)

	Label("fwd2_quad")
	LEAQ(Mem{Base: j, Index: tb, Scale: 2}, j2) // j + t
	a, b, cc, d := ZMM(), ZMM(), ZMM(), ZMM()
	VMOVDQU64(Mem{Base: j}, a)
	VMOVDQU64(Mem{Base: j, Index: tb, Scale: 1}, b)
	VMOVDQU64(Mem{Base: j2}, cc)
	VMOVDQU64(Mem{Base: j2, Index: tb, Scale: 1}, d)
	forwardButterfly(c, a, cc, w1, ws1)
	forwardButterfly(c, b, d, w1, ws1)
	forwardButterfly(c, a, b, w2a, ws2a)
	forwardButterfly(c, cc, d, w2b, ws2b)
	VMOVDQU64(a, Mem{Base: j})
	VMOVDQU64(b, Mem{Base: j, Index: tb, Scale: 1})
	VMOVDQU64(cc, Mem{Base: j2})
	VMOVDQU64(d, Mem{Base: j2, Index: tb, Scale: 1})
	ADDQ(U8(64), j)
	CMPQ(j, end)
	JB(LabelRef("fwd2_quad"))

	LEAQ(Mem{Base: blk, Index: tb, Scale: 4}, blk)
	INCQ(i)
	half := GP64()
	MOVQ(m, half)
	SHRQ(U8(1), half)
	CMPQ(i, half)
	JB(LabelRef("fwd2_block"))

	SHLQ(U8(2), m)
	SHRQ(U8(2), t)
	JMP(LabelRef("fwd2_stage"))

	// One stage (t = 8) if the count was odd.
	Label("fwd_stage")
	CMPQ(t, U8(8))
	JB(LabelRef("fwd_done"))
	MOVQ(t, tb)
	SHLQ(U8(3), tb) // t in bytes
	XORQ(i, i)
	MOVQ(p, blk)

	Label("fwd_block")
	LEAQ(Mem{Base: m, Index: i, Scale: 1}, root)
	wr, wsr := ZMM(), ZMM()
	VPBROADCASTQ(Mem{Base: w, Index: root, Scale: 8}, wr)
	VPBROADCASTQ(Mem{Base: ws, Index: root, Scale: 8}, wsr)
	MOVQ(blk, j)
	LEAQ(Mem{Base: blk, Index: tb, Scale: 1}, end)

	Label("fwd_pair")
	u, v := ZMM(), ZMM()
	VMOVDQU64(Mem{Base: j}, u)
	VMOVDQU64(Mem{Base: j, Index: tb, Scale: 1}, v)
	forwardButterfly(c, u, v, wr, wsr)
	VMOVDQU64(u, Mem{Base: j})
	VMOVDQU64(v, Mem{Base: j, Index: tb, Scale: 1})
	ADDQ(U8(64), j)
	CMPQ(j, end)
	JB(LabelRef("fwd_pair"))

	LEAQ(Mem{Base: blk, Index: tb, Scale: 2}, blk)
	INCQ(i)
	MOVQ(m, half)
	SHRQ(U8(1), half)
	CMPQ(i, half)
	JB(LabelRef("fwd_block"))

	SHLQ(U8(1), m)
	SHRQ(U8(1), t)
	JMP(LabelRef("fwd_stage"))

	Label("fwd_done")
	VZEROUPPER()
	RET()
}

// nttInverseStages generates the inverse stages with butterflies at least eight apart:
// for m = n/8, n/16, … 2 with t = n/(2m)·2 … (t doubling from 8), block i uses root
// m+i. Stages go two at a time (stage (m, t) then (m/2, 2t) on four vectors t apart,
// one pass over memory for both), a last odd one alone.
func nttInverseStages() {
	TEXT("nttInverseStagesIFMA", NOSPLIT, nttSignature)
	Pragma("noescape")
	Doc("nttInverseStagesIFMA runs the inverse NTT stages with butterflies at least 8 apart.")
	p, n, w, ws, c := nttParams()
	m, t, tb := GP64(), GP64(), GP64()
	MOVQ(n, m)
	SHRQ(U8(3), m)
	MOVQ(U32(8), t)

	// Two stages at a time while m ≥ 4.
	Label("inv2_stage")
	CMPQ(m, U8(4))
	JB(LabelRef("inv_stage"))
	MOVQ(t, tb)
	SHLQ(U8(3), tb) // t in bytes
	i, blk := GP64(), GP64()
	XORQ(i, i)
	MOVQ(p, blk)

	Label("inv2_block")
	// This stage: roots m+2i and m+2i+1; the next: m/2+i.
	root := GP64()
	LEAQ(Mem{Base: m, Index: i, Scale: 2}, root)
	w1a, ws1a, w1b, ws1b := ZMM(), ZMM(), ZMM(), ZMM()
	VPBROADCASTQ(Mem{Base: w, Index: root, Scale: 8}, w1a)
	VPBROADCASTQ(Mem{Base: ws, Index: root, Scale: 8}, ws1a)
	VPBROADCASTQ(Mem{Base: w, Index: root, Scale: 8, Disp: 8}, w1b)
	VPBROADCASTQ(Mem{Base: ws, Index: root, Scale: 8, Disp: 8}, ws1b)
	MOVQ(m, root)
	SHRQ(U8(1), root)
	ADDQ(i, root)
	w2, ws2 := ZMM(), ZMM()
	VPBROADCASTQ(Mem{Base: w, Index: root, Scale: 8}, w2)
	VPBROADCASTQ(Mem{Base: ws, Index: root, Scale: 8}, ws2)
	j, end, j2 := GP64(), GP64(), GP64()
	MOVQ(blk, j)
	LEAQ(Mem{Base: blk, Index: tb, Scale: 1}, end)

	Label("inv2_quad")
	LEAQ(Mem{Base: j, Index: tb, Scale: 2}, j2) // j + 2t
	a, b, cc, d := ZMM(), ZMM(), ZMM(), ZMM()
	VMOVDQU64(Mem{Base: j}, a)
	VMOVDQU64(Mem{Base: j, Index: tb, Scale: 1}, b)
	VMOVDQU64(Mem{Base: j2}, cc)
	VMOVDQU64(Mem{Base: j2, Index: tb, Scale: 1}, d)
	inverseButterfly(c, a, b, w1a, ws1a)
	inverseButterfly(c, cc, d, w1b, ws1b)
	inverseButterfly(c, a, cc, w2, ws2)
	inverseButterfly(c, b, d, w2, ws2)
	VMOVDQU64(a, Mem{Base: j})
	VMOVDQU64(b, Mem{Base: j, Index: tb, Scale: 1})
	VMOVDQU64(cc, Mem{Base: j2})
	VMOVDQU64(d, Mem{Base: j2, Index: tb, Scale: 1})
	ADDQ(U8(64), j)
	CMPQ(j, end)
	JB(LabelRef("inv2_quad"))

	LEAQ(Mem{Base: blk, Index: tb, Scale: 4}, blk)
	INCQ(i)
	quarter := GP64()
	MOVQ(m, quarter)
	SHRQ(U8(2), quarter)
	CMPQ(i, quarter)
	JB(LabelRef("inv2_block"))

	SHRQ(U8(2), m)
	SHLQ(U8(2), t)
	JMP(LabelRef("inv2_stage"))

	// One stage (m = 2) if the count was odd.
	Label("inv_stage")
	CMPQ(m, U8(2))
	JB(LabelRef("inv_done"))
	MOVQ(t, tb)
	SHLQ(U8(3), tb)
	XORQ(i, i)
	MOVQ(p, blk)

	Label("inv_block")
	LEAQ(Mem{Base: m, Index: i, Scale: 1}, root)
	wr, wsr := ZMM(), ZMM()
	VPBROADCASTQ(Mem{Base: w, Index: root, Scale: 8}, wr)
	VPBROADCASTQ(Mem{Base: ws, Index: root, Scale: 8}, wsr)
	MOVQ(blk, j)
	LEAQ(Mem{Base: blk, Index: tb, Scale: 1}, end)

	Label("inv_pair")
	u, v := ZMM(), ZMM()
	VMOVDQU64(Mem{Base: j}, u)
	VMOVDQU64(Mem{Base: j, Index: tb, Scale: 1}, v)
	inverseButterfly(c, u, v, wr, wsr)
	VMOVDQU64(u, Mem{Base: j})
	VMOVDQU64(v, Mem{Base: j, Index: tb, Scale: 1})
	ADDQ(U8(64), j)
	CMPQ(j, end)
	JB(LabelRef("inv_pair"))

	LEAQ(Mem{Base: blk, Index: tb, Scale: 2}, blk)
	INCQ(i)
	half := GP64()
	MOVQ(m, half)
	SHRQ(U8(1), half)
	CMPQ(i, half)
	JB(LabelRef("inv_block"))

	SHRQ(U8(1), m)
	SHLQ(U8(1), t)
	JMP(LabelRef("inv_stage"))

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
// 16g…16g+15): root n/4+2g… spread over four lanes each, n/2+4g… over two, n+8g… one.
type innerRoots struct{ w4, ws4, w2, ws2, w1, ws1 VecVirtual }

func loadInnerRoots(n, g, w, ws Register) innerRoots {
	var r innerRoots
	idx := GP64()
	spread4, spread2 := ZMM(), ZMM()
	VMOVDQU64(permSpread4, spread4)
	VMOVDQU64(permSpread2, spread2)
	// root index n/4 + 2g
	MOVQ(n, idx)
	SHRQ(U8(2), idx)
	LEAQ(Mem{Base: idx, Index: g, Scale: 2}, idx)
	r.w4, r.ws4 = ZMM(), ZMM()
	VPERMQ(Mem{Base: w, Index: idx, Scale: 8}, spread4, r.w4)
	VPERMQ(Mem{Base: ws, Index: idx, Scale: 8}, spread4, r.ws4)
	// n/2 + 4g
	MOVQ(n, idx)
	SHRQ(U8(1), idx)
	LEAQ(Mem{Base: idx, Index: g, Scale: 4}, idx)
	r.w2, r.ws2 = ZMM(), ZMM()
	VPERMQ(Mem{Base: w, Index: idx, Scale: 8}, spread2, r.w2)
	VPERMQ(Mem{Base: ws, Index: idx, Scale: 8}, spread2, r.ws2)
	// n + 8g
	MOVQ(n, idx)
	LEAQ(Mem{Base: idx, Index: g, Scale: 8}, idx)
	r.w1, r.ws1 = ZMM(), ZMM()
	VMOVDQU64(Mem{Base: w, Index: idx, Scale: 8}, r.w1)
	VMOVDQU64(Mem{Base: ws, Index: idx, Scale: 8}, r.ws1)
	return r
}

// nttForwardLast generates the three innermost forward stages (t = 4, 2, 1) fused on
// groups of 16 coefficients, and the final reduction into [0, q).
func nttForwardLast() {
	TEXT("nttForwardLastIFMA", NOSPLIT, nttSignature)
	Pragma("noescape")
	Doc("nttForwardLastIFMA runs the forward NTT stages t = 4, 2, 1 and reduces into [0, q).")
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

// nttInverseFirst generates the three outermost inverse stages (t = 1, 2, 4) fused on
// groups of 16 coefficients.
func nttInverseFirst() {
	TEXT("nttInverseFirstIFMA", NOSPLIT, nttSignature)
	Pragma("noescape")
	Doc("nttInverseFirstIFMA runs the inverse NTT stages t = 1, 2, 4 (inputs below 2q, outputs below 2q).")
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
// at w[1], ws[1]. Inputs below 2q, outputs below 4q; dst may be src.
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
	VPBROADCASTQ(Mem{Base: w, Disp: 8}, wr)
	VPBROADCASTQ(Mem{Base: ws, Disp: 8}, wsr)
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
