package seeded

import (
	"testing"

	"github.com/cryptonets/cryptonets/core/params"
)

// BenchmarkExpandC1 measures the regeneration of one seeded c1 at N13QP215's top
// level (5 limbs of 8192 coefficients), which the client and the server both run once
// per ciphertext.
func BenchmarkExpandC1(b *testing.B) {
	prm, err := params.N13.Parameters()
	if err != nil {
		b.Fatal(err)
	}
	c1 := prm.RingQ().NewPoly()
	seed := make([]byte, SeedSize)
	b.SetBytes(int64(8 * prm.N() * (prm.MaxLevel() + 1)))
	for b.Loop() {
		if err := ExpandC1(prm.Q(), seed, 1, prm.MaxLevel(), c1); err != nil {
			b.Fatal(err)
		}
	}
}
