package single

import (
	"context"
	"math"
	"math/rand"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/cryptonets/cryptonets/core/dataset"
	"github.com/cryptonets/cryptonets/core/model"
	"github.com/cryptonets/cryptonets/core/packing"
	"github.com/cryptonets/cryptonets/core/params"
	"github.com/tuneinsight/lattigo/v5/core/rlwe"
)

const shippedModel = "../../../models/mnist/mnist_cryptonets.cnm"

// fixture is a compiled plan with its keys and client.
type fixture struct {
	plan   *Plan
	client testClient
	evk    *rlwe.MemEvaluationKeySet
	ref    *model.Reference
}

// testKey and testID are an arrangement key and a request identifier for codecs.
var testKey, testID = []byte("arrangement key of the tests..."), []byte("request")

// testClient is a codec with the one-image calls the tests use.
type testClient struct{ *packing.Codec }

func (c testClient) EncryptImages(images [][]float64, seed []byte) ([]*rlwe.Ciphertext, error) {
	return c.Codec.Encrypt(images, testID, seed, nil)
}

func (c testClient) DecryptLogits(out []*rlwe.Ciphertext, n int) ([][]float64, error) {
	return c.Codec.Decrypt(out, testID, n)
}

func (c testClient) Encrypt(image []float64) ([]*rlwe.Ciphertext, error) {
	return c.EncryptImages([][]float64{image}, nil)
}

func (c testClient) Decrypt(out []*rlwe.Ciphertext) ([]float64, error) {
	logits, err := c.Codec.Decrypt(out, testID, 1)
	if err != nil {
		return nil, err
	}
	return logits[0], nil
}

// newClient makes a fresh secret key for p, a client from p's public manifest, and
// the evaluation keys the manifest lists.
func newClient(t testing.TB, p *Plan) (testClient, *rlwe.MemEvaluationKeySet) {
	t.Helper()
	m := p.Manifest()
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	sk := rlwe.NewKeyGenerator(p.Parameters()).GenSecretKeyNew()
	layout, err := Packing{}.Layout(&m)
	if err != nil {
		t.Fatal(err)
	}
	c, err := packing.NewCodec(&m, p.Parameters(), layout, sk, testKey)
	if err != nil {
		t.Fatal(err)
	}
	rlk, gks := c.EvaluationKeys()
	return testClient{c}, rlwe.NewMemEvaluationKeySet(rlk, gks...)
}

func setup(t testing.TB, preset params.Preset) *fixture {
	t.Helper()
	m, err := model.Load(shippedModel)
	if err != nil {
		t.Fatal(err)
	}
	p, err := Compile(m, preset, packing.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c, evk := newClient(t, p)
	ref, err := model.NewReference(m)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{plan: p, client: c, evk: evk, ref: ref}
}

// run encrypts, evaluates and decrypts n test images and the test image with the
// largest logit among the first 2000; it returns the largest logit
// error against the plaintext reference and the mean evaluation time.
func (f *fixture) run(t testing.TB, n int) (float64, time.Duration) {
	t.Helper()
	set, err := dataset.MNIST(dataset.MNISTTest, 0)
	if err != nil {
		t.Fatal(err)
	}
	// The first n images, plus the one of the first 2000 with the largest |logit|:
	// it must not wrap around modulo q_0.
	images := append([][]float64(nil), set.Records[:n]...)
	worst, worstAbs := 0, 0.0
	for i, img := range set.Records[:2000] {
		y, err := f.ref.Forward(img)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range y {
			if math.Abs(v) > worstAbs {
				worst, worstAbs = i, math.Abs(v)
			}
		}
	}
	if worst >= n {
		images = append(images, set.Records[worst])
	}
	maxErr := 0.0
	var total time.Duration
	for i, img := range images {
		in, err := f.client.Encrypt(img)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		out, err := f.plan.Evaluate(context.Background(), in, f.evk, nil)
		total += time.Since(start)
		if err != nil {
			t.Fatal(err)
		}
		got, err := f.client.Decrypt(out)
		if err != nil {
			t.Fatal(err)
		}
		want, err := f.ref.Forward(img)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("image %d: %d logits, want %d", i, len(got), len(want))
		}
		for j := range want {
			maxErr = math.Max(maxErr, math.Abs(got[j]-want[j]))
		}
		if model.Argmax(got) != model.Argmax(want) {
			t.Errorf("image %d: encrypted argmax %d, plaintext %d (logits %v vs %v)", i, model.Argmax(got), model.Argmax(want), got, want)
		}
	}
	return maxErr, total / time.Duration(len(images))
}

func TestShippedModelMatchesReference(t *testing.T) {
	f := setup(t, params.InsecureN12S)
	maxErr, per := f.run(t, 4)
	t.Logf("InsecureN12S: max logit error %.3g, %v per image", maxErr, per)
	if maxErr > 1e-2 {
		t.Fatalf("max logit error %.3g > 1e-2", maxErr)
	}
}

