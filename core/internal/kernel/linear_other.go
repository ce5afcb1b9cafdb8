//go:build !amd64

package kernel

// applyVector does nothing off amd64: there is no vector kernel.
func applyVector(f family, b *block, dst, src [][]uint64, limb int, m *Modulus, bias []uint64, n int) int {
	return 0
}

// sumInputs is never called off amd64: no map has shifted blocks there.
func sumInputs(b *block, sum []uint64, src [][]uint64, limb int, m *Modulus, n int) {}
