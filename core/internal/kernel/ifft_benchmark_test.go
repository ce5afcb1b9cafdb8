package kernel

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkIFFT measures the butterflies of the encoding's inverse transform of 8192
// slots (N13QP215's conjugate-invariant ring), on each path and with Lattigo's own
// (ckks.SpecialiFFTDoubleUnrolled8, with its division and bit reversal), in
// butterflies per second.
func BenchmarkIFFT(b *testing.B) {
	const logSlots = 13
	rng := rand.New(rand.NewPCG(1, 2))
	values := make([]complex128, 1<<logSlots)
	for i := range values {
		values[i] = complex(rng.Float64(), 0)
	}
	b.Run("lattigo", func(b *testing.B) {
		work := make([]complex128, len(values))
		transform := lattigoIFFT(logSlots, 4<<logSlots)
		for b.Loop() {
			copy(work, values)
			transform(work)
		}
		b.ReportMetric(float64(b.N)*float64(logSlots<<(logSlots-1))/b.Elapsed().Seconds()/1e6, "Mbutterfly/s")
	})
	for _, path := range Paths {
		if !Supported(path) {
			continue
		}
		b.Run(path.String(), func(b *testing.B) {
			f, err := NewIFFT(path, logSlots, 4<<logSlots)
			if err != nil {
				b.Fatal(err)
			}
			work := make([]complex128, len(values))
			for b.Loop() {
				copy(work, values)
				f.Transform(work)
			}
			b.ReportMetric(float64(b.N)*float64(logSlots<<(logSlots-1))/b.Elapsed().Seconds()/1e6, "Mbutterfly/s")
		})
	}
}
