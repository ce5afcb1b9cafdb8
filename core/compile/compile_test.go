package compile_test

import (
	"context"
	"math"
	"testing"

	"github.com/cryptonets/cryptonets/core/client"
	"github.com/cryptonets/cryptonets/core/compile"
	"github.com/cryptonets/cryptonets/core/dataset"
	"github.com/cryptonets/cryptonets/core/model"
	"github.com/cryptonets/cryptonets/core/params"
	"github.com/cryptonets/cryptonets/core/server"
	"github.com/cryptonets/cryptonets/core/wire"
)

const shippedModel = "../../models/mnist/mnist_cryptonets.cnm"

// reluModel is the ReLU network converted with fitted polynomial activations.
const reluModel = "../../models/mnist_relu/mnist_relu.cnm"

// maxLogitError is the stated bound on |encrypted − plaintext| logits for the shipped
// model at the default parameters (its logits reach about ±120; measured: 0.003).
const maxLogitError = 0.02

// TestShippedModelOnRealMNISTAt128Bits encrypts 512 real MNIST test images at the
// default 128-bit parameters, evaluates through the wire format and compares every
// logit with the float64 reference.
func TestShippedModelOnRealMNISTAt128Bits(t *testing.T) {
	run := encryptedRun(t, shippedModel, 512)
	if bits, err := params.SecurityBits(run.plan.Parameters()); err != nil || bits < 128 || run.plan.Manifest().Insecure {
		t.Fatalf("default parameters are not 128-bit: %d, %v", bits, err)
	}
	correct := 0
	for i := range run.logits {
		if model.Argmax(run.logits[i]) == run.set.Labels[i] {
			correct++
		}
	}
	accuracy := float64(correct) / float64(len(run.logits))
	t.Logf("accuracy %.4f", accuracy)
	if accuracy < 0.99 {
		t.Errorf("accuracy %.4f below 0.99", accuracy)
	}
}

// encrypted is one encrypted run of a model on real MNIST test images.
type encrypted struct {
	plan   compile.Plan
	set    *dataset.Set
	logits [][]float64
}

// encryptedRun compiles the model file at the default parameters, encrypts the first
// n MNIST test images, evaluates through the wire format and decrypts; it fails the
// test unless every argmax equals the float64 reference's and every logit is within
// maxLogitError of it.
func encryptedRun(t *testing.T, path string, n int) encrypted {
	t.Helper()
	m, err := model.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	p, err := compile.Compile(m, compile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	man := p.Manifest()
	set, err := dataset.MNIST(dataset.MNISTTest, 0)
	if err != nil {
		t.Fatal(err)
	}
	set = set.First(n)
	c, err := client.New(&man)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := c.Encrypt(set.Records, nil)
	if err != nil {
		t.Fatal(err)
	}
	upload, err := wire.EncodeCiphertexts(wire.KindEncryptedBatch, &man, c.Parameters(), enc)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := c.EvaluationKeys()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(p, keys)
	if err != nil {
		t.Fatal(err)
	}
	download, err := srv.PredictBytes(context.Background(), upload, nil)
	if err != nil {
		t.Fatal(err)
	}
	logits, err := c.DecryptBytes(enc.Request, download)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := model.NewReference(m)
	if err != nil {
		t.Fatal(err)
	}
	maxErr := 0.0
	for i, img := range set.Records {
		want, _ := ref.Forward(img)
		for j := range want {
			maxErr = math.Max(maxErr, math.Abs(want[j]-logits[i][j]))
		}
		if model.Argmax(want) != model.Argmax(logits[i]) {
			t.Errorf("image %d: encrypted argmax %d, plaintext %d", i, model.Argmax(logits[i]), model.Argmax(want))
		}
	}
	t.Logf("max abs logit error %.3g, precision %.1f bits", maxErr, p.PrecisionBits())
	if maxErr > maxLogitError {
		t.Errorf("max abs logit error %.3g exceeds %g", maxErr, maxLogitError)
	}
	return encrypted{plan: p, set: set, logits: logits}
}

func TestInsecurePresetsNeedOptIn(t *testing.T) {
	m, err := model.Load(shippedModel)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := compile.Compile(m, compile.Options{Params: params.InsecureN11.Name}); err == nil {
		t.Fatal("insecure preset used without opt-in")
	}
	p, err := compile.Compile(m, compile.Options{Params: params.InsecureN11.Name, AllowInsecure: true})
	if err != nil {
		t.Fatal(err)
	}
	if !p.Manifest().Insecure {
		t.Fatal("insecure plan not labelled insecure")
	}
}

// TestReLUModelWithFittedPolynomialsAt128Bits runs the MNIST ReLU network converted
// with degree-2 polynomial activations (models/mnist_relu) encrypted, against the
// float64 reference of the converted model.
func TestReLUModelWithFittedPolynomialsAt128Bits(t *testing.T) {
	encryptedRun(t, reluModel, 256)
}
