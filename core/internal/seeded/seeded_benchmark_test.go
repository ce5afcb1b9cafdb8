package seeded

import (
	"testing"

	"github.com/cryptonets/cryptonets/core/internal/kernel"
	"github.com/cryptonets/cryptonets/core/params"
	"github.com/tuneinsight/lattigo/v5/core/rlwe"
)

// BenchmarkExpandC1 measures the regeneration of one seeded c1 at N13QP215's top
// level (5 limbs of 8192 coefficients), which the client and the server both run once
// per ciphertext, with a prepared Expander on each kernel path.
func BenchmarkExpandC1(b *testing.B) {
	prm, err := params.N13.Parameters()
	if err != nil {
		b.Fatal(err)
	}
	c1 := prm.RingQ().NewPoly()
	seed := make([]byte, SeedSize)
	for _, path := range kernel.Paths {
		if !kernel.Supported(path) {
			continue
		}
		b.Run(path.String(), func(b *testing.B) {
			b.Setenv(kernel.EnvVar, path.String())
			x, err := NewExpander(prm.Q())
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(8 * prm.N() * (prm.MaxLevel() + 1)))
			for b.Loop() {
				if err := x.Expand(seed, 1, prm.MaxLevel(), c1); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkEncrypt measures the seeded encryption of one ciphertext of 8192 values at
// N13QP215's top level into a reused ciphertext, on one core, for each kernel path:
// encoding, error, c1 from the seed, NTTs and c0 = m + e − c1·s.
func BenchmarkEncrypt(b *testing.B) {
	prm, err := params.N13.Parameters()
	if err != nil {
		b.Fatal(err)
	}
	sk := rlwe.NewKeyGenerator(prm).GenSecretKeyNew()
	values := make([]float64, prm.MaxSlots())
	for i := range values {
		values[i] = float64(i%256) / 255
	}
	seed := make([]byte, SeedSize)
	for _, path := range kernel.Paths {
		if !kernel.Supported(path) {
			continue
		}
		b.Run(path.String(), func(b *testing.B) {
			b.Setenv(kernel.EnvVar, path.String())
			s, err := NewSecret(prm, sk)
			if err != nil {
				b.Fatal(err)
			}
			e, err := s.NewEncryptor()
			if err != nil {
				b.Fatal(err)
			}
			ct := rlwe.NewCiphertext(prm, 1, prm.MaxLevel())
			k := 0
			for b.Loop() {
				if err := e.EncryptTo(ct, values, 30, seed, k); err != nil {
					b.Fatal(err)
				}
				k++
			}
		})
	}
}
