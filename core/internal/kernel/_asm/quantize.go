package main

import (
	"math"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
)

// The constants of quantizeAVX512: the sign bit, 1/2, 1 and 2^62 as float64.
var signBit, quantHalf, quantOne, quantLimit Mem

// quantizeKernel generates quantizeAVX512: the quantization of eight coefficients at
// a time (package kernel, quantize.go) from index start to n (multiples of 8). A value
// is rounded half away from zero as t = trunc(x), plus ±1 when |x − t| ≥ 1/2 (x − t is
// exact), which is math.Round's result; the error is added and, when |c| is below the
// least modulus, c mod q is c, or c + q for c < 0. The kernel stops before eight values
// of which one does not fit 2^62 or is not below the least modulus, and returns the
// index it reached.
func quantizeKernel() {
	signBit = GLOBL("signbit", RODATA|NOPTR)
	DATA(0, U64(1<<63))
	quantHalf = GLOBL("half", RODATA|NOPTR)
	DATA(0, U64(math.Float64bits(0.5)))
	quantOne = GLOBL("one", RODATA|NOPTR)
	DATA(0, U64(math.Float64bits(1)))
	quantLimit = GLOBL("limit62", RODATA|NOPTR)
	DATA(0, U64(math.Float64bits(1<<62)))
	TEXT("quantizeAVX512", NOSPLIT, "func(rows *[]uint64, limbs int, moduli *uint64, x *float64, noise *uint64, n int, noiseQ uint64, small uint64, start int) int")
	Pragma("noescape")
	Doc("quantizeAVX512 quantizes x with its errors into limbs rows until eight values need Go (see quantize.go).")
	rows := Load(Param("rows"), GP64())
	moduli := Load(Param("moduli"), GP64())
	x := Load(Param("x"), GP64())
	noise := Load(Param("noise"), GP64())
	n := Load(Param("n"), GP64())
	j := Load(Param("start"), GP64())
	SHLQ(U8(3), n)
	SHLQ(U8(3), j)
	nq, halfNQ, small := ZMM(), ZMM(), ZMM()
	VPBROADCASTQ(Load(Param("noiseQ"), GP64()), nq)
	VPSRLQ(U8(1), nq, halfNQ)
	VPBROADCASTQ(Load(Param("small"), GP64()), small)
	sign, half, one, limit := ZMM(), ZMM(), ZMM(), ZMM()
	VPBROADCASTQ(signBit, sign)
	VBROADCASTSD(quantHalf, half)
	VBROADCASTSD(quantOne, one)
	VBROADCASTSD(quantLimit, limit)

	Label("quantize_loop")
	CMPQ(j, n)
	JAE(LabelRef("quantize_done"))
	v, t, f := ZMM(), ZMM(), ZMM()
	VMOVUPD(at(x, j), v)
	VRNDSCALEPD(U8(0x0b), v, t) // toward zero, no precision exception
	VSUBPD(t, v, f)
	VANDNPD(f, sign, f) // |x − t|
	up := K()
	VCMPPD(U8(0x1d), half, f, up) // |x − t| ≥ 1/2
	VANDPD(sign, v, f)
	VORPD(one, f, f)    // ±1, the sign of x
	VADDPD(f, t, up, t) // round(x)
	VANDNPD(t, sign, f)
	fits := K()
	VCMPPD(U8(0x11), limit, f, fits) // |round(x)| < 2^62 (false for NaN)
	c, e := ZMM(), ZMM()
	VCVTTPD2QQ(t, c)
	VMOVDQU64(at(noise, j), e)
	neg := K()
	VPCMPUQ(U8(6), halfNQ, e, neg) // e > noiseQ/2: a negative error
	VPADDQ(e, c, c)
	VPSUBQ(nq, c, neg, c)
	VPABSQ(c, e)
	VPCMPUQ(U8(1), small, e, fits, fits) // and |c| < the least modulus
	KORTESTB(fits, fits)
	JCC(LabelRef("quantize_done")) // not all eight
	VPSRAQ(U8(63), c, e)           // −1 for c < 0
	l, row := GP64(), GP64()
	XORQ(l, l)
	lim := Load(Param("limbs"), GP64())
	Label("quantize_limbs")
	r := ZMM()
	VPANDQ_BCST(Mem{Base: moduli, Index: l, Scale: 8}, e, r)
	VPADDQ(c, r, r)
	IMUL3Q(U8(24), l, row)
	MOVQ(Mem{Base: rows, Index: row, Scale: 1}, row)
	VMOVDQU64(r, at(row, j))
	INCQ(l)
	CMPQ(l, lim)
	JB(LabelRef("quantize_limbs"))
	ADDQ(U8(64), j)
	JMP(LabelRef("quantize_loop"))

	Label("quantize_done")
	SHRQ(U8(3), j)
	Store(j, ReturnIndex(0))
	VZEROUPPER()
	RET()
}