// TestShippedModel128Bit runs the shipped network at the 128-bit preset on 256 real
// MNIST images ($CRYPTONETS_SINGLE_IMAGES overrides the count), plus the one with the
// largest logit among the first 2000.
func TestShippedModel128Bit(t *testing.T) {
	if testing.Short() {
		t.Skip("128-bit parameters: skipped with -short")
	}
	n := 256
	if v, err := strconv.Atoi(os.Getenv("CRYPTONETS_SINGLE_IMAGES")); err == nil && v > 0 {
		n = v
	}
	start := time.Now()
	f := setup(t, params.N13S)
	setupTime := time.Since(start)
	maxErr, per := f.run(t, n)
	t.Logf("N13QP215S, %d images: %d Galois keys, setup (compile + keys) %v, max logit error %.3g, %v per image (evaluation)",
		n, len(f.plan.Manifest().GaloisElements), setupTime, maxErr, per)
	if maxErr > 1e-2 {
		t.Fatalf("max logit error %.3g > 1e-2", maxErr)
	}
}

func TestManifest(t *testing.T) {
	f := setup(t, params.InsecureN12S)
	m := f.plan.Manifest()
	if m.Packing != Name || !m.Relinearize || m.Outputs != 10 || m.ImagesPerBatch != 1 || m.Params != params.InsecureN12S.Name {
		t.Fatalf("manifest: %+v", m)
	}
	if len(m.GaloisElements) == 0 {
		t.Fatal("no Galois elements")
	}
	// The keys are exactly the listed ones.
	gks := f.evk.GetGaloisKeysList()
	if len(gks) != len(m.GaloisElements) {
		t.Fatalf("%d Galois keys, manifest lists %d", len(gks), len(m.GaloisElements))
	}
	for i := 1; i < len(m.GaloisElements); i++ {
		if m.GaloisElements[i] <= m.GaloisElements[i-1] {
			t.Fatal("Galois elements not sorted and unique")
		}
	}
	prm, err := m.Parameters()
	if err != nil {
		t.Fatal(err)
	}
	if !prm.Equal(&f.plan.params) {
		t.Fatal("manifest names other parameters")
	}
	// A missing key is an error, not a panic.
	partial := rlwe.NewMemEvaluationKeySet(f.evk.RelinearizationKey)
	in, err := f.client.Encrypt(make([]float64, 784))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.plan.Evaluate(context.Background(), in, partial, nil); err == nil {
		t.Fatal("evaluation without Galois keys succeeded")
	}
}

func TestBadInputsAreErrors(t *testing.T) {
	f := setup(t, params.InsecureN12S)
	if _, err := f.client.Encrypt(make([]float64, 10)); err == nil {
		t.Error("short image accepted")
	}
	img := make([]float64, 784)
	img[3] = 2
	if _, err := f.client.Encrypt(img); err == nil {
		t.Error("value outside the input range accepted")
	}
	in, err := f.client.Encrypt(make([]float64, 784))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.plan.Evaluate(context.Background(), in[1:], f.evk, nil); err == nil {
		t.Error("missing ciphertext accepted")
	}
	bad := append([]*rlwe.Ciphertext(nil), in...)
	bad[0] = in[0].CopyNew()
	bad[0].Resize(1, 2)
	if _, err := f.plan.Evaluate(context.Background(), bad, f.evk, nil); err == nil {
		t.Error("ciphertext at a low level accepted")
	}
	if _, err := f.plan.Evaluate(context.Background(), in, nil, nil); err == nil {
		t.Error("nil keys accepted")
	}
	if _, err := f.client.Decrypt(in); err == nil {
		t.Error("decrypting input ciphertexts accepted")
	}
}

