package kernel

import (
	"fmt"
	"math"
	"slices"

	"github.com/cryptonets/cryptonets/core/errs"
)

// Quantizer turns the scaled coefficients of an encoding into residues: for every
// coefficient, c = round(x) + e (round half away from zero, as math.Round; e a small
// signed error), then c modulo each prime. It is prepared for one path, read-only,
// and safe for concurrent use.
type Quantizer struct {
	vector bool
	moduli []uint64
	// small is the least modulus: |c| below it needs no division.
	small uint64
}

// maxQuantized bounds |round(x)|: values at or above it do not fit the encoding.
const maxQuantized = 1 << 62

// NewQuantizer prepares quantization modulo moduli (each below 2^62) for path p.
func NewQuantizer(p Path, moduli []uint64) (*Quantizer, error) {
	if !Supported(p) {
		return nil, errs.New(errs.ErrUnsupported, "kernel: the %s path is not supported on this processor", p)
	}
	if len(moduli) == 0 || slices.Max(moduli) >= maxQuantized {
		return nil, errs.New(errs.ErrUnsupported, "kernel: quantization needs moduli below 2^62")
	}
	return &Quantizer{vector: p == AVX512, moduli: slices.Clone(moduli), small: slices.Min(moduli)}, nil
}

// Quantize sets rows[l][j] = (round(x[j]) + e_j) mod q_l for every row l (one per
// modulus, in order, up to all of them) and every j < len(x), where e_j is the signed
// value of noise[j] modulo noiseQ: noise[j] if it is at most noiseQ/2, else
// noise[j] − noiseQ (a residue as Lattigo's samplers leave it). It returns −1, or the
// first j whose rounded value is not a number below 2^62 in absolute value (the rows
// are then unspecified from there on).
func (z *Quantizer) Quantize(rows [][]uint64, x []float64, noise []uint64, noiseQ uint64) int {
	n := len(x)
	if len(rows) > len(z.moduli) || len(noise) != n {
		panic(fmt.Sprintf("kernel: quantizing %d values with %d errors into %d rows modulo %d primes", n, len(noise), len(rows), len(z.moduli)))
	}
	for _, r := range rows {
		checkLen(n, r)
	}
	moduli := z.moduli[:len(rows)]
	for j := 0; j < n; {
		if v := n &^ 7; z.vector && j < v && len(rows) > 0 {
			if j = quantizeAVX512(&rows[0], len(rows), &moduli[0], &x[0], &noise[0], v, noiseQ, z.small, j); j == n {
				break
			}
		}
		// Eight values in Go (the tail, or eight the kernel left: one is large or
		// does not fit).
		for end := min(n, j+8); j < end; j++ {
			r := math.Round(x[j])
			if !(math.Abs(r) < maxQuantized) {
				return j
			}
			v := noise[j]
			// e_j is v or v − noiseQ: without a branch, as its sign is random.
			c := int64(r) + int64(v) - int64(noiseQ&-((noiseQ/2-v)>>63))
			if neg := c >> 63; uint64((c^neg)-neg) < z.small {
				for l, q := range moduli {
					rows[l][j] = uint64(c) + q&uint64(neg) // c, or q + c for c < 0
				}
				continue
			}
			for l, q := range moduli {
				if c >= 0 {
					rows[l][j] = uint64(c) % q
				} else {
					rows[l][j] = (q - uint64(-c)%q) % q
				}
			}
		}
	}
	return -1
}
