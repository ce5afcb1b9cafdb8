package compile_test

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cryptonets/cryptonets/core/client"
	"github.com/cryptonets/cryptonets/core/compile"
	"github.com/cryptonets/cryptonets/core/dataset"
	"github.com/cryptonets/cryptonets/core/model"
	"github.com/cryptonets/cryptonets/core/onnx"
	"github.com/cryptonets/cryptonets/core/packing"
	"github.com/cryptonets/cryptonets/core/packing/single"
	"github.com/cryptonets/cryptonets/core/params"
	"github.com/cryptonets/cryptonets/core/rewrite"
	"github.com/cryptonets/cryptonets/core/server"
)

// fixturesDir holds the networks made by models/fixtures/make_fixtures.py.
var fixturesDir = filepath.Join("..", "..", "models", "fixtures")

// encryptedFixtures are the fixtures that must run encrypted (issue 6): batch
// normalization after a convolution and after a dense layer, average pooling with
// padding, max pooling, a ReLU MLP, a sigmoid output and the CryptoNets network; and
// GELU, SiLU and tanh, three stacked polynomials.
var encryptedFixtures = []string{"batchnorm", "avgpool_pad", "maxpool", "relu_mlp", "sigmoid_out", "cryptonets", "activations"}

// fixtureOptions compiles a fixture: batch packing at the insecure test preset, except
// for the three stacked polynomials of activations, which batch packing cannot hold
// (it does not relinearize): single-image packing, 8 images per request, at the
// insecure preset with N14QP437S's 13 levels.
func fixtureOptions(name string) compile.Options {
	if name == "activations" {
		return compile.Options{Packing: single.Name, Params: params.InsecureN12DeepS.Name, AllowInsecure: true,
			Tuning: packing.Options{ImagesPerRequest: 8}}
	}
	return compile.Options{Params: params.InsecureN11.Name, AllowInsecure: true}
}

// marginBits is how many of the plan's bits of precision the encrypted logits may lose
// (see runFixtureEncrypted). Measured on InsecureN11QP215 (16.0 bits), the error stays
// 2^-14.7 (batchnorm) to 2^-17.7 (maxpool) times the largest logit, whatever the key.
const marginBits = 4

// fixtureCalibration is the number of MNIST training images the fitted activations
// are calibrated on, as cryptonets convert does by default.
const fixtureCalibration = 1000

