//go:build !amd64

package kernel

// Off amd64 no path runs the vector kernels; these declarations only satisfy the
// compiler.

func unreachable() { panic("kernel: vector kernel called without vector support") }

func nttFoldIFMA(dst *uint64, src *uint64, n int, w *uint64, ws *uint64, k *uint64) { unreachable() }
func nttForwardStagesIFMA(p *uint64, n int, w *uint64, ws *uint64, k *uint64)       { unreachable() }
func nttForwardLastIFMA(p *uint64, n int, w *uint64, ws *uint64, k *uint64)         { unreachable() }
func nttInverseFirstIFMA(p *uint64, n int, w *uint64, ws *uint64, k *uint64)        { unreachable() }
func nttInverseStagesIFMA(p *uint64, n int, w *uint64, ws *uint64, k *uint64)       { unreachable() }
func mulShoupIFMA(p *uint64, n int, w uint64, ws uint64, k *uint64)                 { unreachable() }
func mulModIFMA(dst *uint64, a *uint64, b *uint64, n int, k *uint64)                { unreachable() }
func mulAddModIFMA(dst *uint64, a *uint64, b *uint64, n int, k *uint64)             { unreachable() }
func addModIFMA(dst *uint64, a *uint64, b *uint64, n int, k *uint64)                { unreachable() }
func reduceAddIFMA(dst *uint64, src *uint64, n int, s uint64, k *uint64)            { unreachable() }
func subMulIFMA(dst *uint64, a *uint64, b *uint64, n int, w uint64, ws uint64, k *uint64) {
	unreachable()
}
func mulConstAddIFMA(dst *uint64, a *uint64, n int, w uint64, ws uint64, k *uint64) { unreachable() }
func montDotIFMA(dst0 *uint64, dst1 *uint64, terms *[]uint64, count int, n int, k *uint64, accumulate bool) {
	unreachable()
}
func liftIFMA(dst *uint64, src *uint64, n int, p uint64, half uint64, k *uint64) { unreachable() }
func permuteIFMA(dst *uint64, src *uint64, index *uint64, n int, k *uint64)      { unreachable() }
func permuteAddIFMA(dst *uint64, src *uint64, index *uint64, n int, k *uint64)   { unreachable() }
