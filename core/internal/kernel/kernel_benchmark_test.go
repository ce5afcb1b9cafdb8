package kernel

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/cryptonets/cryptonets/core/params"
)

// benchModulus is the first prime of the batch preset N13QP215 below its first.
func benchModulus(b *testing.B) Modulus {
	prm, err := params.N13.Parameters()
	if err != nil {
		b.Fatal(err)
	}
	m, err := NewModulus(prm.Q()[1])
	if err != nil {
		b.Fatal(err)
	}
	return m
}

// BenchmarkLinear measures the multiply-accumulate of the shipped network's two big
// layers on one core, for every path: the dense 845 → 100 layer and the 5×5
// convolution (784 → 845, five channels reading the same 25 inputs), over a block of
// 128 coefficients. It reports multiply-adds per second (MMAC/s).
func BenchmarkLinear(b *testing.B) {
	rng := rand.New(rand.NewPCG(7, 8))
	m := benchModulus(b)
	const n = 128
	layers := []struct {
		name                           string
		inputs, outputs, shared, terms int
	}{
		{"dense845x100", 845, 100, 100, 845},
		{"conv784x845", 784, 845, 5, 25},
	}
	for _, layer := range layers {
		rows := randomMap(rng, layer.inputs, layer.outputs, layer.shared, layer.terms, 17)
		src := randomRows(rng, layer.inputs, n, m.q)
		dst := randomRows(rng, layer.outputs, n, m.q)
		bias := make([]uint64, layer.outputs)
		for _, p := range Paths {
			b.Run(fmt.Sprintf("%s/%s", layer.name, p), func(b *testing.B) {
				if !Supported(p) {
					b.Skipf("%s not supported here", p)
				}
				l, err := NewLinear(p, layer.inputs, rows, []Modulus{m})
				if err != nil {
					b.Fatal(err)
				}
				for b.Loop() {
					l.Apply(dst, src, 0, bias)
				}
				macs := float64(layer.outputs*layer.terms*n) * float64(b.N)
				b.ReportMetric(macs/b.Elapsed().Seconds()/1e6, "MMAC/s")
			})
		}
	}
}

// BenchmarkNTT measures the forward and inverse transforms of one prime of N13QP215
// (N = 8192) on every path.
func BenchmarkNTT(b *testing.B) {
	prm, err := params.N13.Parameters()
	if err != nil {
		b.Fatal(err)
	}
	s := prm.RingQ().SubRings[1]
	rng := rand.New(rand.NewPCG(9, 10))
	p := make([]uint64, s.N)
	for i := range p {
		p[i] = rng.Uint64N(s.Modulus)
	}
	for _, path := range Paths {
		b.Run(path.String(), func(b *testing.B) {
			if !Supported(path) {
				b.Skipf("%s not supported here", path)
			}
			t, err := NewNTT(path, s)
			if err != nil {
				b.Fatal(err)
			}
			b.Run("forward", func(b *testing.B) {
				for b.Loop() {
					t.Forward(p, p)
				}
			})
			b.Run("inverse", func(b *testing.B) {
				for b.Loop() {
					t.Inverse(p, p)
				}
			})
		})
	}
}

// BenchmarkArith measures the element-wise products of the squares and of key
// switching on one core, for every path, on rows of N13QP215 (N = 8192): modular
// products per second (Mmul/s), and for MontgomeryDot (two key polynomials times six
// digits, the key-switching inner product) products per second as well; Permute (an
// automorphism in the NTT domain, added to a row) in elements per second.
func BenchmarkArith(b *testing.B) {
	m := benchModulus(b)
	rng := rand.New(rand.NewPCG(11, 12))
	const n = 8192
	rows := randomRows(rng, 20, n, m.q)
	for _, p := range Paths {
		b.Run(p.String(), func(b *testing.B) {
			if !Supported(p) {
				b.Skipf("%s not supported here", p)
			}
			a := NewArith(p, m)
			b.Run("Mul", func(b *testing.B) {
				for b.Loop() {
					a.Mul(rows[0], rows[1], rows[2])
				}
				b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds()/1e6, "Mmul/s")
			})
			b.Run("Permute", func(b *testing.B) {
				index := make([]uint64, n)
				for i, j := range rng.Perm(n) {
					index[i] = uint64(j)
				}
				for b.Loop() {
					a.Permute(rows[0], rows[1], index, true)
				}
				b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds()/1e6, "Melem/s")
			})
			b.Run("MontgomeryDot", func(b *testing.B) {
				const digits = 6
				terms := rows[2 : 2+3*digits]
				for b.Loop() {
					a.MontgomeryDot(rows[0], rows[1], terms, false)
				}
				b.ReportMetric(float64(2*digits*n*b.N)/b.Elapsed().Seconds()/1e6, "Mmul/s")
			})
		})
	}
}
