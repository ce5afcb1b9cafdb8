package batch

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/cryptonets/cryptonets/core/model"
	"github.com/cryptonets/cryptonets/core/packing"
	"github.com/cryptonets/cryptonets/core/params"
	"github.com/tuneinsight/lattigo/v5/core/rlwe"
)

// mnistShapedNet is the converted CryptoNets network (conv 5×5 stride 2, 5 maps →
// square → dense 845→100 → square → dense 100→10) with random weights.
func mnistShapedNet(rng *rand.Rand) *model.Model {
	randn := normals(rng)
	return &model.Model{
		Name: "mnist-shaped", Input: model.Shape{C: 1, H: 28, W: 28}, InputRange: [2]float64{0, 1},
		Layers: []model.Layer{
			&model.Conv2D{InChannels: 1, OutChannels: 5, KernelH: 5, KernelW: 5, StrideH: 2, StrideW: 2,
				Pad: model.Padding{Top: 1, Left: 1, Bottom: 1, Right: 1}, Weights: randn(125, 0.2), Bias: randn(5, 0.1)},
			model.Square{},
			model.Flatten{},
			&model.Dense{In: 845, Out: 100, Weights: randn(84500, 0.03), Bias: randn(100, 0.1)},
			model.Square{},
			&model.Dense{In: 100, Out: 10, Weights: randn(1000, 0.1), Bias: randn(10, 0.1)},
		},
	}
}

// BenchmarkEvaluateFullBatch measures the server's evaluation of one full batch
// (8192 images) of the MNIST-shaped network at 128-bit parameters.
func BenchmarkEvaluateFullBatch(b *testing.B) {
	rng := rand.New(rand.NewPCG(3, 4))
	m := mnistShapedNet(rng)
	p, err := Compile(m, params.N13, packing.Options{})
	if err != nil {
		b.Fatal(err)
	}
	for _, s := range p.Steps() {
		b.Logf("%+v", s)
	}
	codec := newCodec(b, p)
	imgs := randomImages(rng, p.Manifest().ImagesPerBatch, m.Input.Size())
	cts, err := codec.Encrypt(imgs, testID, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		// Evaluate recycles its inputs' memory: give it a fresh copy each time.
		b.StopTimer()
		in := make([]*rlwe.Ciphertext, len(cts))
		for i, ct := range cts {
			in[i] = ct.CopyNew()
		}
		b.StartTimer()
		if _, err := p.Evaluate(context.Background(), in, nil, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(imgs)*b.N)/b.Elapsed().Seconds(), "images/s")
}
