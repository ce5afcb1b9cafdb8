//go:build !amd64

package kernel

// applyVector does nothing off amd64: there is no vector kernel.
func applyVector(f family, b *block, dst, src [][]uint64, limb int, m *Modulus, bias []uint64, n int) int {
	return 0
}
