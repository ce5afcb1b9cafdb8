package batch

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/cryptonets/cryptonets/core/internal/kernel"
	"github.com/cryptonets/cryptonets/core/model"
	"github.com/cryptonets/cryptonets/core/packing"
	"github.com/cryptonets/cryptonets/core/params"
	"github.com/tuneinsight/lattigo/v5/core/rlwe"
)

// TestKernelPathsAgreeBitForBit evaluates the same encrypted batch through plans
// compiled for every kernel path this processor runs (CRYPTONETS_KERNEL forced): every
// coefficient of every output ciphertext must be identical to the pure-Go path's.
func TestKernelPathsAgreeBitForBit(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	randn := normals(rng)
	models := []*model.Model{
		mnistShapedNet(rng),
		{Name: "polynomial", Input: model.Shape{C: 40, H: 1, W: 1}, InputRange: [2]float64{0, 1},
			Layers: []model.Layer{
				&model.Dense{In: 40, Out: 12, Weights: randn(480, 0.2), Bias: randn(12, 0.1)},
				&model.Polynomial{Coeffs: []float64{0.1, 0.5, 0.2, -0.05}, Interval: [2]float64{-3, 3}, Fitted: "test"},
				&model.Dense{In: 12, Out: 4, Weights: randn(48, 0.4), Bias: randn(4, 0.1)},
			}},
	}
	for _, m := range models {
		t.Run(m.Name, func(t *testing.T) {
			var in, want []*rlwe.Ciphertext
			for _, path := range kernel.Paths {
				if !kernel.Supported(path) {
					t.Logf("%s path not supported here", path)
					continue
				}
				t.Setenv(kernel.EnvVar, path.String())
				p, err := Compile(m, params.InsecureN11, packing.Options{})
				if err != nil {
					t.Fatal(err)
				}
				if in == nil {
					if in, err = newCodec(t, p).Encrypt(randomImages(rng, 64, m.Input.Size()), testID, nil, nil); err != nil {
						t.Fatal(err)
					}
				}
				copies := make([]*rlwe.Ciphertext, len(in))
				for i, ct := range in {
					copies[i] = ct.CopyNew()
				}
				out, err := p.Evaluate(context.Background(), copies, nil, nil)
				if err != nil {
					t.Fatal(err)
				}
				if want == nil {
					want = out
					continue
				}
				for j := range out {
					for k := range out[j].Value {
						for l := range out[j].Value[k].Coeffs {
							if !slices.Equal(out[j].Value[k].Coeffs[l], want[j].Value[k].Coeffs[l]) {
								t.Fatalf("%s path: output %d, polynomial %d, limb %d differs from the pure-Go path", path, j, k, l)
							}
						}
					}
				}
			}
		})
	}
}
