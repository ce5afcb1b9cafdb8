package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// The IFFT kernels run the butterflies of Lattigo's special inverse FFT (package
// kernel, ifft.go) on complex128 values, interleaved (real, imaginary), a vector of
// two (AVX2) or four (AVX-512) at a time: u, v = u + v, (u − v)·w. The product is
// Go's: re = a·c − b·d, im = a·d + b·c, each product rounded, never fused, so every
// result is bit for bit the pure-Go one.

// negReal flips the sign of the real parts of four complex values.
var negReal Mem

// ifftKernels generates the IFFT kernels of both widths.
func ifftKernels() {
	negReal = GLOBL("negreal", RODATA|NOPTR)
	for i := range 4 {
		DATA(16*i, U64(1<<63))
		DATA(16*i+8, U64(0))
	}
	ifftStage(512)
	ifftLast512()
	ifftStage(256)
	ifftLast256()
}

// ifftVec is a vector register of the kernel's width.
func ifftVec(bits int) VecVirtual {
	if bits == 512 {
		return ZMM()
	}
	return YMM()
}

// ifftName is the kernel's name for the width.
func ifftName(base string, bits int) string {
	if bits == 512 {
		return base + "AVX512"
	}
	return base + "AVX2"
}

// ifftMul sets d = d·w, complex by complex, lane by lane.
func ifftMul(bits int, d, w VecVirtual) {
	wr, wi, sw := ifftVec(bits), ifftVec(bits), ifftVec(bits)
	VMOVDDUP(w, wr)            // (c, c)
	VPERMILPD(U8(0xff), w, wi) // (d, d)
	VPERMILPD(U8(0x55), d, sw) // (b, a)
	VMULPD(wr, d, d)           // (a·c, b·c)
	VMULPD(wi, sw, sw)         // (b·d, a·d)
	if bits == 512 {
		VXORPD(negReal, sw, sw) // (−b·d, a·d)
		VADDPD(sw, d, d)        // (a·c − b·d, b·c + a·d)
		return
	}
	VADDSUBPD(sw, d, d) // (a·c − b·d, b·c + a·d)
}

// ifftButterfly sets u, v = u + v, (u − v)·w.
func ifftButterfly(bits int, u, v, w VecVirtual) {
	d := ifftVec(bits)
	VSUBPD(v, u, d)
	VADDPD(v, u, u)
	ifftMul(bits, d, w)
	VMOVAPD(d, v)
}

// ifftStage generates ifftStage<width>(values, n, lenh, tw): one stage of butterflies
// on pairs lenh apart (lenh at least one vector), root j of tw for pair j of each
// group of 2·lenh.
func ifftStage(bits int) {
	name := ifftName("ifftStage", bits)
	TEXT(name, NOSPLIT, "func(values *complex128, n int, lenh int, tw *complex128)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s runs one stage of the IFFT's butterflies on pairs lenh apart (see ifft.go).", name))
	p := Load(Param("values"), GP64())
	n := Load(Param("n"), GP64())
	lenh := Load(Param("lenh"), GP64())
	SHLQ(U8(4), n)
	SHLQ(U8(4), lenh) // bytes
	end := GP64()
	MOVQ(p, end)
	ADDQ(n, end)
	step := bits / 8

	Label(name + "_groups")
	CMPQ(p, end)
	JAE(LabelRef(name + "_done"))
	tw := Load(Param("tw"), GP64())
	j := GP64()
	XORQ(j, j)
	Label(name + "_pairs")
	u, v, w := ifftVec(bits), ifftVec(bits), ifftVec(bits)
	VMOVUPD(Mem{Base: p, Index: j, Scale: 1}, u)
	hi := GP64()
	LEAQ(Mem{Base: p, Index: lenh, Scale: 1}, hi)
	VMOVUPD(Mem{Base: hi, Index: j, Scale: 1}, v)
	VMOVUPD(Mem{Base: tw, Index: j, Scale: 1}, w)
	ifftButterfly(bits, u, v, w)
	VMOVUPD(u, Mem{Base: p, Index: j, Scale: 1})
	VMOVUPD(v, Mem{Base: hi, Index: j, Scale: 1})
	ADDQ(U32(step), j)
	CMPQ(j, lenh)
	JB(LabelRef(name + "_pairs"))
	LEAQ(Mem{Base: p, Index: lenh, Scale: 2}, p)
	JMP(LabelRef(name + "_groups"))

	Label(name + "_done")
	VZEROUPPER()
	RET()
}

