//go:build !amd64

package kernel

func quantizeAVX512(rows *[]uint64, limbs int, moduli *uint64, x *float64, noise *uint64, n int, noiseQ uint64, small uint64, start int) int {
	unreachable()
	return 0
}
