package kernel

import (
	"math"
	"math/big"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestQuantizeIsExact quantizes values of every kind — halves and near-halves of both
// signs, signed zeros, values beyond the least modulus and up to 2^62, values that do
// not fit (2^62, infinities, NaN) — with errors on both sides of noiseQ/2, on every
// path, into 1 to 5 rows, and compares each residue with exact integer arithmetic.
func TestQuantizeIsExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 18))
	moduli := []uint64{}
	for _, m := range presetModuli(t)[:5] {
		moduli = append(moduli, m.q)
	}
	const noiseQ = 1<<45 + 97
	special := []float64{0.5, -0.5, 2.5, -2.5, 0.49999999999999994, -0.49999999999999994, math.Copysign(0, -1), 0,
		-0.3, 0.7, 1<<52 + 1, -(1 << 52) - 3, 1<<61 + 1<<40, -(1 << 61), 3.5e12, -7.25e13}
	for _, n := range []int{8, 37, 4096} {
		x := make([]float64, n)
		noise := make([]uint64, n)
		for j := range x {
			switch rng.IntN(4) {
			case 0:
				x[j] = special[rng.IntN(len(special))]
			case 1:
				x[j] = float64(rng.Int64N(1<<20)-1<<19) + 0.5
			default:
				x[j] = rng.NormFloat64() * math.Ldexp(1, rng.IntN(50))
			}
			if e := rng.Int64N(40) - 20; e >= 0 {
				noise[j] = uint64(e)
			} else {
				noise[j] = uint64(noiseQ + e)
			}
		}
		noise[0], noise[n-1] = noiseQ/2, noiseQ/2+1
		for _, p := range supportedPaths(t) {
			z, err := NewQuantizer(p, moduli)
			if err != nil {
				t.Fatal(err)
			}
			for limbs := 1; limbs <= len(moduli); limbs++ {
				rows := randomRows(rng, limbs, n, 1<<40)
				if bad := z.Quantize(rows, x, noise, noiseQ); bad != -1 {
					t.Fatalf("%s: value %d (%g) reported as not fitting", p, bad, x[bad])
				}
				for j := range x {
					e := int64(noise[j])
					if noise[j] > noiseQ/2 {
						e -= noiseQ
					}
					c := new(big.Int)
					big.NewFloat(math.Round(x[j])).Int(c)
					c.Add(c, big.NewInt(e))
					for l, q := range moduli[:limbs] {
						want := new(big.Int).Mod(c, new(big.Int).SetUint64(q)).Uint64()
						if rows[l][j] != want {
							t.Fatalf("%s, %d values, limb %d: value %d (%v, error %d) gives %d, want %d", p, n, l, j, x[j], e, rows[l][j], want)
						}
					}
				}
			}
			for _, bad := range []float64{1 << 62, math.Inf(-1), math.NaN(), -(1 << 62) - 1<<20} {
				at := rng.IntN(n)
				y := append([]float64(nil), x...)
				y[at] = bad
				if got := z.Quantize(randomRows(rng, 2, n, 1<<40), y, noise, noiseQ); got != at {
					t.Fatalf("%s: %g at %d reported at %d", p, bad, at, got)
				}
			}
		}
	}
	// What an encoding quantizes (small values, small errors): the vector kernel
	// itself must get through all of it, not leave it to Go.
	if Supported(AVX512) {
		x := make([]float64, 4096)
		noise := make([]uint64, len(x))
		for j := range x {
			x[j] = rng.NormFloat64() * (1 << 30)
			noise[j] = uint64(rng.Int64N(39)-19+noiseQ) % noiseQ
		}
		rows := randomRows(rng, len(moduli), len(x), 1<<40)
		if got := quantizeAVX512(&rows[0], len(rows), &moduli[0], &x[0], &noise[0], len(x), noiseQ, slices.Min(moduli), 0); got != len(x) {
			t.Fatalf("the AVX-512 kernel stopped at %d of %d ordinary values", got, len(x))
		}
	}
	if _, err := NewQuantizer(Generic, []uint64{1 << 62}); err == nil {
		t.Fatal("a modulus of 2^62 was accepted")
	}
}
