package compile_test

import (
	"context"
	"math"
	"testing"

	"github.com/cryptonets/cryptonets/core/client"
	"github.com/cryptonets/cryptonets/core/compile"
	"github.com/cryptonets/cryptonets/core/dataset"
	"github.com/cryptonets/cryptonets/core/manifest"
	"github.com/cryptonets/cryptonets/core/model"
	"github.com/cryptonets/cryptonets/core/packing/batch"
	"github.com/cryptonets/cryptonets/core/packing/single"
	"github.com/cryptonets/cryptonets/core/params"
	"github.com/cryptonets/cryptonets/core/server"
	"github.com/cryptonets/cryptonets/core/wire"
)

// singleLogitError is the stated bound on |encrypted − plaintext| logits of the
// shipped model under single-image packing (measured: 1.7e-3 on 257 images at
// N13QP215S).
const singleLogitError = 0.02

// singleRun sends n MNIST test images one request each through the whole public path
// of single-image packing of the model file under preset: manifest, client keys through the wire, server
// from the keys, sealed requests and results. It checks every logit against the
// float64 reference and every argmax, and returns the upload bytes per image.
func singleRun(t *testing.T, path string, preset params.Preset, n int) int {
	t.Helper()
	m, err := model.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	p, err := compile.Compile(m, compile.Options{Packing: single.Name, Params: preset.Name, AllowInsecure: preset.Insecure})
	if err != nil {
		t.Fatal(err)
	}
	manBytes, err := wire.EncodeManifest(ptr(p.Manifest()))
	if err != nil {
		t.Fatal(err)
	}
	man, err := wire.DecodeManifest(manBytes)
	if err != nil {
		t.Fatal(err)
	}
	var opts []client.Option
	if preset.Insecure {
		opts = append(opts, client.AllowInsecure())
	}
	c, err := client.New(man, opts...)
	if err != nil {
		t.Fatal(err)
	}
	evk, err := c.EvaluationKeysBytes()
	if err != nil {
		t.Fatal(err)
	}
	keys, err := wire.DecodeEvaluationKeys(evk, man)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(p, keys)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := model.NewReference(m)
	if err != nil {
		t.Fatal(err)
	}
	set, err := dataset.MNIST(dataset.MNISTTest, 0)
	if err != nil {
		t.Fatal(err)
	}
	maxErr, upload := 0.0, 0
	for i, img := range set.Records[:n] {
		up, req, err := c.EncryptBytes([][]float64{img}, nil)
		if err != nil {
			t.Fatal(err)
		}
		upload = len(up)
		down, err := srv.PredictBytes(context.Background(), up, nil)
		if err != nil {
			t.Fatal(err)
		}
		logits, err := c.DecryptBytes(req, down)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := ref.Forward(img)
		for j := range want {
			maxErr = math.Max(maxErr, math.Abs(want[j]-logits[0][j]))
		}
		if model.Argmax(want) != model.Argmax(logits[0]) {
			t.Errorf("image %d: encrypted argmax %d, plaintext %d", i, model.Argmax(logits[0]), model.Argmax(want))
		}
	}
	t.Logf("%s: %d images, max logit error %.3g, upload %d B/image, evaluation keys %d B", preset.Name, n, maxErr, upload, len(evk))
	if maxErr > singleLogitError {
		t.Errorf("max logit error %.3g exceeds %g", maxErr, singleLogitError)
	}
	return upload
}

func ptr[T any](v T) *T { return &v }

func TestSinglePackingThroughTheWire(t *testing.T) {
	singleRun(t, shippedModel, params.InsecureN12S, 8)
}

// TestSinglePacking128Bit runs real MNIST images one request each at the 128-bit
// single-image preset through the wire format.
func TestSinglePacking128Bit(t *testing.T) {
	if testing.Short() {
		t.Skip("128-bit parameters: skipped with -short")
	}
	singleRun(t, shippedModel, params.N13S, 32)
}

// TestReLUModelSinglePacking128Bit runs the ReLU model, whose two fitted polynomial
// activations take Lattigo's polynomial evaluator, at the deeper 128-bit single-image
// preset.
func TestReLUModelSinglePacking128Bit(t *testing.T) {
	if testing.Short() {
		t.Skip("128-bit parameters: skipped with -short")
	}
	singleRun(t, reluModel, params.N14S, 8)
}

// TestAutoFollowsTheImageCount checks the automatic choice at both ends: one image
// goes to single-image packing, a full batch to batch packing, and a named preset
// decides the packing.
func TestAutoFollowsTheImageCount(t *testing.T) {
	m, err := model.Load(shippedModel)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		images int
		params string
		want   manifest.Packing
	}{{1, "", single.Name}, {16, "", single.Name}, {8192, "", batch.Name}, {0, "", batch.Name},
		{1, params.N13.Name, batch.Name}, {8192, params.N13S.Name, single.Name}} {
		p, err := compile.Compile(m, compile.Options{Packing: compile.Auto, ExpectedImages: c.images, Params: c.params})
		if err != nil {
			t.Fatal(err)
		}
		if p.Packing() != c.want {
			t.Errorf("%d images, params %q: auto chose %s, want %s (estimates: %+v)", c.images, c.params, p.Packing(), c.want, compile.EstimateOf(p, max(c.images, 1)))
		}
	}
}
