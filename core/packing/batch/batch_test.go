package batch

import (
	"context"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/cryptonets/cryptonets/core/model"
	"github.com/cryptonets/cryptonets/core/packing"
	"github.com/cryptonets/cryptonets/core/params"
	"github.com/tuneinsight/lattigo/v5/core/rlwe"
)

// smallNet is a CryptoNets-shaped network on 12×12 images with random weights.
func smallNet(rng *rand.Rand) *model.Model {
	randn := normals(rng)
	return &model.Model{
		Name: "small", Input: model.Shape{C: 1, H: 12, W: 12}, InputRange: [2]float64{0, 1},
		Layers: []model.Layer{
			&model.Conv2D{InChannels: 1, OutChannels: 3, KernelH: 5, KernelW: 5, StrideH: 2, StrideW: 2,
				Pad: model.Padding{Top: 1, Left: 1, Bottom: 1, Right: 1}, Weights: randn(75, 0.2), Bias: randn(3, 0.1)},
			model.Square{},
			&model.SumPool{KernelH: 3, KernelW: 3, StrideH: 1, StrideW: 1, Pad: model.Padding{Top: 1, Left: 1, Bottom: 1, Right: 1}, Scale: 1.0 / 9},
			model.Flatten{},
			&model.Dense{In: 75, Out: 20, Weights: randn(1500, 0.1), Bias: randn(20, 0.1)},
			model.Square{},
			&model.Dense{In: 20, Out: 4, Weights: randn(80, 0.3), Bias: randn(4, 0.1)},
		},
	}
}

// normals returns a function drawing n normal values of standard deviation s.
func normals(rng *rand.Rand) func(n int, s float64) []float64 {
	return func(n int, s float64) []float64 {
		v := make([]float64, n)
		for i := range v {
			v[i] = rng.NormFloat64() * s
		}
		return v
	}
}

// testKey and testID are an arrangement key and a request identifier for codecs.
var testKey, testID = []byte("arrangement key of the tests..."), []byte("request")

// newCodec makes a client codec with a fresh secret key for p.
func newCodec(t testing.TB, p *Plan) *packing.Codec {
	t.Helper()
	m := p.Manifest()
	layout, err := Packing{}.Layout(&m)
	if err != nil {
		t.Fatal(err)
	}
	sk := rlwe.NewKeyGenerator(p.Parameters()).GenSecretKeyNew()
	codec, err := packing.NewCodec(&m, p.Parameters(), layout, sk, testKey)
	if err != nil {
		t.Fatal(err)
	}
	return codec
}

func randomImages(rng *rand.Rand, n, size int) [][]float64 {
	imgs := make([][]float64, n)
	for i := range imgs {
		imgs[i] = make([]float64, size)
		for k := range imgs[i] {
			imgs[i][k] = rng.Float64()
		}
	}
	return imgs
}