func TestUnsupportedNetworksAreClearErrors(t *testing.T) {
	dense := func(in, out int) *model.Dense {
		return &model.Dense{In: in, Out: out, Weights: make([]float64, in*out), Bias: make([]float64, out)}
	}
	cases := map[string]*model.Model{
		"activation first": {Name: "a", Input: model.Shape{C: 4, H: 1, W: 1}, InputRange: [2]float64{0, 1},
			Layers: []model.Layer{model.Square{}, dense(4, 2)}},
		"relu": {Name: "b", Input: model.Shape{C: 4, H: 1, W: 1}, InputRange: [2]float64{0, 1},
			Layers: []model.Layer{dense(4, 2), model.NamedActivation{Func: "relu"}}},
		"too deep": {Name: "c", Input: model.Shape{C: 4, H: 1, W: 1}, InputRange: [2]float64{0, 1},
			Layers: []model.Layer{dense(4, 4), model.Square{}, dense(4, 4), model.Square{}, dense(4, 4), model.Square{}, dense(4, 2)}},
	}
	for name, m := range cases {
		if _, err := Compile(m, params.InsecureN12S, packing.Options{}); err == nil {
			t.Errorf("%s: compiled", name)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
	m, _ := model.Load(shippedModel)
	if _, err := Compile(m, params.N13, packing.Options{}); err == nil {
		t.Error("compiled under a preset without special primes")
	}
}

// randomNet is a network of other shapes: a small convolution, or (tiny) a first layer
// with fewer terms than segments per ciphertext and a layer that widens the vector.
func randomNet(rng *rand.Rand, tiny bool) *model.Model {
	randn := func(n int, s float64) []float64 {
		v := make([]float64, n)
		for i := range v {
			v[i] = rng.NormFloat64() * s
		}
		return v
	}
	if tiny {
		return &model.Model{Name: "tiny", Input: model.Shape{C: 4, H: 1, W: 1}, InputRange: [2]float64{-1, 1},
			Layers: []model.Layer{
				&model.Dense{In: 4, Out: 3, Weights: randn(12, 0.5), Bias: randn(3, 0.1)},
				model.Square{},
				&model.Dense{In: 3, Out: 40, Weights: randn(120, 0.5), Bias: randn(40, 0.1)},
				model.Square{},
				&model.Dense{In: 40, Out: 2, Weights: randn(80, 0.3), Bias: randn(2, 0.1)},
			}}
	}
	return &model.Model{Name: "small", Input: model.Shape{C: 1, H: 12, W: 12}, InputRange: [2]float64{0, 1},
		Layers: []model.Layer{
			&model.Conv2D{InChannels: 1, OutChannels: 3, KernelH: 5, KernelW: 5, StrideH: 2, StrideW: 2,
				Pad: model.Padding{Top: 1, Left: 1, Bottom: 1, Right: 1}, Weights: randn(75, 0.2), Bias: randn(3, 0.1)},
			model.Square{},
			model.Flatten{},
			&model.Dense{In: 75, Out: 20, Weights: randn(1500, 0.1), Bias: randn(20, 0.1)},
			model.Square{},
			&model.Dense{In: 20, Out: 4, Weights: randn(80, 0.3), Bias: randn(4, 0.1)},
		}}
}

func TestOtherShapesMatchReference(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for _, tiny := range []bool{false, true} {
		m := randomNet(rng, tiny)
		p, err := Compile(m, params.InsecureN12S, packing.Options{})
		if err != nil {
			t.Fatalf("%s: %v", m.Name, err)
		}
		c, evk := newClient(t, p)
		ref, _ := model.NewReference(m)
		maxErr := 0.0
		for i := 0; i < 3; i++ {
			img := make([]float64, m.Input.Size())
			for j := range img {
				img[j] = m.InputRange[0] + rng.Float64()*(m.InputRange[1]-m.InputRange[0])
			}
			in, err := c.Encrypt(img)
			if err != nil {
				t.Fatal(err)
			}
			out, err := p.Evaluate(context.Background(), in, evk, nil)
			if err != nil {
				t.Fatalf("%s: %v", m.Name, err)
			}
			got, err := c.Decrypt(out)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := ref.Forward(img)
			for j := range want {
				maxErr = math.Max(maxErr, math.Abs(got[j]-want[j]))
			}
		}
		t.Logf("%s: %d ciphertexts per image, %d Galois keys, max error %.3g", m.Name, p.Ciphertexts(), len(p.Manifest().GaloisElements), maxErr)
		if maxErr > 1e-3 {
			t.Errorf("%s: max error %.3g > 1e-3", m.Name, maxErr)
		}
	}
}

// TestConcurrentEvaluations runs two evaluations with one plan and one key set at
// once (run with -race to check for data races): each gives the logits of the same
// evaluation alone, bit for bit, though crowded evaluations drop their second
// goroutine (see workspaces.crowded).
func TestConcurrentEvaluations(t *testing.T) {
	f := setup(t, params.InsecureN12S)
	set, err := dataset.MNIST(dataset.MNISTTest, 0)
	if err != nil {
		t.Fatal(err)
	}
	ins := make([][]*rlwe.Ciphertext, 2)
	for i := range ins {
		if ins[i], err = f.client.Encrypt(set.Records[i]); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan int, 2)
	outs := make([][]*rlwe.Ciphertext, 2)
	errs := make([]error, 2)
	for i := range ins {
		go func(i int) {
			outs[i], errs[i] = f.plan.Evaluate(context.Background(), ins[i], f.evk, nil)
			done <- i
		}(i)
	}
	<-done
	<-done
	for i := range ins {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		got, err := f.client.Decrypt(outs[i])
		if err != nil {
			t.Fatal(err)
		}
		want, _ := f.ref.Forward(set.Records[i])
		if model.Argmax(got) != model.Argmax(want) {
			t.Fatalf("image %d: argmax %d, want %d", i, model.Argmax(got), model.Argmax(want))
		}
		alone, err := f.plan.Evaluate(context.Background(), ins[i], f.evk, nil)
		if err != nil {
			t.Fatal(err)
		}
		logits, err := f.client.Decrypt(alone)
		if err != nil {
			t.Fatal(err)
		}
		for j := range logits {
			if logits[j] != got[j] {
				t.Fatalf("image %d, logit %d: %g alone, %g with another evaluation", i, j, logits[j], got[j])
			}
		}
	}
}

// TestWorkersAgree checks that evaluating on one goroutine and on two gives the
// same logits, bit for bit (the same integer arithmetic in another order).
func TestWorkersAgree(t *testing.T) {
	f := setup(t, params.InsecureN12S)
	giants := 0
	for _, s := range f.plan.steps {
		if s.tr != nil {
			giants += s.tr.nonzeroGiants()
		}
	}
	if giants < 2 {
		t.Fatalf("the plan's transformations have %d rotating giant steps: too few to share", giants)
	}
	set, err := dataset.MNIST(dataset.MNISTTest, 0)
	if err != nil {
		t.Fatal(err)
	}
	in, err := f.client.Encrypt(set.Records[1])
	if err != nil {
		t.Fatal(err)
	}
	var logits [2][]float64
	for w, p := range []*Plan{f.plan.WithWorkers(1), f.plan.WithWorkers(2)} {
		out, err := p.Evaluate(context.Background(), in, f.evk, nil)
		if err != nil {
			t.Fatal(err)
		}
		if logits[w], err = f.client.Decrypt(out); err != nil {
			t.Fatal(err)
		}
	}
	for j := range logits[0] {
		if logits[0][j] != logits[1][j] { // the same integer arithmetic in another order
			t.Fatalf("logit %d: sequential %g, parallel %g", j, logits[0][j], logits[1][j])
		}
	}
}

// TestInterleavedImagesMatchReference evaluates k interleaved images per request, full
// and partial requests, on the shipped network and on random ones.
func TestInterleavedImagesMatchReference(t *testing.T) {
	set, err := dataset.MNIST(dataset.MNISTTest, 0)
	if err != nil {
		t.Fatal(err)
	}
	shipped, err := model.Load(shippedModel)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewSource(2))
	for _, c := range []struct {
		m *model.Model
		k int
	}{{shipped, 2}, {randomNet(rng, false), 4}, {randomNet(rng, true), 8}} {
		p, err := Compile(c.m, params.InsecureN12S, packing.Options{ImagesPerRequest: c.k})
		if err != nil {
			t.Fatalf("%s, k=%d: %v", c.m.Name, c.k, err)
		}
		if got := p.Manifest().ImagesPerBatch; got != c.k {
			t.Fatalf("%s, k=%d: manifest says %d images per request", c.m.Name, c.k, got)
		}
		client, evk := newClient(t, p)
		ref, _ := model.NewReference(c.m)
		for _, n := range []int{c.k, c.k - 1} {
			images := make([][]float64, n)
			for i := range images {
				if c.m == shipped {
					images[i] = set.Records[i]
					continue
				}
				images[i] = make([]float64, c.m.Input.Size())
				for j := range images[i] {
					images[i][j] = c.m.InputRange[0] + rng.Float64()*(c.m.InputRange[1]-c.m.InputRange[0])
				}
			}
			in, err := client.EncryptImages(images, nil)
			if err != nil {
				t.Fatal(err)
			}
			out, err := p.Evaluate(context.Background(), in, evk, nil)
			if err != nil {
				t.Fatal(err)
			}
			logits, err := client.DecryptLogits(out, n)
			if err != nil {
				t.Fatal(err)
			}
			maxErr := 0.0
			for i, img := range images {
				want, _ := ref.Forward(img)
				for j := range want {
					maxErr = math.Max(maxErr, math.Abs(logits[i][j]-want[j]))
				}
				if model.Argmax(want) != model.Argmax(logits[i]) {
					t.Errorf("%s, k=%d, image %d: encrypted argmax %d, plaintext %d", c.m.Name, c.k, i, model.Argmax(logits[i]), model.Argmax(want))
				}
			}
			t.Logf("%s, k=%d, %d images: %d ciphertexts, max error %.3g", c.m.Name, c.k, n, p.Ciphertexts(), maxErr)
			if maxErr > 1e-2 {
				t.Errorf("%s, k=%d: max error %.3g > 1e-2", c.m.Name, c.k, maxErr)
			}
		}
		if _, err := client.EncryptImages(make([][]float64, c.k+1), nil); err == nil {
			t.Errorf("k=%d: a request of %d images accepted", c.k, c.k+1)
		}
	}
}
