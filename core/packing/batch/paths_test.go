package batch

import (
	"context"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/cryptonets/cryptonets/core/internal/kernel"
	"github.com/cryptonets/cryptonets/core/model"
	"github.com/cryptonets/cryptonets/core/packing"
	"github.com/cryptonets/cryptonets/core/params"
	"github.com/tuneinsight/lattigo/v5/core/rlwe"
)

// TestKernelPathsAgreeBitForBit evaluates the same encrypted batch through plans
// compiled for every kernel path this processor runs (CRYPTONETS_KERNEL forced), each
// with its squares fused into the linear steps after them (see fuse) and without:
// every coefficient of every output ciphertext must be identical to the pure-Go
// path's fused evaluation. The networks cover every kind of step: linear layers,
// squares (fused, of degree 1, 2 and 4 ciphertexts, in segments' chunks after
// monitors, and not fused before relinearizations), tensor-product and relinearized
// power-tree polynomials, relinearizations, monitors and segments evaluated in chunks.
func TestKernelPathsAgreeBitForBit(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	randn := normals(rng)
	// powers is the deep network with degree-4 and degree-6 activations (power trees).
	powers := deepNet(rng, 3, 1)
	powers.Name = "deep-powers"
	for i, c := 0, [][]float64{{0.2146, 0.5, 0.2148, 0, -0.0061}, {0.1587, 0.5, 0.3081, 0, -0.0197, 0, 0.00048}}; i < len(powers.Layers); i++ {
		if _, ok := powers.Layers[i].(*model.Polynomial); ok && len(c) > 0 {
			powers.Layers[i] = &model.Polynomial{Coeffs: c[0], Interval: [2]float64{-4, 4}, Fitted: "relu"}
			c = c[1:]
		}
	}
	// squares is the deep network with squares for activations; amplified, its
	// proven bounds call for relinearizations after three of its four squares.
	squares, amplified := deepNet(rng, 3, 1), deepNet(rng, 4, 2)
	squares.Name, amplified.Name = "deep-squares", "deep-squares-relinearized"
	for _, m := range []*model.Model{squares, amplified} {
		for i, l := range m.Layers {
			if _, ok := l.(*model.Polynomial); ok {
				m.Layers[i] = model.Square{}
			}
		}
	}
	cases := []struct {
		m      *model.Model
		preset params.Preset
		opts   packing.Options
		chunk  int
		// kinds are steps the plan must have ("segment": one evaluated in chunks).
		kinds []string
		// fused is how many squares the plan fuses, one in each of a segment's chunks
		// (48 of them here) included.
		fused int
	}{
		{m: mnistShapedNet(rng), preset: params.InsecureN11, kinds: []string{"linear", "square"}, fused: 2},
		{m: &model.Model{Name: "polynomial", Input: model.Shape{C: 40, H: 1, W: 1}, InputRange: [2]float64{0, 1},
			Layers: []model.Layer{
				&model.Dense{In: 40, Out: 12, Weights: randn(480, 0.2), Bias: randn(12, 0.1)},
				&model.Polynomial{Coeffs: []float64{0.1, 0.5, 0.2, -0.05}, Interval: [2]float64{-3, 3}, Fitted: "test"},
				&model.Dense{In: 12, Out: 4, Weights: randn(48, 0.4), Bias: randn(4, 0.1)},
			}}, preset: params.InsecureN11, kinds: []string{"polynomial degree 3"}},
		{m: calibrated(t, deepNet(rng, 3, 2), dimImages(rng, 200, 100)), preset: params.InsecureN12R,
			opts: packing.Options{Guarantee: GuaranteeCalibrated}, chunk: 1 << 20, kinds: []string{"monitor", "segment"}},
		{m: calibrated(t, powers, dimImages(rng, 200, 100)), preset: params.InsecureN12R, kinds: []string{"relinearized powers"}},
		{m: calibrated(t, squares, dimImages(rng, 200, 100)), preset: params.InsecureN12R, opts: packing.Options{Guarantee: GuaranteeCalibrated},
			chunk: 1 << 20, kinds: []string{"monitor", "segment", "square"}, fused: 2 + 48},
		{m: amplified, preset: params.InsecureN12R, chunk: 1 << 20, kinds: []string{"relinearize", "segment", "square"}, fused: 1 + 48},
	}
	for _, c := range cases {
		t.Run(c.m.Name, func(t *testing.T) {
			var (
				in, want []*rlwe.Ciphertext
				keys     rlwe.EvaluationKeySet
			)
			for _, path := range kernel.Paths {
				if !kernel.Supported(path) {
					t.Logf("%s path not supported here", path)
					continue
				}
				t.Setenv(kernel.EnvVar, path.String())
				chunk := c.chunk
				if chunk == 0 {
					chunk = 1 << 40
				}
				p, err := compileChunked(c.m, c.preset, c.opts, chunk)
				if err != nil {
					t.Fatal(err)
				}
				if in == nil {
					kinds := ""
					for _, s := range p.Steps() {
						kinds += s.Kind + ", "
					}
					for _, s := range p.steps {
						if _, ok := s.(*segmentStep); ok {
							kinds += "segment, "
						}
					}
					for _, k := range c.kinds {
						if !strings.Contains(kinds, k) {
							t.Fatalf("no %q step among %s", k, kinds)
						}
					}
					codec := newCodec(t, p)
					keys = evalKeys(codec)
					if in, err = codec.Encrypt(dimImages(rng, 64, c.m.Input.Size()), testID, nil, nil); err != nil {
						t.Fatal(err)
					}
				}
				if got := fusedSquares(p.run); got != c.fused {
					t.Fatalf("%d squares fused, want %d", got, c.fused)
				}
				unfused := *p
				unfused.run = p.steps
				for _, q := range []*Plan{p, &unfused} {
					copies := make([]*rlwe.Ciphertext, len(in))
					for i, ct := range in {
						copies[i] = ct.CopyNew()
					}
					out, err := q.Evaluate(context.Background(), copies, keys, nil)
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
									t.Fatalf("%s path, %d of %d steps: output %d, polynomial %d, limb %d differs from the pure-Go path's fused evaluation",
										path, len(q.run), len(q.steps), j, k, l)
								}
							}
						}
					}
				}
			}
		})
	}
}

// fusedSquares counts the squaredLinearSteps among steps, in segments' chunks too.
func fusedSquares(steps []step) int {
	n := 0
	for _, s := range steps {
		switch st := s.(type) {
		case *squaredLinearStep:
			n++
		case *segmentStep:
			for _, c := range st.chunks {
				n += fusedSquares(c.steps)
			}
		}
	}
	return n
}