// roundTrip encrypts, evaluates and decrypts, returning the largest absolute error
// against the float64 reference and the number of argmax disagreements.
func roundTrip(t *testing.T, m *model.Model, preset params.Preset, imgs [][]float64) (float64, int) {
	t.Helper()
	p, err := Compile(m, preset, packing.Options{})
	if err != nil {
		t.Fatal(err)
	}
	codec := newCodec(t, p)
	cts, err := codec.Encrypt(imgs, testID, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	out, err := p.Evaluate(context.Background(), cts, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	logits, err := codec.Decrypt(out, testID, len(imgs))
	if err != nil {
		t.Fatal(err)
	}
	ref, err := model.NewReference(m)
	if err != nil {
		t.Fatal(err)
	}
	maxErr, disagree := 0.0, 0
	for i, img := range imgs {
		want, _ := ref.Forward(img)
		for j := range want {
			maxErr = math.Max(maxErr, math.Abs(want[j]-logits[i][j]))
		}
		if model.Argmax(want) != model.Argmax(logits[i]) {
			disagree++
		}
	}
	return maxErr, disagree
}

func TestSmallNetworkMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	m := smallNet(rng)
	imgs := randomImages(rng, 300, m.Input.Size())
	maxErr, disagree := roundTrip(t, m, params.InsecureN11, imgs)
	t.Logf("max abs error %.3g", maxErr)
	if maxErr > 1e-4 || disagree != 0 {
		t.Fatalf("max abs error %.3g, %d argmax disagreements", maxErr, disagree)
	}
}

// TestChunkedAccumulationMatchesReference uses rows of large equal-magnitude weights, so
// that Σ|w|·q overflows int64 many times over and the pure-Go and AVX2 kernels must
// reduce between chunks (package kernel tests every path's chunking directly).
func TestChunkedAccumulationMatchesReference(t *testing.T) {
	const in = 400
	w := make([]float64, 2*in)
	for i := range w {
		w[i] = 0.05 * float64(1-2*(i%2))
	}
	m := &model.Model{Name: "wide", Input: model.Shape{C: in, H: 1, W: 1}, InputRange: [2]float64{0, 1},
		Layers: []model.Layer{
			&model.Dense{In: in, Out: 2, Weights: w, Bias: []float64{0.5, -0.5}},
			model.Square{},
			&model.Dense{In: 2, Out: 2, Weights: []float64{1, 0.5, -0.25, 1}, Bias: []float64{0, 0.1}},
		}}
	rng := rand.New(rand.NewPCG(5, 6))
	maxErr, disagree := roundTrip(t, m, params.InsecureN11, randomImages(rng, 50, in))
	// The plan's scales follow the worst case (sums of 400 terms of ±0.05 up to ±10,
	// their squares up to about 10^2), and the noise is relative to it: 10^-3 is
	// 10^-5 of that bound (errors of 1.1·10^-4 were seen); an accumulation that
	// overflowed would be off by the order of the bound.
	if maxErr > 1e-3 || disagree != 0 {
		t.Fatalf("max abs error %.3g, %d argmax disagreements", maxErr, disagree)
	}
}

// TestPolynomialActivationsMatchReference evaluates fitted-polynomial activations of
// degree 2 and 3 (a ReLU-like and an odd, tanh-like shape) encrypted.
func TestPolynomialActivationsMatchReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	randn := normals(rng)
	for name, coeffs := range map[string][]float64{
		"degree 2": {0.25, 0.5, 0.125},
		"degree 3": {0, 0.9, 0, -0.2},
	} {
		t.Run(name, func(t *testing.T) {
			m := &model.Model{Name: name, Input: model.Shape{C: 30, H: 1, W: 1}, InputRange: [2]float64{0, 1},
				Layers: []model.Layer{
					&model.Dense{In: 30, Out: 8, Weights: randn(240, 0.2), Bias: randn(8, 0.1)},
					&model.Polynomial{Coeffs: coeffs, Interval: [2]float64{-3, 3}, Fitted: "test"},
					&model.Dense{In: 8, Out: 3, Weights: randn(24, 0.4), Bias: randn(3, 0.1)},
				}}
			maxErr, disagree := roundTrip(t, m, params.InsecureN11, randomImages(rng, 100, 30))
			if maxErr > 1e-4 || disagree != 0 {
				t.Fatalf("max abs error %.3g, %d argmax disagreements", maxErr, disagree)
			}
		})
	}
}

func TestUnsupportedNetworksAreClearErrors(t *testing.T) {
	linear := &model.Model{Name: "linear-poly", Input: model.Shape{C: 2, H: 1, W: 1}, InputRange: [2]float64{0, 1},
		Layers: []model.Layer{
			&model.Dense{In: 2, Out: 2, Weights: []float64{1, 0, 0, 1}, Bias: []float64{0, 0}},
			&model.Polynomial{Coeffs: []float64{0.1, 0.5}, Interval: [2]float64{-1, 1}},
			&model.Dense{In: 2, Out: 1, Weights: []float64{1, 1}, Bias: []float64{0}},
		}}
	if _, err := Compile(linear, params.N13, packing.Options{}); err == nil {
		t.Fatal("degree-1 polynomial accepted instead of being merged")
	}
	deep := &model.Model{Name: "deep", Input: model.Shape{C: 1, H: 1, W: 1}, InputRange: [2]float64{0, 1}}
	for range 5 {
		deep.Layers = append(deep.Layers, &model.Dense{In: 1, Out: 1, Weights: []float64{0.9}, Bias: []float64{0.1}}, model.Square{})
	}
	deep.Layers = append(deep.Layers, &model.Dense{In: 1, Out: 1, Weights: []float64{1}, Bias: []float64{0}})
	if _, err := Compile(deep, params.N13, packing.Options{}); err == nil {
		t.Fatal("five squares fitted in 215 bits without relinearization")
	}
}

