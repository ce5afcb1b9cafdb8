package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
)

// uniformKernel generates uniformIFMA(dst, src, n, q, skip): Lemire's exact mapping of
// 64-bit words to values below q < 2^50 (package kernel, uniform.go), eight words at a
// time. With w = h·2^52 + l (l < 2^52), w·q = X·2^52 + L where L and H are the low and
// high 52-bit halves of l·q and X = h·q + H < 2^63: the value is ⌊w·q/2^64⌋ = X >> 12
// and the word is skipped when w·q mod 2^64 = (X mod 2^12)·2^52 + L is below
// skip = 2^64 mod q < 2^52, that is when X mod 2^12 = 0 and L < skip. The kernel stops
// before the first eight words holding a skipped one and returns how many words it
// mapped (all kept); dst may be src, or behind it in the same array.
func uniformKernel() {
	TEXT("uniformIFMA", NOSPLIT, "func(dst *uint64, src *uint64, n int, q uint64, skip uint64) int")
	Pragma("noescape")
	Doc("uniformIFMA maps the words of src to values below q by Lemire's method until eight words hold a skipped one (see uniform.go).")
	dst := Load(Param("dst"), GP64())
	src := Load(Param("src"), GP64())
	n := Load(Param("n"), GP64())
	SHLQ(U8(3), n)
	q, skip, mask, low12 := ZMM(), ZMM(), ZMM(), ZMM()
	VPBROADCASTQ(Load(Param("q"), GP64()), q)
	VPBROADCASTQ(Load(Param("skip"), GP64()), skip)
	VPBROADCASTQ(mask52, mask)
	VPSRLQ(U8(40), mask, low12) // 2^12 − 1
	off := GP64()
	XORQ(off, off)
	Label("uniform_loop")
	CMPQ(off, n)
	JAE(LabelRef("uniform_done"))
	w, l, lo, hi, x := ZMM(), ZMM(), ZMM(), ZMM(), ZMM()
	VMOVDQU64(at(src, off), w)
	VPANDQ(mask, w, l)
	VPSRLQ(U8(52), w, x)
	VPMULLQ(q, x, x) // h·q
	zero(lo)
	VPMADD52LUQ(q, l, lo)
	zero(hi)
	VPMADD52HUQ(q, l, hi)
	VPADDQ(hi, x, x)
	even, low := K(), K()
	VPTESTNMQ(low12, x, even)           // X mod 2^12 = 0
	VPCMPUQ(U8(1), skip, lo, even, low) // and L < skip
	KORTESTB(low, low)
	JNZ(LabelRef("uniform_done"))
	VPSRLQ(U8(12), x, x)
	VMOVDQU64(x, at(dst, off))
	ADDQ(U8(64), off)
	JMP(LabelRef("uniform_loop"))
	Label("uniform_done")
	SHRQ(U8(3), off)
	Store(off, ReturnIndex(0))
	VZEROUPPER()
	RET()
}