// ifftLast512 generates ifftLastAVX512(values, n, tw): the last two stages (pairs two
// apart with roots tw[0], tw[1], then pairs one apart with root tw[2]) on eight
// values at a time, exchanged between two registers.
func ifftLast512() {
	TEXT("ifftLastAVX512", NOSPLIT, "func(values *complex128, n int, tw *complex128)")
	Pragma("noescape")
	Doc("ifftLastAVX512 runs the IFFT's last two stages of butterflies (see ifft.go).")
	p := Load(Param("values"), GP64())
	n := Load(Param("n"), GP64())
	tw := Load(Param("tw"), GP64())
	SHLQ(U8(4), n)
	ADDQ(p, n)
	w2, w1 := ZMM(), ZMM()
	VBROADCASTF64X4(Mem{Base: tw}, w2)           // ψ0 ψ1 ψ0 ψ1
	VBROADCASTF32X4(Mem{Base: tw, Disp: 32}, w1) // ψ2 in every lane
	Label("ifftLastAVX512_loop")
	CMPQ(p, n)
	JAE(LabelRef("ifftLastAVX512_done"))
	a, b, u, v := ZMM(), ZMM(), ZMM(), ZMM()
	VMOVUPD(Mem{Base: p}, a)
	VMOVUPD(Mem{Base: p, Disp: 64}, b)
	// Pairs two apart: (a0, a2), (a1, a3), (b0, b2), (b1, b3).
	VSHUFF64X2(U8(0x44), b, a, u) // a0 a1 b0 b1
	VSHUFF64X2(U8(0xee), b, a, v) // a2 a3 b2 b3
	ifftButterfly(512, u, v, w2)
	VSHUFF64X2(U8(0x44), v, u, a) // u0 u1 v0 v1
	VSHUFF64X2(U8(0xee), v, u, b) // u2 u3 v2 v3
	// Pairs one apart: (a0, a1), (a2, a3), (b0, b1), (b2, b3).
	VSHUFF64X2(U8(0x88), b, a, u) // a0 a2 b0 b2
	VSHUFF64X2(U8(0xdd), b, a, v) // a1 a3 b1 b3
	ifftButterfly(512, u, v, w1)
	VSHUFF64X2(U8(0x44), v, u, a) // u0 u1 v0 v1
	VSHUFF64X2(U8(0xd8), a, a, a) // u0 v0 u1 v1
	VSHUFF64X2(U8(0xee), v, u, b) // u2 u3 v2 v3
	VSHUFF64X2(U8(0xd8), b, b, b) // u2 v2 u3 v3
	VMOVUPD(a, Mem{Base: p})
	VMOVUPD(b, Mem{Base: p, Disp: 64})
	ADDQ(U8(128), p)
	JMP(LabelRef("ifftLastAVX512_loop"))
	Label("ifftLastAVX512_done")
	VZEROUPPER()
	RET()
}

// ifftLast256 generates ifftLastAVX2(values, n, tw): the last stage (pairs one apart,
// root tw[0]) on four values at a time, exchanged between two registers.
func ifftLast256() {
	TEXT("ifftLastAVX2", NOSPLIT, "func(values *complex128, n int, tw *complex128)")
	Pragma("noescape")
	Doc("ifftLastAVX2 runs the IFFT's last stage of butterflies (see ifft.go).")
	p := Load(Param("values"), GP64())
	n := Load(Param("n"), GP64())
	tw := Load(Param("tw"), GP64())
	SHLQ(U8(4), n)
	ADDQ(p, n)
	w := YMM()
	VBROADCASTF128(Mem{Base: tw}, w)
	Label("ifftLastAVX2_loop")
	CMPQ(p, n)
	JAE(LabelRef("ifftLastAVX2_done"))
	a, b, u, v := YMM(), YMM(), YMM(), YMM()
	VMOVUPD(Mem{Base: p}, a)
	VMOVUPD(Mem{Base: p, Disp: 32}, b)
	VPERM2F128(U8(0x20), b, a, u) // a0 b0
	VPERM2F128(U8(0x31), b, a, v) // a1 b1
	ifftButterfly(256, u, v, w)
	VPERM2F128(U8(0x20), v, u, a) // u0 v0
	VPERM2F128(U8(0x31), v, u, b) // u1 v1
	VMOVUPD(a, Mem{Base: p})
	VMOVUPD(b, Mem{Base: p, Disp: 32})
	ADDQ(U8(64), p)
	JMP(LabelRef("ifftLastAVX2_loop"))
	Label("ifftLastAVX2_done")
	VZEROUPPER()
	RET()
}