// TestEachLayerTypeMatchesReference runs one small network per layer type, encrypted,
// against the float64 reference.
func TestEachLayerTypeMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	randn := normals(rng)
	pad := model.Padding{Top: 1, Left: 2, Bottom: 0, Right: 1}
	img := model.Shape{C: 2, H: 7, W: 6}
	cases := map[string][]model.Layer{
		"conv2d": {&model.Conv2D{InChannels: 2, OutChannels: 3, KernelH: 3, KernelW: 2, StrideH: 2, StrideW: 1, Pad: pad,
			Weights: randn(36, 0.3), Bias: randn(3, 0.1)}},
		"sumpool": {&model.SumPool{KernelH: 2, KernelW: 3, StrideH: 1, StrideW: 2, Pad: pad, Scale: 0.25}},
		"dense":   {model.Flatten{}, &model.Dense{In: 84, Out: 5, Weights: randn(420, 0.1), Bias: randn(5, 0.1)}},
		"square": {model.Flatten{}, &model.Dense{In: 84, Out: 4, Weights: randn(336, 0.1), Bias: randn(4, 0.1)}, model.Square{},
			&model.Dense{In: 4, Out: 4, Weights: []float64{1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1}, Bias: make([]float64, 4)}},
	}
	for name, layers := range cases {
		t.Run(name, func(t *testing.T) {
			m := &model.Model{Name: name, Input: img, InputRange: [2]float64{0, 1}, Layers: layers}
			maxErr, disagree := roundTrip(t, m, params.InsecureN11, randomImages(rng, 64, img.Size()))
			if maxErr > 1e-4 || disagree != 0 {
				t.Fatalf("max abs error %.3g, %d argmax disagreements", maxErr, disagree)
			}
		})
	}
}

func TestWorkerPanicBecomesError(t *testing.T) {
	ev := &evaluation{workers: 2}
	err := ev.parallel(50, func(_, i int) {
		if i == 7 {
			panic("injected")
		}
	})
	if err == nil || !strings.Contains(err.Error(), "injected") {
		t.Fatalf("panic not returned as an error: %v", err)
	}
	if err := ev.parallel(5, func(int, int) {}); err != nil {
		t.Fatalf("the evaluation is unusable after a recovered panic: %v", err)
	}
}

// TestEncryptionOneAtATime encrypts a request ciphertext by ciphertext into one reused
// ciphertext (packing.Encryption, as a client sealing an upload does), keeps copies,
// and gets the reference's logits back; the seeded halves are those Encrypt makes.
func TestEncryptionOneAtATime(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	m := smallNet(rng)
	p, err := Compile(m, params.InsecureN11, packing.Options{})
	if err != nil {
		t.Fatal(err)
	}
	codec := newCodec(t, p)
	imgs := randomImages(rng, 50, m.Input.Size())
	seed := make([]byte, 32)
	enc, err := codec.Begin(imgs, testID, seed, nil)
	if err != nil {
		t.Fatal(err)
	}
	whole, err := codec.Encrypt(imgs, testID, seed, nil)
	if err != nil {
		t.Fatal(err)
	}
	own := rlwe.NewCiphertext(p.Parameters(), 1, p.Manifest().InputLevel)
	cts := make([]*rlwe.Ciphertext, enc.Count())
	for k := range cts {
		if err := enc.EncryptTo(enc.Workers()-1, k, own); err != nil {
			t.Fatal(err)
		}
		if !own.Value[1].Equal(&whole[k].Value[1]) {
			t.Fatalf("ciphertext %d: c1 is not the seed's", k)
		}
		cts[k] = own.CopyNew()
	}
	out, err := p.Evaluate(context.Background(), cts, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	logits, err := codec.Decrypt(out, testID, len(imgs))
	if err != nil {
		t.Fatal(err)
	}
	ref, err := model.NewReference(m)
	if err != nil {
		t.Fatal(err)
	}
	for i, img := range imgs {
		want, _ := ref.Forward(img)
		for j := range want {
			if math.Abs(want[j]-logits[i][j]) > 1e-4 {
				t.Fatalf("image %d logit %d: %g, the reference gives %g", i, j, logits[i][j], want[j])
			}
		}
	}
	if err := enc.EncryptTo(0, enc.Count(), own); err == nil {
		t.Fatal("a ciphertext beyond the request's was encrypted")
	}
	if err := enc.EncryptTo(0, 0, rlwe.NewCiphertext(p.Parameters(), 1, 0)); err == nil && p.Manifest().InputLevel != 0 {
		t.Fatal("a ciphertext at another level was accepted")
	}
}