// TestFixturesEncrypted converts every fixture network the way cryptonets convert does,
// compiles it at the insecure test preset, encrypts the fixture's 32 MNIST test images,
// evaluates, decrypts, and compares with the converted network's float64 reference.
//
//	go test -run Fixtures -v ./core/compile
func TestFixturesEncrypted(t *testing.T) {
	onnxFiles, err := filepath.Glob(filepath.Join(fixturesDir, "*.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range onnxFiles {
		names = append(names, strings.TrimSuffix(filepath.Base(f), ".onnx"))
	}
	for _, name := range encryptedFixtures {
		if !slices.Contains(names, name) {
			t.Errorf("fixture %s.onnx is missing from %s", name, fixturesDir)
		}
	}
	for _, name := range names {
		if !slices.Contains(encryptedFixtures, name) {
			t.Errorf("fixture %s.onnx is not run encrypted", name)
		}
	}
	test, err := dataset.MNIST(dataset.MNISTTest, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range encryptedFixtures {
		t.Run(name, func(t *testing.T) { runFixtureEncrypted(t, name, test) })
	}
}

func runFixtureEncrypted(t *testing.T, name string, test *dataset.Set) {
	converted := convertFixture(t, name)
	labels := fixtureLabels(t, name)
	set := test.First(len(labels))
	if !slices.Equal(set.Labels, labels) {
		t.Fatalf("%s.json's labels are not those of the first %d MNIST test images", name, len(labels))
	}
	p, err := compile.Compile(converted, fixtureOptions(name))
	if err != nil {
		t.Fatal(err)
	}
	got := encryptEvaluateDecrypt(t, p, set.Records)

	ref, err := model.NewReference(converted)
	if err != nil {
		t.Fatal(err)
	}
	maxErr, maxLogit, agree := 0.0, 0.0, 0
	for i, img := range set.Records {
		want, err := ref.Forward(img)
		if err != nil {
			t.Fatal(err)
		}
		if len(got[i]) != len(want) {
			t.Fatalf("image %d: %d encrypted logits, %d plaintext", i, len(got[i]), len(want))
		}
		for j := range want {
			maxErr = math.Max(maxErr, math.Abs(got[i][j]-want[j]))
			maxLogit = math.Max(maxLogit, math.Abs(want[j]))
		}
		if model.Argmax(got[i]) == model.Argmax(want) {
			agree++
		} else {
			t.Errorf("image %d: encrypted argmax %d, plaintext %d", i, model.Argmax(got[i]), model.Argmax(want))
		}
	}
	// The bound is the smaller of two figures derived from the plan's PrecisionBits p,
	// the precision of the logits relative to their magnitude on the calibration
	// images:
	//   - maxLogit·2^(marginBits−p): these logits reach maxLogit; marginBits allows
	//     for the error model's approximations (its gains are measured on calibration
	//     images, its noise figures are typical, not worst, magnitudes);
	//   - OutputBound·2^−p: with OutputBound the plan's bound on |logit| for every
	//     input in range, the most the magnitude p is relative to can be. It is
	//     tighter only for networks with tiny logits; elsewhere OutputBound is up to
	//     10^6 times the actual logits.
	man := p.Manifest()
	relative := maxLogit * math.Exp2(marginBits-p.PrecisionBits())
	worstCase := man.OutputBound * math.Exp2(-p.PrecisionBits())
	bound := math.Min(relative, worstCase)
	t.Logf("max |encrypted − plaintext| %.3g, bound %.3g = min(%.3g·2^(%d−%.1f), %.3g·2^−%.1f); argmax agrees on %d/%d",
		maxErr, bound, maxLogit, marginBits, p.PrecisionBits(), man.OutputBound, p.PrecisionBits(), agree, len(got))
	if maxErr > bound {
		t.Errorf("max |encrypted − plaintext| logit %.3g exceeds the bound %.3g", maxErr, bound)
	}
}

// encryptEvaluateDecrypt runs images through p as a client and a server do: encrypted
// in requests of up to ImagesPerBatch images, through the wire format, decrypted.
func encryptEvaluateDecrypt(t *testing.T, p compile.Plan, images [][]float64) [][]float64 {
	t.Helper()
	man := p.Manifest()
	c, srv := clientAndServer(t, p)
	var logits [][]float64
	for start := 0; start < len(images); start += man.ImagesPerBatch {
		upload, req, err := c.EncryptBytes(images[start:min(start+man.ImagesPerBatch, len(images))], nil)
		if err != nil {
			t.Fatal(err)
		}
		download, err := srv.PredictBytes(context.Background(), upload, nil)
		if err != nil {
			t.Fatal(err)
		}
		got, err := c.DecryptBytes(req, download)
		if err != nil {
			t.Fatal(err)
		}
		logits = append(logits, got...)
	}
	if len(logits) != len(images) {
		t.Fatalf("%d results for %d images", len(logits), len(images))
	}
	return logits
}

// convertFixture imports fixture NAME.onnx and converts it the way cryptonets convert
// does (fitted activations calibrated on MNIST training images).
func convertFixture(t *testing.T, name string) *model.Model {
	t.Helper()
	imported, err := onnx.ImportFile(filepath.Join(fixturesDir, name+".onnx"))
	if err != nil {
		t.Fatal(err)
	}
	// The fixture's inputs are the first MNIST test images (models/fixtures/README.md).
	if want := (model.Shape{C: 1, H: 28, W: 28}); imported.Input != want {
		t.Fatalf("input %v, want the MNIST shape %v", imported.Input, want)
	}
	// Degree-2 polynomials, whatever the accuracy they cost: the tests check
	// encryption against the converted network. Every fixture is calibrated, so that
	// plans measure their precision against the logits' magnitude on data.
	opts := rewrite.Options{ApproxOptions: rewrite.ApproxOptions{Degree: 2}, Budget: rewrite.Budget{Exceed: true}}
	cal, err := dataset.MNIST(dataset.MNISTTrain, fixtureCalibration)
	if err != nil {
		t.Fatal(err)
	}
	opts.Calibration = cal.Records
	converted, err := rewrite.ConvertWith(imported, opts)
	if err != nil {
		t.Fatal(err)
	}
	return converted
}

// fixtureLabels reads the labels of NAME.json.
func fixtureLabels(t *testing.T, name string) []int {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(fixturesDir, name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var rec struct {
		Labels []int `json:"labels"`
	}
	if err := json.Unmarshal(data, &rec); err != nil {
		t.Fatal(err)
	}
	if len(rec.Labels) != 32 {
		t.Fatalf("%s.json has %d labels, want 32", name, len(rec.Labels))
	}
	return rec.Labels
}

// clientAndServer returns a client for p's manifest (insecure parameters allowed)
// and a server of p holding the client's evaluation keys.
func clientAndServer(t *testing.T, p compile.Plan) (*client.Client, *server.Server) {
	t.Helper()
	man := p.Manifest()
	c, err := client.New(&man, client.AllowInsecure())
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
	return c, srv
}
